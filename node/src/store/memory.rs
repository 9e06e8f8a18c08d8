//! The in-memory twin of the sled store, for tests: same trait, same suite.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use maillon_protocol::ids::{PublicKey, RecordId, Timestamp};
use maillon_protocol::{Kind, Record};

use super::index::{
    decode_stored, diff, order_key, split_order_key, ExpectedIndexes, IndexEntries,
};
use super::space::{SpaceReport, SpaceState};
use super::{IndexCheck, MemoryTree, PutOutcome, ReplaceKey, SideTree, Store, StoreError};

#[derive(Default)]
struct Inner {
    records: BTreeMap<RecordId, Vec<u8>>,
    sync: BTreeSet<Vec<u8>>,
    kind: BTreeSet<Vec<u8>>,
    author: BTreeSet<Vec<u8>>,
    current: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// Records and indexes in memory, lost when dropped. It has no volume: its free space is
/// unknown and never under the floor, which it records and reports.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    side_trees: Mutex<BTreeMap<String, Arc<MemoryTree>>>,
    floor_bytes: AtomicU64,
    /// When set, each flush waits for a permit ([`MemoryStore::hold_flushes`]).
    flush_gate: Mutex<Option<Arc<tokio::sync::Semaphore>>>,
    /// When set, `put_many` fails and writes nothing ([`MemoryStore::fail_writes`]).
    failing_writes: std::sync::atomic::AtomicBool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// From now on, each flush waits until the returned semaphore gives it a permit
    /// (`add_permits(1)` lets one flush end): a test holds a batch between its write and
    /// its durability.
    pub fn hold_flushes(&self) -> Arc<tokio::sync::Semaphore> {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        *self.flush_gate.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&gate));
        gate
    }

    /// From now on (`true`), `put_many` fails as a broken disk would, writing nothing; `false`
    /// mends it.
    pub fn fail_writes(&self, failing: bool) {
        self.failing_writes.store(failing, Ordering::SeqCst);
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::Corrupt("a writer panicked".into()))
    }

    /// Breaks an index on purpose, so tests can see the check and the rebuild work.
    #[cfg(test)]
    pub fn corrupt_indexes_for_test(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            let first = inner.sync.iter().next().cloned();
            if let Some(key) = first {
                inner.sync.remove(&key);
            }
            inner.kind.insert(vec![0xff; 41]);
        }
    }
}

fn newest(set: &BTreeSet<Vec<u8>>, prefix: &[u8], limit: usize) -> Vec<RecordId> {
    set.range(prefix.to_vec()..)
        .take_while(|k| k.starts_with(prefix))
        .filter_map(|k| split_order_key(&k[prefix.len()..]).map(|(_, id)| id))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .take(limit)
        .collect()
}

impl Store for MemoryStore {
    fn put_many(&self, records: &[Record]) -> Result<Vec<PutOutcome>, StoreError> {
        if self.failing_writes.load(Ordering::SeqCst) {
            return Err(StoreError::Backend(
                "the test broke the memory store's writes".into(),
            ));
        }
        records.iter().map(|record| self.put(record)).collect()
    }

    fn put(&self, record: &Record) -> Result<PutOutcome, StoreError> {
        let mut inner = self.lock()?;
        if inner.records.contains_key(&record.id()) {
            return Ok(PutOutcome::Duplicate);
        }
        let entries = IndexEntries::of(record);
        inner.records.insert(record.id(), record.to_wire());
        inner.sync.insert(entries.sync);
        inner.kind.insert(entries.kind);
        inner.author.insert(entries.author);
        if let Some((key, order)) = entries.replace {
            let slot = inner
                .current
                .entry(key.to_bytes())
                .or_insert_with(|| order.clone());
            if *slot < order {
                *slot = order;
            }
        }
        Ok(PutOutcome::Inserted)
    }

