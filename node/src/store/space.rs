//! Free space on the store's volume, kept above a floor: under it the store refuses new
//! records with [`StoreError::NoSpace`] before sled meets a full disk, while reads go on, and
//! takes them again as soon as space returns (a margin above the floor). The volume is asked at most every
//! [`RECHECK`]; changes of state are logged.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::StoreError;

/// How long a measure of the free space is trusted.
pub const RECHECK: Duration = Duration::from_millis(250);

/// Where the free space stands against the floor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpaceState {
    /// More than twice the floor is free (or no floor is set).
    Ample,
    /// Less than twice the floor: writes go on, the operator is warned.
    Low,
    /// At or under the floor: new records are refused.
    Full,
}

/// A measure of the store's volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpaceReport {
    /// Bytes free for this process, if the system says.
    pub free_bytes: Option<u64>,
    /// The floor in bytes (0: none).
    pub floor_bytes: u64,
    /// The state.
    pub state: SpaceState,
}

/// The floor and the last measure.
#[derive(Debug)]
pub struct FreeSpace {
    path: PathBuf,
    floor_bytes: AtomicU64,
    last: Mutex<Option<(Instant, SpaceReport)>>,
}

impl FreeSpace {
    /// Watches the volume holding `path`, with no floor yet.
    pub fn new(path: PathBuf) -> Self {
        FreeSpace {
            path,
            floor_bytes: AtomicU64::new(0),
            last: Mutex::new(None),
        }
    }

    /// Sets the floor (0: none) and measures again.
    pub fn set_floor(&self, bytes: u64) {
        self.floor_bytes.store(bytes, Ordering::Relaxed);
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The space now (measured again if the last measure is older than [`RECHECK`]).
    pub fn report(&self) -> SpaceReport {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, report)) = *last {
            if at.elapsed() < RECHECK {
                return report;
            }
        }
        let before = last.map(|(_, report)| report.state);
        let report = self.measure(before == Some(SpaceState::Full));
        if before.is_some_and(|state| state != report.state) || before.is_none() {
            log_state(&report, before);
        }
        *last = Some((Instant::now(), report));
        report
    }

    /// `Err(NoSpace)` when the free space is at or under the floor.
    pub fn check_writable(&self) -> Result<(), StoreError> {
        let report = self.report();
        if report.state == SpaceState::Full {
            return Err(StoreError::NoSpace(format!(
                "{} MiB free on the data folder's volume, under the floor of {} MiB \
                 (store.min_free_mib)",
                report.free_bytes.unwrap_or_default() >> 20,
                report.floor_bytes >> 20
            )));
        }
        Ok(())
    }

    /// Measures the volume. Once full, the store stays full until the free space is a margin
    /// above the floor (a tenth of it, 1 MiB at least), so that it does not flap around it.
    fn measure(&self, was_full: bool) -> SpaceReport {
        let floor_bytes = self.floor_bytes.load(Ordering::Relaxed);
        let full_under = if was_full {
            floor_bytes.saturating_add((floor_bytes / 10).max(1 << 20))
        } else {
            floor_bytes
        };
        let free_bytes = rustix::fs::statvfs(&self.path)
            .ok()
            .map(|s| s.f_bavail.saturating_mul(s.f_frsize));
        let state = match free_bytes {
            _ if floor_bytes == 0 => SpaceState::Ample,
            Some(free) if free <= full_under => SpaceState::Full,
            Some(free) if free < floor_bytes.saturating_mul(2) => SpaceState::Low,
            _ => SpaceState::Ample,
        };
        SpaceReport {
            free_bytes,
            floor_bytes,
            state,
        }
    }
}

fn log_state(report: &SpaceReport, before: Option<SpaceState>) {
    let free_mib = report.free_bytes.unwrap_or_default() >> 20;
    let floor_mib = report.floor_bytes >> 20;
    match report.state {
        SpaceState::Full => tracing::error!(
            free_mib,
            floor_mib,
            "the data folder's disk is full: new records are refused until space is freed"
        ),
        SpaceState::Low => tracing::warn!(
            free_mib,
            floor_mib,
            "the data folder's disk is nearly full: free space, or new records will be refused"
        ),
        SpaceState::Ample if before.is_some() => {
            tracing::info!(free_mib, "the data folder's disk has room again")
        }
        SpaceState::Ample => {}
    }
}
