//! Erasure on one node: the social index forgets live what a rebuild from the store no
//! longer holds, and photos still named by a held listing are kept.

use std::collections::HashSet;
use std::sync::Arc;

use maillon_protocol::ids::{BlobHash, Timestamp};
use maillon_protocol::kinds::{
    Listing, Outcome, TransactionAnswer, TransactionClose, TransactionMessage, TransactionOpen,
};
use maillon_protocol::{testkit, Body, PublicKey, Record, SecretKey};

use super::photos::named_by_live_listings;
use crate::generator::{self, GeneratedNetwork};
use crate::ingest::parking::ParkingLimits;
use crate::ingest::pipeline::{Ingest, Submitted};
use crate::ingest::state::StoreState;
use crate::store::{index::decode_stored, MemoryStore, Store};
use crate::web::social::{SocialIndex, KINDS};

struct World {
    network: GeneratedNetwork,
    store: Arc<MemoryStore>,
    ingest: Ingest<MemoryStore>,
    fed: Vec<Record>,
}

impl World {
    async fn new() -> World {
        let network = generator::generate(11, 10);
        let store = Arc::new(MemoryStore::new());
        let Some(Body::Charter(charter)) = network.records[0].body().cloned() else {
            panic!()
        };
        let state = StoreState::load(store.clone(), charter).unwrap();
        let mut world = World {
            ingest: Ingest::new(state, ParkingLimits::default()),
            network,
            store,
            fed: Vec::new(),
        };
        for record in world.network.records.clone() {
            world.submit(&record).await;
        }
        world
    }

    async fn submit(&mut self, record: &Record) -> Submitted {
        let outcome = self
            .ingest
            .submit(&record.to_wire(), self.network.now.plus_ms(testkit::DAY))
            .await
            .unwrap_or_else(|e| panic!("{:?} refused: {e}", record.header().kind));
        self.fed.push(record.clone());
        outcome
    }

    fn key(&self, i: usize) -> SecretKey {
        self.network.keys[i].1.clone()
    }

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
            panic!()
        };
        let body = Listing {
            photos: photos.to_vec(),
            ..base
        };
        self.network
            .signer
            .sign(author, body, at, Some(at.plus_ms(testkit::DAY)))
    }

    /// The social index rebuilt from what the store holds now.
    fn rebuilt(&self) -> SocialIndex {
        let mut records = Vec::new();
        for kind in KINDS {
            for id in self.store.by_kind(*kind, usize::MAX).unwrap() {
                records.push(decode_stored(&self.store.get(&id).unwrap().unwrap()).unwrap());
            }
        }
        records.sort_by_key(|r| (r.header().created, r.id()));
        let mut index = SocialIndex::new(7 * testkit::DAY);
        records.iter().for_each(|r| index.apply(r));
        index
    }
}

fn view(index: &SocialIndex, keys: &[PublicKey], now: Timestamp) -> String {
    let mut out = String::new();
    for key in keys {
        out += &format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n",
            index.profile(key),
            index.listings_by(&[*key], now),
            index.transactions_of(&[*key]),
            index.reputation(&[*key], now, |_| false)
        );
    }
    out + &index.listing_count().to_string()
}