    fn replace_with_bare_header(&self, id: &RecordId) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let bytes = inner.records.get(id).ok_or(StoreError::NotFound(*id))?;
        let bare = decode_stored(bytes)?.without_body();
        inner.records.insert(*id, bare.to_wire());
        drop(inner);
        self.rebuild_indexes()
    }

    fn restore_body(&self, record: &Record) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if !inner.records.contains_key(&record.id()) {
            return Err(StoreError::NotFound(record.id()));
        }
        inner.records.insert(record.id(), record.to_wire());
        drop(inner);
        self.rebuild_indexes()
    }

    fn remove(&self, ids: &[RecordId]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let removed = ids
            .iter()
            .filter(|id| inner.records.remove(id).is_some())
            .count();
        drop(inner);
        if removed > 0 {
            self.rebuild_indexes()?;
        }
        Ok(())
    }

    fn get(&self, id: &RecordId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock()?.records.get(id).cloned())
    }

    fn contains(&self, id: &RecordId) -> Result<bool, StoreError> {
        Ok(self.lock()?.records.contains_key(id))
    }

    fn len(&self) -> Result<u64, StoreError> {
        Ok(self.lock()?.records.len() as u64)
    }

    fn sync_range(
        &self,
        from: (Timestamp, RecordId),
        limit: usize,
    ) -> Result<Vec<(Timestamp, RecordId)>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .sync
            .range(order_key(from.0, &from.1)..)
            .take(limit)
            .filter_map(|k| split_order_key(k))
            .collect())
    }

    fn by_kind(&self, kind: Kind, limit: usize) -> Result<Vec<RecordId>, StoreError> {
        Ok(newest(&self.lock()?.kind, &[kind as u8], limit))
    }

    fn by_author(&self, author: &PublicKey, limit: usize) -> Result<Vec<RecordId>, StoreError> {
        Ok(newest(&self.lock()?.author, &author.0, limit))
    }

    fn current(&self, key: &ReplaceKey) -> Result<Option<RecordId>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .current
            .get(&key.to_bytes())
            .and_then(|order| split_order_key(order))
            .map(|(_, id)| id))
    }

    fn check_indexes(&self) -> Result<IndexCheck, StoreError> {
        let inner = self.lock()?;
        let mut expected = ExpectedIndexes::default();
        for bytes in inner.records.values() {
            expected.add(&decode_stored(bytes)?);
        }
        let mut check = IndexCheck {
            records: inner.records.len() as u64,
            ..IndexCheck::default()
        };
        for (want, have) in [
            (&expected.sync, &inner.sync),
            (&expected.kind, &inner.kind),
            (&expected.author, &inner.author),
        ] {
            let (missing, extra) = diff(want, have);
            check.missing += missing;
            check.extra += extra;
        }
        let current: BTreeSet<Vec<u8>> = inner
            .current
            .iter()
            .map(|(k, v)| [k.as_slice(), v].concat())
            .collect();
        let (missing, extra) = diff(
            &expected
                .current
                .iter()
                .map(|(k, v)| [k.as_slice(), v].concat())
                .collect::<Vec<_>>(),
            &current,
        );
        check.missing += missing;
        check.extra += extra;
        Ok(check)
    }

    fn rebuild_indexes(&self) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let mut expected = ExpectedIndexes::default();
        for bytes in inner.records.values() {
            expected.add(&decode_stored(bytes)?);
        }
        inner.sync = expected.sync;
        inner.kind = expected.kind;
        inner.author = expected.author;
        inner.current = expected.current;
        Ok(())
    }

    fn flush(&self) -> super::Flushing<'_> {
        let gate = self
            .flush_gate
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Box::pin(async move {
            if let Some(gate) = gate {
                let permit = gate
                    .acquire()
                    .await
                    .map_err(|_| StoreError::NotDurable("the flush gate closed".into()))?;
                permit.forget();
            }
            Ok(())
        })
    }

    fn free_space(&self) -> SpaceReport {
        SpaceReport {
            free_bytes: None,
            floor_bytes: self.floor_bytes.load(Ordering::Relaxed),
            state: SpaceState::Ample,
        }
    }

    fn set_free_space_floor(&self, bytes: u64) {
        self.floor_bytes.store(bytes, Ordering::Relaxed);
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.lock()?.records.values().map(|v| v.len() as u64).sum())
    }

    fn side_tree(&self, name: &str) -> Result<Arc<dyn SideTree>, StoreError> {
        let mut trees = self
            .side_trees
            .lock()
            .map_err(|_| StoreError::Corrupt("a writer panicked".into()))?;
        let tree = trees.entry(name.to_string()).or_default();
        Ok(Arc::clone(tree) as Arc<dyn SideTree>)
    }
}
