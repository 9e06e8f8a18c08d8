//! The sled store: one tree whose keys start with a byte naming what they hold — records
//! in sync order, ids, kind, author, current versions (`sled_keys`) — so that a record and
//! all its index entries are written by one atomic `apply_batch`. Durability on `flush`.
//! The tree `meta` holds the format version (`format.rs`), checked and migrated before the
//! records are opened.
//!
//! One tree and a batch, rather than five trees and a sled transaction: a transaction over
//! five trees cost about 100 µs per record here, ten times a batch (docs/PERFORMANCE.md).
//! The duplicate check before the batch is not part of it; the engine's single writer makes
//! that safe, and a repeated put of one record would write the same bytes again.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use maillon_protocol::ids::{PublicKey, RecordId, Timestamp};
use maillon_protocol::{Kind, Record};

use super::format::{self, Allow, Format, Prepared};
use super::index::{decode_stored, split_order_key, IndexEntries};
use super::sled_keys::{created_of, id_key, key, record_key, space, split_record_key};
use super::{IndexCheck, PutOutcome, ReplaceKey, Store, StoreError};

/// Where and how to open the sled database.
#[derive(Clone, Debug)]
pub struct SledConfig {
    /// The database folder.
    pub path: PathBuf,
    /// sled's page cache, in bytes: explicit and bounded.
    pub cache_capacity_bytes: u64,
}

impl From<sled::Error> for StoreError {
    fn from(error: sled::Error) -> StoreError {
        match &error {
            sled::Error::Io(io) if super::is_out_of_space(io) => {
                StoreError::NoSpace(io.to_string())
            }
            _ => StoreError::Backend(Box::new(error)),
        }
    }
}

