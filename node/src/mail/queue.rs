//! The durable queue of outgoing e-mail, in the `side-mail` tree of the record database.
//!
//! Each message is one entry whose state moves `Queued → Sending → Sent`, or to `RetryAt`
//! (a temporary failure, with exponential backoff) or `Failed` (refused or given up). Every
//! change is flushed before the next step, so a stop or a crash loses no message. A crash
//! between the server's acceptance and the flush of `Sent` leaves `Sending`, which the next
//! start sends again: that window is the only way a message can arrive twice.

use maillon_protocol::Timestamp;
use serde::{Deserialize, Serialize};

use crate::store::{Change, SideTree, StoreError};

/// The first byte of the queue's keys.
pub const QUEUE: u8 = b'q';

/// A message's key: when it was queued, then a random number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MailId {
    /// Milliseconds when queued.
    pub queued_ms: u64,
    /// Random, against collisions.
    pub nonce: u64,
}

impl MailId {
    /// A new id at `now`.
    pub fn new(now: Timestamp) -> MailId {
        let mut bytes = [0u8; 8];
        // A collision is harmless but for overwriting: with 64 random bits it does not happen.
        let _ = getrandom::fill(&mut bytes);
        MailId {
            queued_ms: now.0,
            nonce: u64::from_be_bytes(bytes),
        }
    }

    /// The entry's key.
    pub fn key(&self) -> Vec<u8> {
        let mut key = vec![QUEUE];
        key.extend_from_slice(&self.queued_ms.to_be_bytes());
        key.extend_from_slice(&self.nonce.to_be_bytes());
        key
    }

    fn from_key(key: &[u8]) -> Option<MailId> {
        let rest = key.strip_prefix(&[QUEUE])?;
        let queued: [u8; 8] = rest.get(..8)?.try_into().ok()?;
        let nonce: [u8; 8] = rest.get(8..16)?.try_into().ok()?;
        Some(MailId {
            queued_ms: u64::from_be_bytes(queued),
            nonce: u64::from_be_bytes(nonce),
        })
    }

    /// The Message-ID's left part: the same for every try of one message, so a receiving
    /// server that keeps Message-IDs can drop a copy sent again after a crash.
    pub fn message_id_local(&self) -> String {
        format!("{:016x}.{:016x}", self.queued_ms, self.nonce)
    }
}

/// Where a message stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailState {
    /// Waiting for its first try.
    Queued,
    /// Handed to the server; the outcome is not recorded yet.
    Sending,
    /// A temporary failure: tried again at this time.
    RetryAt {
        /// Milliseconds.
        at_ms: u64,
        /// What went wrong.
        error: String,
    },
    /// Accepted by the server.
    Sent {
        /// Milliseconds.
        at_ms: u64,
    },
    /// Refused for good or given up.
    Failed {
        /// Milliseconds.
        at_ms: u64,
        /// Why.
        reason: String,
    },
}

/// One outgoing e-mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    /// The member it is for.
    pub login: String,
    /// The address.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// The one-click unsubscribe address, for List-Unsubscribe (none for a verification).
    pub unsubscribe_url: Option<String>,
    /// Tries so far.
    pub attempts: u32,
    /// Where it stands.
    pub state: MailState,
}

impl Outgoing {
    /// Whether it should be tried at `now`.
    pub fn is_due(&self, now: Timestamp) -> bool {
        match &self.state {
            MailState::Queued => true,
            MailState::RetryAt { at_ms, .. } => *at_ms <= now.0,
            _ => false,
        }
    }

    /// Whether it still waits to be sent: queued, being sent, or waiting to retry.
    pub fn is_waiting(&self) -> bool {
        match &self.state {
            MailState::Queued | MailState::Sending | MailState::RetryAt { .. } => true,
            MailState::Sent { .. } | MailState::Failed { .. } => false,
        }
    }
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("mail {what}: {error}"))
}

/// Encodes a value of the mail tree.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| corrupt("encoding", e))
}

/// Decodes a value of the mail tree.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt("entry", e))
}

/// The change that queues `outgoing`.
pub fn enqueue_change(id: MailId, outgoing: &Outgoing) -> Result<Change, StoreError> {
    Ok((id.key(), Some(encode(outgoing)?)))
}

/// Every queued message, oldest first.
pub fn all(tree: &dyn SideTree) -> Result<Vec<(MailId, Outgoing)>, StoreError> {
    tree.scan_prefix(&[QUEUE])?
        .into_iter()
        .map(|(key, value)| {
            let id = MailId::from_key(&key).ok_or_else(|| corrupt("key", "bad length"))?;
            Ok((id, decode(&value)?))
        })
        .collect()
}

/// Writes a message's new state and flushes.
pub fn set(tree: &dyn SideTree, id: MailId, outgoing: &Outgoing) -> Result<(), StoreError> {
    tree.apply(vec![enqueue_change(id, outgoing)?])?;
    tree.flush()
}

/// At start: a message left `Sending` by a crash is queued again (it may have been
/// accepted: the one duplicate window). Returns how many.
pub fn recover(tree: &dyn SideTree) -> Result<usize, StoreError> {
    let mut changes = Vec::new();
    for (id, mut outgoing) in all(tree)? {
        if outgoing.state == MailState::Sending {
            outgoing.state = MailState::Queued;
            changes.push(enqueue_change(id, &outgoing)?);
        }
    }
    let count = changes.len();
    if count > 0 {
        tree.apply(changes)?;
        tree.flush()?;
    }
    Ok(count)
}

/// Forgets sent and failed messages older than `keep_ms`.
pub fn prune(tree: &dyn SideTree, now: Timestamp, keep_ms: u64) -> Result<(), StoreError> {
    let cutoff = now.0.saturating_sub(keep_ms);
    let changes: Vec<Change> = all(tree)?
        .into_iter()
        .filter(|(_, o)| match o.state {
            MailState::Sent { at_ms } | MailState::Failed { at_ms, .. } => at_ms < cutoff,
            _ => false,
        })
        .map(|(id, _)| (id.key(), None))
        .collect();
    if !changes.is_empty() {
        tree.apply(changes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryTree;

    fn outgoing(state: MailState) -> Outgoing {
        Outgoing {
            login: "marie".into(),
            to: "marie@example.org".into(),
            subject: "s".into(),
            body: "b".into(),
            unsubscribe_url: None,
            attempts: 0,
            state,
        }
    }

    #[test]
    fn a_message_left_sending_is_queued_again_and_old_ones_are_pruned() {
        let tree = MemoryTree::default();
        let (a, b, c) = (
            MailId::new(Timestamp(1)),
            MailId::new(Timestamp(2)),
            MailId::new(Timestamp(3)),
        );
        set(&tree, a, &outgoing(MailState::Sending)).unwrap();
        set(&tree, b, &outgoing(MailState::Sent { at_ms: 10 })).unwrap();
        set(
            &tree,
            c,
            &outgoing(MailState::RetryAt {
                at_ms: 50,
                error: "421".into(),
            }),
        )
        .unwrap();
        assert_eq!(recover(&tree).unwrap(), 1);
        let states: Vec<_> = all(&tree)
            .unwrap()
            .into_iter()
            .map(|(id, o)| (id, o.is_due(Timestamp(20))))
            .collect();
        assert_eq!(states, vec![(a, true), (b, false), (c, false)]);
        prune(&tree, Timestamp(1000), 100).unwrap();
        assert_eq!(all(&tree).unwrap().len(), 2, "the sent one is forgotten");
    }
}
