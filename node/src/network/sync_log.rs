//! What the operator sees of sync: per peer, the outcome of the last session, kept in memory
//! and bounded.

use std::collections::HashMap;
use std::sync::Mutex;

use libp2p::PeerId;
use maillon_protocol::Timestamp;

/// Peers remembered at most; the oldest entry goes first.
pub const MAX_PEERS: usize = 1024;

/// The last session with a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncEntry {
    /// When it ended, by the node's clock.
    pub at: Timestamp,
    /// Records fetched from the peer.
    pub fetched: u64,
    /// Records pushed to the peer.
    pub pushed: u64,
    /// Why it stopped, if it failed.
    pub error: Option<String>,
}

/// The last session per peer.
#[derive(Debug, Default)]
pub struct SyncLog {
    entries: Mutex<HashMap<PeerId, SyncEntry>>,
}

impl SyncLog {
    /// Notes a session's end.
    pub fn record(&self, peer: PeerId, entry: SyncEntry) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_PEERS && !entries.contains_key(&peer) {
            if let Some(oldest) = entries.iter().min_by_key(|(_, e)| e.at).map(|(p, _)| *p) {
                entries.remove(&oldest);
            }
        }
        entries.insert(peer, entry);
    }

    /// When the last session that went to its end ended, with any peer.
    pub fn last_success(&self) -> Option<Timestamp> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|entry| entry.error.is_none())
            .map(|entry| entry.at)
            .max()
    }

    /// The last session with a peer.
    pub fn last(&self, peer: &PeerId) -> Option<SyncEntry> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(peer)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_session_per_peer_is_kept_within_the_bound() {
        let log = SyncLog::default();
        let peers: Vec<PeerId> = (0..=MAX_PEERS).map(|_| PeerId::random()).collect();
        for (i, peer) in peers.iter().enumerate() {
            let entry = SyncEntry {
                at: Timestamp(i as u64 + 1),
                fetched: i as u64,
                pushed: 0,
                error: None,
            };
            log.record(*peer, entry);
        }
        assert_eq!(log.last(&peers[0]), None, "the oldest went");
        assert_eq!(log.last_success(), Some(Timestamp(MAX_PEERS as u64 + 1)));
        assert_eq!(
            log.last(&peers[MAX_PEERS]).map(|e| e.fetched),
            Some(MAX_PEERS as u64)
        );
        let failed = SyncEntry {
            at: Timestamp(99_999),
            fetched: 0,
            pushed: 0,
            error: Some("timeout".into()),
        };
        log.record(peers[5], failed.clone());
        assert_eq!(log.last(&peers[5]), Some(failed));
    }
}
