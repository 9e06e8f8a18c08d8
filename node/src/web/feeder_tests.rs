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
