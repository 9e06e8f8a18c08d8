//! Expired candidacies on one node: what a pass drops, what it keeps, what comes back.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use maillon_protocol::kinds::{Complaint, ComplaintReason, ComplaintSubject};
use maillon_protocol::membership::{Status, CANDIDACY_MS};
use maillon_protocol::{testkit, Record, RecordId, Timestamp};

use super::{Engine, EngineParts, Origin};
use crate::generator::{self, GeneratedNetwork};
use crate::ingest::parking::ParkingLimits;
use crate::ingest::pipeline::{IngestError, Submitted};
use crate::store::{SledConfig, SledStore};
use maillon_protocol::state::ApplyError;
use maillon_protocol::Invalid;

struct Node {
    engine: Engine,
    network: GeneratedNetwork,
    clock: Arc<AtomicU64>,
    _dir: tempfile::TempDir,
}

impl Node {
    /// A node holding a generated network, its genesis loaded through `origin`.
    async fn start(origin: Origin) -> Node {
        let network = generator::generate(31, 12);
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(&SledConfig {
            path: dir.path().join("db"),
            cache_capacity_bytes: 8 << 20,
        })
        .unwrap();
        let clock = Arc::new(AtomicU64::new(network.now.0));
        let reading = clock.clone();
        let engine = Engine::start(EngineParts {
            store: Arc::new(store),
            charter: network.records[0].clone(),
            node_key: testkit::key("expiry-node").public_key(),
            name: "Nœud".into(),
            parking: ParkingLimits::default(),
            joins_per_introducer_per_day: 1_000,
            clock: Arc::new(move || Timestamp(reading.load(Ordering::SeqCst))),
        })
        .await
        .unwrap();
        let wires = network.records.iter().map(Record::to_wire).collect();
        for outcome in engine.submit_many(wires, origin).await.unwrap() {
            outcome.unwrap();
        }
        Node {
            engine,
            network,
            clock,
            _dir: dir,
        }
    }

    fn set_now(&self, at: Timestamp) {
        self.clock.store(at.0, Ordering::SeqCst);
    }

    async fn submit(&self, record: &Record, origin: Origin) -> Submitted {
        self.engine
            .submit_wire(&record.to_wire(), origin)
            .await
            .unwrap()
    }

    fn holds(&self, id: &RecordId) -> bool {
        self.engine.store().contains(id).unwrap()
    }
}

/// A candidate nobody sponsors, with a profile and (over sync) a listing that a member
/// complained about; and a candidate admitted within the window.
struct Cast {
    spam: Vec<Record>,
    admitted: Vec<Record>,
}

fn cast(node: &Node, at: Timestamp) -> Cast {
    let signer = &node.network.signer;
    let spam = testkit::key("expiry-spam");
    let join = signer.join(&spam, at);
    let profile = signer.profile(
        &spam,
        "Vends montres",
        node.engine.node_key(),
        at.plus_ms(1),
    );
    let listing = signer.listing(&spam, "Montres de luxe", at.plus_ms(2));
    let complaint = signer.sign(
        &node.network.keys[5].1,
        Complaint {
            subject: ComplaintSubject::Listing(listing.id()),
            reason: ComplaintReason::Scam,
            text: "Annonce d'un inconnu, sans doute une arnaque.".into(),
        },
        at.plus_ms(3),
        None,
    );
    let newcomer = testkit::key("expiry-newcomer");
    let mut admitted = vec![signer.join(&newcomer, at)];
    for (i, (_, sponsor)) in node.network.keys.iter().take(3).enumerate() {
        admitted.push(signer.sponsor(sponsor, newcomer.public_key(), at.plus_ms(10 + i as u64)));
    }
    Cast {
        spam: vec![join, profile, listing, complaint],
        admitted,
    }
}

