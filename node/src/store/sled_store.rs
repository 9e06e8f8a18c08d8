//! The sled store: five fixed trees, every record written with its index entries in one
//! transaction, durability on `flush`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use maillon_protocol::ids::{PublicKey, RecordId, Timestamp};
use maillon_protocol::{Kind, Record};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use super::index::{
    decode_stored, diff, order_key, split_order_key, ExpectedIndexes, IndexEntries,
};
use super::{IndexCheck, PutOutcome, ReplaceKey, Store, StoreError};

/// Where and how to open the sled database.
#[derive(Clone, Debug)]
pub struct SledConfig {
    /// The database folder.
    pub path: PathBuf,
    /// sled's page cache, in bytes: explicit and bounded.
    pub cache_capacity_bytes: u64,
}

/// Records and indexes in sled.
pub struct SledStore {
    pub(super) db: sled::Db,
    records: sled::Tree,
    sync: sled::Tree,
    kind: sled::Tree,
    author: sled::Tree,
    current: sled::Tree,
}

type TxResult<T> = Result<T, ConflictableTransactionError<()>>;

fn tx_error(error: TransactionError<()>) -> StoreError {
    match error {
        TransactionError::Storage(e) => StoreError::Sled(e),
        TransactionError::Abort(()) => StoreError::Corrupt("transaction aborted".into()),
    }
}

fn newest(tree: &sled::Tree, prefix: &[u8], limit: usize) -> Result<Vec<RecordId>, StoreError> {
    let mut out = Vec::new();
    for entry in tree.scan_prefix(prefix).rev().take(limit) {
        let (key, _) = entry?;
        let (_, id) = split_order_key(&key[prefix.len()..])
            .ok_or_else(|| StoreError::Corrupt("index key".into()))?;
        out.push(id);
    }
    Ok(out)
}

fn keys(tree: &sled::Tree) -> Result<BTreeSet<Vec<u8>>, StoreError> {
    tree.iter()
        .keys()
        .map(|k| k.map(|k| k.to_vec()).map_err(StoreError::from))
        .collect()
}

impl SledStore {
    /// Opens (or creates) the database with its fixed trees.
    pub fn open(config: &SledConfig) -> Result<SledStore, StoreError> {
        let db = sled::Config::new()
            .path(&config.path)
            .cache_capacity(config.cache_capacity_bytes)
            .open()?;
        Ok(SledStore {
            records: db.open_tree("records")?,
            sync: db.open_tree("sync")?,
            kind: db.open_tree("kind")?,
            author: db.open_tree("author")?,
            current: db.open_tree("current")?,
            db,
        })
    }

    /// Opens the database, checks the derived indexes against the records, and rebuilds them
    /// if they disagree. Returns the check made before any rebuild.
    pub fn open_checked(config: &SledConfig) -> Result<(SledStore, IndexCheck), StoreError> {
        let store = SledStore::open(config)?;
        let check = store.check_indexes()?;
        if !check.is_consistent() {
            store.rebuild_indexes()?;
        }
        Ok((store, check))
    }

    /// Breaks an index on purpose, so tests can see the check and the rebuild work.
    #[cfg(test)]
    pub fn corrupt_indexes_for_test(&self) -> Result<(), StoreError> {
        if let Some(first) = self.sync.iter().keys().next() {
            self.sync.remove(first?)?;
        }
        self.kind.insert(vec![0xff; 41], &[])?;
        Ok(())
    }

    fn write_current(
        current: &sled::transaction::TransactionalTree,
        key: &ReplaceKey,
        order: &[u8],
    ) -> TxResult<()> {
        let key = key.to_bytes();
        let newer = current.get(&key)?.is_none_or(|old| old.as_ref() < order);
        if newer {
            current.insert(key, order)?;
        }
        Ok(())
    }
}

impl Store for SledStore {
    fn put(&self, record: &Record) -> Result<PutOutcome, StoreError> {
        let id = record.id();
        let wire = record.to_wire();
        let entries = IndexEntries::of(record);
        (
            &self.records,
            &self.sync,
            &self.kind,
            &self.author,
            &self.current,
        )
            .transaction(
                |(records, sync, kind, author, current)| -> TxResult<PutOutcome> {
                    if records.get(id.0)?.is_some() {
                        return Ok(PutOutcome::Duplicate);
                    }
                    records.insert(&id.0[..], wire.as_slice())?;
                    sync.insert(entries.sync.as_slice(), &[])?;
                    kind.insert(entries.kind.as_slice(), &[])?;
                    author.insert(entries.author.as_slice(), &[])?;
                    if let Some((key, order)) = &entries.replace {
                        Self::write_current(current, key, order)?;
                    }
                    Ok(PutOutcome::Inserted)
                },
            )
            .map_err(tx_error)
    }

