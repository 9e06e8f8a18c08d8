//! [`spawn_feeder`]: the task that keeps the search index fresh. At start it keeps the index
//! if its marker agrees with the store, and otherwise rebuilds it from the store; then it
//! applies the engine's stored records in batches, one commit per batch, on the blocking
//! pool. A batch ends when no record has come for [`FeederOptions::quiet`], or
//! [`FeederOptions::interval`] after its first record, or at [`FeederOptions::max_batch`]
//! records: while records flow, the commits wait rather than compete with the ingest path.
//! A lagged subscription never drops records silently: the index is marked stale and
//! rebuilt, once records have stopped coming for [`FeederOptions::settle`] (or after
//! [`FeederOptions::settle_at_most`]), so that a node taking in a large history rebuilds
//! once at the end instead of over and over while it grows. Expired documents and bumps are
//! purged periodically.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use maillon_protocol::ids::PublicKey;
use maillon_protocol::Record;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::feed::{Feed, Started};
use super::index::{SearchWriter, COMMIT_EVERY_OPS, COMMIT_INTERVAL, COMMIT_QUIET};
use super::SearchError;
use crate::engine::Engine;

/// How the feeder batches and purges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeederOptions {
    /// Records applied per commit at most.
    pub max_batch: usize,
    /// How long after a batch's first record it is committed at the latest.
    pub interval: Duration,
    /// A batch is committed once no record has arrived for this long.
    pub quiet: Duration,
    /// How often expired documents are purged.
    pub purge_every: Duration,
    /// Consecutive failed batches (each followed by a rebuild attempt) before giving up.
    pub max_failures: u32,
    /// After a lag, the rebuild waits until no record has arrived for this long...
    pub settle: Duration,
    /// ...or until this long has passed since the lag, whichever comes first.
    pub settle_at_most: Duration,
}

impl Default for FeederOptions {
    fn default() -> Self {
        FeederOptions {
            max_batch: COMMIT_EVERY_OPS,
            interval: COMMIT_INTERVAL,
            quiet: COMMIT_QUIET,
            purge_every: Duration::from_secs(3600),
            max_failures: 3,
            settle: crate::engine::events::QUIET,
            settle_at_most: crate::engine::events::QUIET_AT_MOST,
        }
    }
}

