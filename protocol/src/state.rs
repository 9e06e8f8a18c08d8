//! [`RecordSet`]: a whole network's records in memory, with full recomputation of the
//! derived state. It is the reference the node's incremental indexes are tested against,
//! and what the test vectors are generated with.

use std::collections::{BTreeMap, HashMap, HashSet};

use thiserror::Error;

use crate::effects::{announced_nodes, known_authors};
use crate::error::DecodeError;
use crate::ids::{sha256, NetworkId, PublicKey, RecordId, Timestamp};
use crate::kinds::{Body, Charter};
use crate::links::erasure_covers;
use crate::membership::{Facts, MembershipTable, Moderators, Rules};
use crate::record::Record;
use crate::signature::SignatureError;
use crate::sync::item::Accumulator;
use crate::validate::{validate, Invalid, StateView, Verdict};

/// Domain tag of the state digest.
pub const DIGEST_TAG: &[u8] = b"maillon/digest/v2\0";

/// SHA-256 over [`DIGEST_TAG`], the sum of the ids of all records held (modulo 2^256, 32
/// bytes little-endian) and their number (u64 little-endian). The ids may come in any order;
/// each must come once.
pub fn state_digest<'a>(ids: impl IntoIterator<Item = &'a RecordId>) -> [u8; 32] {
    let (sum, count) = sum_of(ids);
    state_digest_of_sum(&sum, count)
}

/// The state digest from the sum of the ids held and their number, as a
/// [`SyncSet`](crate::sync::SyncSet) keeps them (`SyncSet::sum`).
pub fn state_digest_of_sum(sum: &Accumulator, count: u64) -> [u8; 32] {
    digest_of_sum(DIGEST_TAG, sum, count)
}

/// Domain tag of the erased digest.
pub const ERASED_DIGEST_TAG: &[u8] = b"maillon/erased-digest/v2\0";

/// The state digest's formula under [`ERASED_DIGEST_TAG`], over the ids of the records held
/// as bare headers, in any order. Two nodes with the same state digest hold the same bodies
/// exactly when their erased digests agree (docs/PROTOCOL.md 10.9).
pub fn erased_digest<'a>(bare_ids: impl IntoIterator<Item = &'a RecordId>) -> [u8; 32] {
    let (sum, count) = sum_of(bare_ids);
    erased_digest_of_sum(&sum, count)
}

/// The erased digest from the sum of the bare ids held and their number.
pub fn erased_digest_of_sum(sum: &Accumulator, count: u64) -> [u8; 32] {
    digest_of_sum(ERASED_DIGEST_TAG, sum, count)
}

fn sum_of<'a>(ids: impl IntoIterator<Item = &'a RecordId>) -> (Accumulator, u64) {
    let mut sum = Accumulator::default();
    let mut count = 0u64;
    for id in ids {
        sum.add(id);
        count += 1;
    }
    (sum, count)
}

fn digest_of_sum(tag: &[u8], sum: &Accumulator, count: u64) -> [u8; 32] {
    sha256(&[tag, &sum.to_bytes(), &count.to_le_bytes()])
}

/// What a node does with a copy of a record it holds, offered by a peer whose body state
/// differs (docs/PROTOCOL.md 10.9). The decision reads only the erasure state, so every
/// node that holds the same records makes the same one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repair {
    /// Held with its body, offered bare, and an erasure covers it: drop the body.
    DropBody,
    /// Held bare, offered with its body, and no erasure covers it: keep the body.
    RestoreBody,
    /// Nothing to change: same form, or the offer is wrong for this node's records.
    Keep,
}

/// Decides a [`Repair`] for `offered`, a copy of `held` (same id, so same header). The
/// offered record was decoded, so a body it carries matches the header's body hash.
pub fn repair(held: &Record, offered: &Record, state: &dyn StateView) -> Repair {
    let h = held.header();
    let covered =
        h.kind.is_erasable() && state.erased_at(&h.author).is_some_and(|t| h.created <= t);
    match (held.body().is_some(), offered.body().is_some(), covered) {
        (true, false, true) => Repair::DropBody,
        (false, true, false) => Repair::RestoreBody,
        _ => Repair::Keep,
    }
}

/// What applying a record did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// New and stored.
    Inserted,
    /// Already held.
    Duplicate,
    /// Waiting for these refs.
    Parked(Vec<RecordId>),
}

/// Why a record was not applied.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ApplyError {
    /// Not a well-formed record of this network.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The signature is refused.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The state rules refuse it.
    #[error(transparent)]
    Invalid(#[from] Invalid),
}

impl ApplyError {
    /// A short stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApplyError::Decode(e) => e.code(),
            ApplyError::Signature(e) => e.code(),
            ApplyError::Invalid(e) => e.code(),
        }
    }
}

/// A network's records in memory.
#[derive(Clone, Debug)]
pub struct RecordSet {
    charter: Charter,
    network: NetworkId,
    records: BTreeMap<RecordId, Record>,
    now: Timestamp,
    table: MembershipTable,
    erased: HashMap<PublicKey, Timestamp>,
    known: HashSet<PublicKey>,
}

