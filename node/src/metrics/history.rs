//! Samples of records and peers over the last days, for the operator page's chart. One is
//! taken at start and every [`SAMPLE_EVERY`]; they are kept [`KEEP_MS`] in
//! `<data>/history.json`, written whole or not at all.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::serve::Sources;
use crate::durable::write_atomically;

/// The file, in the data folder.
pub const HISTORY_FILE: &str = "history.json";
/// How often a sample is taken.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(3600);
/// How long samples are kept: 30 days.
pub const KEEP_MS: u64 = 30 * 24 * 3600 * 1000;
/// A sample this close to the one before replaces it, so that restarts do not pile up.
pub const MIN_GAP_MS: u64 = 30 * 60 * 1000;

/// The node's figures at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// When, in milliseconds since 1970 by the node's clock.
    pub at_ms: u64,
    /// Records held.
    pub records: u64,
    /// Connected peers.
    pub peers: u64,
}

#[derive(Serialize, Deserialize)]
struct HistoryFile {
    version: u32,
    samples: Vec<Sample>,
}

/// Adds `sample` to `samples` (oldest first): forgets those older than [`KEEP_MS`] and
/// those after it (a clock set back), and replaces the last one if within [`MIN_GAP_MS`].
pub fn add(samples: &mut Vec<Sample>, sample: Sample) {
    let oldest = sample.at_ms.saturating_sub(KEEP_MS);
    samples.retain(|kept| kept.at_ms >= oldest && kept.at_ms <= sample.at_ms);
    if samples
        .last()
        .is_some_and(|last| sample.at_ms - last.at_ms < MIN_GAP_MS)
    {
        samples.pop();
    }
    samples.push(sample);
}

/// The samples kept in `path`: none if there is no file. A file that cannot be read is
/// logged and set aside: the chart starts again, the node does not stop for it.
pub fn load(path: &Path) -> Vec<Sample> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "the history of records and peers cannot be read; it starts again");
            return Vec::new();
        }
    };
    match serde_json::from_slice::<HistoryFile>(&bytes) {
        Ok(file) if file.version == 1 => file.samples,
        Ok(file) => {
            tracing::warn!(path = %path.display(), version = file.version, "the history file has an unknown version; it starts again");
            Vec::new()
        }
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "the history file is not valid; it starts again");
            Vec::new()
        }
    }
}

/// Writes `samples` to `path`, whole or not at all.
pub fn save(path: &Path, samples: &[Sample]) -> std::io::Result<()> {
    let file = HistoryFile {
        version: 1,
        samples: samples.to_vec(),
    };
    let bytes = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
    write_atomically(path, &bytes)
}

/// Takes a sample now, then every `every`, until `shutdown`; each is kept in the metrics
/// (for the operator page) and in `path`.
pub fn spawn(
    sources: Sources,
    path: PathBuf,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let metrics = sources.engine.metrics().clone();
        let mut samples = load(&path);
        loop {
            if *shutdown.borrow() {
                return;
            }
            add(&mut samples, take(&sources).await);
            metrics.set_history(samples.clone());
            let (file, kept) = (path.clone(), samples.clone());
            let saved = tokio::task::spawn_blocking(move || save(&file, &kept)).await;
            if let Ok(Err(error)) = saved {
                tracing::warn!(path = %path.display(), %error, "the history of records and peers could not be saved");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => {}
            }
        }
    })
}

async fn take(sources: &Sources) -> Sample {
    let peers = match &sources.network {
        Some(client) => client.peers().await.map_or(0, |peers| peers.len() as u64),
        None => 0,
    };
    Sample {
        at_ms: sources.engine.now().0,
        records: sources.engine.sync_set().len() as u64,
        peers,
    }
}
