//! The step from store format 1 (records keyed by id) to format 2 (records keyed by sync
//! order) on real sled databases: a store written as a format-1 Maillon wrote it is
//! refused at start, migrated by `maillon migrate`, and then answers every read as a store
//! given the same records directly; a step cut short before or after the old tree's drop
//! finishes when run again.

use std::collections::{BTreeMap, BTreeSet};

use maillon_protocol::{Kind, Record};

use super::format::{Allow, FormatVersion, FORMAT_VERSION, THIS_BINARY};
use super::format_2::TO_FORMAT_2;
use super::format_tests::{config, recorded, set_marker, snapshot, with_db};
use super::index::IndexEntries;
use super::sled_keys::{FORMAT_1_TREE, RECORDS_TREE};
use super::{MemoryStore, SledConfig, SledStore, Store, StoreError};
use maillon_protocol::ids::{RecordId, Timestamp};

/// The suite's records, one of them erased (held as a bare header).
fn records_with_an_erasure() -> Vec<Record> {
    let (_, mut records) = super::suite::records();
    records[3] = records[3].without_body();
    records
}

/// Writes `records` in the tree `maillon` as Maillon wrote format 1, before the format was
/// recorded: id → bytes, a sync-order space, kind, author and current-version spaces.
fn write_format_1(config: &SledConfig, records: &[Record]) {
    with_db(config, |db| {
        let tree = db.open_tree(FORMAT_1_TREE).unwrap();
        let mut current: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for record in records {
            let entries = IndexEntries::of(record);
            let id = record.id();
            tree.insert([&b"r"[..], &id.0].concat(), record.to_wire())
                .unwrap();
            for (space, rest) in [
                (b's', &entries.sync),
                (b'k', &entries.kind),
                (b'a', &entries.author),
            ] {
                tree.insert([&[space][..], rest].concat(), &[]).unwrap();
            }
            if let Some((replace, order)) = entries.replace {
                let slot = current.entry(replace.to_bytes()).or_default();
                if *slot < order {
                    *slot = order;
                }
            }
        }
        for (replace, order) in current {
            tree.insert([&b"c"[..], &replace].concat(), order).unwrap();
        }
    });
}

/// A store in format 1 holding [`records_with_an_erasure`], without a marker.
fn format_1_store(dir: &std::path::Path) -> (SledConfig, Vec<Record>) {
    let config = config(dir);
    let records = records_with_an_erasure();
    write_format_1(&config, &records);
    (config, records)
}

/// Asserts that `store` answers every read as a store given `records` directly does.
fn assert_reads_as(store: &SledStore, records: &[Record]) {
    let twin = MemoryStore::new();
    for record in records {
        twin.put(record).unwrap();
    }
    assert_eq!(store.len().unwrap(), twin.len().unwrap());
    assert!(store.check_indexes().unwrap().is_consistent());
    let start = (Timestamp(0), RecordId([0; 32]));
    assert_eq!(
        store.sync_range(start, 1_000).unwrap(),
        twin.sync_range(start, 1_000).unwrap()
    );
    assert_eq!(
        store.sync_records(start, 1_000).unwrap(),
        twin.sync_records(start, 1_000).unwrap()
    );
    let mut authors = BTreeSet::new();
    for record in records {
        let id = record.id();
        assert_eq!(store.get(&id).unwrap(), Some(record.to_wire()));
        assert!(store.contains(&id).unwrap());
        authors.insert(record.header().author);
        if let Some((replace, _)) = IndexEntries::of(record).replace {
            assert_eq!(
                store.current(&replace).unwrap(),
                twin.current(&replace).unwrap()
            );
        }
    }
    for &kind in Kind::ALL {
        assert_eq!(
            store.by_kind(kind, 100).unwrap(),
            twin.by_kind(kind, 100).unwrap()
        );
    }
    for author in &authors {
        assert_eq!(
            store.by_author(author, 100).unwrap(),
            twin.by_author(author, 100).unwrap()
        );
    }
}

fn tree_exists(config: &SledConfig, name: &str) -> bool {
    let db = super::sled_store::open_db(config).unwrap();
    let exists = db
        .tree_names()
        .iter()
        .any(|n| n.as_ref() == name.as_bytes());
    drop(db);
    exists
}

#[test]
fn a_format_1_store_is_refused_at_start_then_migrated_with_every_record_and_index() {
    assert_eq!(FORMAT_VERSION, FormatVersion(2));
    let dir = tempfile::tempdir().unwrap();
    let (config, records) = format_1_store(dir.path());
    assert_eq!(recorded(&config), Some(FormatVersion(1)));

    let before = snapshot(&config.path);
    let Err(error) = SledStore::open(&config) else {
        panic!("the step rewrites every record: a start must not run it");
    };
    assert!(matches!(error, StoreError::NeedsMigration { found, .. } if found == FormatVersion(1)));
    assert_eq!(snapshot(&config.path), before, "not one byte changed");

    let prepared = SledStore::migrate(&config).unwrap();
    assert_eq!(prepared.found, Some(FormatVersion(1)));
    assert_eq!(prepared.ran, vec![TO_FORMAT_2.name]);
    assert_eq!(recorded(&config), Some(FORMAT_VERSION));
    assert!(
        !tree_exists(&config, FORMAT_1_TREE),
        "the old tree is dropped"
    );
    let store = SledStore::open(&config).unwrap();
    assert_reads_as(&store, &records);
}

#[test]
fn a_step_cut_short_before_the_old_tree_is_dropped_starts_again_from_an_empty_new_tree() {
    let dir = tempfile::tempdir().unwrap();
    let (config, records) = format_1_store(dir.path());
    // What a cut-short step leaves: part of the new tree, and something the step would
    // not write (a record only the new tree holds must not survive the new start).
    let (signer, _) = super::suite::records();
    let stray = signer.join(&maillon_protocol::testkit::key("stray"), Timestamp(9));
    with_db(&config, |db| {
        let new = db.open_tree(RECORDS_TREE).unwrap();
        new.insert([&b"r"[..], &[0; 40]].concat(), stray.to_wire())
            .unwrap();
        new.insert([&b"i"[..], &records[1].id().0].concat(), &[0; 8])
            .unwrap();
    });
    assert_eq!(
        recorded(&config),
        Some(FormatVersion(1)),
        "the old tree decides"
    );
    SledStore::migrate(&config).unwrap();
    let store = SledStore::open(&config).unwrap();
    assert_reads_as(&store, &records);
    assert!(!store.contains(&stray.id()).unwrap());
}

#[test]
fn a_step_cut_short_after_the_old_tree_is_dropped_keeps_the_new_tree() {
    let dir = tempfile::tempdir().unwrap();
    let (config, records) = format_1_store(dir.path());
    SledStore::migrate(&config).unwrap();
    // The crash came after the drop, before the marker moved.
    set_marker(&config, FormatVersion(1));
    let (store, prepared) = SledStore::open_as(&config, &THIS_BINARY, Allow::Every).unwrap();
    assert_eq!(prepared.ran, vec![TO_FORMAT_2.name]);
    assert_reads_as(&store, &records);
}
