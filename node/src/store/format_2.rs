//! The migration from store format 1 to format 2: records keyed by their sync order
//! (created, id) in the tree `records`, with an id space, instead of by id in the tree
//! `maillon` with a separate sync-order space.
//!
//! The step writes the new tree beside the old one and drops the old tree only once the new
//! one is complete and flushed. Until then the old tree is whole, so the store still reads as
//! format 1; a step cut short starts again from an empty new tree. A step cut short after the
//! drop finds no old tree, and the complete new tree is kept.

use std::path::Path;

use super::format::{FormatVersion, Step};
use super::index::{decode_stored, IndexEntries};
use super::sled_keys::{id_key, key, record_key, space, FORMAT_1_TREE, RECORDS_TREE};
use super::StoreError;

/// The step from format 1 to format 2. It rewrites every record, so it is run by
/// `maillon migrate`, not by a start.
pub const TO_FORMAT_2: Step = Step {
    from: FormatVersion(1),
    name: "records keyed by their sync order",
    explicit: true,
    apply: key_records_by_sync_order,
};

/// Entries written per sled batch.
const BATCH: usize = 4_096;

/// The format-1 record space: id → wire bytes.
const FORMAT_1_RECORDS: u8 = b'r';
/// The format-1 current-version space, the same in format 2.
const FORMAT_1_CURRENT: u8 = b'c';

fn key_records_by_sync_order(db: &sled::Db, _store: &Path) -> Result<(), StoreError> {
    let has_old = db
        .tree_names()
        .iter()
        .any(|name| name.as_ref() == FORMAT_1_TREE.as_bytes());
    if !has_old {
        // Cut short after the old tree was dropped: the new tree is complete.
        return Ok(());
    }
    let old = db.open_tree(FORMAT_1_TREE)?;
    let new = db.open_tree(RECORDS_TREE)?;
    new.clear()?;
    copy_records(&old, &new)?;
    copy_current_versions(&old, &new)?;
    db.flush()?;
    drop(old);
    db.drop_tree(FORMAT_1_TREE)?;
    Ok(())
}

/// Writes every record of the old tree, with its id, kind and author entries, to the new.
fn copy_records(old: &sled::Tree, new: &sled::Tree) -> Result<(), StoreError> {
    let mut writer = BatchWriter::new(new);
    for value in old.scan_prefix([FORMAT_1_RECORDS]).values() {
        let value = value?;
        let record = decode_stored(&value)?;
        let created = record.header().created;
        let id = record.id();
        let entries = IndexEntries::of(&record);
        writer.insert(record_key(created, &id), value.to_vec())?;
        writer.insert(id_key(&id), created.0.to_be_bytes().to_vec())?;
        writer.insert(key(space::KIND, &entries.kind), Vec::new())?;
        writer.insert(key(space::AUTHOR, &entries.author), Vec::new())?;
    }
    writer.finish()
}

/// Copies the current-version entries, whose keys and values are the same in both formats.
fn copy_current_versions(old: &sled::Tree, new: &sled::Tree) -> Result<(), StoreError> {
    let mut writer = BatchWriter::new(new);
    for entry in old.scan_prefix([FORMAT_1_CURRENT]) {
        let (key, value) = entry?;
        writer.insert(key.to_vec(), value.to_vec())?;
    }
    writer.finish()
}

/// Writes entries to a tree in sled batches of [`BATCH`] entries.
struct BatchWriter<'a> {
    tree: &'a sled::Tree,
    batch: sled::Batch,
    pending: usize,
}

impl<'a> BatchWriter<'a> {
    fn new(tree: &'a sled::Tree) -> BatchWriter<'a> {
        BatchWriter {
            tree,
            batch: sled::Batch::default(),
            pending: 0,
        }
    }

    fn insert(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), StoreError> {
        self.batch.insert(key, value);
        self.pending += 1;
        if self.pending == BATCH {
            self.tree.apply_batch(std::mem::take(&mut self.batch))?;
            self.pending = 0;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), StoreError> {
        self.tree.apply_batch(self.batch)?;
        Ok(())
    }
}
