//! [`spawn_feeder`]: the task that keeps the search index fresh. At start it keeps the index
//! if its marker agrees with the store, and otherwise rebuilds it from the store; then it
//! applies the engine's stored records in batches, one commit per batch, on the blocking
//! pool. It keeps only the records of the kinds the index reads ([`Feed::reads`]) and counts
//! the others. A batch ends when no record has come for [`FeederOptions::quiet`], or
//! [`FeederOptions::interval`] after its first record, or at [`FeederOptions::max_batch`]
//! kept records: while records flow, the commits wait rather than compete with the ingest
//! path. While a batch is applied and committed, the feeder goes on taking the next one
//! from the subscription (up to [`FeederOptions::carry_at_most`] kept records), so that a
//! slow commit during a catch-up does not make it lag.
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
    /// Kept records applied per commit at most (a batch taken while the last one was
    /// applied may be larger, up to `carry_at_most`).
    pub max_batch: usize,
    /// Kept records taken from the subscription while a batch is applied, at most; beyond,
    /// they wait in the subscription, which may lag.
    pub carry_at_most: usize,
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
            carry_at_most: 4 * COMMIT_EVERY_OPS,
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
    /// Stored records of the kinds the index reads.
    records: Vec<Record>,
    /// Stored records of other kinds: only counted.
    others: u64,
    rebuild: bool,
    /// The subscription lagged: the rebuild waits for the records to stop coming.
    lagged: bool,
    purge: bool,
    stop: bool,
}

impl Turn {
    /// Whether the turn took any stored record, kept or counted.
    fn received(&self) -> bool {
        !self.records.is_empty() || self.others > 0
    }
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
    let feed = Feed::new(
        writer,
        engine.network(),
        engine.charter().bumps_per_node_per_day,
    );
    let mut carried = Turn::default();
    let mut taking = Taking {
        events: &mut events,
        turn: &mut carried,
        at_most: options.carry_at_most,
    };
    let e = engine.clone();
    let (mut feed, started) =
        blocking(feed, &mut shutdown, &cancel, &mut taking, move |feed, c| {
            feed.start(e.store(), e.now(), &|k| is_node(&e, k), c)
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
            std::mem::take(&mut carried),
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
            turn.others = 0;
        }
        let stop = turn.stop;
        let mut taking = Taking {
            events: &mut events,
            turn: &mut carried,
            at_most: options.carry_at_most,
        };
        let e = engine.clone();
        let (returned, outcome) =
            blocking(feed, &mut shutdown, &cancel, &mut taking, move |feed, c| {
                apply_turn(&e, feed, c, turn)
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

type Events = tokio::sync::broadcast::Receiver<crate::engine::StoredEvent>;
type DroppedWatch = watch::Receiver<Arc<crate::engine::expiry::Dropped>>;

/// Starting from what was taken while the last turn ran (`carried`), or else waiting for a
/// record, the purge tick or shutdown, gathers a batch until records stop coming for
/// `quiet`, `interval` has passed, or the batch is full.
async fn next_turn(
    carried: Turn,
    events: &mut Events,
    shutdown: &mut watch::Receiver<bool>,
    purge: &mut tokio::time::Interval,
    dropped: &mut DroppedWatch,
    options: &FeederOptions,
) -> Turn {
    let mut turn = carried;
    if !turn.received() && !turn.stop && !turn.rebuild {
        tokio::select! {
            _ = stopped(shutdown) => turn.stop = true,
            _ = purge.tick() => turn.purge = true,
            event = events.recv() => take(event, &mut turn),
            changed = dropped.changed() => turn.rebuild = listings_dropped(changed, dropped),
        }
    }
    if !turn.received() || turn.stop || turn.rebuild {
        return turn;
    }
    let latest = Instant::now() + options.interval;
    while turn.records.len() < options.max_batch && !turn.stop && !turn.rebuild {
        let deadline = latest.min(Instant::now() + options.quiet);
        tokio::select! {
            _ = stopped(shutdown) => turn.stop = true,
            _ = tokio::time::sleep_until(deadline) => break,
            event = events.recv() => take(event, &mut turn),
            _ = purge.tick(), if !turn.purge => turn.purge = true,
            changed = dropped.changed() => turn.rebuild = listings_dropped(changed, dropped),
        }
    }
    turn
}

/// Whether a pass over expired candidacies removed listings from the store: the index is
/// then built again.
fn listings_dropped(
    changed: Result<(), watch::error::RecvError>,
    dropped: &mut DroppedWatch,
) -> bool {
    changed.is_ok()
        && dropped
            .borrow_and_update()
            .kinds
            .contains(&maillon_protocol::Kind::Listing)
}

/// Where records go while a turn runs on the blocking pool.
struct Taking<'a> {
    events: &'a mut Events,
    turn: &'a mut Turn,
    at_most: usize,
}

impl Taking<'_> {
    /// Whether to take another record now: not past the bound, and not once the turn must
    /// rebuild or stop anyway.
    fn open(&self) -> bool {
        self.turn.records.len() < self.at_most && !self.turn.rebuild && !self.turn.stop
    }
}

fn take(event: Result<crate::engine::StoredEvent, RecvError>, turn: &mut Turn) {
    match event {
        Ok(event) if Feed::reads(event.record.header().kind) => turn.records.push(event.record),
        Ok(_) => turn.others += 1,
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
    feed.skip(turn.others);
    if turn.purge {
        feed.purge(now)?;
    }
    if turn.received() || feed.writer().pending() > 0 {
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
/// for meanwhile (a rebuild checks it and stops early), and taking stored records into
/// `taking` meanwhile.
async fn blocking<V, T, F>(
    mut value: V,
    shutdown: &mut watch::Receiver<bool>,
    cancel: &Arc<AtomicBool>,
    taking: &mut Taking<'_>,
    f: F,
) -> Result<(V, T), SearchError>
where
    V: Send + 'static,
    T: Send + 'static,
    F: FnOnce(&mut V, &AtomicBool) -> T + Send + 'static,
{
    let flag = Arc::clone(cancel);
    let mut task = tokio::task::spawn_blocking(move || {
        let outcome = f(&mut value, &flag);
        (value, outcome)
    });
    loop {
        tokio::select! {
            joined = &mut task => return joined.map_err(|_| SearchError::TaskFailed),
            _ = stopped(shutdown), if !cancel.load(Ordering::Relaxed) => {
                cancel.store(true, Ordering::Relaxed);
            }
            event = taking.events.recv(), if taking.open() => take(event, taking.turn),
        }
    }
}

#[cfg(test)]
#[path = "feeder_tests.rs"]
mod tests;
