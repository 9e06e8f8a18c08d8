//! The sled store's index check and rebuild. Both read the records once and sort the
//! entries each index should hold in flat arrays; the check compares them with each index
//! space read in key order (two sorted streams, with no set of the stored keys), the
//! rebuild writes them.

use super::index::{decode_stored, IndexEntries};
use super::sled_keys::{key, space, split_record_key};
use super::sled_store::SledStore;
use super::{IndexCheck, StoreError};

/// The entries the id, kind and author spaces should hold, without their space byte, and
/// the current versions (replace key ‖ order), each sorted as sled sorts keys.
#[derive(Default)]
struct Wanted {
    /// id ‖ created: an id entry's key and value.
    ids: Vec<[u8; 40]>,
    /// kind ‖ created ‖ id.
    kinds: Vec<[u8; 41]>,
    /// author ‖ created ‖ id.
    authors: Vec<[u8; 72]>,
    /// The newest version of each replaceable record.
    current: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Wanted {
    fn add(&mut self, entries: IndexEntries) -> Result<(), StoreError> {
        let corrupt = || StoreError::Corrupt("an index entry of an unexpected length".into());
        let (created, id) = entries.sync.split_at(8);
        self.ids
            .push([id, created].concat().try_into().map_err(|_| corrupt())?);
        self.kinds
            .push(entries.kind.as_slice().try_into().map_err(|_| corrupt())?);
        self.authors.push(
            entries
                .author
                .as_slice()
                .try_into()
                .map_err(|_| corrupt())?,
        );
        if let Some((replace, order)) = entries.replace {
            let slot = self.current.entry(replace.to_bytes()).or_default();
            if *slot < order {
                *slot = order;
            }
        }
        Ok(())
    }

    fn sort(&mut self) {
        self.ids.sort_unstable();
        self.kinds.sort_unstable();
        self.authors.sort_unstable();
    }
}

/// Counts (missing, extra) between a sorted stream of wanted entries and a sorted stream of
/// stored ones.
fn compare<'a>(
    wanted: impl Iterator<Item = &'a [u8]>,
    stored: impl Iterator<Item = Result<Vec<u8>, StoreError>>,
) -> Result<(u64, u64), StoreError> {
    let (mut missing, mut extra) = (0, 0);
    let mut wanted = wanted.peekable();
    for have in stored {
        let have = have?;
        while wanted.next_if(|want| *want < have.as_slice()).is_some() {
            missing += 1;
        }
        if wanted.next_if(|want| *want == have.as_slice()).is_none() {
            extra += 1;
        }
    }
    missing += wanted.count() as u64;
    Ok((missing, extra))
}

impl SledStore {
    /// Every entry of a space, without its space byte, key ‖ value, in key order.
    fn stream(&self, space: u8) -> impl Iterator<Item = Result<Vec<u8>, StoreError>> + '_ {
        self.tree.scan_prefix([space]).map(|entry| {
            let (key, value) = entry?;
            Ok([&key[1..], value.as_ref()].concat())
        })
    }

    /// The entries every index should hold, from one read of the records, sorted.
    fn wanted(&self) -> Result<(Wanted, u64), StoreError> {
        let mut wanted = Wanted::default();
        let mut records = 0;
        for entry in self.tree.scan_prefix([space::RECORDS]) {
            let (key, bytes) = entry?;
            let record = decode_stored(&bytes)?;
            if split_record_key(&key)? != (record.header().created, record.id()) {
                return Err(StoreError::Corrupt(format!(
                    "record {} is stored under another record's key",
                    record.id()
                )));
            }
            wanted.add(IndexEntries::of(&record))?;
            records += 1;
        }
        wanted.sort();
        Ok((wanted, records))
    }

    /// The index check: reads the records once, then each index space once.
    pub(super) fn check_indexes_streaming(&self) -> Result<IndexCheck, StoreError> {
        let (wanted, records) = self.wanted()?;
        let current: Vec<Vec<u8>> = wanted
            .current
            .iter()
            .map(|(replace, order)| [replace.as_slice(), order].concat())
            .collect();
        let mut check = IndexCheck {
            records,
            ..IndexCheck::default()
        };
        for (missing, extra) in [
            compare(wanted.ids.iter().map(|e| &e[..]), self.stream(space::IDS))?,
            compare(
                wanted.kinds.iter().map(|e| &e[..]),
                self.stream(space::KIND),
            )?,
            compare(
                wanted.authors.iter().map(|e| &e[..]),
                self.stream(space::AUTHOR),
            )?,
            compare(
                current.iter().map(Vec::as_slice),
                self.stream(space::CURRENT),
            )?,
        ] {
            check.missing += missing;
            check.extra += extra;
        }
        Ok(check)
    }

    /// Removes every index entry and writes them again from the records, in one batch.
    pub(super) fn rebuild_all_indexes(&self) -> Result<(), StoreError> {
        let (wanted, _) = self.wanted()?;
        let mut batch = sled::Batch::default();
        for space in space::INDEXES {
            for entry in self.tree.scan_prefix([space]).keys() {
                batch.remove(entry?);
            }
        }
        for entry in &wanted.ids {
            let (id, created) = entry.split_at(32);
            batch.insert(key(space::IDS, id), created);
        }
        for entry in &wanted.kinds {
            batch.insert(key(space::KIND, entry), &[]);
        }
        for entry in &wanted.authors {
            batch.insert(key(space::AUTHOR, entry), &[]);
        }
        for (replace, order) in &wanted.current {
            batch.insert(key(space::CURRENT, replace), order.as_slice());
        }
        self.tree.apply_batch(batch)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(keys: &[&[u8]]) -> impl Iterator<Item = Result<Vec<u8>, StoreError>> {
        keys.iter()
            .map(|key| Ok(key.to_vec()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn the_comparison_counts_what_is_missing_and_what_is_extra_anywhere_in_the_streams() {
        let wanted: [&[u8]; 5] = [b"b", b"c", b"e", b"g", b"h"];
        let have: [&[u8]; 5] = [b"a", b"c", b"d", b"e", b"z"];
        // Missing: b, g, h (before, between and after the stored ones); extra: a, d, z.
        assert_eq!(
            compare(wanted.iter().copied(), stored(&have)).unwrap(),
            (3, 3)
        );
        assert_eq!(
            compare(wanted.iter().copied(), stored(&wanted)).unwrap(),
            (0, 0)
        );
        assert_eq!(compare([].into_iter(), stored(&have)).unwrap(), (0, 5));
        assert_eq!(
            compare(wanted.iter().copied(), stored(&[])).unwrap(),
            (5, 0)
        );
        let failing = [Ok(b"b".to_vec()), Err(StoreError::Corrupt("read".into()))];
        assert!(compare(wanted.iter().copied(), failing.into_iter()).is_err());
    }
}
