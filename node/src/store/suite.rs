//! One test suite that both stores must pass.

use maillon_protocol::ids::{RecordId, Timestamp};
use maillon_protocol::kinds::{Body, Listing};
use maillon_protocol::testkit::{self, Signer, DAY, T0};
use maillon_protocol::{Kind, Record};

use super::{MemoryStore, PutOutcome, ReplaceKey, SledConfig, SledStore, Store};

pub(super) fn records() -> (Signer, Vec<Record>) {
    let founder = testkit::key("founder");
    let signer = Signer::new(testkit::charter(&[&founder], &[&founder], 1));
    let anne = testkit::key("anne");
    let mut out = vec![
        signer.charter_record(&founder),
        signer.join(&anne, T0.plus_ms(1)),
    ];
    out.push(signer.sponsor(&founder, anne.public_key(), T0.plus_ms(2)));
    out.push(signer.profile(&anne, "Anne", founder.public_key(), T0.plus_ms(3)));
    out.push(signer.profile(&anne, "Anne M.", founder.public_key(), T0.plus_ms(4)));
    let first = signer.listing(&anne, "Armoire", T0.plus_ms(5));
    let Some(Body::Listing(body)) = first.body().cloned() else {
        unreachable!()
    };
    let second = Listing {
        series: Some(first.id()),
        price_cents: Some(1),
        ..body
    };
    out.push(first);
    out.push(signer.sign(&anne, second, T0.plus_ms(6), Some(T0.plus_ms(DAY))));
    (signer, out)
}

async fn suite(store: &impl Store) {
    let (signer, records) = records();
    assert!(store.is_empty().unwrap());
    for record in &records {
        assert_eq!(store.put(record).unwrap(), PutOutcome::Inserted);
    }
    assert_eq!(store.put(&records[1]).unwrap(), PutOutcome::Duplicate);
    store.flush().await.unwrap();
    assert_eq!(store.len().unwrap(), records.len() as u64);
    for record in &records {
        assert_eq!(store.get(&record.id()).unwrap(), Some(record.to_wire()));
        assert!(store.contains(&record.id()).unwrap());
    }
    assert_eq!(store.get(&RecordId([9; 32])).unwrap(), None);

    // Sync order is (created, id), and resumes from any point.
    let all = store
        .sync_range((Timestamp(0), RecordId([0; 32])), 100)
        .unwrap();
    let created: Vec<u64> = all.iter().map(|(t, _)| t.0).collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(all.len(), records.len());
    let tail = store.sync_range(all[3], 2).unwrap();
    assert_eq!(tail, all[3..5].to_vec());

    // By kind and by author, newest first.
    let profiles = store.by_kind(Kind::Profile, 10).unwrap();
    assert_eq!(profiles, vec![records[4].id(), records[3].id()]);
    let anne = records[1].header().author;
    assert_eq!(
        store.by_author(&anne, 2).unwrap(),
        vec![records[6].id(), records[5].id()]
    );

    // The newest version of a replaceable record is current.
    assert_eq!(
        store.current(&ReplaceKey::Profile(anne)).unwrap(),
        Some(records[4].id())
    );
    assert_eq!(
        store
            .current(&ReplaceKey::Listing(records[5].id()))
            .unwrap(),
        Some(records[6].id())
    );

    // Erasing keeps the header, drops the body, and the previous version becomes current.
    store.replace_with_bare_header(&records[4].id()).unwrap();
    let bare = super::index::decode_stored(&store.get(&records[4].id()).unwrap().unwrap()).unwrap();
    assert!(bare.body().is_none());
    assert_eq!(bare.id(), records[4].id());
    assert_eq!(
        store.current(&ReplaceKey::Profile(anne)).unwrap(),
        Some(records[3].id())
    );
    assert!(store.check_indexes().unwrap().is_consistent());

    // Restoring the body puts the record and its current version back.
    store.restore_body(&records[4]).unwrap();
    assert_eq!(
        store.get(&records[4].id()).unwrap(),
        Some(records[4].to_wire())
    );
    assert_eq!(
        store.current(&ReplaceKey::Profile(anne)).unwrap(),
        Some(records[4].id())
    );
    assert!(store.check_indexes().unwrap().is_consistent());
    let stranger = signer.erase(&testkit::key("suite-stranger"), T0);
    assert!(matches!(
        store.restore_body(&stranger),
        Err(super::StoreError::NotFound(_))
    ));

    // Removing deletes the record from every index; the older version is current again.
    store.remove(&[records[4].id()]).unwrap();
    store.remove(&[records[4].id(), RecordId([9; 32])]).unwrap();
    store.flush().await.unwrap();
    assert_eq!(store.get(&records[4].id()).unwrap(), None);
    assert!(!store.contains(&records[4].id()).unwrap());
    assert_eq!(store.len().unwrap(), records.len() as u64 - 1);
    assert_eq!(
        store.current(&ReplaceKey::Profile(anne)).unwrap(),
        Some(records[3].id())
    );
    assert_eq!(
        store.by_kind(Kind::Profile, 10).unwrap(),
        vec![records[3].id()]
    );
    assert_eq!(
        store.by_author(&anne, 10).unwrap().len(),
        records.iter().filter(|r| r.header().author == anne).count() - 1
    );
    let synced = store
        .sync_range((Timestamp(0), RecordId([0; 32])), 100)
        .unwrap();
    assert!(synced.iter().all(|(_, id)| *id != records[4].id()));
    assert!(store.check_indexes().unwrap().is_consistent());
}

