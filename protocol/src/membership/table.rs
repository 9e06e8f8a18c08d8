//! Read access to a computed [`MembershipTable`].

use super::compute::{Adjacency, MembershipTable};
use super::Status;
use crate::ids::{PublicKey, Timestamp};

impl MembershipTable {
    /// The time the table was computed for.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The identity a key belongs to (itself unless bound by a rotation or recovery).
    pub fn identity(&self, key: &PublicKey) -> PublicKey {
        self.identities.resolve(key)
    }

    /// Every key of the identity `key` belongs to: the identity first, then the keys
    /// bound to it by rotations and recoveries, in key order.
    pub fn keys_of_identity(&self, key: &PublicKey) -> Vec<PublicKey> {
        let identity = self.identities.resolve(key);
        let mut keys = vec![identity];
        keys.extend(self.identities.aliases_of(&identity));
        keys
    }

    /// The applied bindings of `key`'s identity: the refs that link its keys.
    pub fn bindings_of(&self, key: &PublicKey) -> Vec<crate::ids::RecordId> {
        self.identities.bindings_of(key)
    }

    /// Since when a recovery took `key` out of use, if one did: the key's records from then
    /// on have no effect.
    pub fn retired_at(&self, key: &PublicKey) -> Option<Timestamp> {
        self.identities.retired_at(key)
    }

    pub(crate) fn node(&self, key: &PublicKey) -> Option<u32> {
        self.index.get(&self.identities.resolve(key)).copied()
    }

    pub(crate) fn key_of(&self, node: u32) -> PublicKey {
        self.keys[node as usize]
    }

    /// The key's status.
    pub fn status(&self, key: &PublicKey) -> Status {
        self.node(key)
            .map_or(Status::Unknown, |i| self.status[i as usize])
    }

    /// The identities whose candidacy expired at the table's time: joined at least
    /// [`super::CANDIDACY_MS`] ago, never admitted, not expelled (docs/PROTOCOL.md 9.1.9).
    /// Their records are dropped by every node.
    pub fn expired_candidacies(&self) -> &[PublicKey] {
        &self.expired_candidacies
    }

    /// When the key was admitted, if ever.
    pub fn admitted_at(&self, key: &PublicKey) -> Option<Timestamp> {
        self.node(key).and_then(|i| self.admitted[i as usize])
    }

    /// Strikes: expelled members the key had sponsored.
    pub fn strikes(&self, key: &PublicKey) -> u32 {
        self.node(key).map_or(0, |i| self.strikes[i as usize])
    }

    /// How many sponsorships of the key count at once.
    pub fn quota(&self, key: &PublicKey) -> u64 {
        self.node(key).map_or(0, |i| self.quota[i as usize])
    }

    fn neighbours(&self, key: &PublicKey, adjacency: &Adjacency) -> Vec<PublicKey> {
        let Some(i) = self.node(key) else {
            return Vec::new();
        };
        let mut keys: Vec<PublicKey> = adjacency
            .of(i)
            .iter()
            .map(|&n| self.keys[n as usize])
            .collect();
        keys.sort();
        keys
    }

    /// Sponsors whose sponsorship currently supports the key.
    pub fn sponsors(&self, key: &PublicKey) -> Vec<PublicKey> {
        self.neighbours(key, &self.sponsors)
    }

    /// Keys the key currently supports as a sponsor.
    pub fn sponsees(&self, key: &PublicKey) -> Vec<PublicKey> {
        self.neighbours(key, &self.sponsees)
    }

    pub(crate) fn support_neighbours(&self, node: u32) -> (&[u32], &[u32]) {
        (self.sponsors.of(node), self.sponsees.of(node))
    }

    /// Every identity and its status, in key order.
    pub fn statuses(&self) -> Vec<(PublicKey, Status)> {
        let mut all: Vec<(PublicKey, Status)> = self
            .keys
            .iter()
            .copied()
            .zip(self.status.iter().copied())
            .collect();
        all.sort_by_key(|(k, _)| *k);
        all
    }

    /// How many identities are founders, members or on probation.
    pub fn good_standing_count(&self) -> usize {
        self.status
            .iter()
            .filter(|s| s.is_in_good_standing())
            .count()
    }
}
