//! Small key-value trees that live in the same database as the records but are not part of
//! the signed state: node-local data such as the e-mail queue. Behind [`SideTree`] so that
//! no sled type leaves the store module; [`MemoryTree`] is the in-memory twin for tests.
//! A backup of the sled database includes them.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{SledStore, StoreError};

/// One change of a batch: a value to write, or `None` to remove the key.
pub type Change = (Vec<u8>, Option<Vec<u8>>);

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// A key-value tree beside the records. Writes are durable once [`SideTree::flush`] returns.
pub trait SideTree: Send + Sync {
    /// The value of a key.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Applies every change at once, or none.
    fn apply(&self, changes: Vec<Change>) -> Result<(), StoreError>;
    /// Every entry whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>, StoreError>;
    /// Makes every write so far durable (blocks until the disk has it).
    fn flush(&self) -> Result<(), StoreError>;
}

/// A named sled tree of the record database.
pub struct SledTree {
    tree: sled::Tree,
}

impl SledStore {
    /// The side tree `name` (created if absent). Its names start with `side-`, apart from the
    /// records' tree.
    pub(super) fn named_tree(&self, name: &str) -> Result<SledTree, StoreError> {
        Ok(SledTree {
            tree: self.db.open_tree(format!("side-{name}"))?,
        })
    }
}

impl SideTree for SledTree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }

    fn apply(&self, changes: Vec<Change>) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (key, value) in changes {
            match value {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
        Ok(self.tree.apply_batch(batch)?)
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        self.tree
            .scan_prefix(prefix)
            .map(|entry| {
                entry
                    .map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(StoreError::from)
            })
            .collect()
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.tree.flush()?;
        Ok(())
    }
}

/// The in-memory twin of [`SledTree`].
#[derive(Default)]
pub struct MemoryTree {
    entries: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryTree {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SideTree for MemoryTree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().get(key).cloned())
    }

    fn apply(&self, changes: Vec<Change>) -> Result<(), StoreError> {
        let mut entries = self.lock();
        for (key, value) in changes {
            match value {
                Some(value) => entries.insert(key, value),
                None => entries.remove(&key),
            };
        }
        Ok(())
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        Ok(self
            .lock()
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(tree: &dyn SideTree) {
        tree.apply(vec![
            (b"a1".to_vec(), Some(b"x".to_vec())),
            (b"a2".to_vec(), Some(b"y".to_vec())),
            (b"b1".to_vec(), Some(b"z".to_vec())),
        ])
        .unwrap();
        tree.apply(vec![(b"a1".to_vec(), None)]).unwrap();
        tree.flush().unwrap();
        assert_eq!(tree.get(b"a2").unwrap(), Some(b"y".to_vec()));
        assert_eq!(tree.get(b"a1").unwrap(), None);
        let keys: Vec<_> = tree
            .scan_prefix(b"a")
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec![b"a2".to_vec()]);
    }

    #[test]
    fn sled_and_memory_trees_behave_alike_and_sled_keeps_them_apart_from_records() {
        exercise(&MemoryTree::default());
        let dir = tempfile::tempdir().unwrap();
        let config = super::super::SledConfig {
            path: dir.path().join("db"),
            cache_capacity_bytes: 1 << 20,
        };
        {
            let store = SledStore::open(&config).unwrap();
            use super::super::Store;
            exercise(&*store.side_tree("test").unwrap());
            assert_eq!(store.len().unwrap(), 0, "the records' tree is untouched");
        }
        let store = SledStore::open(&config).unwrap();
        use super::super::Store;
        assert_eq!(
            store.side_tree("test").unwrap().get(b"b1").unwrap(),
            Some(b"z".to_vec())
        );
    }
}