    fn replace_with_bare_header(&self, id: &RecordId) -> Result<(), StoreError> {
        let bytes = self.records.get(id.0)?.ok_or(StoreError::NotFound(*id))?;
        let record = decode_stored(&bytes)?;
        let bare = record.without_body().to_wire();
        let replace = IndexEntries::of(&record).replace;
        (&self.records, &self.current)
            .transaction(|(records, current)| -> TxResult<()> {
                records.insert(&id.0[..], bare.as_slice())?;
                if let Some((key, order)) = &replace {
                    if current
                        .get(key.to_bytes())?
                        .is_some_and(|c| c.as_ref() == order.as_slice())
                    {
                        current.remove(key.to_bytes())?;
                    }
                }
                Ok(())
            })
            .map_err(tx_error)?;
        // The erased version may have been current: recompute the current versions.
        if replace.is_some() {
            self.rebuild_indexes()?;
        }
        Ok(())
    }

    fn get(&self, id: &RecordId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.records.get(id.0)?.map(|v| v.to_vec()))
    }

    fn contains(&self, id: &RecordId) -> Result<bool, StoreError> {
        Ok(self.records.contains_key(id.0)?)
    }

    fn len(&self) -> Result<u64, StoreError> {
        Ok(self.records.len() as u64)
    }

    fn sync_range(
        &self,
        from: (Timestamp, RecordId),
        limit: usize,
    ) -> Result<Vec<(Timestamp, RecordId)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.sync.range(order_key(from.0, &from.1)..).take(limit) {
            let (key, _) = entry?;
            out.push(split_order_key(&key).ok_or_else(|| StoreError::Corrupt("sync key".into()))?);
        }
        Ok(out)
    }

    fn by_kind(&self, kind: Kind, limit: usize) -> Result<Vec<RecordId>, StoreError> {
        newest(&self.kind, &[kind as u8], limit)
    }

    fn by_author(&self, author: &PublicKey, limit: usize) -> Result<Vec<RecordId>, StoreError> {
        newest(&self.author, &author.0, limit)
    }

    fn current(&self, key: &ReplaceKey) -> Result<Option<RecordId>, StoreError> {
        match self.current.get(key.to_bytes())? {
            None => Ok(None),
            Some(order) => split_order_key(&order)
                .map(|(_, id)| Some(id))
                .ok_or_else(|| StoreError::Corrupt("current version".into())),
        }
    }

    fn check_indexes(&self) -> Result<IndexCheck, StoreError> {
        let mut expected = ExpectedIndexes::default();
        let mut records = 0;
        for entry in self.records.iter() {
            let (_, bytes) = entry?;
            expected.add(&decode_stored(&bytes)?);
            records += 1;
        }
        let mut check = IndexCheck {
            records,
            ..IndexCheck::default()
        };
        for (want, tree) in [
            (&expected.sync, &self.sync),
            (&expected.kind, &self.kind),
            (&expected.author, &self.author),
        ] {
            let (missing, extra) = diff(want, &keys(tree)?);
            check.missing += missing;
            check.extra += extra;
        }
        let mut current = BTreeSet::new();
        for entry in self.current.iter() {
            let (k, v) = entry?;
            current.insert([k.as_ref(), v.as_ref()].concat());
        }
        let want: Vec<Vec<u8>> = expected
            .current
            .iter()
            .map(|(k, v)| [k.as_slice(), v].concat())
            .collect();
        let (missing, extra) = diff(&want, &current);
        check.missing += missing;
        check.extra += extra;
        Ok(check)
    }

    fn rebuild_indexes(&self) -> Result<(), StoreError> {
        let mut expected = ExpectedIndexes::default();
        for entry in self.records.iter() {
            let (_, bytes) = entry?;
            expected.add(&decode_stored(&bytes)?);
        }
        for (tree, set) in [
            (&self.sync, &expected.sync),
            (&self.kind, &expected.kind),
            (&self.author, &expected.author),
        ] {
            tree.clear()?;
            let mut batch = sled::Batch::default();
            for key in set {
                batch.insert(key.as_slice(), &[]);
            }
            tree.apply_batch(batch)?;
        }
        self.current.clear()?;
        let mut batch = sled::Batch::default();
        for (key, order) in &expected.current {
            batch.insert(key.as_slice(), order.as_slice());
        }
        self.current.apply_batch(batch)?;
        Ok(())
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }
}
