//! Durable storage of signed records behind a narrow typed trait, with a sled
//! implementation and an in-memory twin that share one test suite.
//!
//! Every record is stored with its index entries in one atomic write: in sync order
//! (created, id), by id, by kind, by author, and the current version of each replaceable
//! record.
//! The indexes are derived: [`Store::check_indexes`] compares them with the records and
//! [`Store::rebuild_indexes`] recomputes them. A write is durable only once
//! [`Store::flush`] has returned; callers acknowledge after that.

pub mod dump;
pub mod format;
mod format_2;
#[cfg(test)]
mod format_2_tests;
#[cfg(test)]
mod format_tests;
pub mod index;
mod memory;
mod side_tree;
mod sled_check;
mod sled_keys;
mod sled_store;
pub mod space;
#[cfg(test)]
mod suite;

pub use format::{FormatVersion, FORMAT_VERSION};
pub use index::{IndexEntries, ReplaceKey};
pub use memory::MemoryStore;
pub use side_tree::{Change, Entry, MemoryTree, SideTree, SledTree};
pub use sled_store::{SledConfig, SledStore};
pub use space::SpaceReport;

use maillon_protocol::ids::{PublicKey, RecordId, Timestamp};
use maillon_protocol::Kind;
use thiserror::Error;

/// What a write did: expected outcomes, not errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// The record is new and stored with its index entries.
    Inserted,
    /// A record with this id was already stored; nothing changed.
    Duplicate,
}

/// Why the store failed. Never dropped silently.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database under the store failed (its own error, kept as the source).
    #[error("storage failed: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
    /// The disk is full, or under the free-space floor: nothing was written. Reads go on.
    #[error("no space left for new records: {0}")]
    NoSpace(String),
    /// A batch of writes could not be made durable (not acknowledged).
    #[error("the write could not be made durable: {0}")]
    NotDurable(String),
    /// Stored bytes are not what the store wrote.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The record to replace is not stored.
    #[error("record {0} is not stored")]
    NotFound(RecordId),
    /// The store was written by a newer Maillon; nothing was opened or changed.
    #[error(
        "the store {} is in format {found}, newer than the format {supported} this Maillon \
         reads: install a newer Maillon (or restore a backup made with this version); the \
         store was not changed",
        path.display()
    )]
    TooNew {
        /// The store's folder.
        path: std::path::PathBuf,
        /// The version recorded in the store.
        found: FormatVersion,
        /// The version this binary writes.
        supported: FormatVersion,
    },
    /// The store needs a long migration, which a start does not run; nothing was changed.
    #[error(
        "the store {} is in format {found} and this Maillon uses format {supported}: the \
         migration can take a while, so it is not run at start; stop the node and run \
         `maillon migrate --config <the node's maillon.toml>`; the store was not changed",
        path.display()
    )]
    NeedsMigration {
        /// The store's folder.
        path: std::path::PathBuf,
        /// The version recorded in the store.
        found: FormatVersion,
        /// The version this binary writes.
        supported: FormatVersion,
    },
    /// No migration from this version is known (a version this binary never wrote).
    #[error("no migration is known from store format {found}")]
    NoMigration {
        /// The version without a step.
        found: FormatVersion,
    },
    /// A migration step failed; the store keeps the version it had before the step.
    #[error("the migration from store format {from} ({name}) failed, the store stays in format {from}: {reason}")]
    MigrationFailed {
        /// The version the step started from, still recorded.
        from: FormatVersion,
        /// The step.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

/// Whether an IO error says the disk (or the user's quota) is full.
pub fn is_out_of_space(error: &std::io::Error) -> bool {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    error.kind() == std::io::ErrorKind::StorageFull
        || matches!(error.raw_os_error(), Some(ENOSPC | EDQUOT))
}

impl StoreError {
    /// The stable code of docs/API.md: `insufficient_storage` when the disk is full,
    /// `storage` for every other failure.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NoSpace(_) => "insufficient_storage",
            _ => "storage",
        }
    }

    /// The same failure again, for each write of a batch that failed as a whole.
    pub fn again(&self) -> StoreError {
        match self {
            StoreError::NoSpace(why) => StoreError::NoSpace(why.clone()),
            other => StoreError::NotDurable(other.to_string()),
        }
    }
}

/// The result of comparing the derived indexes with the records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexCheck {
    /// Records read.
    pub records: u64,
    /// Index entries that should exist but do not.
    pub missing: u64,
    /// Index entries that exist but should not.
    pub extra: u64,
}

impl IndexCheck {
    /// Whether the indexes agree with the records.
    pub fn is_consistent(&self) -> bool {
        self.missing == 0 && self.extra == 0
    }
}