#[tokio::test]
async fn the_social_index_forgets_erased_bodies_live_as_a_rebuild_does() {
    let mut w = World::new().await;
    let signer = w.network.signer.clone();
    let (erased, other) = (w.key(5), w.key(6));
    let t = w.network.now;
    let shared = BlobHash::of_blob(b"shared photo");
    let own = BlobHash::of_blob(b"own photo");
    let profile = signer.profile(&erased, "Jeanne", w.key(0).public_key(), t);
    let mine = w.listing(&erased, "Vaisselier", &[own, shared], t.plus_ms(1));
    let theirs = w.listing(&other, "Table", &[shared], t.plus_ms(2));
    let sign = |key: &SecretKey, body: Body, at: u64| signer.sign(key, body, t.plus_ms(at), None);
    let open_mine = sign(
        &other,
        Body::TransactionOpen(TransactionOpen {
            listing: mine.id(),
            message: "Toujours là ?".into(),
        }),
        3,
    );
    let answer = sign(
        &erased,
        Body::TransactionAnswer(TransactionAnswer {
            transaction: open_mine.id(),
            message: "Oui.".into(),
        }),
        4,
    );
    let open_theirs = sign(
        &erased,
        Body::TransactionOpen(TransactionOpen {
            listing: theirs.id(),
            message: "Je prends.".into(),
        }),
        5,
    );
    let message = sign(
        &other,
        Body::TransactionMessage(TransactionMessage {
            transaction: open_theirs.id(),
            message: "Venez samedi.".into(),
        }),
        6,
    );
    let close = sign(
        &other,
        Body::TransactionClose(TransactionClose {
            transaction: open_theirs.id(),
            outcome: Outcome::Completed,
            rating: Some(5),
            review: "Parfait.".into(),
        }),
        7,
    );
    for record in [
        &profile,
        &mine,
        &theirs,
        &open_mine,
        &answer,
        &open_theirs,
        &message,
        &close,
    ] {
        w.submit(record).await;
    }
    let now = t.plus_ms(10);
    let keys = [erased.public_key(), other.public_key()];
    let mut live = w.rebuilt();
    assert!(live.profile(&erased.public_key()).is_some());
    assert_eq!(live.transactions_of(&[other.public_key()]).len(), 2);

    let erasure = signer.erase(&erased, t.plus_ms(8));
    w.submit(&erasure).await;
    live.apply_erasure(&[erased.public_key()], erasure.header().created);
    let rebuilt = w.rebuilt();
    assert_eq!(view(&live, &keys, now), view(&rebuilt, &keys, now));
    // What the erased member wrote is gone; the other member's listing stays.
    assert!(live.profile(&erased.public_key()).is_none());
    assert!(live.listing(&mine.id()).is_none() && live.listing(&theirs.id()).is_some());
    assert!(live.transactions_of(&[erased.public_key()]).is_empty());
    assert!(live.transactions_of(&[other.public_key()]).is_empty());
    let text = view(&live, &keys, now);
    for gone in [
        "Jeanne",
        "Vaisselier",
        "Toujours là",
        "Je prends",
        "Venez samedi",
        "Parfait",
    ] {
        assert!(!text.contains(gone), "{gone} is still in the index");
    }
    // A record the member signs after the erasure counts again.
    let later = w.listing(&erased, "Chaise", &[], t.plus_ms(9));
    w.submit(&later).await;
    live.apply(&later);
    assert_eq!(live.listings_by(&[erased.public_key()], now).len(), 1);

    // Of the erased listing's photos, only the one another held listing names is kept.
    let wanted: HashSet<BlobHash> = [own, shared].into();
    let named = named_by_live_listings(w.store.as_ref(), &wanted).unwrap();
    assert_eq!(named, [shared].into());
    assert_eq!(w.ingest.take_erased_photos(&erasure.id()), {
        let mut both = vec![own, shared];
        both.sort();
        both
    });
    assert!(
        w.ingest.take_erased_photos(&erasure.id()).is_empty(),
        "taken once"
    );
    assert_eq!(w.fed.len(), w.store.len().unwrap() as usize);
}

