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

use crate::error::ConfigError;
use crate::registry::MemoryRegistry;
use crate::time::Timestamp;
use crate::trust::{TrustStore, TrustStoreBuilder};
use crate::verify::Verifier;

/// The `tracing` target of reload events.
pub const TRACING_TARGET: &str = "certauth::reload";

/// The files a trust store is built from: CA certificate files or directories (anchors
/// and intermediates, sorted as [`TrustStoreBuilder::add_file`] does) and CRL files.
#[derive(Clone, Debug, Default)]
pub struct TrustFiles {
    files: Vec<PathBuf>,
    crls: Vec<PathBuf>,
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

    /// Reads every file and builds the trust store, checked as
    /// [`TrustStoreBuilder::build`] checks (at the current time).
    pub fn load(&self) -> Result<TrustStore, ConfigError> {
        self.builder()?.build()
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
    /// Why the last attempt was refused; `None` when it took effect (or none ran).
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
            sources.push(Source::new(Watched::TrustStore, Target::Trust(verifier, files)));
        }
        if let Some((registry, path)) = self.registry {
            sources.push(Source::new(Watched::Registry, Target::Registry(registry, path)));
        }
        let shared = Arc::new(Shared {
            sources: Mutex::new(sources),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
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
    /// thread does at each interval). Returns the sources reloaded or refused.
    pub fn check_now(&self) -> Vec<Watched> {
        self.shared.check()
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
            self.check();
        }
    }

    /// One look at every source; the lock also keeps two checks from reloading at once.
    fn check(&self) -> Vec<Watched> {
        let mut sources = self.lock();
        let mut changed = Vec::new();
        for source in sources.iter_mut() {
            let seen = source.target.fingerprint();
            if seen != source.seen {
                source.seen = seen;
                source.reload();
                changed.push(source.status.what);
            }
        }
        changed
    }
}

struct Source {
    target: Target,
    seen: Vec<Stamp>,
    status: ReloadStatus,
}

enum Target {
    Trust(Verifier, TrustFiles),
    Registry(Arc<MemoryRegistry>, PathBuf),
}

impl Source {
    fn new(what: Watched, target: Target) -> Self {
        let seen = target.fingerprint();
        let status =
            ReloadStatus { what, reloads: 0, failures: 0, last_attempt: None, last_error: None };
        Self { target, seen, status }
    }

    fn reload(&mut self) {
        let now = Timestamp::now();
        let what = self.status.what;
        let result = match &self.target {
            Target::Trust(verifier, files) => files
                .load()
                .and_then(|store| verifier.replace_trust_store(store))
                .map_err(|e| e.to_string()),
            Target::Registry(registry, path) => {
                registry.load_file(path, now).map_err(|e| e.to_string())
            }
        };
        self.status.last_attempt = Some(now.to_rfc3339());
        match result {
            Ok(()) => {
                #[cfg(feature = "metrics")]
                if let Target::Trust(verifier, _) = &self.target {
                    crate::metrics::trust_store(&verifier.trust_store());
                }
                self.status.reloads += 1;
                self.status.last_error = None;
                tracing::info!(target: TRACING_TARGET, what = what.as_str(), "reloaded");
            }
            Err(error) => {
                self.status.failures += 1;
                tracing::error!(target: TRACING_TARGET, what = what.as_str(), error = error.as_str(), "reload refused; the last good configuration stays");
                self.status.last_error = Some(error);
            }
        }
        #[cfg(feature = "metrics")]
        crate::metrics::reload(what.as_str(), self.status.last_error.is_none());
    }
}

impl Target {
    fn fingerprint(&self) -> Vec<Stamp> {
        let mut stamps = Vec::new();
        match self {
            Self::Trust(_, files) => {
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
