//! The figures read at scrape time (records, members, peers, sync lag, sizes, mail queue):
//! what `/metrics` sets its gauges from and what the operator page shows.

use std::time::Duration;

use maillon_protocol::{Kind, Timestamp};
use thiserror::Error;

use crate::blobs::{BlobError, BlobStore, BlobUsage};
use crate::engine::status::kind_name;
use crate::engine::Engine;
use crate::network::{Client, Link, NetworkError};

/// Why the figures could not be read.
#[derive(Debug, Error)]
pub enum SnapshotError {
    /// The network task did not answer (the node is stopping).
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// The photo folder could not be read.
    #[error(transparent)]
    Blobs(#[from] BlobError),
    /// The task reading the engine's figures failed.
    #[error("reading the node's figures failed: {0}")]
    Task(String),
}

/// Connected peers by their best link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerCounts {
    /// Direct connections.
    pub direct: u64,
    /// Through a relay.
    pub relayed: u64,
    /// Direct, after punching through both routers.
    pub hole_punched: u64,
}

impl PeerCounts {
    /// Every connected peer.
    pub fn total(&self) -> u64 {
        self.direct + self.relayed + self.hole_punched
    }

    /// The counts under their metric labels.
    pub fn by_label(&self) -> [(&'static str, u64); 3] {
        [
            ("direct", self.direct),
            ("relayed", self.relayed),
            ("hole_punched", self.hole_punched),
        ]
    }

    fn add(&mut self, link: Link) {
        match link {
            Link::Direct => self.direct += 1,
            Link::Relayed => self.relayed += 1,
            Link::HolePunched => self.hole_punched += 1,
        }
    }
}

/// A node's figures at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// When, by the node's clock.
    pub at: Timestamp,
    /// Records held.
    pub records: u64,
    /// Records held per kind name, every kind listed.
    pub records_per_kind: Vec<(String, u64)>,
    /// Members in good standing.
    pub members: u64,
    /// Connected peers.
    pub peers: PeerCounts,
    /// Time since the last sync session that went to its end, if any did.
    pub sync_lag: Option<Duration>,
    /// The record store's size on disk, if sled says.
    pub store_bytes: Option<u64>,
    /// The photos held.
    pub photos: BlobUsage,
    /// E-mails waiting to be sent.
    pub mail_queue: u64,
}

/// Reads the figures. Walks the photo folder, so it costs a directory listing per photo
/// folder: fine for a scrape every 15 s, not for every page.
pub async fn gather(
    engine: &Engine,
    network: Option<&Client>,
    blobs: &BlobStore,
) -> Result<Snapshot, SnapshotError> {
    let mut peers = PeerCounts::default();
    let mut last_sync = None;
    if let Some(client) = network {
        for peer in client.links().await?.peers {
            peers.add(peer.link);
        }
        last_sync = client.sync_log().last_success();
    }
    let photos = blobs.usage().await?;
    let held = engine.clone();
    let (records, members) = tokio::task::spawn_blocking(move || {
        let members = held.index().members_in_good_standing() as u64;
        (held.sync_set().len() as u64, members)
    })
    .await
    .map_err(|e| SnapshotError::Task(e.to_string()))?;
    let at = engine.now();
    let counts = engine.kind_counts();
    let store_bytes = match engine.store().size_on_disk() {
        Ok(bytes) => Some(bytes),
        Err(error) => {
            tracing::warn!(%error, "the store's size could not be read");
            None
        }
    };
    Ok(Snapshot {
        at,
        records,
        records_per_kind: Kind::ALL
            .iter()
            .map(|kind| (kind_name(*kind), counts[*kind as usize]))
            .collect(),
        members,
        peers,
        sync_lag: last_sync
            .map(|last: Timestamp| Duration::from_millis(at.0.saturating_sub(last.0))),
        store_bytes,
        photos,
        mail_queue: engine.metrics().mail_queue(),
    })
}
