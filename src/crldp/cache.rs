//! The CRL cache: one entry per distribution point URL, holding the last good CRL
//! fetched from it and the last failure; the fetches, each on a thread of its own with
//! one flight per URL, the waiting tasks woken by the thread that ran it.
//!
//! Nothing here depends on an async runtime: a fetch is a blocking HTTP GET on a
//! `std::thread`, and a task waiting for it is woken through its [`Waker`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::error::{Error, ErrorKind};
use crate::time::Timestamp;
use crate::trust::Crl;

/// What a fetch does: the bytes fetched and parsed into a CRL checked against its
/// expected issuer, or why not.
pub(crate) type Fetch = Box<dyn FnOnce() -> Result<Crl, Error> + Send>;

/// The timing rules of the cache.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    /// Seconds a failed fetch is remembered (no new fetch of that URL before).
    pub(crate) failure_ttl: i64,
    /// The longest time, in seconds, a CRL is kept before it is fetched again.
    pub(crate) max_interval: i64,
    /// The clock allowance, in seconds, of freshness.
    pub(crate) allowance: i64,
}

/// What the cache holds for one URL. Never changed: a fetch replaces it whole.
#[derive(Debug)]
pub(crate) struct Held {
    /// The last good CRL.
    crl: Option<Arc<Crl>>,
    /// The last failure, if the last fetch failed.
    failure: Option<Error>,
    /// No fetch of this URL starts before this verification time.
    next_fetch: Timestamp,
    /// The verification time of the fetch that made this entry.
    fetched: Timestamp,
}

impl Held {
    /// The CRL if it is fresh at `now`; else why there is none: `revocation_stale` for a
    /// CRL past its time, else the last failure (`revocation_unknown`).
    pub(crate) fn usable(&self, now: Timestamp, allowance: i64) -> Result<&Arc<Crl>, Error> {
        match &self.crl {
            Some(crl) => {
                crl.check_fresh(now, allowance, None).map(|()| crl).map_err(|e| {
                    match &self.failure {
                        Some(f) => Error::new(
                            e.kind(),
                            format!(
                                "{}; fetching a newer one failed: {}",
                                e.message(),
                                f.message()
                            ),
                        ),
                        None => e,
                    }
                })
            }
            None => Err(self.failure.clone().unwrap_or_else(|| {
                Error::new(ErrorKind::RevocationUnknown, "no crl could be fetched")
            })),
        }
    }

    /// Whether a fetch may start at `now`: its time has come, or the clock went back
    /// before the fetch that made this entry.
    fn may_fetch(&self, now: Timestamp) -> bool {
        now >= self.next_fetch || now < self.fetched
    }

    /// The last good CRL, whatever its freshness.
    #[cfg(test)]
    pub(crate) fn crl(&self) -> Option<&Arc<Crl>> {
        self.crl.as_ref()
    }
}

/// What a look-up found.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// A CRL fresh at the verification time; `refresh` when a fetch ahead of its
    /// `nextUpdate` is due (the CRL keeps serving meanwhile).
    Fresh { crl: Arc<Crl>, refresh: bool },
    /// No usable CRL, and no fetch may start yet: this error.
    Quiet(Error),
    /// No usable CRL: a fetch is needed.
    Fetch,
}

/// One fetch under way: its result once done, and the tasks waiting for it.
#[derive(Debug, Default)]
pub(crate) struct Flight {
    state: Mutex<FlightState>,
}

#[derive(Debug, Default)]
struct FlightState {
    result: Option<Arc<Held>>,
    wakers: Vec<Waker>,
}

impl Flight {
    fn land(&self, held: Arc<Held>) {
        let wakers = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.result = Some(held);
            std::mem::take(&mut state.wakers)
        };
        for waker in wakers {
            waker.wake();
        }
    }
}

/// Waits for a flight: the entry its fetch made.
#[derive(Debug)]
pub(crate) struct Landing(Arc<Flight>);