/// Opens sled, trying the file lock again for up to two seconds.
pub(super) fn open_db(config: &SledConfig) -> Result<sled::Db, StoreError> {
    let mut tries = 0;
    loop {
        let opened = sled::Config::new()
            .path(&config.path)
            .cache_capacity(config.cache_capacity_bytes)
            .open();
        match opened {
            Err(sled::Error::Io(error))
                if tries < 20 && error.to_string().contains("could not acquire lock") =>
            {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            other => return Ok(other?),
        }
    }
}

/// The key, in the tree `meta`, that says the node stopped cleanly.
const CLOSED_CLEANLY: &[u8] = b"closed-cleanly";

/// Records and indexes in sled.
pub struct SledStore {
    pub(super) db: sled::Db,
    pub(super) tree: sled::Tree,
    free_space: super::space::FreeSpace,
    /// How many records the tree holds: counted once at open, then kept by every write
    /// (the engine's single writer), so that `len` does not scan.
    count: std::sync::atomic::AtomicU64,
}

impl SledStore {
    fn newest(&self, prefix: &[u8], limit: usize) -> Result<Vec<RecordId>, StoreError> {
        let mut out = Vec::new();
        for entry in self.tree.scan_prefix(prefix).rev().take(limit) {
            let (key, _) = entry?;
            let (_, id) = split_order_key(&key[prefix.len()..])
                .ok_or_else(|| StoreError::Corrupt("index key".into()))?;
            out.push(id);
        }
        Ok(out)
    }

    /// Counts the record keys (one scan).
    fn count_records(&self) -> Result<u64, StoreError> {
        let mut count = 0;
        for entry in self.tree.scan_prefix([space::RECORDS]).keys() {
            entry?;
            count += 1;
        }
        Ok(count)
    }

    /// Reads every stored record's bytes once, in key order; returns how many and their
    /// total size. The floor of any pass over the store (the restart benchmark's limit).
    pub fn scan_records(&self) -> Result<(u64, u64), StoreError> {
        let (mut count, mut bytes) = (0, 0);
        for value in self.records() {
            count += 1;
            bytes += value?.len() as u64;
        }
        Ok((count, bytes))
    }

    /// The records from `from` on, in sync order: their keys and bytes.
    fn in_sync_order(
        &self,
        from: (Timestamp, RecordId),
    ) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec), StoreError>> + '_ {
        self.tree
            .range(record_key(from.0, &from.1)..)
            .take_while(|entry| {
                entry
                    .as_ref()
                    .map_or(true, |(key, _)| key.first() == Some(&space::RECORDS))
            })
            .map(|entry| entry.map_err(StoreError::from))
    }

    /// Every stored record's bytes.
    fn records(&self) -> impl Iterator<Item = Result<sled::IVec, StoreError>> + '_ {
        self.tree
            .scan_prefix([space::RECORDS])
            .values()
            .map(|v| v.map_err(StoreError::from))
    }

    /// Opens (or creates) the database in this binary's format, running the migrations a
    /// start may run (`store::format`). A handle on the same folder that was just dropped
    /// may keep sled's file lock for a moment (its background flusher ends asynchronously):
    /// the lock is tried again for up to two seconds before the error is returned.
    pub fn open(config: &SledConfig) -> Result<SledStore, StoreError> {
        Ok(SledStore::open_as(config, &format::THIS_BINARY, Allow::AutomaticOnly)?.0)
    }

    /// Opens the database in `format`: a fresh one gets its version before anything else is
    /// written; an older one is migrated (explicit steps only when `allow` says so); a newer
    /// one, or one needing a step not allowed, is refused before anything is written.
    pub fn open_as(
        config: &SledConfig,
        format: &Format,
        allow: Allow,
    ) -> Result<(SledStore, Prepared), StoreError> {
        let (store, prepared) = SledStore::open_uncounted(config, format, allow)?;
        store.count.store(store.count_records()?, Ordering::Relaxed);
        Ok((store, prepared))
    }

    /// [`SledStore::open_as`] without counting the records: the caller sets the count.
    fn open_uncounted(
        config: &SledConfig,
        format: &Format,
        allow: Allow,
    ) -> Result<(SledStore, Prepared), StoreError> {
        let db = open_db(config)?;
        let prepared = format::prepare(&db, format, allow, &config.path)?;
        let store = SledStore {
            tree: db.open_tree(format::RECORDS_TREE)?,
            db,
            free_space: super::space::FreeSpace::new(config.path.clone()),
            count: std::sync::atomic::AtomicU64::new(0),
        };
        Ok((store, prepared))
    }

    /// The whole database, for what reads or writes every tree of it (backups). Records
    /// written through it are not in this handle's count: reopen the store before `len`.
    pub fn database(&self) -> sled::Db {
        self.db.clone()
    }

    /// `maillon migrate`: opens the database and runs every migration it needs, the long
    /// ones included, then flushes.
    pub fn migrate(config: &SledConfig) -> Result<Prepared, StoreError> {
        let (store, prepared) = SledStore::open_as(config, &format::THIS_BINARY, Allow::Every)?;
        store.db.flush()?;
        Ok(prepared)
    }

    /// Records, durably, that the node stopped cleanly, with its record count: the next
    /// [`SledStore::open_checked`] skips the index check and the count. Called last by a
    /// node's shutdown, after its final flush, when nothing writes any more.
    pub fn mark_closed_cleanly(&self) -> Result<(), StoreError> {
        let count = self.count.load(Ordering::Relaxed);
        self.db
            .open_tree(format::META_TREE)?
            .insert(CLOSED_CLEANLY, &count.to_be_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// The record count of the last clean stop, if the last stop was clean; removes the
    /// mark. The removal is in sled's log before any later write, so a crash after this
    /// open leaves no mark behind. A mark that is not a count (written by 0.x builds before
    /// the count was kept in it) counts as no mark.
    fn take_clean_mark(&self) -> Result<Option<u64>, StoreError> {
        let mark = self
            .db
            .open_tree(format::META_TREE)?
            .remove(CLOSED_CLEANLY)?;
        Ok(mark
            .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_ref()).ok())
            .map(u64::from_be_bytes))
    }

    /// Opens the database (as [`SledStore::open`], logging the migrations run). Unless the
    /// node last stopped cleanly ([`SledStore::mark_closed_cleanly`]), checks the derived
    /// indexes against the records and rebuilds them if they disagree. Returns the check
    /// made before any rebuild, or `None` when it was skipped: a full scan of every index,
    /// which at a national scale would hold up the start for seconds.
    pub fn open_checked(
        config: &SledConfig,
    ) -> Result<(SledStore, Option<IndexCheck>), StoreError> {
        let (store, prepared) =
            SledStore::open_uncounted(config, &format::THIS_BINARY, Allow::AutomaticOnly)?;
        for step in &prepared.ran {
            tracing::info!(step, "store migrated");
        }
        if let Some(found) = prepared.found.filter(|f| *f < format::FORMAT_VERSION) {
            tracing::info!(from = %found, to = %format::FORMAT_VERSION, "store format brought up to date");
        }
        if let Some(count) = store.take_clean_mark()? {
            store.count.store(count, Ordering::Relaxed);
            return Ok((store, None));
        }
        let check = store.check_indexes()?;
        store.count.store(check.records, Ordering::Relaxed);
        if !check.is_consistent() {
            store.rebuild_indexes()?;
        }
        Ok((store, Some(check)))
    }

    /// Breaks an index on purpose, so tests can see the check and the rebuild work.
    #[cfg(test)]
    pub fn corrupt_indexes_for_test(&self) -> Result<(), StoreError> {
        if let Some(first) = self.tree.scan_prefix([space::IDS]).keys().next() {
            self.tree.remove(first?)?;
        }
        self.tree.insert(key(space::KIND, &[0xff; 41]), &[])?;
        Ok(())
    }

    /// Adds the removal of the current-version entry to `batch` if `order` is that version;
    /// returns whether it was.
    fn clear_current(
        &self,
        batch: &mut sled::Batch,
        replace: &ReplaceKey,
        order: &[u8],
    ) -> Result<bool, StoreError> {
        let current = key(space::CURRENT, &replace.to_bytes());
        let is_current = self
            .tree
            .get(&current)?
            .is_some_and(|c| c.as_ref() == order);
        if is_current {
            batch.remove(current);
        }
        Ok(is_current)
    }

    /// Adds the write of the current version to `batch` if `order` is newer.
    fn write_current(
        &self,
        batch: &mut sled::Batch,
        replace: &ReplaceKey,
        order: &[u8],
    ) -> Result<(), StoreError> {
        let current = key(space::CURRENT, &replace.to_bytes());
        let newer = self
            .tree
            .get(&current)?
            .is_none_or(|old| old.as_ref() < order);
        if newer {
            batch.insert(current, order);
        }
        Ok(())
    }
}

