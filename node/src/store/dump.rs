//! Every tree of a sled database written to, and read back from, a plain byte stream: what
//! a backup holds of the store. The dump is generic (it lists the database's trees), so
//! trees other parts of the node add are carried without this module knowing them.
//!
//! A tree's dump is a sequence of entries, each a 4-byte big-endian key length, the key, a
//! 4-byte big-endian value length and the value. The dump of a running database is taken by
//! iterating each tree: every write applied before the iteration started is in it.

use std::io::{Read, Write};

use super::sled_keys::is_record_key;
use super::StoreError;

/// sled's default tree, which the node does not use; it is not dumped.
const DEFAULT_TREE: &[u8] = b"__sled__default";

/// Entries written at once when a dump is loaded.
const LOAD_BATCH: usize = 4_096;

/// What was dumped from one tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeDump {
    /// The tree's name.
    pub name: Vec<u8>,
    /// Its entries.
    pub entries: u64,
    /// Of those, the stored records (only in the records tree).
    pub records: u64,
}

/// The names of every tree of `db` that a dump carries.
pub fn tree_names(db: &sled::Db) -> Vec<Vec<u8>> {
    db.tree_names()
        .into_iter()
        .map(|name| name.to_vec())
        .filter(|name| name != DEFAULT_TREE)
        .collect()
}

/// Writes every entry of the tree `name` to `out`.
pub fn dump_tree(db: &sled::Db, name: &[u8], out: &mut dyn Write) -> Result<TreeDump, StoreError> {
    let tree = db.open_tree(name)?;
    let mut dump = TreeDump {
        name: name.to_vec(),
        entries: 0,
        records: 0,
    };
    for entry in tree.iter() {
        let (key, value) = entry?;
        write_chunk(out, &key)?;
        write_chunk(out, &value)?;
        dump.entries += 1;
        if is_record_key(name, &key) {
            dump.records += 1;
        }
    }
    Ok(dump)
}

/// Loads a dump of the tree `name` into `db` (which should not hold that tree yet) and
/// returns what it held. A dump cut in the middle of an entry is an error.
pub fn load_tree(db: &sled::Db, name: &[u8], input: &mut dyn Read) -> Result<TreeDump, StoreError> {
    let tree = db.open_tree(name)?;
    let mut dump = TreeDump {
        name: name.to_vec(),
        entries: 0,
        records: 0,
    };
    let mut batch = sled::Batch::default();
    let mut pending = 0;
    while let Some(key) = read_chunk(input, true)? {
        let value = read_chunk(input, false)?.ok_or_else(truncated)?;
        if is_record_key(name, &key) {
            dump.records += 1;
        }
        batch.insert(key, value);
        dump.entries += 1;
        pending += 1;
        if pending == LOAD_BATCH {
            tree.apply_batch(std::mem::take(&mut batch))?;
            pending = 0;
        }
    }
    tree.apply_batch(batch)?;
    Ok(dump)
}

/// Reads a dump of the tree `name` without writing it anywhere: what it holds.
pub fn scan_tree(name: &[u8], input: &mut dyn Read) -> Result<TreeDump, StoreError> {
    let mut dump = TreeDump {
        name: name.to_vec(),
        entries: 0,
        records: 0,
    };
    while let Some(key) = read_chunk(input, true)? {
        read_chunk(input, false)?.ok_or_else(truncated)?;
        if is_record_key(name, &key) {
            dump.records += 1;
        }
        dump.entries += 1;
    }
    Ok(dump)
}

fn truncated() -> StoreError {
    StoreError::Corrupt("a tree dump ends in the middle of an entry".into())
}

fn write_chunk(out: &mut dyn Write, bytes: &[u8]) -> Result<(), StoreError> {
    let length = u32::try_from(bytes.len())
        .map_err(|_| StoreError::Corrupt("an entry larger than 4 GiB".into()))?;
    out.write_all(&length.to_be_bytes()).map_err(io_error)?;
    out.write_all(bytes).map_err(io_error)
}

/// Reads one length-prefixed chunk; `None` at a clean end when `end_allowed`.
fn read_chunk(input: &mut dyn Read, end_allowed: bool) -> Result<Option<Vec<u8>>, StoreError> {
    let mut length = [0u8; 4];
    let mut filled = 0;
    while filled < 4 {
        let read = input.read(&mut length[filled..]).map_err(io_error)?;
        if read == 0 {
            return if filled == 0 && end_allowed {
                Ok(None)
            } else {
                Err(truncated())
            };
        }
        filled += read;
    }
    let length = u32::from_be_bytes(length) as usize;
    let mut bytes = Vec::new();
    input
        .take(length as u64)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() != length {
        return Err(truncated());
    }
    Ok(Some(bytes))
}

fn io_error(error: std::io::Error) -> StoreError {
    sled::Error::Io(error).into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::store::{SledConfig, SledStore, Store};
    use maillon_protocol::testkit;

    fn open(path: std::path::PathBuf) -> SledStore {
        SledStore::open(&SledConfig {
            path,
            cache_capacity_bytes: 1 << 20,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn every_tree_comes_back_and_records_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let source = open(dir.path().join("a"));
        let founder = testkit::key("founder");
        let signer = testkit::Signer::new(testkit::charter(&[&founder], &[&founder], 1));
        let charter = signer.charter_record(&founder);
        source.put(&charter).unwrap();
        let other = source.database().open_tree("queue").unwrap();
        other.insert(b"k1", b"v1").unwrap();
        other.insert(b"k2", &[7u8; 3000][..]).unwrap();
        let db = source.database();
        let mut dumps = Vec::new();
        for name in tree_names(&db) {
            let mut bytes = Vec::new();
            let dump = dump_tree(&db, &name, &mut bytes).unwrap();
            dumps.push((dump, bytes));
        }
        let target = open(dir.path().join("b"));
        for (dump, bytes) in &dumps {
            let loaded = load_tree(&target.database(), &dump.name, &mut &bytes[..]).unwrap();
            assert_eq!(&loaded, dump);
            assert_eq!(&scan_tree(&dump.name, &mut &bytes[..]).unwrap(), dump);
        }
        let records: u64 = dumps.iter().map(|(d, _)| d.records).sum();
        assert_eq!(records, 1);
        assert_eq!(target.get(&charter.id()).unwrap(), Some(charter.to_wire()));
        assert!(target.check_indexes().unwrap().is_consistent());
        let queue = target.database().open_tree("queue").unwrap();
        assert_eq!(queue.get(b"k2").unwrap().unwrap().len(), 3000);
        // A dump cut inside an entry is refused.
        let (dump, bytes) = &dumps[0];
        let cut = &bytes[..bytes.len() - 1];
        let fresh = open(dir.path().join("c"));
        assert!(load_tree(&fresh.database(), &dump.name, &mut &cut[..]).is_err());
    }
}
