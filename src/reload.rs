//! Reload without restart: a [`Watcher`] polls the trust files, CRL files and registry
//! file, and when one changes, parses and checks the whole new configuration before
//! swapping it in atomically.
//!
//! A broken file (half-written, wrong format, an anchor outside its validity) keeps the
//! last good configuration: the failure is logged at error (target `certauth::reload`),
//! counted (feature `metrics`: `certauth_reloads_total{what, result}`) and reported by
//! [`Watcher::status`] and the [`health`](crate::health) report. Requests in flight
//! finish with the configuration they started with; the next ones use the new one.
//!
//! A CRL can also be named by an `http://` URL ([`TrustFiles::crl_url`]). It is fetched
//! when the configuration is loaded, again by each [`Watcher::check_now`], and by the
//! watcher thread every [`TrustFiles::crl_refresh_interval`] (default 1 hour) and once
//! more when its `nextUpdate` comes within a tenth of its validity window
//! (`nextUpdate - thisUpdate`). A fetched CRL that differs from the one in use is parsed
//! and the whole store rebuilt and checked before the swap. A failed fetch (server down,
//! an error status, a redirect, a response over 16 MiB or slower than
//! [`TrustFiles::crl_fetch_timeout`], a body that is not a CRL) keeps the last good CRL
//! and is reported as a broken file is. A CRL left unrefreshed past its `nextUpdate`
//! makes verifications `revocation_stale` as the revocation policy says. Only `http://`
//! is fetched: CRLs are signed, and redirects are refused.
//!
//! A change is seen by a file's length, modification time and (on Unix) inode, and by a
//! directory's list of entries: writing a file in place and renaming a new one over it
//! are both noticed. Replace files atomically (write beside, then rename) so a reload
//! never reads a half-written file; when one does, it is refused and retried at the next
//! change.
//!
//! ```no_run
//! # #[cfg(feature = "ring")] {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use certauth::reload::{TrustFiles, Watcher};
//! use certauth::registry::MemoryRegistry;
//! use certauth::TrustStore;
//! use certauth::{Verifier, RING_ALGORITHMS};
//!
//! let files = TrustFiles::new().file("/etc/certauth/ca.pem").crl("/etc/certauth/ca.crl");
//! let verifier = Verifier::builder(files.load()?, RING_ALGORITHMS).build()?;
//! let registry = Arc::new(MemoryRegistry::new());
//! let watcher = Watcher::builder()
//!     .trust_store(verifier.clone(), files)
//!     .registry(registry.clone(), "/etc/certauth/clients.json")
//!     .interval(Duration::from_secs(5))
//!     .start()?;
//! // ... serve; `watcher.status()` feeds a readiness endpoint. Dropping it stops it.
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;

use crate::error::{ConfigError, Error};
use crate::registry::MemoryRegistry;
use crate::time::Timestamp;
use crate::trust::{Crl, MAX_CONFIG_FILE, TrustStore, TrustStoreBuilder};

use crate::http_get::{self, HttpUrl};
use crate::verify::Verifier;

/// The `tracing` target of reload events.
pub const TRACING_TARGET: &str = "certauth::reload";

/// The default of [`TrustFiles::crl_fetch_timeout`].
const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The default of [`TrustFiles::crl_refresh_interval`].
const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(3600);

/// The files a trust store is built from: CA certificate files or directories (anchors
/// and intermediates, sorted as [`TrustStoreBuilder::add_file`] does), CRL files and CRLs
/// fetched from `http://` URLs.
#[derive(Clone, Debug)]
pub struct TrustFiles {
    files: Vec<PathBuf>,
    crls: Vec<PathBuf>,
    crl_urls: Vec<HttpUrl>,
    fetch_timeout: Duration,
    refresh_interval: Duration,
    /// The CRLs [`load`](TrustFiles::load) fetched, by URL, and when: a watcher given
    /// these files starts from them. Shared by clones.
    loaded: Arc<Mutex<std::collections::HashMap<String, (Fetched, Timestamp)>>>,
}

