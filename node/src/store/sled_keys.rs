//! The keys of the sled store's records tree (format 2): a byte naming the space, then the
//! space's key. Records are keyed by their sync order, so that a walk in that order reads
//! the tree from left to right and records arriving in it are appended at the tree's edge.

use maillon_protocol::ids::{RecordId, Timestamp};

use super::index::{order_key, split_order_key};
use super::StoreError;

/// The tree that holds the records and their indexes (format 2 on).
pub const RECORDS_TREE: &str = "records";

/// The tree of format 1, keyed by id, which the migration to format 2 empties and drops.
pub const FORMAT_1_TREE: &str = "maillon";

/// The first byte of each space of [`RECORDS_TREE`].
pub mod space {
    /// (created, id) → wire bytes: the records, in sync order.
    pub const RECORDS: u8 = b'r';
    /// id → created (8 bytes, big-endian): where a record is.
    pub const IDS: u8 = b'i';
    /// kind ‖ (created, id) → ().
    pub const KIND: u8 = b'k';
    /// author ‖ (created, id) → ().
    pub const AUTHOR: u8 = b'a';
    /// replace key → (created, id) of the current version.
    pub const CURRENT: u8 = b'c';
    /// The index spaces, derived from the records.
    pub const INDEXES: [u8; 4] = [IDS, KIND, AUTHOR, CURRENT];
}

/// `space` ‖ `rest`.
pub fn key(space: u8, rest: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + rest.len());
    key.push(space);
    key.extend_from_slice(rest);
    key
}

/// The key of a record: its space, then created (big-endian) ‖ id.
pub fn record_key(created: Timestamp, id: &RecordId) -> Vec<u8> {
    key(space::RECORDS, &order_key(created, id))
}

/// The key of a record's entry in the id space.
pub fn id_key(id: &RecordId) -> Vec<u8> {
    key(space::IDS, &id.0)
}

/// Splits a record key into (created, id).
pub fn split_record_key(key: &[u8]) -> Result<(Timestamp, RecordId), StoreError> {
    key.split_first()
        .filter(|(space, _)| **space == space::RECORDS)
        .and_then(|(_, order)| split_order_key(order))
        .ok_or_else(|| StoreError::Corrupt(format!("a record key of {} bytes", key.len())))
}

/// Reads the value of an id entry: the record's created time.
pub fn created_of(value: &[u8]) -> Result<Timestamp, StoreError> {
    let bytes: [u8; 8] = value
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("an id entry of {} bytes", value.len())))?;
    Ok(Timestamp(u64::from_be_bytes(bytes)))
}

/// Whether `key` of the tree `tree` is a stored record (not an index entry), in format 2
/// or in format 1 (a backup made before the migration).
pub fn is_record_key(tree: &[u8], key: &[u8]) -> bool {
    (tree == RECORDS_TREE.as_bytes() || tree == FORMAT_1_TREE.as_bytes())
        && key.first() == Some(&space::RECORDS)
}