impl Future for Landing {
    type Output = Arc<Held>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Arc<Held>> {
        let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = &state.result {
            return Poll::Ready(Arc::clone(held));
        }
        if !state.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            state.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// The cache.
pub(crate) struct Cache {
    map: papaya::HashMap<Box<str>, Arc<Held>, foldhash::fast::RandomState>,
    max_entries: usize,
    flights: Mutex<HashMap<Box<str>, Arc<Flight>>>,
    fetching: AtomicUsize,
    max_fetches: usize,
    timing: Timing,
}

/// How many entries an insertion into a full cache looks at to find one to evict.
const EVICTION_SAMPLE: usize = 16;

impl Cache {
    pub(crate) fn new(max_entries: usize, max_fetches: usize, timing: Timing) -> Self {
        Self {
            map: papaya::HashMap::builder().hasher(foldhash::fast::RandomState::default()).build(),
            max_entries,
            flights: Mutex::new(HashMap::new()),
            fetching: AtomicUsize::new(0),
            max_fetches,
            timing,
        }
    }

    /// What the cache holds for `url` at `now`: a map look-up, no allocation unless the
    /// answer is an error.
    pub(crate) fn lookup(&self, url: &str, now: Timestamp) -> Lookup {
        let map = self.map.pin();
        let Some(held) = map.get(url) else { return Lookup::Fetch };
        match held.usable(now, self.timing.allowance) {
            Ok(crl) => Lookup::Fresh { crl: Arc::clone(crl), refresh: held.may_fetch(now) },
            Err(e) if !held.may_fetch(now) => Lookup::Quiet(e),
            Err(_) => Lookup::Fetch,
        }
    }

    /// How many URLs are held.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// How many fetches are under way.
    pub(crate) fn fetching(&self) -> usize {
        self.fetching.load(Ordering::SeqCst)
    }

    /// Joins the fetch of `url` under way, or starts one on a thread of its own with the
    /// work `make` gives: the flight to wait on. `None` when the bound of concurrent
    /// fetches is reached (nothing is remembered then).
    pub(crate) fn fetch(
        self: &Arc<Self>,
        url: &str,
        now: Timestamp,
        make: impl FnOnce() -> Fetch,
    ) -> Option<Landing> {
        let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(flight) = flights.get(url) {
            return Some(Landing(Arc::clone(flight)));
        }
        // Only this lock's holder starts fetches, so the count cannot pass the bound.
        if self.fetching.load(Ordering::SeqCst) >= self.max_fetches {
            return None;
        }
        let flight = Arc::new(Flight::default());
        flights.insert(url.into(), Arc::clone(&flight));
        self.fetching.fetch_add(1, Ordering::SeqCst);
        let run = Run {
            cache: Arc::clone(self),
            url: url.into(),
            now,
            flight: Arc::clone(&flight),
            done: false,
        };
        // The lock is released before the thread starts: a thread that cannot start
        // drops its `Run`, which takes the flight out of the map.
        drop(flights);
        let work = make();
        let spawned = std::thread::Builder::new().name("certauth-crldp".into()).spawn(move || {
            run.finish(std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)))
        });
        if let Err(e) = spawned {
            // The closure, and the `Run` in it, were dropped: the flight landed with a
            // failure. Say why.
            tracing::warn!(target: "certauth::crldp", error = %e, "cannot start a crl fetch thread");
        }
        Some(Landing(flight))
    }

    /// Records the result of a fetch of `url` at `now` and returns the new entry: a CRL
    /// replaces the held one unless its CRL number is lower (same issuer); a failure keeps
    /// the held CRL.
    fn complete(&self, url: &str, now: Timestamp, result: Result<Crl, Error>) -> Arc<Held> {
        let t = self.timing;
        let map = self.map.pin();
        let old = map.get(url).cloned();
        let old_crl = old.as_ref().and_then(|h| h.crl.clone());
        let quiet = now.plus_secs(t.failure_ttl);
        let failed = |error: Error| Held {
            crl: old_crl.clone(),
            failure: Some(error),
            next_fetch: quiet,
            fetched: now,
        };
        let held = match result {
            Err(e) => failed(e),
            Ok(new) => match &old_crl {
                Some(held)
                    if held.issuer_raw() == new.issuer_raw()
                        && new.cmp_number(held) == std::cmp::Ordering::Less =>
                {
                    failed(Error::new(
                        ErrorKind::RevocationUnknown,
                        format!(
                            "crl number {} is lower than the held crl's {}; the held one is kept",
                            new.number_hex(),
                            held.number_hex()
                        ),
                    ))
                }
                _ => {
                    // The same CRL again keeps the held one and its remembered signature.
                    let crl = match &old_crl {
                        Some(held) if held.same_bytes(&new) => Arc::clone(held),
                        _ => Arc::new(new),
                    };
                    let next = refresh_at(&crl, now, t.max_interval).max(quiet);
                    Held { crl: Some(crl), failure: None, next_fetch: next, fetched: now }
                }
            },
        };
        if let Some(e) = &held.failure {
            tracing::warn!(
                target: "certauth::crldp", url = %super::shown(url), error = %e,
                kept_crl = held.crl.is_some(), "crl fetch failed"
            );
        }
        let held = Arc::new(held);
        if self.max_entries > 0 {
            if old.is_none() && map.len() >= self.max_entries {
                // Room is made by an entry without a CRL first, else the one whose CRL
                // is due soonest, among a sample.
                let due = |h: &Held| match &h.crl {
                    None => Timestamp::from_unix_secs(i64::MIN),
                    Some(c) => c.next_update().unwrap_or_else(|| now.plus_secs(t.max_interval)),
                };
                let victim = map
                    .iter()
                    .take(EVICTION_SAMPLE)
                    .min_by_key(|(_, h)| due(h))
                    .map(|(k, _)| k.clone());
                if let Some(k) = victim {
                    map.remove(&k);
                }
            }
            map.insert(url.into(), Arc::clone(&held));
        }
        held
    }
}

