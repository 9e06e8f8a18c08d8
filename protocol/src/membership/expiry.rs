//! Expired candidacies (docs/PROTOCOL.md 9.1.9): which records every node drops once a
//! candidate has gone [`super::CANDIDACY_MS`] after joining without being admitted.

use std::collections::BTreeSet;

use super::MembershipTable;
use crate::ids::{PublicKey, RecordId};
use crate::Record;

/// The records dropped because of the expired candidacies of one membership table: every
/// record signed by a key of an expired candidacy's identity, and every record that names a
/// dropped record among its refs, transitively.
#[derive(Clone, Debug, Default)]
pub struct Dropping {
    keys: BTreeSet<PublicKey>,
    dropped: BTreeSet<RecordId>,
}

impl Dropping {
    /// The candidacies the table found expired, with every key of their identities.
    pub fn of(table: &MembershipTable) -> Dropping {
        let keys = table
            .expired_candidacies()
            .iter()
            .flat_map(|identity| table.keys_of_identity(identity))
            .collect();
        Dropping {
            keys,
            dropped: BTreeSet::new(),
        }
    }

    /// Whether no candidacy expired: nothing is dropped.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys whose records are dropped.
    pub fn keys(&self) -> &BTreeSet<PublicKey> {
        &self.keys
    }

    /// Looks at one record: returns true, and remembers it, when it is dropped and was not
    /// known to be. A record naming a dropped record that is looked at before that record
    /// is found only by a later look: [`Dropping::settle`] repeats until nothing changes.
    pub fn note(&mut self, record: &Record) -> bool {
        let id = record.id();
        if self.dropped.contains(&id) {
            return false;
        }
        let header = record.header();
        let dropped = self.keys.contains(&header.author)
            || header.refs.iter().any(|r| self.dropped.contains(r));
        if dropped {
            self.dropped.insert(id);
        }
        dropped
    }

    /// Looks at `records` again and again until no new record is dropped.
    pub fn settle<'a>(&mut self, records: impl Iterator<Item = &'a Record> + Clone) {
        while records
            .clone()
            .fold(false, |changed, r| self.note(r) | changed)
        {}
    }

    /// The ids of the records dropped so far.
    pub fn dropped(&self) -> &BTreeSet<RecordId> {
        &self.dropped
    }
}