/// A store of wire-format records, keyed by id, with the indexes the node needs.
pub trait Store: Send + Sync {
    /// Stores a record and its index entries atomically. Not durable until [`Store::flush`].
    fn put(&self, record: &maillon_protocol::Record) -> Result<PutOutcome, StoreError>;
    /// Stores records and their index entries in one atomic write, with one outcome per
    /// record in order: a record already stored, or earlier in `records`, is a duplicate.
    /// The newest version of a replaceable record becomes current, as with one `put` each.
    /// Not durable until [`Store::flush`].
    fn put_many(
        &self,
        records: &[maillon_protocol::Record],
    ) -> Result<Vec<PutOutcome>, StoreError> {
        records.iter().map(|record| self.put(record)).collect()
    }
    /// `Err(NoSpace)` when the store would refuse new records (its volume at or under the
    /// free-space floor): checked before a record is staged for a later [`Store::put_many`].
    fn check_writable(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Replaces a stored record by its erased form (same id, no body), with its indexes.
    fn replace_with_bare_header(&self, id: &RecordId) -> Result<(), StoreError>;
    /// Puts back the body of a record held as a bare header (same id), with its indexes:
    /// the repair of docs/PROTOCOL.md 10.9. The caller checked that `record` carries a
    /// body and has the held record's id.
    fn restore_body(&self, record: &maillon_protocol::Record) -> Result<(), StoreError>;
    /// Deletes stored records and their index entries (an expired candidacy's records,
    /// docs/PROTOCOL.md 9.1.9); where a removed version was current, the newest remaining
    /// one becomes current (one index rebuild for the call at most). Not durable until
    /// [`Store::flush`]. Removing an absent record is not an error.
    fn remove(&self, ids: &[RecordId]) -> Result<(), StoreError>;
    /// The wire bytes of a record.
    fn get(&self, id: &RecordId) -> Result<Option<Vec<u8>>, StoreError>;
    /// Whether a record is stored.
    fn contains(&self, id: &RecordId) -> Result<bool, StoreError>;
    /// How many records are stored.
    fn len(&self) -> Result<u64, StoreError>;
    /// Whether no record is stored.
    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }
    /// Ids in sync order, (created, id) ascending, from `from` inclusive, at most `limit`.
    fn sync_range(
        &self,
        from: (Timestamp, RecordId),
        limit: usize,
    ) -> Result<Vec<(Timestamp, RecordId)>, StoreError>;
    /// The records in sync order from `from` inclusive, at most `limit`: (created, id, wire
    /// bytes). By default [`Store::sync_range`] then one [`Store::get`] each; a store that
    /// keeps its records in that order reads them in one pass.
    fn sync_records(
        &self,
        from: (Timestamp, RecordId),
        limit: usize,
    ) -> Result<Vec<(Timestamp, RecordId, Vec<u8>)>, StoreError> {
        let mut records = Vec::new();
        for (created, id) in self.sync_range(from, limit)? {
            let bytes = self.get(&id)?.ok_or_else(|| {
                StoreError::Corrupt(format!("the sync order names record {id}, not stored"))
            })?;
            records.push((created, id, bytes));
        }
        Ok(records)
    }
    /// Ids of one kind, newest first, at most `limit`.
    fn by_kind(&self, kind: Kind, limit: usize) -> Result<Vec<RecordId>, StoreError>;
    /// Ids by one author, newest first, at most `limit`.
    fn by_author(&self, author: &PublicKey, limit: usize) -> Result<Vec<RecordId>, StoreError>;
    /// The current version of a replaceable record.
    fn current(&self, key: &ReplaceKey) -> Result<Option<RecordId>, StoreError>;
    /// Compares every derived index with the records.
    fn check_indexes(&self) -> Result<IndexCheck, StoreError>;
    /// Recomputes every derived index from the records.
    fn rebuild_indexes(&self) -> Result<(), StoreError>;
    /// Makes every write so far durable.
    fn flush(&self) -> Flushing<'_>;
    /// The free space on the store's volume against its floor.
    fn free_space(&self) -> SpaceReport;
    /// Refuses new records once the volume has `bytes` or less free (0: no floor).
    fn set_free_space_floor(&self, bytes: u64);
    /// The store's size on disk (or in memory), in bytes.
    fn size_on_disk(&self) -> Result<u64, StoreError>;
    /// The side tree `name` beside the records (created if absent): node-local data such as
    /// the e-mail queue, which is not part of the signed state.
    fn side_tree(&self, name: &str) -> Result<std::sync::Arc<dyn SideTree>, StoreError>;
}

/// What [`Store::flush`] returns: a future, boxed so that the engine can hold any store as
/// `dyn Store`.
pub type Flushing<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send + 'a>>;

/// Reads every stored record once, in sync order (created, then id), `WALK_BATCH` records
/// at a time ([`Store::sync_records`]), and calls `visit` with each order and the record.
/// The one walk over a whole store: the engine's start-up, the expiry scan and the
/// validation state's rebuild use it.
pub fn walk<S: Store + ?Sized>(
    store: &S,
    mut visit: impl FnMut(Timestamp, RecordId, maillon_protocol::Record) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    const WALK_BATCH: usize = 4096;
    let mut from = (Timestamp(0), RecordId([0; 32]));
    loop {
        let batch = store.sync_records(from, WALK_BATCH)?;
        let last = batch.last().map(|(created, id, _)| (*created, *id));
        let full = batch.len() == WALK_BATCH;
        for (created, id, bytes) in batch {
            visit(created, id, index::decode_stored(&bytes)?)?;
        }
        match last {
            Some((created, id)) if full => from = (created, next_id(id)),
            _ => return Ok(()),
        }
    }
}

/// The smallest id after `id` (ids are big-endian numbers).
fn next_id(id: RecordId) -> RecordId {
    let mut next = id.0;
    for byte in next.iter_mut().rev() {
        let (value, overflow) = byte.overflowing_add(1);
        *byte = value;
        if !overflow {
            break;
        }
    }
    RecordId(next)
}
