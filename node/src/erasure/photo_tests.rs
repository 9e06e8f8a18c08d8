//! The photo eraser on a running engine: a withdrawn listing's photos go unless a live
//! listing names them, and at start it deletes what a stop left behind.

use std::sync::Arc;
use std::time::{Duration, Instant};

use maillon_protocol::ids::BlobHash;
use maillon_protocol::kinds::{Listing, ListingTombstone};
use maillon_protocol::{testkit, Body, Record, SecretKey, Timestamp};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::blobs::BlobStore;
use crate::engine::{Engine, EngineParts, Origin};
use crate::generator::{self, GeneratedNetwork};
use crate::ingest::parking::ParkingLimits;
use crate::store::{SledConfig, SledStore};

struct Node {
    network: GeneratedNetwork,
    engine: Engine,
    blobs: BlobStore,
    _dir: tempfile::TempDir,
}

async fn node() -> Node {
    let network = generator::generate(17, 10);
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(&SledConfig {
        path: dir.path().join("db"),
        cache_capacity_bytes: 8 << 20,
    })
    .unwrap();
    let now = network.now.plus_ms(testkit::DAY);
    let engine = Engine::start(EngineParts {
        store: Arc::new(store),
        charter: network.records[0].clone(),
        node_key: testkit::key("photo-node").public_key(),
        name: "Nœud".into(),
        parking: ParkingLimits::default(),
        joins_per_introducer_per_day: crate::engine::standing::DEFAULT_JOINS_PER_INTRODUCER_PER_DAY,
        clock: Arc::new(move || now),
    })
    .await
    .unwrap();
    let wires = network.records.iter().map(Record::to_wire).collect();
    for outcome in engine.submit_many(wires, Origin::Fetched).await.unwrap() {
        outcome.unwrap();
    }
    let blobs = BlobStore::open(dir.path().join("blobs")).unwrap();
    Node {
        network,
        engine,
        blobs,
        _dir: dir,
    }
}

impl Node {
    fn listing(
        &self,
        author: &SecretKey,
        title: &str,
        photos: &[BlobHash],
        at: Timestamp,
    ) -> Record {
        let Some(Body::Listing(base)) = self
            .network
            .signer
            .listing(author, title, at)
            .body()
            .cloned()
        else {
            panic!("a listing")
        };
        self.network.signer.sign(
            author,
            Listing {
                photos: photos.to_vec(),
                ..base
            },
            at,
            Some(at.plus_ms(testkit::DAY * 30)),
        )
    }

    async fn submit(&self, record: &Record) {
        self.engine
            .submit_wire(&record.to_wire(), Origin::Local)
            .await
            .expect("stored");
    }

    fn eraser(&self) -> (watch::Sender<bool>, JoinHandle<()>) {
        let (stop, shutdown) = watch::channel(false);
        let task = super::photos::spawn(
            self.engine.clone(),
            self.blobs.clone(),
            self.engine.subscribe(),
            shutdown,
        );
        (stop, task)
    }
}

async fn until_gone(blobs: &BlobStore, photo: &BlobHash) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while blobs.contains(photo) {
        assert!(Instant::now() < deadline, "the photo was not deleted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_listings_photos_go_unless_a_live_listing_names_them() {
    let node = node().await;
    let (stop, task) = node.eraser();
    let (member, other) = (&node.network.keys[5].1, &node.network.keys[6].1);
    let own = node
        .blobs
        .put(b"photo of the sideboard".to_vec())
        .await
        .unwrap();
    let shared = node
        .blobs
        .put(b"photo of the street".to_vec())
        .await
        .unwrap();
    let at = node.network.now;
    let withdrawn = node.listing(member, "Buffet", &[own, shared], at);
    let live = node.listing(other, "Chaises", &[shared], at.plus_ms(1));
    node.submit(&withdrawn).await;
    node.submit(&live).await;
    let tombstone = node.network.signer.sign(
        member,
        ListingTombstone {
            series: withdrawn.id(),
            reason: String::new(),
        },
        at.plus_ms(2),
        None,
    );
    node.submit(&tombstone).await;
    until_gone(&node.blobs, &own).await;
    assert!(node.blobs.is_erased(&own), "not fetched again from a peer");
    // Give the eraser time to have wrongly deleted the other photo too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        node.blobs.contains(&shared),
        "a live listing still names it"
    );
    stop.send_replace(true);
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_start_the_eraser_deletes_photos_no_live_listing_names() {
    let node = node().await;
    let member = &node.network.keys[5].1;
    let named = node.blobs.put(b"photo of the bike".to_vec()).await.unwrap();
    // Left behind: a photo whose listing body was erased or withdrawn while the node was
    // stopped before it deleted the photo.
    let orphan = node
        .blobs
        .put(b"photo of an erased listing".to_vec())
        .await
        .unwrap();
    node.submit(&node.listing(member, "Vélo", &[named], node.network.now))
        .await;
    // Written before the start, by more than the sweep's margin.
    tokio::time::sleep(super::photos::SWEEP_MARGIN + Duration::from_millis(200)).await;
    let (stop, task) = node.eraser();
    until_gone(&node.blobs, &orphan).await;
    assert!(node.blobs.contains(&named));
    // A photo uploaded after the start (a listing being written) is not swept.
    let fresh = node
        .blobs
        .put(b"photo being published".to_vec())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(node.blobs.contains(&fresh));
    stop.send_replace(true);
    task.await.unwrap();
}