impl SledStore {
    /// The key of the stored record `id`, from the id space.
    fn locate(&self, id: &RecordId) -> Result<Option<Vec<u8>>, StoreError> {
        match self.tree.get(id_key(id))? {
            Some(created) => Ok(Some(record_key(created_of(&created)?, id))),
            None => Ok(None),
        }
    }

    /// The key and bytes of the stored record `id`.
    fn located(&self, id: &RecordId) -> Result<Option<(Vec<u8>, sled::IVec)>, StoreError> {
        let Some(record_key) = self.locate(id)? else {
            return Ok(None);
        };
        match self.tree.get(&record_key)? {
            Some(bytes) => Ok(Some((record_key, bytes))),
            None => Err(StoreError::Corrupt(format!(
                "the id space names record {id}, which is not stored"
            ))),
        }
    }
}

impl Store for SledStore {
    fn put(&self, record: &Record) -> Result<PutOutcome, StoreError> {
        let outcomes = self.put_many(std::slice::from_ref(record))?;
        Ok(outcomes[0])
    }

    /// One sled batch for every record: about half the cost of one batch per record
    /// (docs/PERFORMANCE.md, "The writer's batches").
    fn put_many(&self, records: &[Record]) -> Result<Vec<PutOutcome>, StoreError> {
        self.free_space.check_writable()?;
        let mut batch = sled::Batch::default();
        let mut seen = std::collections::HashSet::with_capacity(records.len());
        let mut newest: std::collections::HashMap<ReplaceKey, Vec<u8>> = Default::default();
        let mut outcomes = Vec::with_capacity(records.len());
        for record in records {
            let id = record.id();
            let id_key = id_key(&id);
            if !seen.insert(id) || self.tree.contains_key(&id_key)? {
                outcomes.push(PutOutcome::Duplicate);
                continue;
            }
            let created = record.header().created;
            let entries = IndexEntries::of(record);
            batch.insert(key(space::RECORDS, &entries.sync), record.to_wire());
            batch.insert(id_key, &created.0.to_be_bytes());
            batch.insert(key(space::KIND, &entries.kind), &[]);
            batch.insert(key(space::AUTHOR, &entries.author), &[]);
            if let Some((replace, order)) = entries.replace {
                let slot = newest.entry(replace).or_default();
                if *slot < order {
                    *slot = order;
                }
            }
            outcomes.push(PutOutcome::Inserted);
        }
        for (replace, order) in &newest {
            self.write_current(&mut batch, replace, order)?;
        }
        self.tree.apply_batch(batch)?;
        let inserted = outcomes
            .iter()
            .filter(|o| **o == PutOutcome::Inserted)
            .count();
        self.count.fetch_add(inserted as u64, Ordering::Relaxed);
        Ok(outcomes)
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        self.free_space.check_writable()
    }

    fn replace_with_bare_header(&self, id: &RecordId) -> Result<(), StoreError> {
        let (record_key, bytes) = self.located(id)?.ok_or(StoreError::NotFound(*id))?;
        let record = decode_stored(&bytes)?;
        let mut batch = sled::Batch::default();
        batch.insert(record_key, record.without_body().to_wire());
        let replace = IndexEntries::of(&record).replace;
        if let Some((replace, order)) = &replace {
            self.clear_current(&mut batch, replace, order)?;
        }
        self.tree.apply_batch(batch)?;
        // The erased version may have been current: recompute the current versions.
        if replace.is_some() {
            self.rebuild_indexes()?;
        }
        Ok(())
    }

