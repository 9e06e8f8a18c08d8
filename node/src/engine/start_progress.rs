//! How far a node's start has gone: the step, and the records read by the start-up pass,
//! for the answers served while the node starts (`http_server::starting`).

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::time::Instant;

use serde::Serialize;

/// A step of the start, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StartStep {
    /// Opening the store: migrations, and the index check after an unclean stop.
    OpeningStore,
    /// Reading every record once: membership index, sync set, validation state.
    ReadingRecords,
    /// Starting the network, the website and their tasks.
    StartingServices,
}

impl StartStep {
    const ALL: [StartStep; 3] = [
        StartStep::OpeningStore,
        StartStep::ReadingRecords,
        StartStep::StartingServices,
    ];

    /// What the step does, in French, for the page shown while the node starts.
    pub fn in_french(self) -> &'static str {
        match self {
            StartStep::OpeningStore => "ouverture de la base",
            StartStep::ReadingRecords => "lecture des fiches",
            StartStep::StartingServices => "démarrage du réseau et du site",
        }
    }
}

/// Shared between the start and the answers served meanwhile.
#[derive(Debug)]
pub struct StartProgress {
    started: Instant,
    step: AtomicU8,
    records_read: AtomicU64,
    records_total: AtomicU64,
}

/// A reading of [`StartProgress`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StartSnapshot {
    /// The step under way.
    pub step: StartStep,
    /// Records read by the start-up pass so far.
    pub records_read: u64,
    /// Records held by the store (known once it is open; 0 before).
    pub records_total: u64,
    /// Milliseconds since the start.
    pub elapsed_ms: u64,
}

impl Default for StartProgress {
    fn default() -> Self {
        StartProgress::new()
    }
}

impl StartProgress {
    /// A start beginning now, opening its store.
    pub fn new() -> StartProgress {
        StartProgress {
            started: Instant::now(),
            step: AtomicU8::new(0),
            records_read: AtomicU64::new(0),
            records_total: AtomicU64::new(0),
        }
    }

    /// Moves to `step`.
    pub fn enter(&self, step: StartStep) {
        self.step.store(step as u8, Ordering::Relaxed);
    }

    /// The store holds `total` records.
    pub fn set_total(&self, total: u64) {
        self.records_total.store(total, Ordering::Relaxed);
    }

    /// One more record read.
    pub fn note_read(&self) {
        self.records_read.fetch_add(1, Ordering::Relaxed);
    }

    /// The progress now.
    pub fn snapshot(&self) -> StartSnapshot {
        let step = self.step.load(Ordering::Relaxed) as usize;
        StartSnapshot {
            step: StartStep::ALL[step.min(StartStep::ALL.len() - 1)],
            records_read: self.records_read.load(Ordering::Relaxed),
            records_total: self.records_total.load(Ordering::Relaxed),
            elapsed_ms: self.started.elapsed().as_millis() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_follows_the_steps_and_the_records_read() {
        let progress = StartProgress::new();
        assert_eq!(progress.snapshot().step, StartStep::OpeningStore);
        progress.set_total(3);
        progress.enter(StartStep::ReadingRecords);
        progress.note_read();
        progress.note_read();
        let snapshot = progress.snapshot();
        assert_eq!(snapshot.step, StartStep::ReadingRecords);
        assert_eq!((snapshot.records_read, snapshot.records_total), (2, 3));
        progress.enter(StartStep::StartingServices);
        assert_eq!(progress.snapshot().step, StartStep::StartingServices);
        assert_eq!(
            serde_json::to_value(progress.snapshot()).unwrap()["step"],
            "starting_services"
        );
    }
}