impl Default for TrustFiles {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            crls: Vec::new(),
            crl_urls: Vec::new(),
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            loaded: Arc::default(),
        }
    }
}

impl TrustFiles {
    /// No files yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A PEM bundle, DER file or directory of certificates.
    #[must_use]
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.files.push(path.into());
        self
    }

    /// A CRL file (PEM or DER).
    #[must_use]
    pub fn crl(mut self, path: impl Into<PathBuf>) -> Self {
        self.crls.push(path.into());
        self
    }

    /// A CRL (PEM or DER) fetched from an `http://` URL with a plain HTTP/1.1 GET: at
    /// [`load`](Self::load), and by a [`Watcher`] as the [module](self) describes. The
    /// response must be `200` with a body of at most 16 MiB; redirects are refused.
    ///
    /// Any other scheme (`https:`, `file:`, `ftp:`, `ldap:`), a URL with user information
    /// or without a host is refused here.
    pub fn crl_url(mut self, url: &str) -> Result<Self, ConfigError> {
        let url = HttpUrl::parse(url).map_err(|error| ConfigError::Invalid {
            what: format!("crl url {}", printable(url)),
            error,
        })?;
        self.crl_urls.push(url);
        Ok(self)
    }

    /// How long one CRL fetch may take, connecting, sending and receiving together
    /// (name resolution aside). Default 10 s; at least 10 ms.
    #[must_use]
    pub fn crl_fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// How often a [`Watcher`] fetches each [`crl_url`](Self::crl_url) again (it also
    /// fetches once when the CRL's `nextUpdate` comes within a tenth of its validity
    /// window). Default 1 hour. The watcher looks no more often than its
    /// [`interval`](WatcherBuilder::interval).
    #[must_use]
    pub fn crl_refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// Reads every file, fetches every CRL URL and builds the trust store, checked as
    /// [`TrustStoreBuilder::build`] checks (at the current time). A failed fetch is an
    /// error naming the URL.
    pub fn load(&self) -> Result<TrustStore, ConfigError> {
        let mut builder = self.builder()?;
        let mut fetched = Vec::new();
        for url in &self.crl_urls {
            let crl = fetch(url, self.fetch_timeout)?;
            builder = add_fetched(builder, url, &crl)?;
            fetched.push((url.as_str().to_owned(), (crl, Timestamp::now())));
        }
        let store = builder.build()?;
        self.loaded.lock().unwrap_or_else(PoisonError::into_inner).extend(fetched);
        Ok(store)
    }

    fn builder(&self) -> Result<TrustStoreBuilder, ConfigError> {
        let mut builder = TrustStore::builder();
        for path in &self.files {
            builder = if path.is_dir() {
                builder.add_directory(path)?
            } else {
                builder.add_file(path)?
            };
        }
        for path in &self.crls {
            builder = builder.add_crl_file(path)?;
        }
        Ok(builder)
    }

    fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().chain(&self.crls).map(PathBuf::as_path)
    }
}

/// `url` shortened and stripped of control characters, for an error message.
fn printable(url: &str) -> String {
    url.chars().take(200).map(|c| if c.is_control() { '?' } else { c }).collect()
}

fn url_error(url: &HttpUrl, error: Error) -> ConfigError {
    ConfigError::Invalid { what: format!("crl url {}", url.as_str()), error }
}

/// Fetches the CRL at `url` and checks that it parses; the error names the URL.
fn fetch(url: &HttpUrl, timeout: Duration) -> Result<Fetched, ConfigError> {
    let bytes = http_get::get(url, http_get::ACCEPT_CRL, MAX_CONFIG_FILE, timeout)
        .map_err(|e| url_error(url, e))?;
    let crls = Crl::parse_any(&bytes).map_err(|e| url_error(url, e))?;
    let this_update = crls.iter().map(Crl::this_update).max();
    let next_update = crls.iter().filter_map(Crl::next_update).min();
    Ok(Fetched { bytes, this_update, next_update })
}