/// Spawns the feeder with the default options on the current runtime. It stops, having
/// committed, when `shutdown` turns true (or its sender is dropped); it returns an error only
/// after [`FeederOptions::max_failures`] failed batches in a row.
pub fn spawn_feeder(
    engine: Engine,
    writer: SearchWriter,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<Result<(), SearchError>> {
    spawn_feeder_with(engine, writer, shutdown, FeederOptions::default())
}

/// [`spawn_feeder`] with options.
pub fn spawn_feeder_with(
    engine: Engine,
    writer: SearchWriter,
    shutdown: watch::Receiver<bool>,
    options: FeederOptions,
) -> JoinHandle<Result<(), SearchError>> {
    tokio::spawn(run(engine, writer, shutdown, options))
}

/// What one turn of the loop must do.
#[derive(Default)]
struct Turn {
    records: Vec<Record>,
    rebuild: bool,
    /// The subscription lagged: the rebuild waits for the records to stop coming.
    lagged: bool,
    purge: bool,
    stop: bool,
}

async fn run(
    engine: Engine,
    writer: SearchWriter,
    mut shutdown: watch::Receiver<bool>,
    options: FeederOptions,
) -> Result<(), SearchError> {
    let cancel = Arc::new(AtomicBool::new(false));
    let mut events = engine.subscribe();
    let mut dropped = engine.watch_dropped();
    dropped.mark_unchanged();
    let feed = Feed::new(writer, engine.network());
    let (mut feed, started) = blocking(&engine, feed, &mut shutdown, &cancel, |e, feed, c| {
        feed.start(e.store(), e.now(), &|k| is_node(e, k), c)
    })
    .await?;
    match started? {
        Started::Kept => tracing::info!("search index agrees with the store"),
        Started::Rebuilt { listings, millis } => {
            tracing::info!(listings, millis, "search index rebuilt from the store")
        }
        Started::Cancelled => return Ok(()),
    }
    let mut purge = tokio::time::interval(options.purge_every);
    purge.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failures = 0u32;
    let mut force_rebuild = false;
    loop {
        let mut turn = next_turn(
            &mut events,
            &mut shutdown,
            &mut purge,
            &mut dropped,
            &options,
        )
        .await;
        turn.rebuild |= std::mem::take(&mut force_rebuild);
        if turn.lagged {
            let waited = settle(&mut events, &mut shutdown, &options).await;
            tracing::info!(
                waited_ms = waited.as_millis() as u64,
                "records stopped coming; rebuilding the search index"
            );
        }
        if turn.rebuild {
            // Records stored from now on arrive on the new subscription; older ones are read
            // from the store by the rebuild.
            events = events.resubscribe();
            turn.records.clear();
        }
        let stop = turn.stop;
        let (returned, outcome) =
            blocking(&engine, feed, &mut shutdown, &cancel, move |e, feed, c| {
                apply_turn(e, feed, c, turn)
            })
            .await?;
        feed = returned;
        match outcome {
            Ok(Some(Started::Cancelled)) => return Ok(()),
            Ok(Some(Started::Rebuilt { listings, millis })) => {
                tracing::info!(listings, millis, "search index rebuilt");
                failures = 0;
            }
            Ok(_) => failures = 0,
            Err(error) => {
                failures += 1;
                tracing::error!(%error, failures, "search indexing failed; rebuilding");
                if failures >= options.max_failures {
                    return Err(error);
                }
                force_rebuild = true;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        if stop {
            return Ok(());
        }
    }
}

/// Waits for a record, the purge tick or shutdown, then gathers a batch until records stop
/// coming for `quiet`, `interval` has passed since the first, or the batch is full.
async fn next_turn(
    events: &mut tokio::sync::broadcast::Receiver<crate::engine::StoredEvent>,
    shutdown: &mut watch::Receiver<bool>,
    purge: &mut tokio::time::Interval,
    dropped: &mut watch::Receiver<Arc<crate::engine::expiry::Dropped>>,
    options: &FeederOptions,
) -> Turn {
    let mut turn = Turn::default();
    tokio::select! {
        _ = stopped(shutdown) => turn.stop = true,
        _ = purge.tick() => turn.purge = true,
        event = events.recv() => take(event, &mut turn),
        changed = dropped.changed() => {
            // Listings of expired candidacies left the store: index it again.
            turn.rebuild = changed.is_ok()
                && dropped.borrow_and_update().kinds.contains(&maillon_protocol::Kind::Listing);
        }
    }
    if turn.records.is_empty() || turn.stop || turn.rebuild {
        return turn;
    }
    let latest = Instant::now() + options.interval;
    while turn.records.len() < options.max_batch && !turn.stop && !turn.rebuild {
        let deadline = latest.min(Instant::now() + options.quiet);
        tokio::select! {
            _ = stopped(shutdown) => turn.stop = true,
            _ = tokio::time::sleep_until(deadline) => break,
            event = events.recv() => take(event, &mut turn),
        }
    }
    turn
}

fn take(event: Result<crate::engine::StoredEvent, RecvError>, turn: &mut Turn) {
    match event {
        Ok(event) => turn.records.push(event.record),
        Err(RecvError::Lagged(missed)) => {
            tracing::warn!(
                missed,
                "search feeder lagged behind the engine; rebuilding once records stop coming"
            );
            turn.rebuild = true;
            turn.lagged = true;
        }
        Err(RecvError::Closed) => turn.stop = true,
    }
}

/// Discards stored records until none has come for `options.settle`, or for at most
/// `options.settle_at_most`, or until shutdown; returns how long it waited. The rebuild that
/// follows reads them from the store.
async fn settle(
    events: &mut tokio::sync::broadcast::Receiver<crate::engine::StoredEvent>,
    shutdown: &mut watch::Receiver<bool>,
    options: &FeederOptions,
) -> Duration {
    crate::engine::events::until_quiet(events, shutdown, options.settle, options.settle_at_most)
        .await
}

/// One turn on the blocking pool: a rebuild, or the batch then a commit.
fn apply_turn(
    engine: &Engine,
    feed: &mut Feed,
    cancel: &AtomicBool,
    turn: Turn,
) -> Result<Option<Started>, SearchError> {
    let now = engine.now();
    let nodes = |k: &PublicKey| is_node(engine, k);
    if turn.rebuild {
        // A crash during the rebuild must not leave a marker that looks consistent.
        feed.invalidate()?;
        return feed.rebuild(engine.store(), now, &nodes, cancel).map(Some);
    }
    for record in &turn.records {
        feed.apply(engine.store(), record, now, &nodes)?;
    }
    if turn.purge {
        feed.purge(now)?;
    }
    if !turn.records.is_empty() || feed.writer().pending() > 0 {
        feed.commit()?;
    }
    Ok(None)
}

/// Whether `key` is an announced node's, by the membership index as it is.
fn is_node(engine: &Engine, key: &PublicKey) -> bool {
    engine.index_as_is().announced_nodes().contains_key(key)
}

/// Resolves once shutdown is asked for (or nobody can ask any more).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Runs `f` on the blocking pool with the feed, setting `cancel` if shutdown is asked
/// for meanwhile (a rebuild checks it and stops early).
async fn blocking<T, F>(
    engine: &Engine,
    mut feed: Feed,
    shutdown: &mut watch::Receiver<bool>,
    cancel: &Arc<AtomicBool>,
    f: F,
) -> Result<(Feed, Result<T, SearchError>), SearchError>
where
    T: Send + 'static,
    F: FnOnce(&Engine, &mut Feed, &AtomicBool) -> Result<T, SearchError> + Send + 'static,
{
    let engine = engine.clone();
    let flag = Arc::clone(cancel);
    let mut task = tokio::task::spawn_blocking(move || {
        let outcome = f(&engine, &mut feed, &flag);
        (feed, outcome)
    });
    loop {
        tokio::select! {
            joined = &mut task => return joined.map_err(|_| SearchError::TaskFailed),
            _ = stopped(shutdown), if !cancel.load(Ordering::Relaxed) => {
                cancel.store(true, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Origin, StoredEvent};

    /// Sends `count` events `spacing` apart, then gathers one turn with these options;
    /// returns its size and how long the turn took. The bounds the tests check are wide:
    /// the machine is shared and its timers are late when it is busy.
    async fn turn_after(
        count: usize,
        spacing: Duration,
        options: FeederOptions,
    ) -> (usize, Duration) {
        let network = crate::generator::generate(5, 4);
        let record = network.records.last().expect("a record").clone();
        let (sender, mut events) = tokio::sync::broadcast::channel(4_096);
        let (_stop, mut shutdown) = watch::channel(false);
        let (_dropped_sender, mut dropped) = watch::channel(Arc::default());
        let mut purge = tokio::time::interval(Duration::from_secs(3_600));
        purge.tick().await;
        let producer = tokio::spawn(async move {
            for _ in 0..count {
                let _ = sender.send(StoredEvent {
                    record: record.clone(),
                    origin: Origin::Local,
                });
                tokio::time::sleep(spacing).await;
            }
            // Keeps the channel open past the turn.
            tokio::time::sleep(Duration::from_secs(60)).await;
        });
        let started = Instant::now();
        let turn = next_turn(
            &mut events,
            &mut shutdown,
            &mut purge,
            &mut dropped,
            &options,
        )
        .await;
        producer.abort();
        (turn.records.len(), started.elapsed())
    }

    #[tokio::test]
    async fn a_batch_ends_once_records_stop_coming_for_the_quiet_time() {
        let options = FeederOptions {
            interval: Duration::from_secs(30),
            quiet: Duration::from_millis(300),
            ..FeederOptions::default()
        };
        let (taken, took) = turn_after(3, Duration::from_millis(20), options).await;
        assert_eq!(taken, 3);
        assert!(took >= Duration::from_millis(340), "{took:?}");
        assert!(
            took < Duration::from_secs(20),
            "ended by the quiet time: {took:?}"
        );
    }

    #[tokio::test]
    async fn while_records_keep_coming_the_batch_waits_until_the_interval() {
        let options = FeederOptions {
            interval: Duration::from_secs(3),
            quiet: Duration::from_secs(2),
            ..FeederOptions::default()
        };
        let (taken, took) = turn_after(1_000, Duration::from_millis(50), options).await;
        assert!(took >= Duration::from_secs(3), "{took:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert!((20..1_000).contains(&taken), "{taken} records in {took:?}");
    }

    /// Sends an event every `spacing` for `lasting`, then keeps the channel open; returns
    /// how long `settle` waited.
    async fn settled_after(
        spacing: Duration,
        lasting: Duration,
        options: FeederOptions,
    ) -> Duration {
        let network = crate::generator::generate(5, 4);
        let record = network.records.last().expect("a record").clone();
        let (sender, mut events) = tokio::sync::broadcast::channel(16);
        let (_stop, mut shutdown) = watch::channel(false);
        let producer = tokio::spawn(async move {
            let until = Instant::now() + lasting;
            while Instant::now() < until {
                let _ = sender.send(StoredEvent {
                    record: record.clone(),
                    origin: Origin::Fetched,
                });
                tokio::time::sleep(spacing).await;
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        });
        let waited = settle(&mut events, &mut shutdown, &options).await;
        producer.abort();
        waited
    }

    #[tokio::test]
    async fn after_a_lag_the_rebuild_waits_until_records_stop_coming() {
        let options = FeederOptions {
            settle: Duration::from_millis(400),
            settle_at_most: Duration::from_secs(60),
            ..FeederOptions::default()
        };
        let waited =
            settled_after(Duration::from_millis(40), Duration::from_secs(2), options).await;
        assert!(waited >= Duration::from_millis(2_300), "{waited:?}");
        assert!(waited < Duration::from_secs(30), "{waited:?}");
    }

    #[tokio::test]
    async fn after_a_lag_the_rebuild_waits_no_longer_than_its_bound() {
        let options = FeederOptions {
            settle: Duration::from_millis(400),
            settle_at_most: Duration::from_secs(2),
            ..FeederOptions::default()
        };
        let waited =
            settled_after(Duration::from_millis(40), Duration::from_secs(60), options).await;
        assert!(waited >= Duration::from_secs(2), "{waited:?}");
        assert!(waited < Duration::from_secs(30), "{waited:?}");
    }
}
