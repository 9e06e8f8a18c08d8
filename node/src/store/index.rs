//! The index entries derived from one record, as byte keys shared by every store.

use maillon_protocol::ids::{PublicKey, RecordId, Timestamp};
use maillon_protocol::{Body, Record};

/// Names a replaceable record whose newest version is in force.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReplaceKey {
    /// A member's profile.
    Profile(PublicKey),
    /// A node's announcement.
    NodeAnnouncement(PublicKey),
    /// A listing series.
    Listing(RecordId),
    /// A node's policy towards another node.
    NodePolicy(PublicKey, PublicKey),
}

impl ReplaceKey {
    /// The key's bytes: a tag byte then the identifying bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            ReplaceKey::Profile(k) => [&[1u8][..], &k.0].concat(),
            ReplaceKey::NodeAnnouncement(k) => [&[2u8][..], &k.0].concat(),
            ReplaceKey::Listing(id) => [&[3u8][..], &id.0].concat(),
            ReplaceKey::NodePolicy(a, b) => [&[4u8][..], &a.0, &b.0].concat(),
        }
    }
}

/// Every index key one record contributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntries {
    /// created (8 bytes, big-endian) ‖ id.
    pub sync: Vec<u8>,
    /// kind (1 byte) ‖ created ‖ id.
    pub kind: Vec<u8>,
    /// author ‖ created ‖ id.
    pub author: Vec<u8>,
    /// The replaceable key and this version's order, if the kind is replaceable.
    pub replace: Option<(ReplaceKey, Vec<u8>)>,
}

/// created (big-endian) ‖ id: sorts as (created, id).
pub fn order_key(created: Timestamp, id: &RecordId) -> Vec<u8> {
    [&created.0.to_be_bytes()[..], &id.0].concat()
}

/// Splits an [`order_key`].
pub fn split_order_key(bytes: &[u8]) -> Option<(Timestamp, RecordId)> {
    if bytes.len() != 40 {
        return None;
    }
    let created = u64::from_be_bytes(bytes[..8].try_into().ok()?);
    let id: [u8; 32] = bytes[8..].try_into().ok()?;
    Some((Timestamp(created), RecordId(id)))
}

impl IndexEntries {
    /// The entries of a record. An erased record keeps its sync, kind and author entries; it
    /// has no replace entry (its body, which names the series, is gone).
    pub fn of(record: &Record) -> IndexEntries {
        let h = record.header();
        let order = order_key(h.created, &record.id());
        let replace = record.body().and_then(|body| {
            let key = match body {
                Body::Profile(_) => ReplaceKey::Profile(h.author),
                Body::NodeAnnouncement(_) => ReplaceKey::NodeAnnouncement(h.author),
                Body::Listing(l) => ReplaceKey::Listing(l.series_or(record.id())),
                Body::NodePolicy(p) => ReplaceKey::NodePolicy(h.author, p.target),
                _ => return None,
            };
            Some((key, order.clone()))
        });
        IndexEntries {
            kind: [&[h.kind as u8][..], &order].concat(),
            author: [&h.author.0[..], &order].concat(),
            sync: order,
            replace,
        }
    }
}

/// Every index entry a set of records should have, for checking and rebuilding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpectedIndexes {
    /// Sync-order keys.
    pub sync: std::collections::BTreeSet<Vec<u8>>,
    /// Kind keys.
    pub kind: std::collections::BTreeSet<Vec<u8>>,
    /// Author keys.
    pub author: std::collections::BTreeSet<Vec<u8>>,
    /// Replace key bytes → order key of the newest version.
    pub current: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
}

impl ExpectedIndexes {
    /// Adds one record's entries, keeping the newest version per replace key.
    pub fn add(&mut self, record: &Record) {
        let entries = IndexEntries::of(record);
        self.sync.insert(entries.sync);
        self.kind.insert(entries.kind);
        self.author.insert(entries.author);
        if let Some((key, order)) = entries.replace {
            let slot = self
                .current
                .entry(key.to_bytes())
                .or_insert_with(|| order.clone());
            if *slot < order {
                *slot = order;
            }
        }
    }
}

/// Counts the entries present in only one of two sorted sets: (missing, extra).
pub fn diff<'a>(
    expected: impl IntoIterator<Item = &'a Vec<u8>>,
    stored: &std::collections::BTreeSet<Vec<u8>>,
) -> (u64, u64) {
    let expected: std::collections::BTreeSet<&Vec<u8>> = expected.into_iter().collect();
    let missing = expected.iter().filter(|k| !stored.contains(**k)).count() as u64;
    let extra = stored.iter().filter(|k| !expected.contains(k)).count() as u64;
    (missing, extra)
}

/// Decodes stored wire bytes, which the store itself wrote.
pub fn decode_stored(bytes: &[u8]) -> Result<Record, super::StoreError> {
    Record::decode_any_network(bytes)
        .map_err(|e| super::StoreError::Corrupt(format!("stored record: {e}")))
}