#[tokio::test]
async fn an_erasure_naming_a_recovery_strips_the_records_of_both_keys() {
    let mut w = World::new().await;
    let signer = w.network.signer.clone();
    let old = w.key(7);
    let new = testkit::key("erasure-recovered-key");
    let (sponsors, ids): (Vec<SecretKey>, Vec<_>) = w
        .network
        .records
        .iter()
        .filter_map(|r| match r.body() {
            Some(Body::Sponsorship(s)) if s.candidate == old.public_key() => {
                let (_, key) = w
                    .network
                    .keys
                    .iter()
                    .find(|(_, k)| k.public_key() == r.header().author)?;
                Some((key.clone(), r.id()))
            }
            _ => None,
        })
        .take(3)
        .unzip();
    let t = w.network.now;
    let photo = BlobHash::of_blob(b"old key photo");
    let by_old = w.listing(&old, "Buffet ancien", &[photo], t);
    w.submit(&by_old).await;
    let refs: Vec<&SecretKey> = sponsors.iter().collect();
    let recovery = signer.recover(old.public_key(), &new, &refs, &ids, t.plus_ms(1));
    w.submit(&recovery).await;
    let by_new = w.listing(&new, "Buffet neuf", &[], t.plus_ms(2));
    w.submit(&by_new).await;
    // Without naming the recovery, an erasure covers only its own key.
    let alone = signer.erase(&new, t.plus_ms(3));
    w.submit(&alone).await;
    let held = decode_stored(&w.store.get(&by_old.id()).unwrap().unwrap()).unwrap();
    assert!(
        held.body().is_some(),
        "the old key is not linked by that erasure"
    );
    let erasure = signer.sign_linked(
        &new,
        maillon_protocol::kinds::Erasure {
            reason: String::new(),
        },
        t.plus_ms(4),
        None,
        &[recovery.id()],
    );
    w.submit(&erasure).await;
    for record in [&by_old, &by_new] {
        let held = decode_stored(&w.store.get(&record.id()).unwrap().unwrap()).unwrap();
        assert!(held.body().is_none(), "{}", record.id());
    }
    let join = w
        .network
        .records
        .iter()
        .find(|r| {
            r.header().author == old.public_key() && r.header().kind == maillon_protocol::Kind::Join
        })
        .unwrap();
    let held = decode_stored(&w.store.get(&join.id()).unwrap().unwrap()).unwrap();
    assert!(held.body().is_some(), "a join is not erasable");
    assert_eq!(w.ingest.take_erased_photos(&erasure.id()), vec![photo]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_photos_of_an_erasure_early_in_a_burst_are_deleted_though_the_broadcast_lags() {
    use crate::blobs::BlobStore;
    use crate::engine::{Engine, EngineParts, Origin};
    use crate::store::{SledConfig, SledStore};

    let network = generator::generate(13, 10);
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
        node_key: testkit::key("burst-node").public_key(),
        name: "Nœud".into(),
        parking: ParkingLimits::default(),
        joins_per_introducer_per_day: crate::engine::standing::DEFAULT_JOINS_PER_INTRODUCER_PER_DAY,
        clock: Arc::new(move || now),
    })
    .await
    .unwrap();
    let blobs = BlobStore::open(dir.path().join("blobs")).unwrap();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let wires = network.records.iter().map(Record::to_wire).collect();
    for outcome in engine.submit_many(wires, Origin::Fetched).await.unwrap() {
        outcome.unwrap();
    }
    let photo = blobs.put(b"photo of the burst".to_vec()).await.unwrap();
    let (member, other) = (&network.keys[5].1, &network.keys[6].1);
    let Some(Body::Listing(base)) = network
        .signer
        .listing(member, "Bahut", network.now)
        .body()
        .cloned()
    else {
        panic!()
    };
    let listing = network.signer.sign(
        member,
        Listing {
            photos: vec![photo],
            ..base
        },
        network.now,
        Some(network.now.plus_ms(testkit::DAY * 30)),
    );
    // The erasure first, then more records than the broadcast of stored records holds.
    let mut burst = vec![
        listing.to_wire(),
        network
            .signer
            .erase(member, network.now.plus_ms(1))
            .to_wire(),
    ];
    let overflow = crate::engine::STORED_EVENTS as u64 + 104;
    burst.extend((0..overflow).map(|i| {
        network
            .signer
            .listing(other, &format!("Annonce {i}"), network.now.plus_ms(2 + i))
            .to_wire()
    }));
    let mut probe = engine.subscribe();
    for outcome in engine.submit_many(burst, Origin::Fetched).await.unwrap() {
        outcome.unwrap();
    }
    // The answer comes before the events are sent: let the ingest task send them all.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let first = probe.recv().await;
    assert!(
        matches!(
            first,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_))
        ),
        "the burst overflows the broadcast: {:?} {}",
        first.map(|e| e.record.header().kind),
        probe.len()
    );
    // The eraser starts late, as a busy one would read late: the report waits for it.
    let task = super::photos::spawn(engine.clone(), blobs.clone(), engine.subscribe(), shutdown);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while blobs.contains(&photo) {
        assert!(
            std::time::Instant::now() < deadline,
            "the photo was not deleted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(blobs.is_erased(&photo));
    stop.send_replace(true);
    task.await.unwrap();
}