    fn restore_body(&self, record: &Record) -> Result<(), StoreError> {
        self.free_space.check_writable()?;
        let id = record.id();
        let record_key = self.locate(&id)?.ok_or(StoreError::NotFound(id))?;
        let mut batch = sled::Batch::default();
        batch.insert(record_key, record.to_wire());
        if let Some((replace, order)) = &IndexEntries::of(record).replace {
            self.write_current(&mut batch, replace, order)?;
        }
        self.tree.apply_batch(batch)?;
        Ok(())
    }

    fn remove(&self, ids: &[RecordId]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        let mut current_removed = false;
        let mut removed = std::collections::HashSet::new();
        for id in ids {
            if removed.contains(id) {
                continue;
            }
            let Some((record_key, bytes)) = self.located(id)? else {
                continue;
            };
            removed.insert(*id);
            let entries = IndexEntries::of(&decode_stored(&bytes)?);
            batch.remove(record_key);
            batch.remove(id_key(id));
            batch.remove(key(space::KIND, &entries.kind));
            batch.remove(key(space::AUTHOR, &entries.author));
            if let Some((replace, order)) = &entries.replace {
                current_removed |= self.clear_current(&mut batch, replace, order)?;
            }
        }
        self.tree.apply_batch(batch)?;
        self.count
            .fetch_sub(removed.len() as u64, Ordering::Relaxed);
        // An older version may now be current.
        if current_removed {
            self.rebuild_indexes()?;
        }
        Ok(())
    }

    fn get(&self, id: &RecordId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.located(id)?.map(|(_, bytes)| bytes.to_vec()))
    }

    fn contains(&self, id: &RecordId) -> Result<bool, StoreError> {
        Ok(self.tree.contains_key(id_key(id))?)
    }

    fn len(&self) -> Result<u64, StoreError> {
        Ok(self.count.load(Ordering::Relaxed))
    }

    fn sync_range(
        &self,
        from: (Timestamp, RecordId),
        limit: usize,
    ) -> Result<Vec<(Timestamp, RecordId)>, StoreError> {
        self.in_sync_order(from)
            .take(limit)
            .map(|entry| split_record_key(&entry?.0))
            .collect()
    }

    /// One read from left to right of the records, which are keyed in sync order.
    fn sync_records(
        &self,
        from: (Timestamp, RecordId),
        limit: usize,
    ) -> Result<Vec<(Timestamp, RecordId, Vec<u8>)>, StoreError> {
        self.in_sync_order(from)
            .take(limit)
            .map(|entry| {
                let (key, bytes) = entry?;
                let (created, id) = split_record_key(&key)?;
                Ok((created, id, bytes.to_vec()))
            })
            .collect()
    }

    fn by_kind(&self, kind: Kind, limit: usize) -> Result<Vec<RecordId>, StoreError> {
        self.newest(&[space::KIND, kind as u8], limit)
    }

    fn by_author(&self, author: &PublicKey, limit: usize) -> Result<Vec<RecordId>, StoreError> {
        self.newest(&key(space::AUTHOR, &author.0), limit)
    }

    fn current(&self, replace: &ReplaceKey) -> Result<Option<RecordId>, StoreError> {
        match self.tree.get(key(space::CURRENT, &replace.to_bytes()))? {
            None => Ok(None),
            Some(order) => split_order_key(&order)
                .map(|(_, id)| Some(id))
                .ok_or_else(|| StoreError::Corrupt("current version".into())),
        }
    }

    fn check_indexes(&self) -> Result<IndexCheck, StoreError> {
        self.check_indexes_streaming()
    }

    fn rebuild_indexes(&self) -> Result<(), StoreError> {
        self.rebuild_all_indexes()
    }

    /// Flushes with sled's blocking `flush` on tokio's blocking pool, not `flush_async`:
    /// in sled 0.34.7 concurrent `flush_async` calls can deadlock (sled issue #1308, fixed
    /// on sled's main branch but never released), and the benchmark of 20 nodes in one
    /// process hung on it. The durability is the same: both return once the write-ahead
    /// log is on disk.
    fn flush(&self) -> super::Flushing<'_> {
        let db = self.db.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || db.flush())
                .await
                .map_err(|e| StoreError::Corrupt(format!("the flush task failed: {e}")))??;
            Ok(())
        })
    }

    fn free_space(&self) -> super::SpaceReport {
        self.free_space.report()
    }

    fn set_free_space_floor(&self, bytes: u64) {
        self.free_space.set_floor(bytes);
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    fn side_tree(&self, name: &str) -> Result<std::sync::Arc<dyn super::SideTree>, StoreError> {
        Ok(std::sync::Arc::new(self.named_tree(name)?))
    }
}