fn ids(records: &[Record]) -> BTreeSet<RecordId> {
    records.iter().map(Record::id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_drops_an_expired_candidacy_and_what_names_it_and_keeps_the_rest() {
    let node = Node::start(Origin::Fetched).await;
    let at = node.network.now;
    let cast = cast(&node, at);
    for record in cast.spam.iter().chain(&cast.admitted) {
        // The candidate's listing comes over sync: the edges refuse a candidate's listing.
        let origin = if record.header().kind == maillon_protocol::Kind::Listing {
            Origin::Fetched
        } else {
            Origin::Local
        };
        let outcome = node.submit(record, origin).await;
        assert!(matches!(outcome, Submitted::Stored { .. }), "{outcome:?}");
    }
    let records_before = node.engine.store().len().unwrap();
    let spam_key = cast.spam[0].header().author;
    // One ms before the end of the window none of them goes (the generated network's own
    // candidates, who joined earlier, may).
    node.set_now(at.plus_ms(CANDIDACY_MS - 1));
    let early = node.engine.drop_expired_candidacies().await.unwrap();
    assert!(ids(&cast.spam).is_disjoint(&early.ids.iter().copied().collect()));
    let records_before = records_before - early.ids.len() as u64;
    assert!(matches!(
        node.engine.index().table().status(&spam_key),
        Status::Candidate { .. }
    ));
    // At the end of the window the unsponsored candidacy and the complaint naming its
    // listing go; the admitted newcomer and everything else stay.
    node.set_now(at.plus_ms(CANDIDACY_MS));
    let dropped = node.engine.drop_expired_candidacies().await.unwrap();
    let gone: BTreeSet<RecordId> = dropped.ids.iter().copied().collect();
    assert!(ids(&cast.spam).is_subset(&gone), "{gone:?}");
    assert!(ids(&cast.admitted).is_disjoint(&gone));
    assert!(cast.spam.iter().all(|r| !node.holds(&r.id())));
    assert!(cast.admitted.iter().all(|r| node.holds(&r.id())));
    assert_eq!(
        node.engine.store().len().unwrap(),
        records_before - gone.len() as u64
    );
    let synced = node.engine.sync_set().len() as u64;
    assert_eq!(synced, records_before - gone.len() as u64);
    assert!(node.engine.store().check_indexes().unwrap().is_consistent());
    assert_eq!(
        node.engine
            .index()
            .table()
            .status(&cast.admitted[0].header().author),
        Status::Member
    );
    assert_eq!(
        node.engine.index().table().status(&spam_key),
        Status::Unknown
    );
    // The key is no longer a known author: its profile offered again waits.
    let again = node
        .engine
        .submit_wire(&cast.spam[1].to_wire(), Origin::Local)
        .await;
    assert!(
        matches!(
            again,
            Err(IngestError::Refused(ApplyError::Invalid(
                Invalid::UnknownAuthor
            )))
        ),
        "{again:?}"
    );
    // A late peer offers the join again: stored (sync is exempt), then dropped again.
    let again = node.submit(&cast.spam[0], Origin::Fetched).await;
    assert!(matches!(again, Submitted::Stored { .. }), "{again:?}");
    let dropped = node.engine.drop_expired_candidacies().await.unwrap();
    assert!(dropped.ids.contains(&cast.spam[0].id()));
    assert!(!node.holds(&cast.spam[0].id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_drops_expired_candidacies_by_itself_once_caught_up() {
    let node = Node::start(Origin::Local).await;
    let at = node.network.now;
    let cast = cast(&node, at);
    let join = &cast.spam[0];
    assert!(matches!(
        node.submit(join, Origin::Local).await,
        Submitted::Stored { .. }
    ));
    let mut dropped = node.engine.watch_dropped();
    node.set_now(at.plus_ms(CANDIDACY_MS + 1));
    tokio::time::timeout(Duration::from_secs(10), dropped.changed())
        .await
        .expect("a pass within 10 s")
        .unwrap();
    assert!(dropped.borrow().ids.contains(&join.id()));
    assert!(!node.holds(&join.id()));
}
