//! The engine over either store: the same records through sled and through the memory twin
//! give the same outcomes, views and index, so the engine depends on the `Store` trait only.

use std::sync::Arc;

use maillon_protocol::{testkit, Record, Timestamp};

use super::{Engine, EngineParts, Origin};
use crate::generator;
use crate::ingest::parking::ParkingLimits;
use crate::ingest::pipeline::Submitted;
use crate::store::{MemoryStore, SledConfig, SledStore, Store};

/// The parts of an engine over `store` for a generated network, its clock stopped at the
/// network's `now` (also used by `web::feeder_tests`).
pub(crate) fn parts_for(
    store: Arc<dyn Store>,
    network: &generator::GeneratedNetwork,
) -> EngineParts {
    let now = network.now;
    EngineParts {
        store,
        charter: network.records[0].clone(),
        node_key: testkit::key("twin-node").public_key(),
        name: "Nœud jumeau".into(),
        parking: ParkingLimits::default(),
        joins_per_introducer_per_day: 1_000,
        clock: Arc::new(move || Timestamp(now.0)),
    }
}

async fn engine_over(store: Arc<dyn Store>, network: &generator::GeneratedNetwork) -> Engine {
    Engine::start(parts_for(store, network))
        .await
        .expect("the engine starts")
}

/// What a test compares between the two engines.
fn views(engine: &Engine) -> (String, [u64; super::KIND_SLOTS], usize, usize) {
    (
        super::status::state_digest(&engine.sync_set()),
        engine.kind_counts(),
        engine.index().members_in_good_standing(),
        engine.erased_set().len(),
    )
}

#[tokio::test]
async fn sled_and_memory_stores_give_the_engine_the_same_outcomes_and_views() {
    let network = generator::generate(77, 40);
    let dir = tempfile::tempdir().unwrap();
    let sled = SledStore::open(&SledConfig {
        path: dir.path().join("db"),
        cache_capacity_bytes: 8 << 20,
    })
    .unwrap();
    let on_sled = engine_over(Arc::new(sled), &network).await;
    let in_memory = engine_over(Arc::new(MemoryStore::new()), &network).await;

    // The records in reverse order: those by known authors wait in the parking lot for
    // their refs, the others are refused as by unknown authors; then in order.
    let mut wires: Vec<Vec<u8>> = network.records.iter().rev().map(Record::to_wire).collect();
    wires.extend(network.records.iter().map(Record::to_wire));
    let mut outcomes = Vec::new();
    for engine in [&on_sled, &in_memory] {
        let mut kinds = Vec::new();
        for wire in &wires {
            let outcome = engine.submit_wire(wire, Origin::Fetched).await;
            kinds.push(match outcome {
                Ok(Submitted::Stored { released, .. }) => format!("stored+{}", released.len()),
                Ok(Submitted::Duplicate(_)) => "duplicate".into(),
                Ok(Submitted::Parked { missing, .. }) => format!("parked:{}", missing.len()),
                Err(error) => format!("error:{}", error.code()),
            });
        }
        outcomes.push(kinds);
    }
    assert_eq!(
        outcomes[0], outcomes[1],
        "the same outcome for every record"
    );
    for expected in ["parked:1", "error:unknown_author", "stored+0", "duplicate"] {
        assert!(
            outcomes[0].iter().any(|o| o == expected),
            "no {expected} among {:?}",
            outcomes[0]
        );
    }

    assert_eq!(on_sled.sync_set().len(), network.records.len());
    assert_eq!(
        in_memory.store().len().unwrap(),
        network.records.len() as u64
    );
    assert_eq!(views(&on_sled), views(&in_memory));
    assert!(
        views(&in_memory).2 >= 40,
        "every generated member is in good standing"
    );

    // A duplicate, and a record with a broken signature, are answered alike.
    for engine in [&on_sled, &in_memory] {
        let again = engine.submit_wire(&wires[0], Origin::Gossip).await.unwrap();
        assert!(matches!(again, Submitted::Duplicate(_)));
        let mut broken = network.records[5].to_wire();
        let last = broken.len() - 1;
        broken[last] ^= 1;
        let refused = engine
            .submit_wire(&broken, Origin::Gossip)
            .await
            .unwrap_err();
        assert!(refused.is_senders_fault(), "{refused}");
    }
}

#[tokio::test]
async fn records_submitted_again_in_later_batches_are_duplicates_on_either_store() {
    let network = generator::generate(78, 30);
    let dir = tempfile::tempdir().unwrap();
    let sled = SledStore::open(&SledConfig {
        path: dir.path().join("db"),
        cache_capacity_bytes: 8 << 20,
    })
    .unwrap();
    let wires: Vec<Vec<u8>> = network.records.iter().map(Record::to_wire).collect();
    for store in [
        Arc::new(sled) as Arc<dyn Store>,
        Arc::new(MemoryStore::new()),
    ] {
        let engine = engine_over(store, &network).await;
        for outcome in engine
            .submit_many(wires.clone(), Origin::Fetched)
            .await
            .unwrap()
        {
            outcome.unwrap();
        }
        let before = views(&engine);
        // Every record is found held again, in batches of any size.
        for batch in wires.chunks(7) {
            for outcome in engine
                .submit_many(batch.to_vec(), Origin::Gossip)
                .await
                .unwrap()
            {
                assert!(
                    matches!(outcome, Ok(Submitted::Duplicate(_))),
                    "{outcome:?}"
                );
            }
        }
        assert_eq!(views(&engine), before);
    }
}