fn add_fetched(
    builder: TrustStoreBuilder,
    url: &HttpUrl,
    fetched: &Fetched,
) -> Result<TrustStoreBuilder, ConfigError> {
    builder.add_crl(&fetched.bytes).map_err(|e| match e {
        ConfigError::Invalid { error, .. } => url_error(url, error),
        other => other,
    })
}

/// A CRL as last fetched from its URL.
#[derive(Clone, PartialEq, Eq)]
struct Fetched {
    bytes: Vec<u8>,
    this_update: Option<Timestamp>,
    next_update: Option<Timestamp>,
}

impl fmt::Debug for Fetched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetched")
            .field("len", &self.bytes.len())
            .field("this_update", &self.this_update)
            .field("next_update", &self.next_update)
            .finish()
    }
}

/// Whether a CRL fetched at `last` (`None`: never fetched) with the given update times
/// is due to be fetched again at `now`: `interval` has passed since, or its `nextUpdate`
/// is within a tenth of its validity window and the last fetch was before that window
/// began. A clock that went back makes it due.
fn refresh_due(
    now: Timestamp,
    last: Option<Timestamp>,
    fetched: Option<(Option<Timestamp>, Option<Timestamp>)>,
    interval: Duration,
) -> bool {
    let Some(last) = last else { return true };
    let since = now.as_unix_secs() - last.as_unix_secs();
    if since < 0 || since as u64 >= interval.as_secs() {
        return true;
    }
    let Some((Some(this), Some(next))) = fetched else { return false };
    let window = (next.as_unix_secs() - this.as_unix_secs()).max(0);
    let margin_start = next.as_unix_secs() - window / 10;
    now.as_unix_secs() >= margin_start && last.as_unix_secs() < margin_start
}

/// What a watcher reloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Watched {
    /// The trust store: anchors, intermediates and CRLs.
    TrustStore,
    /// The registry file.
    Registry,
}

impl Watched {
    /// The stable name (`trust_store`, `registry`), also the metrics label `what`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TrustStore => "trust_store",
            Self::Registry => "registry",
        }
    }
}

/// The last reload of one watched source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReloadStatus {
    /// What was reloaded.
    pub what: Watched,
    /// Reloads that took effect since the watcher started.
    pub reloads: u64,
    /// Reloads refused (the last good configuration kept) since the watcher started.
    pub failures: u64,
    /// When the last attempt ran (RFC 3339), if one has.
    pub last_attempt: Option<String>,
    /// Why the configuration in use is not the one the sources hold now: the last refused
    /// rebuild and each CRL URL whose last fetch failed, joined by `; `. `None` when
    /// current (or nothing ran).
    pub last_error: Option<String>,
}

impl ReloadStatus {
    /// Whether the configuration in use is the one the files hold now.
    pub fn is_current(&self) -> bool {
        self.last_error.is_none()
    }
}

/// Configures a [`Watcher`].
#[derive(Default)]
pub struct WatcherBuilder {
    interval: Option<Duration>,
    trust: Option<(Verifier, TrustFiles)>,
    registry: Option<(Arc<MemoryRegistry>, PathBuf)>,
}

impl fmt::Debug for WatcherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatcherBuilder").finish_non_exhaustive()
    }
}

impl WatcherBuilder {
    /// Rebuild `verifier`'s trust store from `files` when one of them changes
    /// ([`Verifier::replace_trust_store`]).
    #[must_use]
    pub fn trust_store(mut self, verifier: Verifier, files: TrustFiles) -> Self {
        self.trust = Some((verifier, files));
        self
    }

    /// Reload `registry` from the registry file at `path` when it changes
    /// ([`MemoryRegistry::load_file`]).
    #[must_use]
    pub fn registry(mut self, registry: Arc<MemoryRegistry>, path: impl Into<PathBuf>) -> Self {
        self.registry = Some((registry, path.into()));
        self
    }

