//! [`RecordSet`]: a whole network's records in memory, with full recomputation of the
//! derived state. It is the reference the node's incremental indexes are tested against,
//! and what the test vectors are generated with.

use std::collections::{BTreeMap, HashMap, HashSet};

use thiserror::Error;

use crate::effects::{announced_nodes, known_authors};
use crate::error::DecodeError;
use crate::ids::{NetworkId, PublicKey, RecordId, Timestamp};
use crate::kinds::{Body, Charter};
use crate::membership::{Facts, MembershipTable, Moderators, Rules};
use crate::record::Record;
use crate::signature::SignatureError;
use crate::validate::{validate, Invalid, StateView, Verdict};

/// Domain tag of the state digest.
pub const DIGEST_TAG: &[u8] = b"maillon/digest/v1\0";

/// SHA-256 over [`DIGEST_TAG`] and the ids of all records held, in ascending order.
pub fn state_digest<'a>(sorted_ids: impl IntoIterator<Item = &'a RecordId>) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(DIGEST_TAG);
    for id in sorted_ids {
        hasher.update(id.0);
    }
    hasher.finalize().into()
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
            let identity = self.table.identity(&record.header().author);
            let at = record.header().created;
            let entry = self.erased.entry(identity).or_insert(at);
            *entry = (*entry).max(at);
            for stored in self.records.values_mut() {
                let h = stored.header();
                if h.kind.is_erasable()
                    && h.created <= at
                    && self.table.identity(&h.author) == identity
                {
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
    fn identity(&self, key: &PublicKey) -> PublicKey {
        self.table.identity(key)
    }
    fn erased_at(&self, author: &PublicKey) -> Option<Timestamp> {
        self.erased.get(&self.table.identity(author)).copied()
    }
}
