//! The web's indexes filled by the engine's start-up pass hold what a load from the store
//! gives.

use std::sync::Arc;

use super::feeder::{FedIndexes, WebIndexes};
use crate::engine::twin_tests::parts_for;
use crate::engine::{Engine, Origin};
use crate::generator;
use crate::store::{MemoryStore, Store};

#[tokio::test]
async fn the_start_up_pass_fills_the_web_indexes_as_a_load_from_the_store_does() {
    let network = generator::generate(31, 60);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let first = Engine::start(parts_for(store.clone(), &network))
        .await
        .unwrap();
    let wires = network.records.iter().map(|r| r.to_wire()).collect();
    for outcome in first.submit_many(wires, Origin::Fetched).await.unwrap() {
        outcome.unwrap();
    }
    let loaded = FedIndexes::load(&first).unwrap().indexes;

    let charter = first.charter().clone();
    let filled = WebIndexes::empty(&charter);
    let second = Engine::start_reporting(
        parts_for(store, &network),
        Arc::new(crate::engine::start_progress::StartProgress::new()),
        filled.readers(),
    )
    .await
    .unwrap();
    assert_eq!(second.sync_set().len(), network.records.len());

    let (a, b) = (loaded.social.read().unwrap(), filled.social.read().unwrap());
    assert!(a.listing_count() > 0, "the network has listings");
    assert_eq!(a.listing_count(), b.listing_count());
    let mut profiles = 0;
    for (_, key) in &network.keys {
        let key = key.public_key();
        profiles += usize::from(a.profile(&key).is_some());
        assert_eq!(a.profile(&key), b.profile(&key));
        assert_eq!(
            format!("{:?}", a.sponsorships_of(&key)),
            format!("{:?}", b.sponsorships_of(&key))
        );
        assert_eq!(
            format!("{:?}", a.listings_by(&[key], network.now)),
            format!("{:?}", b.listings_by(&[key], network.now))
        );
        assert_eq!(
            format!("{:?}", a.transactions_of(&[key])),
            format!("{:?}", b.transactions_of(&[key]))
        );
    }
    assert!(profiles > 0, "the network has profiles");
    let (a, b) = (
        loaded.moderation.read().unwrap(),
        filled.moderation.read().unwrap(),
    );
    for record in &network.records {
        assert_eq!(
            a.record(&record.id()).is_some(),
            b.record(&record.id()).is_some()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feeder_that_lagged_reloads_once_records_stop_coming_and_misses_none() {
    let network = generator::generate(32, 12);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let engine = Engine::start(parts_for(store, &network)).await.unwrap();
    let wires = network.records.iter().map(|r| r.to_wire()).collect();
    for outcome in engine.submit_many(wires, Origin::Fetched).await.unwrap() {
        outcome.unwrap();
    }
    let fed = FedIndexes::load(&engine).unwrap();
    let social = Arc::clone(&fed.indexes.social);
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let feeders = fed.spawn_feeders(&shutdown);
    let before = social.read().unwrap().listing_count();
    let member = &network.keys[5].1;
    let burst: Vec<Vec<u8>> = (0..crate::engine::STORED_EVENTS as u64 + 104)
        .map(|i| {
            let at = network.now.minus_ms(1 + i);
            network
                .signer
                .listing(member, &format!("Annonce {i}"), at)
                .to_wire()
        })
        .collect();
    let count = burst.len();
    // The feeder cannot take a record while another thread holds the index: the burst
    // overflows its subscription.
    let (held, release) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
    let holder = {
        let social = Arc::clone(&social);
        std::thread::spawn(move || {
            let _guard = social.write().unwrap();
            held.0.send(()).unwrap();
            let _ = release.1.recv();
        })
    };
    held.1.recv().unwrap();
    for outcome in engine.submit_many(burst, Origin::Fetched).await.unwrap() {
        outcome.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    release.0.send(()).unwrap();
    holder.join().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let held = social.read().unwrap().listing_count();
        if held == before + count {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the social index holds {held} listings, not {}",
            before + count
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let loaded = FedIndexes::load(&engine).unwrap().indexes;
    let key = member.public_key();
    assert_eq!(
        format!(
            "{:?}",
            social.read().unwrap().listings_by(&[key], network.now)
        ),
        format!(
            "{:?}",
            loaded
                .social
                .read()
                .unwrap()
                .listings_by(&[key], network.now)
        )
    );
    stop.send_replace(true);
    for feeder in feeders {
        feeder.await.unwrap();
    }
}
