//! The writer's flushes: a batch is answered, and offered to peers, only once its own flush
//! is done, and the next batch is staged and written while that flush runs; a failed write
//! fails only the submissions it carried.

use std::sync::Arc;
use std::time::Duration;

use maillon_protocol::sync::SyncItem;
use maillon_protocol::{Record, Timestamp};

use super::twin_tests::parts_for;
use super::{Engine, Origin};
use crate::generator;
use crate::ingest::pipeline::Submitted;
use crate::store::{MemoryStore, Store};

/// Long enough for the writer to take a submission in, when it is not held.
const SETTLE: Duration = Duration::from_millis(200);

fn held(engine: &Engine, record: &Record) -> bool {
    engine.sync_set().contains(&SyncItem {
        created: record.header().created,
        id: record.id(),
    })
}

/// An engine over a memory store holding a generated network of 20 members.
async fn engine_holding(seed: u64) -> (generator::GeneratedNetwork, Arc<MemoryStore>, Engine) {
    let network = generator::generate(seed, 20);
    let store = Arc::new(MemoryStore::new());
    let engine = Engine::start(parts_for(store.clone(), &network))
        .await
        .expect("the engine starts");
    let wires: Vec<Vec<u8>> = network.records.iter().map(Record::to_wire).collect();
    for outcome in engine.submit_many(wires, Origin::Fetched).await.unwrap() {
        assert!(outcome.is_ok(), "{outcome:?}");
    }
    (network, store, engine)
}

type Answer = tokio::task::JoinHandle<Result<Submitted, crate::ingest::pipeline::IngestError>>;

/// Waits for a submission's answer: `Stored`.
async fn assert_stored(answer: Answer) {
    let outcome = tokio::time::timeout(Duration::from_secs(10), answer)
        .await
        .expect("answered once flushed")
        .unwrap();
    assert!(
        matches!(outcome, Ok(Submitted::Stored { .. })),
        "{outcome:?}"
    );
}

fn submit(engine: &Engine, record: &Record) -> Answer {
    let (engine, wire) = (engine.clone(), record.to_wire());
    tokio::spawn(async move { engine.submit_wire(&wire, Origin::Local).await })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_answered_after_its_own_flush_while_the_next_is_written() {
    let (network, store, engine) = engine_holding(31).await;
    let at = Timestamp(network.now.0 - 1_000);
    let first = network
        .signer
        .listing(&network.keys[4].1, "Vélo de ville", at);
    let second = network
        .signer
        .listing(&network.keys[5].1, "Cours de piano", at);

    let gate = store.hold_flushes();
    let first_answer = submit(&engine, &first);
    tokio::time::sleep(SETTLE).await;
    assert!(store.get(&first.id()).unwrap().is_some(), "written");
    assert!(!first_answer.is_finished(), "not answered before its flush");
    assert!(
        !held(&engine, &first),
        "not offered to peers before its flush"
    );

    let second_answer = submit(&engine, &second);
    tokio::time::sleep(SETTLE).await;
    assert!(
        store.get(&second.id()).unwrap().is_some(),
        "the next batch is staged and written while the first one's flush runs"
    );
    assert!(!second_answer.is_finished());
    assert!(!first_answer.is_finished());

    gate.add_permits(1);
    assert_stored(first_answer).await;
    assert!(held(&engine, &first));
    tokio::time::sleep(SETTLE).await;
    assert!(!second_answer.is_finished(), "its own flush is still held");
    assert!(!held(&engine, &second));

    gate.add_permits(1);
    assert_stored(second_answer).await;
    assert!(held(&engine, &second));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_fails_only_what_it_carried_and_keeps_what_was_written() {
    let (network, store, engine) = engine_holding(32).await;
    let at = Timestamp(network.now.0 - 1_000);
    let [flushing, written, failed] = ["Bibliothèque", "Poussette", "Tondeuse"]
        .map(|title| network.signer.listing(&network.keys[4].1, title, at));

    // While the first batch's flush is held, the next batch takes two submissions: the
    // first is written, the second's write fails.
    let gate = store.hold_flushes();
    let flushing_answer = submit(&engine, &flushing);
    tokio::time::sleep(SETTLE).await;
    let written_answer = submit(&engine, &written);
    tokio::time::sleep(SETTLE).await;
    assert!(store.get(&written.id()).unwrap().is_some());
    store.fail_writes(true);
    let failed_answer = submit(&engine, &failed);
    tokio::time::sleep(SETTLE).await;
    store.fail_writes(false);
    gate.add_permits(2);

    for (answer, record) in [(flushing_answer, &flushing), (written_answer, &written)] {
        assert_stored(answer).await;
        assert!(held(&engine, record));
    }
    let outcome = tokio::time::timeout(Duration::from_secs(10), failed_answer)
        .await
        .expect("answered")
        .unwrap();
    assert!(outcome.is_err(), "{outcome:?}");
    assert!(!held(&engine, &failed), "not offered to peers");
    assert!(
        store.get(&failed.id()).unwrap().is_none(),
        "nothing written"
    );

    // Sent again once the disk is mended, it is stored.
    let again = submit(&engine, &failed);
    gate.add_permits(1);
    assert_stored(again).await;
    assert!(held(&engine, &failed));
}