/// `put_many` stores what `put` one by one would, duplicates within the call included.
async fn put_many_suite(store: &impl Store, one_by_one: &impl Store) {
    let (_, records) = records();
    // The second profile version first, then the first: the newest is current all the same.
    let mut shuffled = records.clone();
    shuffled.swap(3, 4);
    shuffled.push(records[2].clone());
    let outcomes = store.put_many(&shuffled[..4]).unwrap();
    assert_eq!(outcomes, vec![PutOutcome::Inserted; 4]);
    let outcomes = store.put_many(&shuffled[2..]).unwrap();
    let mut expected = vec![PutOutcome::Duplicate, PutOutcome::Duplicate];
    expected.extend([PutOutcome::Inserted; 3]);
    expected.push(PutOutcome::Duplicate);
    assert_eq!(outcomes, expected);
    store.flush().await.unwrap();
    for record in &records {
        one_by_one.put(record).unwrap();
    }
    assert_eq!(store.len().unwrap(), records.len() as u64);
    let anne = records[1].header().author;
    for key in [
        ReplaceKey::Profile(anne),
        ReplaceKey::Listing(records[5].id()),
    ] {
        assert_eq!(
            store.current(&key).unwrap(),
            one_by_one.current(&key).unwrap()
        );
    }
    assert_eq!(
        store.current(&ReplaceKey::Profile(anne)).unwrap(),
        Some(records[4].id())
    );
    let everything = (Timestamp(0), RecordId([0; 32]));
    assert_eq!(
        store.sync_range(everything, 100).unwrap(),
        one_by_one.sync_range(everything, 100).unwrap()
    );
    assert!(store.check_indexes().unwrap().is_consistent());
}

/// A small sled store's configuration in `dir`.
fn sled_config(dir: &tempfile::TempDir) -> SledConfig {
    SledConfig {
        path: dir.path().join("db"),
        cache_capacity_bytes: 8 << 20,
    }
}

#[tokio::test]
async fn put_many_matches_put_in_both_stores() {
    put_many_suite(&MemoryStore::new(), &MemoryStore::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let sled = SledStore::open(&sled_config(&dir)).unwrap();
    put_many_suite(&sled, &MemoryStore::new()).await;
}

#[tokio::test]
async fn the_memory_store_passes_the_suite() {
    suite(&MemoryStore::new()).await;
}

#[tokio::test]
async fn the_sled_store_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(&sled_config(&dir)).unwrap();
    suite(&store).await;
}

#[test]
fn damaged_indexes_are_found_and_rebuilt_in_both_stores() {
    let (_, records) = records();
    let memory = MemoryStore::new();
    for r in &records {
        memory.put(r).unwrap();
    }
    memory.corrupt_indexes_for_test();
    let check = memory.check_indexes().unwrap();
    assert_eq!((check.missing, check.extra), (1, 1));
    memory.rebuild_indexes().unwrap();
    assert!(memory.check_indexes().unwrap().is_consistent());

    let dir = tempfile::tempdir().unwrap();
    let config = sled_config(&dir);
    {
        let store = SledStore::open(&config).unwrap();
        for r in &records {
            store.put(r).unwrap();
        }
        store.corrupt_indexes_for_test().unwrap();
        store.db.flush().unwrap();
    }
    let (store, check) = SledStore::open_checked(&config).unwrap();
    let check = check.expect("no clean stop was recorded: the indexes are checked");
    assert_eq!(
        (check.missing, check.extra),
        (1, 1),
        "the start-up check sees the damage"
    );
    assert!(
        store.check_indexes().unwrap().is_consistent(),
        "and rebuilds the indexes"
    );
    assert_eq!(store.len().unwrap(), records.len() as u64);
}

#[tokio::test]
async fn flushed_records_survive_reopening() {
    let (_, records) = records();
    let dir = tempfile::tempdir().unwrap();
    let config = sled_config(&dir);
    {
        let store = SledStore::open(&config).unwrap();
        for r in &records {
            store.put(r).unwrap();
        }
        store.flush().await.unwrap();
    }
    let (store, check) = SledStore::open_checked(&config).unwrap();
    assert!(check
        .expect("checked after a stop not marked clean")
        .is_consistent());
    for r in &records {
        assert_eq!(store.get(&r.id()).unwrap(), Some(r.to_wire()));
    }
}

#[tokio::test]
async fn a_clean_stop_skips_the_start_up_check_once_and_a_crash_does_not() {
    let (_, records) = records();
    let dir = tempfile::tempdir().unwrap();
    let config = sled_config(&dir);
    {
        let store = SledStore::open(&config).unwrap();
        store.put_many(&records).unwrap();
        store.flush().await.unwrap();
        store.mark_closed_cleanly().unwrap();
    }
    let (store, check) = SledStore::open_checked(&config).unwrap();
    assert_eq!(check, None, "a clean stop skips the check");
    assert_eq!(store.len().unwrap(), records.len() as u64);
    // This run ends without the mark, as a crash would: the next start checks again.
    store.corrupt_indexes_for_test().unwrap();
    store.flush().await.unwrap();
    drop(store);
    let (store, check) = SledStore::open_checked(&config).unwrap();
    let check = check.expect("no clean stop: checked");
    assert!(!check.is_consistent(), "the damage is seen");
    assert_eq!(check.records, records.len() as u64);
    assert_eq!(
        store.len().unwrap(),
        records.len() as u64,
        "counted by the check"
    );
    assert!(
        store.check_indexes().unwrap().is_consistent(),
        "and repaired"
    );
}