/// When a CRL fetched at `now` is fetched again ahead of its `nextUpdate`: at the start
/// of the last tenth of its window (`thisUpdate` to `nextUpdate`), or `max_interval`
/// after `now`, whichever is first.
fn refresh_at(crl: &Crl, now: Timestamp, max_interval: i64) -> Timestamp {
    let by_interval = now.plus_secs(max_interval);
    match crl.next_update() {
        Some(next) => {
            let window = next.as_unix_secs().saturating_sub(crl.this_update().as_unix_secs());
            Timestamp::from_unix_secs(next.as_unix_secs().saturating_sub(window.max(0) / 10))
                .min(by_interval)
        }
        None => by_interval,
    }
}

/// The fetch thread's side of a flight: it records the result, takes the flight out of
/// the map, releases its slot and then lands the flight (so a task woken by the landing
/// that needs a new fetch starts one instead of joining this one), also when the work
/// panicked or the thread could not start.
struct Run {
    cache: Arc<Cache>,
    url: Box<str>,
    now: Timestamp,
    flight: Arc<Flight>,
    done: bool,
}

impl Run {
    fn finish(mut self, result: std::thread::Result<Result<Crl, Error>>) {
        let result = result.unwrap_or_else(|_| {
            Err(Error::new(ErrorKind::RevocationUnknown, "the crl fetch failed unexpectedly"))
        });
        self.land(result);
    }

    fn land(&mut self, result: Result<Crl, Error>) {
        self.done = true;
        let held = self.cache.complete(&self.url, self.now, result);
        {
            let mut flights = self.cache.flights.lock().unwrap_or_else(PoisonError::into_inner);
            if flights.get(&self.url).is_some_and(|f| Arc::ptr_eq(f, &self.flight)) {
                flights.remove(&self.url);
            }
        }
        self.cache.fetching.fetch_sub(1, Ordering::SeqCst);
        self.flight.land(held);
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if !self.done {
            self.land(Err(Error::new(ErrorKind::RevocationUnknown, "the crl fetch could not run")));
        }
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("urls", &self.map.len())
            .field("max_urls", &self.max_entries)
            .field("fetching", &self.fetching())
            .field("max_fetches", &self.max_fetches)
            .finish()
    }
}

#[cfg(all(test, feature = "testkit", feature = "ring"))]
mod tests {
    use std::sync::mpsc;
    use std::task::Wake;

    use super::*;
    use crate::testkit::pki::Ca;