impl RecordSet {
    /// A set holding only the charter record, which must verify.
    pub fn new(charter_record: Record, now: Timestamp) -> Result<RecordSet, ApplyError> {
        charter_record.verify()?;
        let Some(Body::Charter(charter)) = charter_record.body().cloned() else {
            return Err(DecodeError::Inconsistent("the first record must be a charter").into());
        };
        let network = charter.network_id();
        let table = MembershipTable::compute(&Rules::of(&charter), &Facts::default(), now);
        let mut set = RecordSet {
            charter,
            network,
            records: BTreeMap::new(),
            now,
            table,
            erased: HashMap::new(),
            known: HashSet::new(),
        };
        set.records.insert(charter_record.id(), charter_record);
        set.refresh(now);
        Ok(set)
    }

    /// Decodes, verifies, validates and stores wire bytes.
    pub fn apply_wire(&mut self, bytes: &[u8], now: Timestamp) -> Result<Applied, ApplyError> {
        let record = Record::decode(bytes, &self.network)?;
        self.apply(record, now)
    }

    /// Verifies, validates and stores a decoded record, then recomputes the derived state.
    pub fn apply(&mut self, record: Record, now: Timestamp) -> Result<Applied, ApplyError> {
        if let Some(held) = self.records.get(&record.id()) {
            if held.body().is_none() && record.body().is_some() {
                return Err(Invalid::ErasedBody.into());
            }
            return Ok(Applied::Duplicate);
        }
        record.verify()?;
        self.refresh(now);
        match validate(&record, self, now)? {
            Verdict::MissingRefs(refs) => Ok(Applied::Parked(refs)),
            Verdict::Valid => {
                self.insert_valid(record);
                self.refresh(now);
                Ok(Applied::Inserted)
            }
        }
    }

    fn insert_valid(&mut self, record: Record) {
        if let Some(Body::Erasure(_)) = record.body() {
            let keys = erasure_covers(&record, |id| self.records.get(id).cloned());
            let at = record.header().created;
            for key in &keys {
                let entry = self.erased.entry(*key).or_insert(at);
                *entry = (*entry).max(at);
            }
            for stored in self.records.values_mut() {
                let h = stored.header();
                if h.kind.is_erasable() && h.created <= at && keys.contains(&h.author) {
                    *stored = stored.without_body();
                }
            }
        }
        self.records.insert(record.id(), record);
    }

    /// Recomputes membership and the known authors at `now`.
    pub fn refresh(&mut self, now: Timestamp) {
        self.now = now;
        let facts = Facts::from_records(&self.charter, self.records.values());
        self.table = MembershipTable::compute(&Rules::of(&self.charter), &facts, now);
        self.known = known_authors(&self.charter, self.records.values());
    }

    /// The moderators' terms of office.
    pub fn moderators(&self) -> Moderators {
        Moderators::from_records(&self.charter, self.records.values())
    }

    /// Announced nodes in force now.
    pub fn announced_nodes(&self) -> HashSet<PublicKey> {
        announced_nodes(self.records.values(), &self.table)
            .into_keys()
            .collect()
    }

    /// The membership table at the last refresh.
    pub fn membership(&self) -> &MembershipTable {
        &self.table
    }

    /// Every record held, by id.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.records.values()
    }

    /// How many records are held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Always false: a set holds at least its charter.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The state digest over all ids held.
    pub fn digest(&self) -> [u8; 32] {
        state_digest(self.records.keys())
    }

    /// The erased digest over the ids held as bare headers.
    pub fn erased_digest(&self) -> [u8; 32] {
        erased_digest(
            self.records
                .iter()
                .filter(|(_, r)| r.body().is_none())
                .map(|(id, _)| id),
        )
    }

    /// Repairs the held copy of `offered`'s id (docs/PROTOCOL.md 10.9); returns what was
    /// done. A record not held is left to [`RecordSet::apply`].
    pub fn repair_with(&mut self, offered: &Record) -> Repair {
        let Some(held) = self.records.get(&offered.id()) else {
            return Repair::Keep;
        };
        let decision = repair(held, offered, self);
        match decision {
            Repair::DropBody => {
                let bare = held.without_body();
                self.records.insert(offered.id(), bare);
            }
            Repair::RestoreBody => {
                self.records.insert(offered.id(), offered.clone());
            }
            Repair::Keep => {}
        }
        decision
    }

    /// Forces a held record's form, as a damaged or outdated node might hold it: for tests
    /// of repair.
    pub fn force_form(&mut self, record: Record) {
        self.records.insert(record.id(), record);
    }
}

impl StateView for RecordSet {
    fn charter(&self) -> &Charter {
        &self.charter
    }
    fn network(&self) -> NetworkId {
        self.network
    }
    fn record(&self, id: &RecordId) -> Option<Record> {
        self.records.get(id).cloned()
    }
    fn is_known_author(&self, key: &PublicKey) -> bool {
        self.known.contains(key)
    }
    fn erased_at(&self, key: &PublicKey) -> Option<Timestamp> {
        self.erased.get(key).copied()
    }
}