    /// How often files are looked at. Default 5 s; at least 10 ms.
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    /// Starts watching on a thread of its own (`certauth-reload`). The files as they are
    /// now are taken to be the configuration in use; later changes are reloaded.
    pub fn start(self) -> std::io::Result<Watcher> {
        let interval =
            self.interval.unwrap_or(Duration::from_secs(5)).max(Duration::from_millis(10));
        let mut sources = Vec::new();
        if let Some((verifier, files)) = self.trust {
            let urls = Urls::from_loaded(&files);
            sources.push(Source::new(Watched::TrustStore, Target::Trust(verifier, files, urls)));
        }
        if let Some((registry, path)) = self.registry {
            sources.push(Source::new(Watched::Registry, Target::Registry(registry, path)));
        }
        let shared = Arc::new(Shared {
            sources: Mutex::new(sources),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        // CRL URLs that `TrustFiles::load` did not fetch are fetched now, on this thread.
        shared.check(Check::StartUp);
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("certauth-reload".into())
                .spawn(move || shared.run(interval))?
        };
        Ok(Watcher { shared, thread: Some(thread) })
    }
}

/// Watches files and reloads them; stops when dropped. Build with [`Watcher::builder`].
pub struct Watcher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Watcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watcher").field("status", &self.status()).finish()
    }
}

impl Watcher {
    /// Starts a builder.
    pub fn builder() -> WatcherBuilder {
        WatcherBuilder::default()
    }

    /// Looks at the files now, on this thread, and reloads what changed (as the watcher
    /// thread does at each interval); fetches every CRL URL now, whenever it was last
    /// fetched. Returns the sources reloaded or refused, or whose status changed.
    pub fn check_now(&self) -> Vec<Watched> {
        self.shared.check(Check::Now)
    }

