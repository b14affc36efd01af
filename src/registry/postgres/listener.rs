//! The notification listener: one dedicated connection per replica that `LISTEN`s for
//! registry changes, applies them to the cache, and proves its own freshness.
//!
//! Each session: connect, `LISTEN certauth_registry` and a heartbeat channel of its own,
//! forget the whole cache (changes made while no session listened were missed), then
//! every quarter of the staleness bound `NOTIFY` the heartbeat channel with a sequence
//! number. When a heartbeat comes back, every change committed before it was sent has
//! been applied (one notification queue, delivered in commit order), and the cache is
//! marked synchronised as of the send time. A session ends when its connection fails,
//! a heartbeat cannot be sent, or none has come back for four bounds (at least two
//! seconds); the next one starts after a backoff (50 ms doubling to 5 s, with jitter).

use std::collections::VecDeque;
use std::future::poll_fn;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{AsyncMessage, Socket};

use super::Shared;

/// The listener connection's `application_name` (how it shows in `pg_stat_activity`).
pub(super) const APPLICATION_NAME: &str = "certauth-registry-listener";

/// The channel the schema's triggers notify.
pub(super) const CHANNEL: &str = "certauth_registry";

const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Runs sessions until the registry is dropped (the task is aborted then).
pub(super) async fn run<T>(config: tokio_postgres::Config, tls: T, shared: Arc<Shared>)
where
    T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
    T::Stream: Send + Sync + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let jitter = foldhash::fast::RandomState::default();
    let mut backoff = MIN_BACKOFF;
    let mut attempt = 0u64;
    loop {
        let synchronised = session(&config, tls.clone(), &shared).await;
        shared.reconnects.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if synchronised {
            backoff = MIN_BACKOFF;
        }
        attempt += 1;
        // Between half and all of the backoff, so replicas do not reconnect in step.
        let factor = 0.5 + (jitter.hash_one(attempt) % 1000) as f64 / 2000.0;
        tokio::time::sleep(backoff.mul_f64(factor)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One session. Returns whether it synchronised at least once.
async fn session<T>(config: &tokio_postgres::Config, tls: T, shared: &Shared) -> bool
where
    T: MakeTlsConnect<Socket> + Send + 'static,
    T::Stream: Send + Sync + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let timeout = shared.query_timeout;
    let Ok(Ok((client, mut connection))) = tokio::time::timeout(timeout, config.connect(tls)).await
    else {
        return false;
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        while let Some(Ok(message)) = poll_fn(|cx| connection.poll_message(cx)).await {
            if let AsyncMessage::Notification(n) = message
                && tx.send(n).is_err()
            {
                break;
            }
        }
    });
    let _driver = AbortOnDrop(driver);

    let heartbeat =
        format!("certauth_hb_{:016x}", foldhash::fast::RandomState::default().hash_one(0u8));
    let listen = format!("LISTEN {CHANNEL}; LISTEN {heartbeat}");
    if !matches!(tokio::time::timeout(timeout, client.batch_execute(&listen)).await, Ok(Ok(()))) {
        return false;
    }
    // Listening from here on: whatever was cached before may have missed changes.
    shared.cache.clear();

    let every = (shared.bound / 4).max(Duration::from_millis(5));
    let dead_after = (shared.bound * 4).max(Duration::from_secs(2));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pending: VecDeque<(u64, Instant)> = VecDeque::new();
    let mut seq = 0u64;
    let mut last_echo = Instant::now();
    let mut synchronised = false;
    loop {
        tokio::select! {
            n = rx.recv() => {
                let Some(n) = n else { return synchronised };
                if n.channel() == heartbeat {
                    let Ok(echoed) = n.payload().parse::<u64>() else { continue };
                    while let Some(&(s, sent)) = pending.front() {
                        if s > echoed {
                            break;
                        }
                        pending.pop_front();
                        if s == echoed {
                            shared.cache.mark_synced(sent);
                            last_echo = Instant::now();
                            synchronised = true;
                        }
                    }
                } else {
                    shared.cache.invalidate(n.payload());
                }
            }
            _ = tick.tick() => {
                if last_echo.elapsed() > dead_after {
                    return synchronised;
                }
                seq += 1;
                pending.push_back((seq, Instant::now()));
                let notify = format!("NOTIFY {heartbeat}, '{seq}'");
                if !matches!(
                    tokio::time::timeout(timeout, client.batch_execute(&notify)).await,
                    Ok(Ok(()))
                ) {
                    return synchronised;
                }
            }
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