    const TIMING: Timing = Timing { failure_ttl: 30, max_interval: 3600, allowance: 0 };

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_unix_secs(1_700_000_000 + secs)
    }

    fn crl(ca: &Ca, number: u64, this: i64, next: i64) -> Crl {
        let built = ca.crl().number(number).this_update(t(this)).next_update(t(next)).build();
        Crl::from_der(built.der()).unwrap()
    }

    /// Runs a future to completion on this thread, parking between polls.
    fn wait<F: Future>(f: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park();
        }
    }

    fn put(cache: &Arc<Cache>, url: &str, now: Timestamp, result: Result<Crl, Error>) -> Arc<Held> {
        let landing = cache.fetch(url, now, || Box::new(move || result)).unwrap();
        let held = wait(landing);
        // The thread is done with the flight once its slot is released.
        while cache.fetching() > 0 {
            std::thread::yield_now();
        }
        held
    }

    fn down() -> Error {
        Error::new(ErrorKind::RevocationUnknown, "cannot connect")
    }

    fn number(lookup: Lookup) -> String {
        match lookup {
            Lookup::Fresh { crl, .. } => crl.number_hex().to_owned(),
            other => panic!("not fresh: {other:?}"),
        }
    }

    /// A CRL is refetched in the last tenth of its window or after the refresh
    /// interval, whichever is first; it serves while fresh and not after.
    #[test]
    fn refresh_windows() {
        let ca = Ca::root("Root");
        let window = crl(&ca, 1, 0, 1000);
        assert_eq!(refresh_at(&window, t(0), 3600), t(900));
        assert_eq!(refresh_at(&window, t(0), 100), t(100));
        assert_eq!(refresh_at(&window, t(850), 3600), t(900));

        let cache = Arc::new(Cache::new(8, 8, TIMING));
        let url = "http://crl.example.test/root.crl";
        assert!(matches!(cache.lookup(url, t(0)), Lookup::Fetch));
        put(&cache, url, t(0), Ok(window));
        assert!(matches!(cache.lookup(url, t(899)), Lookup::Fresh { refresh: false, .. }));
        assert!(matches!(cache.lookup(url, t(900)), Lookup::Fresh { refresh: true, .. }));
        assert!(matches!(cache.lookup(url, t(1000)), Lookup::Fresh { refresh: true, .. }));
        // Past nextUpdate: a fetch is needed, the stale CRL does not serve.
        assert!(matches!(cache.lookup(url, t(1001)), Lookup::Fetch));
        // A fetch in the refresh window that fails keeps the CRL serving, and is not
        // tried again within the failure TTL.
        put(&cache, url, t(950), Err(down()));
        assert!(matches!(cache.lookup(url, t(979)), Lookup::Fresh { refresh: false, .. }));
        assert!(matches!(cache.lookup(url, t(980)), Lookup::Fresh { refresh: true, .. }));
        // A CRL fetched already in its last tenth is not fetched again before the TTL.
        put(&cache, url, t(960), Ok(crl(&Ca::root("Root"), 2, 0, 1000)));
        assert!(matches!(cache.lookup(url, t(989)), Lookup::Fresh { refresh: false, .. }));
    }

    /// A failed fetch is remembered for the failure TTL: no new fetch, the same answer
    /// at once; a stale CRL with a failed refetch is `revocation_stale`.
    #[test]
    fn failure_ttl() {
        let ca = Ca::root("Root");
        let cache = Arc::new(Cache::new(8, 8, TIMING));
        let url = "http://crl.example.test/root.crl";
        let held = put(&cache, url, t(0), Err(down()));
        assert_eq!(held.usable(t(0), 0).unwrap_err().message(), "cannot connect");
        match cache.lookup(url, t(29)) {
            Lookup::Quiet(e) => assert_eq!(e.kind(), ErrorKind::RevocationUnknown),
            other => panic!("{other:?}"),
        }
        assert!(matches!(cache.lookup(url, t(30)), Lookup::Fetch));
        // The clock going back before the failure allows a fetch.
        assert!(matches!(cache.lookup(url, t(-1)), Lookup::Fetch));

        put(&cache, url, t(0), Ok(crl(&ca, 1, 0, 100)));
        put(&cache, url, t(200), Err(down()));
        match cache.lookup(url, t(210)) {
            Lookup::Quiet(e) => {
                assert_eq!(e.kind(), ErrorKind::RevocationStale);
                assert!(e.message().contains("fetching a newer one failed: cannot connect"), "{e}");
            }
            other => panic!("{other:?}"),
        }

        // A zero TTL remembers nothing.
        let none = Arc::new(Cache::new(8, 8, Timing { failure_ttl: 0, ..TIMING }));
        put(&none, url, t(0), Err(down()));
        assert!(matches!(none.lookup(url, t(0)), Lookup::Fetch));
    }

    /// A fetched CRL with a lower CRL number than the held one (same issuer) never
    /// replaces it; an equal or higher one does.
    #[test]
    fn never_rolls_back() {
        let ca = Ca::root("Root");
        let cache = Arc::new(Cache::new(8, 8, TIMING));
        let url = "http://crl.example.test/root.crl";
        put(&cache, url, t(0), Ok(crl(&ca, 5, 0, 1000)));
        let held = put(&cache, url, t(10), Ok(crl(&ca, 4, 5, 2000)));
        assert_eq!(held.crl().unwrap().number_hex(), "05");
        assert!(held.failure.as_ref().unwrap().message().contains("lower than the held"));
        assert_eq!(number(cache.lookup(url, t(10))), "05");
        // Quiet for the failure TTL after the refused CRL, as after any failure.
        assert!(matches!(cache.lookup(url, t(39)), Lookup::Fresh { refresh: false, .. }));
        put(&cache, url, t(50), Ok(crl(&ca, 5, 1, 1000)));
        assert_eq!(cache.lookup(url, t(50)).crl_this_update(), Some(t(1)));
        put(&cache, url, t(100), Ok(crl(&ca, 300, 2, 1000)));
        assert_eq!(number(cache.lookup(url, t(100))), "012c");
        // The same bytes again keep the held CRL (and what it remembers).
        let same = ca.crl().number(7).this_update(t(3)).next_update(t(1000)).build();
        let first = put(&cache, url, t(200), Ok(Crl::from_der(same.der()).unwrap()));
        let second = put(&cache, url, t(300), Ok(Crl::from_der(same.der()).unwrap()));
        assert!(Arc::ptr_eq(first.crl().unwrap(), second.crl().unwrap()));
    }

    impl Lookup {
        fn crl_this_update(&self) -> Option<Timestamp> {
            match self {
                Lookup::Fresh { crl, .. } => Some(crl.this_update()),
                _ => None,
            }
        }
    }

    /// The cache holds at most its bound of URLs; a full cache evicts a URL without a
    /// CRL first. A zero bound holds nothing.
    #[test]
    fn bounded() {
        let ca = Ca::root("Root");
        let cache = Arc::new(Cache::new(4, 8, TIMING));
        put(&cache, "http://a.test/failed", t(0), Err(down()));
        for i in 0..3 {
            put(&cache, &format!("http://a.test/{i}"), t(0), Ok(crl(&ca, 1, 0, 1000 + i)));
        }
        assert_eq!(cache.len(), 4);
        put(&cache, "http://a.test/new", t(0), Ok(crl(&ca, 1, 0, 5000)));
        assert_eq!(cache.len(), 4);
        assert!(matches!(cache.lookup("http://a.test/failed", t(1)), Lookup::Fetch));
        for i in 0..3 {
            assert!(matches!(
                cache.lookup(&format!("http://a.test/{i}"), t(1)),
                Lookup::Fresh { .. }
            ));
        }
        for i in 10..40 {
            put(&cache, &format!("http://a.test/{i}"), t(0), Ok(crl(&ca, 1, 0, 1000 + i)));
            assert!(cache.len() <= 4);
        }
        let none = Arc::new(Cache::new(0, 8, TIMING));
        let held = put(&none, "http://a.test/x", t(0), Ok(crl(&ca, 1, 0, 1000)));
        assert!(held.usable(t(0), 0).is_ok(), "the waiters still get the fetched crl");
        assert_eq!(none.len(), 0);
    }

    /// Concurrent fetches of one URL share one flight; the bound of fetches under way
    /// refuses one more at once; a panicking fetch lands as a failure and frees its slot.
    #[test]
    fn one_flight_per_url_and_bounded_fetches() {
        let ca = Ca::root("Root");
        let cache = Arc::new(Cache::new(8, 1, TIMING));
        let (release, gate) = mpsc::channel::<()>();
        let runs = Arc::new(AtomicUsize::new(0));
        let good = crl(&ca, 1, 0, 1000);
        let r = runs.clone();
        let first = cache
            .fetch("http://a.test/1", t(0), move || {
                Box::new(move || {
                    r.fetch_add(1, Ordering::SeqCst);
                    gate.recv().unwrap();
                    Ok(good)
                })
            })
            .unwrap();
        let second = cache
            .fetch("http://a.test/1", t(0), || -> Fetch { panic!("a second fetch was made") })
            .unwrap();
        assert!(
            cache
                .fetch("http://a.test/2", t(0), || -> Fetch { panic!("over the bound") })
                .is_none()
        );
        assert_eq!(cache.fetching(), 1);
        release.send(()).unwrap();
        assert!(wait(first).usable(t(0), 0).is_ok());
        assert!(wait(second).usable(t(0), 0).is_ok());
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // A landed flight is out of the map and its slot free: a task woken by it that
        // needs a new fetch starts one rather than joining the finished one.
        assert_eq!(cache.fetching(), 0);
        let made = std::sync::atomic::AtomicBool::new(false);
        let again = cache.fetch("http://a.test/1", t(100), || -> Fetch {
            made.store(true, Ordering::SeqCst);
            Box::new(|| Err(down()))
        });
        assert!(made.load(Ordering::SeqCst), "the finished flight was joined");
        let held = wait(again.unwrap());
        assert!(held.failure.is_some() && held.usable(t(100), 0).is_ok());
        while cache.fetching() > 0 {
            std::thread::yield_now();
        }
        assert!(cache.flights.lock().unwrap().is_empty());

        let panicked = cache
            .fetch("http://a.test/2", t(0), || -> Fetch { Box::new(|| panic!("boom")) })
            .unwrap();
        let e = wait(panicked).usable(t(0), 0).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RevocationUnknown);
        while cache.fetching() > 0 {
            std::thread::yield_now();
        }
        assert!(cache.flights.lock().unwrap().is_empty());
    }
}
