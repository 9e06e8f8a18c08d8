//! Progress of the records sync sessions are fetching: a node catching up (a cold sync, or
//! days offline) says every [`REPORT_EVERY`] how many records it has taken, at what rate,
//! and about how long is left, in the log and in `GET /api/v1/status`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

/// How often a running catch-up is reported in the log.
pub const REPORT_EVERY: Duration = Duration::from_secs(5);
/// Fetches smaller than this are routine, not a catch-up: not reported.
pub const MIN_REPORTED: u64 = 1_000;

/// One fetch under way.
#[derive(Clone, Copy, Debug)]
struct Fetch {
    total: u64,
    done: u64,
    started: Instant,
}

/// The fetches under way, shared by the sessions and the status.
#[derive(Debug, Default)]
pub struct SyncProgress {
    fetches: Mutex<HashMap<u64, Fetch>>,
    next: AtomicU64,
}

/// Every catch-up under way, summed, as status reports it.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct ProgressReport {
    /// Records taken so far.
    pub fetched: u64,
    /// Records to take in all.
    pub total: u64,
    /// Records per second since the start.
    pub per_second: u64,
    /// Seconds since the start.
    pub elapsed_secs: u64,
    /// About how many seconds are left, once a rate is known.
    pub seconds_left: Option<u64>,
}

/// A fetch's place in [`SyncProgress`]; it leaves when dropped.
pub struct FetchGuard<'a> {
    progress: &'a SyncProgress,
    id: u64,
}

impl FetchGuard<'_> {
    /// Notes `records` more taken (stored, already held or refused: answered).
    pub fn advance(&self, records: u64) {
        if let Some(fetch) = self.progress.lock().get_mut(&self.id) {
            fetch.done = (fetch.done + records).min(fetch.total);
        }
    }
}

impl Drop for FetchGuard<'_> {
    fn drop(&mut self) {
        self.progress.lock().remove(&self.id);
    }
}

impl SyncProgress {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Fetch>> {
        self.fetches.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes a fetch of `total` records starting now.
    pub fn begin(&self, total: u64) -> FetchGuard<'_> {
        self.begin_at(total, Instant::now())
    }

    fn begin_at(&self, total: u64, started: Instant) -> FetchGuard<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(
            id,
            Fetch {
                total,
                done: 0,
                started,
            },
        );
        FetchGuard { progress: self, id }
    }

    /// The catch-ups under way (fetches of at least [`MIN_REPORTED`] records), summed; none
    /// when there is none.
    pub fn report(&self) -> Option<ProgressReport> {
        self.report_at(Instant::now())
    }

    fn report_at(&self, now: Instant) -> Option<ProgressReport> {
        let fetches = self.lock();
        let large: Vec<&Fetch> = fetches
            .values()
            .filter(|f| f.total >= MIN_REPORTED)
            .collect();
        let started = large.iter().map(|f| f.started).min()?;
        let fetched: u64 = large.iter().map(|f| f.done).sum();
        let total: u64 = large.iter().map(|f| f.total).sum();
        let elapsed = now.saturating_duration_since(started);
        let per_second = (fetched as f64 / elapsed.as_secs_f64().max(0.001)) as u64;
        Some(ProgressReport {
            fetched,
            total,
            per_second,
            elapsed_secs: elapsed.as_secs(),
            seconds_left: (per_second > 0).then(|| (total - fetched).div_ceil(per_second)),
        })
    }
}

impl std::fmt::Display for ProgressReport {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let percent = self.fetched * 100 / self.total.max(1);
        write!(
            formatter,
            "catching up: {} of {} records ({percent} %), {}/s, ",
            self.fetched, self.total, self.per_second
        )?;
        match self.seconds_left {
            Some(seconds) => write!(formatter, "about {seconds} s left"),
            None => write!(formatter, "time left not known yet"),
        }
    }
}

/// Logs the catch-ups under way every [`REPORT_EVERY`] until `shutdown`.
pub async fn report_in_log(
    progress: std::sync::Arc<SyncProgress>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(REPORT_EVERY);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            changed = shutdown.changed() => if changed.is_err() || *shutdown.borrow() { return },
        }
        if let Some(report) = progress.report() {
            tracing::info!(
                fetched = report.fetched,
                total = report.total,
                per_second = report.per_second,
                seconds_left = report.seconds_left,
                "{report}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catch_up_reports_its_rate_and_time_left_until_it_ends() {
        let progress = SyncProgress::default();
        let start = Instant::now();
        assert_eq!(progress.report_at(start), None);
        let small = progress.begin_at(10, start);
        small.advance(5);
        assert_eq!(
            progress.report_at(start),
            None,
            "routine fetches are not reported"
        );
        let large = progress.begin_at(10_000, start);
        large.advance(2_000);
        let report = progress
            .report_at(start + Duration::from_secs(4))
            .expect("a catch-up");
        assert_eq!(report.fetched, 2_000);
        assert_eq!(report.total, 10_000);
        assert_eq!(report.per_second, 500);
        assert_eq!(report.seconds_left, Some(16));
        assert_eq!(
            report.to_string(),
            "catching up: 2000 of 10000 records (20 %), 500/s, about 16 s left"
        );
        large.advance(1_000_000);
        let done = progress.report_at(start + Duration::from_secs(8)).unwrap();
        assert_eq!(done.fetched, 10_000, "never past the total");
        assert_eq!(done.seconds_left, Some(0));
        drop(large);
        drop(small);
        assert_eq!(progress.report_at(start), None, "a finished fetch leaves");
        let fresh = progress.begin_at(5_000, start);
        let unknown = progress.report_at(start).unwrap();
        assert_eq!(unknown.seconds_left, None);
        assert!(unknown.to_string().ends_with("time left not known yet"));
        drop(fresh);
    }
}
