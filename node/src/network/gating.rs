//! Connection gating: this node keeps only peers that are announced nodes, not suspended
//! by this node's own policy, and not banned. A bootstrap peer is let in until the first
//! full sync with it has finished; any other unknown peer gets a short grace period, in
//! which it can push its own node announcement.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use libp2p::identity::{ed25519, PublicKey as PeerPublicKey};
use libp2p::PeerId;
use maillon_protocol::ids::PublicKey;
use maillon_protocol::kinds::PolicyLevel;

use crate::membership_index::MembershipIndex;

/// The libp2p peer id of a node key.
pub fn peer_id_of(key: &PublicKey) -> Option<PeerId> {
    let public = ed25519::PublicKey::try_from_bytes(&key.0).ok()?;
    Some(PeerPublicKey::from(public).to_peer_id())
}

/// What the gate decides about a connected peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GateVerdict {
    /// An announced, unsuspended node, or a bootstrap peer before the first sync.
    Allowed,
    /// Unknown, within its grace period.
    Grace,
    /// Must be disconnected.
    Refused,
}

/// The gate's state.
#[derive(Debug)]
pub struct Gate {
    enabled: bool,
    grace: Duration,
    allowed: HashSet<PeerId>,
    suspended: HashSet<PeerId>,
    bootstrap: HashSet<PeerId>,
    synced: HashSet<PeerId>,
    first_seen: HashMap<PeerId, Instant>,
}

impl Gate {
    /// A gate; `enabled = false` lets every peer in (a closed LAN, or tests of other parts).
    pub fn new(enabled: bool, grace: Duration, bootstrap: HashSet<PeerId>) -> Gate {
        Gate {
            enabled,
            grace,
            allowed: HashSet::new(),
            suspended: HashSet::new(),
            bootstrap,
            synced: HashSet::new(),
            first_seen: HashMap::new(),
        }
    }

    /// Recomputes the announced and suspended nodes from the membership index.
    pub fn refresh(&mut self, index: &MembershipIndex, this_node: &PublicKey) {
        self.suspended = index
            .node_policies_of(this_node)
            .iter()
            .filter(|policy| policy.level == PolicyLevel::Suspend)
            .filter_map(|policy| peer_id_of(&policy.target))
            .collect();
        self.allowed = index
            .announced_nodes()
            .keys()
            .filter_map(peer_id_of)
            .filter(|peer| !self.suspended.contains(peer))
            .collect();
    }

    /// Peers this node's own policy suspends.
    pub fn suspended(&self) -> &HashSet<PeerId> {
        &self.suspended
    }

    /// Notes that a full sync with a peer finished.
    pub fn synced_with(&mut self, peer: PeerId) {
        self.synced.insert(peer);
    }

    /// Notes a new connection.
    pub fn connected(&mut self, peer: PeerId, now: Instant) {
        self.first_seen.entry(peer).or_insert(now);
    }

    /// Forgets a peer with no connection left.
    pub fn disconnected(&mut self, peer: &PeerId) {
        self.first_seen.remove(peer);
    }

    /// Whether this node should dial `peer` when short of peers: an announced node not
    /// suspended, or a bootstrap peer before the first full sync.
    pub fn may_dial(&self, peer: &PeerId) -> bool {
        if self.suspended.contains(peer) {
            return false;
        }
        self.allowed.contains(peer)
            || (self.bootstrap.contains(peer) && (self.synced.is_empty() || !self.enabled))
            || (!self.enabled && self.first_seen.contains_key(peer))
    }

    /// The verdict for a peer now.
    pub fn verdict(&self, peer: &PeerId, now: Instant) -> GateVerdict {
        if self.suspended.contains(peer) {
            return GateVerdict::Refused;
        }
        if !self.enabled || self.allowed.contains(peer) {
            return GateVerdict::Allowed;
        }
        if self.bootstrap.contains(peer) && self.synced.is_empty() {
            return GateVerdict::Allowed;
        }
        let seen = self.first_seen.get(peer).copied().unwrap_or(now);
        if now.saturating_duration_since(seen) < self.grace {
            GateVerdict::Grace
        } else {
            GateVerdict::Refused
        }
    }
}
