//! When the membership table is recomputed: on demand by readers and by a background task,
//! within a budget proportional to what the last recomputation cost, and less often while
//! the node takes in the network's history.

use std::time::{Duration, Instant};

use maillon_protocol::ids::Timestamp;

use super::{read, Shared};

/// Readers may trigger a recomputation of the membership table only when the time since
/// the last one is at least this many times what it cost: recomputing costs about as much
/// as computing the whole table (0.7 s at 150,000 members), so bulk ingest with readers
/// polling spends at most a fifth of its time on it.
pub const READ_REFRESH_COST_FACTOR: u32 = 4;

/// The factor that replaces [`READ_REFRESH_COST_FACTOR`] while the node catches up: at
/// most a seventeenth of the time goes to recomputing. A node taking in the network's
/// history answers for a table up to this many recomputations' time behind (about a minute
/// at 790,000 members); its writer does not read the table for fetched records, and a
/// refusal by the standing policy still forces a recomputation.
pub const CATCH_UP_REFRESH_COST_FACTOR: u32 = 16;

/// The node counts as catching up while it stored a record of its history (fetched by
/// sync, or created more than a candidacy's window ago) this recently.
pub const CATCH_UP_WINDOW: Duration = Duration::from_secs(10);

/// A recomputation this cheap is always done on read: small networks stay exact.
pub const CHEAP_REFRESH: Duration = Duration::from_millis(50);

/// When and how long the last recomputation took.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LastRefresh {
    pub(crate) finished: Instant,
    pub(crate) cost: Duration,
}

impl LastRefresh {
    /// None yet: the first read recomputes.
    pub(crate) fn none() -> LastRefresh {
        LastRefresh {
            finished: Instant::now(),
            cost: Duration::ZERO,
        }
    }

    /// Whether a reader may recompute at `now`: always when the last recomputation was
    /// cheap, otherwise once the time since it reaches its cost times the budget's factor,
    /// which is larger while the node catches up.
    pub(crate) fn allows_refresh(&self, now: Instant, catching_up: bool) -> bool {
        if self.cost < CHEAP_REFRESH {
            return true;
        }
        let factor = if catching_up {
            CATCH_UP_REFRESH_COST_FACTOR
        } else {
            READ_REFRESH_COST_FACTOR
        };
        now.saturating_duration_since(self.finished) >= self.cost * factor
    }
}

/// Whether the node stored a record of its history (see [`super::expiry::is_catching_up`])
/// less than `window` ago.
pub(super) fn stored_history_within(shared: &Shared, window: Duration) -> bool {
    shared
        .last_catch_up
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_some_and(|at| at.elapsed() < window)
}

/// Recomputes the membership table if it is dirty or stale: at once when `force`, else
/// only within the budget of [`LastRefresh::allows_refresh`].
pub(crate) fn refresh_if_needed(shared: &Shared, now: Timestamp, force: bool) {
    let mut last = shared
        .last_refresh
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let catching_up = stored_history_within(shared, CATCH_UP_WINDOW);
    if !force && !last.allows_refresh(Instant::now(), catching_up) {
        return;
    }
    let started = Instant::now();
    // The table is computed from a copy of the facts, without the index's lock: the writer
    // goes on noting records, and readers go on reading the previous table.
    let (job, derived_dirty) = {
        let index = read(&shared.index);
        (index.table_job(now), index.derived_dirty())
    };
    if job.is_none() && !derived_dirty {
        // Nothing to recompute: no write lock, which would wait for every reader and hold
        // up the readers that come after it.
        return;
    }
    let computed = job.map(crate::membership_index::TableJob::compute);
    let mut index = shared.index.write().unwrap_or_else(|p| p.into_inner());
    if let Some(computed) = computed {
        index.install(computed);
    }
    if index.refresh_derived() {
        let cost = started.elapsed();
        *last = LastRefresh {
            finished: Instant::now(),
            cost,
        };
        shared.metrics.record_index_refresh(cost);
    }
}

/// Recomputes the membership index in the background, within the read budget, until the
/// engine is dropped.
pub(super) async fn keep_index_fresh(shared: std::sync::Weak<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let refreshed = tokio::task::spawn_blocking(move || {
            let now = (shared.clock)();
            refresh_if_needed(&shared, now, false);
            super::expiry::ask_for_pass_if_due(&shared);
            // Measures the free space, which logs a disk running low even with no writes.
            shared.store.free_space();
        })
        .await;
        if refreshed.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::twin_tests::parts_for;
    use crate::engine::{Engine, Origin};
    use maillon_protocol::Record;

    fn costing(seconds: u64, finished: Instant) -> LastRefresh {
        LastRefresh {
            finished,
            cost: Duration::from_secs(seconds),
        }
    }

    #[test]
    fn a_cheap_recomputation_is_always_allowed() {
        let now = Instant::now();
        let last = LastRefresh {
            finished: now,
            cost: CHEAP_REFRESH - Duration::from_millis(1),
        };
        assert!(last.allows_refresh(now, false));
        assert!(last.allows_refresh(now, true));
    }

    #[test]
    fn a_costly_recomputation_waits_its_cost_times_the_factor_and_longer_while_catching_up() {
        let finished = Instant::now();
        let last = costing(2, finished);
        let after = |seconds: u64| finished + Duration::from_secs(seconds);
        let normal = u64::from(READ_REFRESH_COST_FACTOR) * 2;
        let catching_up = u64::from(CATCH_UP_REFRESH_COST_FACTOR) * 2;
        assert!(!last.allows_refresh(after(normal - 1), false));
        assert!(last.allows_refresh(after(normal), false));
        assert!(!last.allows_refresh(after(normal), true));
        assert!(!last.allows_refresh(after(catching_up - 1), true));
        assert!(last.allows_refresh(after(catching_up), true));
    }

    async fn fetch(engine: &Engine, records: &[Record]) {
        let wires = records.iter().map(Record::to_wire).collect();
        for outcome in engine.submit_many(wires, Origin::Fetched).await.unwrap() {
            assert!(outcome.is_ok(), "{outcome:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn while_the_node_catches_up_readers_leave_a_costly_table_stale_for_longer() {
        let network = crate::generator::generate(41, 12);
        let store = std::sync::Arc::new(crate::store::MemoryStore::new());
        let engine = Engine::start(parts_for(store, &network)).await.unwrap();
        let (first, rest) = network.records.split_at(network.records.len() / 2);
        fetch(&engine, first).await;
        // A table that cost 1 s, computed 10 s ago: due again after 4 s, or after 16 s
        // while the node catches up.
        let ten_seconds_ago = Instant::now()
            .checked_sub(Duration::from_secs(10))
            .expect("the clock runs");
        *engine.shared.last_refresh.lock().unwrap() = costing(1, ten_seconds_ago);
        fetch(&engine, rest).await;
        assert!(
            engine.index_as_is().is_dirty(),
            "the later half changes the table"
        );
        assert!(
            engine.index().is_dirty(),
            "catching up: a reader leaves the table as it is"
        );
        *engine.shared.last_catch_up.lock().unwrap() = None;
        assert!(
            !engine.index().is_dirty(),
            "caught up: the same reader recomputes it"
        );
    }
}