    /// The last reload of each watched source.
    pub fn status(&self) -> Vec<ReloadStatus> {
        self.shared.lock().iter().map(|s| s.status.clone()).collect()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        *self.shared.stop.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Shared {
    sources: Mutex<Vec<Source>>,
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Source>> {
        self.sources.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn run(&self, interval: Duration) {
        loop {
            {
                let stop = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
                let (stop, _) = self
                    .wake
                    .wait_timeout_while(stop, interval, |stop| !*stop)
                    .unwrap_or_else(PoisonError::into_inner);
                if *stop {
                    return;
                }
            }
            self.check(Check::Tick);
        }
    }

    /// One look at every source; the lock also keeps two checks from reloading at once.
    fn check(&self, kind: Check) -> Vec<Watched> {
        let mut sources = self.lock();
        let now = Timestamp::now();
        sources.iter_mut().filter_map(|s| s.check(now, kind).then_some(s.status.what)).collect()
    }
}

/// Why a check runs: which CRL URLs it fetches.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    /// At start: the URLs never fetched.
    StartUp,
    /// At an interval: the URLs due ([`refresh_due`]).
    Tick,
    /// [`Watcher::check_now`]: every URL.
    Now,
}

struct Source {
    target: Target,
    seen: Vec<Stamp>,
    status: ReloadStatus,
}

enum Target {
    Trust(Verifier, TrustFiles, Urls),
    Registry(Arc<MemoryRegistry>, PathBuf),
}

/// The state of each CRL URL of a [`TrustFiles`], in its order.
struct Urls {
    /// The CRL in the store in use, if one was ever fetched.
    good: Vec<Option<Fetched>>,
    /// When the last fetch was tried.
    attempted: Vec<Option<Timestamp>>,
    /// Why the last fetch failed.
    errors: Vec<Option<String>>,
    /// Why the last rebuild of the store was refused.
    build_error: Option<String>,
}

impl Urls {
    fn from_loaded(files: &TrustFiles) -> Self {
        let loaded = files.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        let known: Vec<_> =
            files.crl_urls.iter().map(|u| loaded.get(u.as_str()).cloned()).collect();
        Self {
            good: known.iter().map(|k| k.as_ref().map(|(f, _)| f.clone())).collect(),
            attempted: known.iter().map(|k| k.as_ref().map(|(_, t)| *t)).collect(),
            errors: vec![None; known.len()],
            build_error: None,
        }
    }

    fn last_error(&self) -> Option<String> {
        let all: Vec<&str> = self
            .build_error
            .iter()
            .chain(self.errors.iter().flatten())
            .map(String::as_str)
            .collect();
        (!all.is_empty()).then(|| all.join("; "))
    }
}

impl Source {
    fn new(what: Watched, target: Target) -> Self {
        let seen = target.fingerprint();
        let status =
            ReloadStatus { what, reloads: 0, failures: 0, last_attempt: None, last_error: None };
        Self { target, seen, status }
    }

    /// Looks at this source's files (and fetches its CRL URLs as `kind` says) and reloads
    /// it if anything changed. Whether it was reloaded or refused, or its status changed.
    fn check(&mut self, now: Timestamp, kind: Check) -> bool {
        let seen = self.target.fingerprint();
        let files_changed = seen != self.seen;
        self.seen = seen;
        let what = self.status.what;
        let before = self.status.last_error.clone();
        let (attempted, swapped, failed) = match &mut self.target {
            Target::Registry(registry, path) => {
                if !files_changed {
                    return false;
                }
                match registry.load_file(path, now) {
                    Ok(()) => {
                        self.status.last_error = None;
                        (true, true, false)
                    }
                    Err(e) => {
                        let e = e.to_string();
                        log_refused(what, &e);
                        self.status.last_error = Some(e);
                        (true, false, true)
                    }
                }
            }
            Target::Trust(verifier, files, urls) => {
                let (fetched, fetched_any, fetch_failed) = fetch_due(files, urls, now, kind);
                let rebuild = files_changed || fetched.iter().any(Option::is_some);
                let mut swapped = false;
                let mut build_failed = false;
                if rebuild {
                    match rebuild_store(verifier, files, urls, &fetched) {
                        Ok(()) => {
                            for (good, new) in urls.good.iter_mut().zip(fetched) {
                                if new.is_some() {
                                    *good = new;
                                }
                            }
                            urls.build_error = None;
                            swapped = true;
                            #[cfg(feature = "metrics")]
                            crate::metrics::trust_store(&verifier.trust_store());
                        }
                        Err(e) => {
                            let e = e.to_string();
                            log_refused(what, &e);
                            urls.build_error = Some(e);
                            build_failed = true;
                        }
                    }
                }
                self.status.last_error = urls.last_error();
                (rebuild || fetched_any, swapped, fetch_failed || build_failed)
            }
        };
        if !attempted {
            return false;
        }
        self.status.last_attempt = Some(now.to_rfc3339());
        if swapped {
            self.status.reloads += 1;
            tracing::info!(target: TRACING_TARGET, what = what.as_str(), "reloaded");
        }
        if failed {
            self.status.failures += 1;
        }
        if swapped || failed {
            #[cfg(feature = "metrics")]
            crate::metrics::reload(what.as_str(), !failed);
        }
        swapped || failed || before != self.status.last_error
    }
}

fn log_refused(what: Watched, error: &str) {
    tracing::error!(target: TRACING_TARGET, what = what.as_str(), error, "reload refused; the last good configuration stays");
}

/// Fetches the CRL URLs that `kind` and their schedule say are due. Returns, per URL, a
/// CRL fetched that differs from the one in use, whether any was fetched and whether a
/// fetch failed.
fn fetch_due(
    files: &TrustFiles,
    urls: &mut Urls,
    now: Timestamp,
    kind: Check,
) -> (Vec<Option<Fetched>>, bool, bool) {
    let mut fetched = vec![None; files.crl_urls.len()];
    let mut any = false;
    let mut failed = false;
    for (i, url) in files.crl_urls.iter().enumerate() {
        let good = urls.good[i].as_ref();
        let due = match kind {
            Check::Now => true,
            Check::StartUp => good.is_none(),
            Check::Tick => refresh_due(
                now,
                urls.attempted[i],
                good.map(|g| (g.this_update, g.next_update)),
                files.refresh_interval,
            ),
        };
        if !due {
            continue;
        }
        urls.attempted[i] = Some(now);
        any = true;
        match fetch(url, files.fetch_timeout) {
            Ok(crl) => {
                urls.errors[i] = None;
                if good != Some(&crl) {
                    fetched[i] = Some(crl);
                }
            }
            Err(e) => {
                let e = e.to_string();
                tracing::error!(target: TRACING_TARGET, what = Watched::TrustStore.as_str(), url = url.as_str(), error = e.as_str(), "crl fetch failed; the last good crl stays");
                urls.errors[i] = Some(e);
                failed = true;
            }
        }
    }
    (fetched, any, failed)
}

/// Builds the store from the files, each URL's new CRL or else its last good one, checks
/// it and swaps it in.
fn rebuild_store(
    verifier: &Verifier,
    files: &TrustFiles,
    urls: &Urls,
    fetched: &[Option<Fetched>],
) -> Result<(), ConfigError> {
    let mut builder = files.builder()?;
    for (i, url) in files.crl_urls.iter().enumerate() {
        if let Some(crl) = fetched[i].as_ref().or(urls.good[i].as_ref()) {
            builder = add_fetched(builder, url, crl)?;
        }
    }
    verifier.replace_trust_store(builder.build()?)
}

impl Target {
    fn fingerprint(&self) -> Vec<Stamp> {
        let mut stamps = Vec::new();
        match self {
            Self::Trust(_, files, _) => {
                for path in files.paths() {
                    stamp(path, &mut stamps);
                }
            }
            Self::Registry(_, path) => stamp(path, &mut stamps),
        }
        stamps
    }
}

/// What a file looked like: path, length, modification time, inode (0 off Unix); a file
/// that cannot be read has no length.
type Stamp = (PathBuf, Option<u64>, Option<std::time::SystemTime>, u64);

fn stamp(path: &Path, out: &mut Vec<Stamp>) {
    let Ok(meta) = std::fs::metadata(path) else {
        out.push((path.to_owned(), None, None, 0));
        return;
    };
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    out.push((path.to_owned(), Some(meta.len()), meta.modified().ok(), inode));
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        for entry in entries.iter().filter(|e| e.is_file()) {
            stamp(entry, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_unix_secs(1_800_000_000 + secs)
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_crl_is_due_after_the_interval_or_once_on_entering_the_last_tenth_of_its_window() {
        // thisUpdate 0, nextUpdate 100,000 s: the last tenth begins at 90,000.
        let crl = Some((Some(t(0)), Some(t(100_000))));
        assert!(refresh_due(t(10), None, crl, HOUR), "never fetched");
        assert!(!refresh_due(t(3599), Some(t(0)), crl, HOUR));
        assert!(refresh_due(t(3600), Some(t(0)), crl, HOUR), "the interval passed");
        assert!(!refresh_due(t(89_000), Some(t(100)), crl, Duration::from_secs(86_400 * 30)));
        assert!(!refresh_due(t(89_999), Some(t(89_000)), crl, HOUR));
        assert!(refresh_due(t(90_000), Some(t(89_999)), crl, HOUR), "entering the margin");
        assert!(!refresh_due(t(90_001), Some(t(90_000)), crl, HOUR), "once, then the interval");
        assert!(refresh_due(t(93_600), Some(t(90_000)), crl, HOUR));
        assert!(refresh_due(t(5), Some(t(10)), crl, HOUR), "a clock that went back");
        assert!(refresh_due(t(5), Some(t(5)), crl, Duration::ZERO), "interval zero: each tick");
        // Without nextUpdate only the interval counts.
        assert!(!refresh_due(t(99_999), Some(t(99_000)), Some((Some(t(0)), None)), HOUR));
        assert!(!refresh_due(t(99_999), Some(t(99_000)), None, HOUR));
    }
}
