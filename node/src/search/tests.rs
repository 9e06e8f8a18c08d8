//! Tests of the search index: French analysis, filters, distance, orders, pages, expiry,
//! the author filter; the feed over a memory store (versions, tombstones, bumps, erasure,
//! the start-up marker); the index on disk; and the feeder task over a real engine.

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use maillon_protocol::ids::{PublicKey, RecordId, Timestamp};
use maillon_protocol::kinds::{Bump, Category, Intent, Listing, ListingTombstone, Position};
use maillon_protocol::testkit::{self, Signer, DAY, T0};
use maillon_protocol::{Record, SecretKey};

use super::feed::{Feed, Started};
use super::*;
use crate::store::{MemoryStore, Store};
use maillon_web_ui::backend::{SearchQuery, SortOrder};

const NANTES: Position = Position {
    lat_microdeg: 47_218_371,
    lon_microdeg: -1_553_621,
};
const REZE: Position = Position {
    lat_microdeg: 47_183_330,
    lon_microdeg: -1_550_000,
};
const LYON: Position = Position {
    lat_microdeg: 45_764_043,
    lon_microdeg: 4_835_659,
};

fn now() -> Timestamp {
    T0.plus_ms(DAY)
}

/// A listing document `n` (series = version = [n; 32]), created `n` seconds after T0.
fn doc(n: u8, title: &str) -> ListingDoc {
    ListingDoc {
        series: RecordId([n; 32]),
        version: RecordId([n; 32]),
        author: PublicKey([n; 32]),
        intent: Intent::Offer,
        category: Category::SecondHand,
        title: title.into(),
        description: String::new(),
        town: "Nantes".into(),
        price_cents: Some(1_000),
        position: NANTES,
        created: T0.plus_ms(u64::from(n) * 1_000),
        expires: Some(T0.plus_ms(60 * DAY)),
        bump: None,
    }
}

fn index_of(docs: &[ListingDoc]) -> SearchIndex {
    let index = SearchIndex::in_memory().expect("index");
    let mut writer = index.writer().expect("writer");
    for d in docs {
        writer.upsert(d).expect("upsert");
    }
    writer.commit(None).expect("commit");
    index
}

fn authors<const N: usize>(keys: [PublicKey; N]) -> Option<Arc<HashSet<PublicKey>>> {
    Some(Arc::new(keys.into_iter().collect()))
}

fn query(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.into(),
        per_page: 100,
        ..SearchQuery::default()
    }
}

/// The `n` of each hit, in order.
fn found(index: &SearchIndex, q: &SearchQuery) -> Vec<u8> {
    let page = index.search(q, now()).expect("search");
    page.hits.iter().map(|h| h.series.0[0]).collect()
}

fn sorted(mut v: Vec<u8>) -> Vec<u8> {
    v.sort();
    v
}

#[test]
fn french_words_match_across_plurals_case_and_accents() {
    let index = index_of(&[
        doc(1, "Vélo de ville"),
        doc(2, "Deux VÉLOS d'enfant"),
        doc(3, "velos de course"),
        doc(4, "Armoires normandes"),
        doc(5, "Cafetière italienne"),
        doc(6, "cafetiere électrique"),
        doc(7, "Table basse"),
    ]);
    for text in ["vélo", "velos", "Vélos", "VELO"] {
        assert_eq!(sorted(found(&index, &query(text))), vec![1, 2, 3], "{text}");
    }
    assert_eq!(found(&index, &query("armoire")), vec![4]);
    assert_eq!(sorted(found(&index, &query("cafetière"))), vec![5, 6]);
    assert_eq!(sorted(found(&index, &query("cafetiere"))), vec![5, 6]);
    // Every word must match, in any field; punctuation is no syntax.
    assert_eq!(found(&index, &query("vélo enfant")), vec![2]);
    assert_eq!(found(&index, &query("table -basse: \"(")), vec![7]);
    assert_eq!(index.search(&query(""), now()).expect("search").total, 7);
    assert_eq!(sorted(found(&index, &query("nantes table"))), vec![7]);
}

#[test]
fn category_intent_and_price_filters() {
    let mut sofa = doc(1, "Canapé");
    sofa.category = Category::Furniture;
    sofa.price_cents = Some(20_000);
    let mut wanted = doc(2, "Cherche canapé");
    wanted.category = Category::Furniture;
    wanted.intent = Intent::Request;
    wanted.price_cents = None;
    let mut cheap = doc(3, "Petit canapé");
    cheap.category = Category::Furniture;
    cheap.price_cents = Some(3_000);
    let coat = doc(4, "Manteau canapé");
    let index = index_of(&[sofa, wanted, cheap, coat]);
    let mut q = query("canapé");
    q.category = Some(Category::Furniture);
    assert_eq!(sorted(found(&index, &q)), vec![1, 2, 3]);
    q.intent = Some(Intent::Offer);
    assert_eq!(sorted(found(&index, &q)), vec![1, 3]);
    q.intent = Some(Intent::Request);
    assert_eq!(found(&index, &q), vec![2]);
    let mut q = query("");
    q.price_max_cents = Some(5_000);
    assert_eq!(sorted(found(&index, &q)), vec![3, 4], "no price: left out");
    q.price_min_cents = Some(2_000);
    assert_eq!(found(&index, &q), vec![3]);
    q.price_max_cents = None;
    assert_eq!(sorted(found(&index, &q)), vec![1, 3]);
}

#[test]
fn the_radius_is_a_great_circle_distance() {
    let mut reze = doc(2, "Vélo à Rezé");
    reze.position = REZE;
    let mut lyon = doc(3, "Vélo à Lyon");
    lyon.position = LYON;
    let index = index_of(&[doc(1, "Vélo à Nantes"), reze, lyon]);
    let mut q = query("vélo");
    q.origin = Some(NANTES);
    q.radius_km = Some(50.0);
    q.sort = SortOrder::Nearest;
    let page = index.search(&q, now()).expect("search");
    let ids: Vec<u8> = page.hits.iter().map(|h| h.series.0[0]).collect();
    assert_eq!(ids, vec![1, 2], "Lyon is about 520 km away");
    let reze_km = page.hits[1].distance_km.expect("distance");
    assert!((3.0..5.0).contains(&reze_km), "{reze_km}");
    assert!(geo::haversine_km(NANTES, LYON) > 500.0);
    q.origin = Some(NANTES);
    q.radius_km = Some(3.0);
    assert_eq!(found(&index, &q), vec![1]);
    q.origin = Some(LYON);
    q.radius_km = Some(1_000.0);
    assert_eq!(found(&index, &q), vec![3, 2, 1]);
    // Without text or category the box also goes to tantivy as range queries.
    let mut q = query("");
    q.origin = Some(NANTES);
    q.radius_km = Some(50.0);
    assert_eq!(sorted(found(&index, &q)), vec![1, 2]);
    q.category = Some(Category::SecondHand);
    assert_eq!(sorted(found(&index, &q)), vec![1, 2]);
    let mut q = query("");
    q.origin = Some(REZE);
    q.sort = SortOrder::Nearest;
    assert_eq!(found(&index, &q), vec![2, 1, 3]);
}

#[test]
fn sort_orders() {
    let mut bumped = doc(1, "Lampe de chevet");
    bumped.bump = Some(BumpMark {
        at: T0.plus_ms(50_000),
        expires: now().plus_ms(DAY),
    });
    let mut stale = doc(2, "Lampe ancienne");
    stale.bump = Some(BumpMark {
        at: T0.plus_ms(60_000),
        expires: now(),
    });
    let mut described = doc(4, "Objet");
    described.description = "Une lampe.".into();
    let index = index_of(&[bumped, stale, doc(3, "Lampe"), described.clone()]);
    let mut q = query("lampe");
    q.sort = SortOrder::Newest;
    assert_eq!(found(&index, &q), vec![4, 3, 2, 1]);
    q.sort = SortOrder::BumpedFirst;
    assert_eq!(
        found(&index, &q),
        vec![1, 4, 3, 2],
        "an expired bump counts for nothing"
    );
    // Relevance: with the same rarity in both fields, a title word beats a description word.
    let index = index_of(&[described, doc(5, "Lampe")]);
    q.sort = SortOrder::Relevance;
    let page = index.search(&q, now()).expect("search");
    assert_eq!(found(&index, &q), vec![5, 4]);
    assert!(page.hits[0].score > page.hits[1].score);
}

#[test]
fn pages_split_the_results_without_overlap() {
    let docs: Vec<ListingDoc> = (1..=25).map(|n| doc(n, "Livre de poche")).collect();
    let index = index_of(&docs);
    let mut q = query("livres");
    q.sort = SortOrder::Newest;
    q.per_page = 10;
    let mut all = Vec::new();
    for page in 0..3 {
        q.page = page;
        let answer = index.search(&q, now()).expect("search");
        assert_eq!(answer.total, 25);
        assert_eq!(answer.hits.len(), [10, 10, 5][page]);
        all.extend(answer.hits.iter().map(|h| h.series.0[0]));
    }
    assert_eq!(all, (1..=25).rev().collect::<Vec<u8>>());
    q.page = 3;
    assert!(index.search(&q, now()).expect("search").hits.is_empty());
    q.page = 0;
    q.per_page = 1_000;
    assert_eq!(
        index.search(&q, now()).expect("search").per_page,
        query::MAX_PER_PAGE
    );
    q.page = usize::MAX;
    assert!(index.search(&q, now()).expect("search").hits.is_empty());
}

#[test]
fn an_upsert_deletes_only_a_series_the_index_may_hold_and_still_replaces_it() {
    let index = SearchIndex::in_memory().expect("index");
    let mut writer = index.writer().expect("writer");
    let chaise = |title: &str| ListingDoc {
        title: title.into(),
        ..doc(1, "")
    };
    // A series never indexed: no delete to keep until commit.
    writer.upsert(&chaise("Chaise paillée")).expect("upsert");
    writer.upsert(&doc(2, "Table basse")).expect("upsert");
    assert_eq!(writer.deletes_issued(), 0);
    // A new version in the same turn replaces the uncommitted one.
    writer.upsert(&chaise("Chaise cannée")).expect("upsert");
    assert_eq!(writer.deletes_issued(), 1);
    writer.commit(None).expect("commit");
    assert_eq!(found(&index, &query("chaise")), vec![1]);
    assert_eq!(found(&index, &query("paillée")), Vec::<u8>::new());
    // After the commit, the committed document is replaced, and removed.
    writer.upsert(&chaise("Chaise en bois")).expect("upsert");
    writer
        .remove(&RecordId([3; 32]))
        .expect("remove a series never indexed");
    assert_eq!(writer.deletes_issued(), 2);
    writer.commit(None).expect("commit");
    assert_eq!(found(&index, &query("chaise")), vec![1]);
    assert_eq!(found(&index, &query("bois")), vec![1]);
    assert_eq!(index.num_docs(), 2);
    writer.remove(&RecordId([1; 32])).expect("remove");
    writer.commit(None).expect("commit");
    assert_eq!(found(&index, &query("chaise")), Vec::<u8>::new());
    assert_eq!(index.num_docs(), 1);
}

#[test]
fn expired_listings_and_other_authors_are_left_out() {
    let mut expired = doc(2, "Chaise");
    expired.expires = Some(now());
    let index = index_of(&[doc(1, "Chaise"), expired, doc(3, "Chaise")]);
    assert_eq!(sorted(found(&index, &query("chaise"))), vec![1, 3]);
    let mut q = query("chaise");
    q.authors = authors([PublicKey([3; 32]), PublicKey([9; 32])]);
    assert_eq!(found(&index, &q), vec![3]);
    // Same first 8 bytes, another key: the whole key is confirmed.
    let mut twin = [3u8; 32];
    twin[31] = 0;
    q.authors = authors([PublicKey(twin)]);
    assert_eq!(found(&index, &q), Vec::<u8>::new());
    q.authors = authors([]);
    assert_eq!(index.search(&q, now()).expect("search").total, 0);
}

/// Signed records in one network, stored without validation.
struct World {
    signer: Signer,
    store: MemoryStore,
    author: SecretKey,
}

impl World {
    fn new() -> World {
        let founder = testkit::key("search-founder");
        World {
            signer: Signer::new(testkit::charter(&[&founder], &[], 0)),
            store: MemoryStore::new(),
            author: testkit::key("search-author"),
        }
    }

    fn listing(&self, series: Option<RecordId>, title: &str, at: Timestamp) -> Record {
        let body = Listing {
            series,
            intent: Intent::Offer,
            category: Category::Furniture,
            title: title.into(),
            description: "À venir chercher.".into(),
            price_cents: Some(8_000),
            town: "Rezé".into(),
            postcode: "44400".into(),
            position: REZE,
            photos: vec![],
        };
        self.signer
            .sign(&self.author, body, at, Some(at.plus_ms(30 * DAY)))
    }

    fn store(&self, record: &Record) {
        self.store.put(record).expect("put");
    }

    fn feed(&self, index: &SearchIndex) -> Feed {
        Feed::new(
            index.writer().expect("writer"),
            self.signer.network,
            self.signer.charter.bumps_per_node_per_day,
        )
    }
}

fn any_node(_: &PublicKey) -> bool {
    true
}

#[test]
fn the_feed_keeps_the_current_version_and_honours_tombstones() {
    let world = World::new();
    let index = SearchIndex::in_memory().expect("index");
    let mut feed = world.feed(&index);
    let first = world.listing(None, "Buffet en merisier", T0);
    let series = first.id();
    let third = world.listing(
        Some(series),
        "Buffet vendu avec vaisselier",
        T0.plus_ms(2_000),
    );
    let second = world.listing(Some(series), "Buffet et chaises", T0.plus_ms(1_000));
    for record in [&first, &third, &second] {
        world.store(record);
        feed.apply(&world.store, record, now(), &any_node)
            .expect("apply");
    }
    feed.commit().expect("commit");
    let hits = index.search(&query("buffet"), now()).expect("search").hits;
    assert_eq!(hits.len(), 1);
    assert_eq!(
        hits[0].version,
        third.id(),
        "the late second version does not win"
    );
    assert_eq!(
        index
            .search(&query("merisier"), now())
            .expect("search")
            .total,
        0
    );
    assert_eq!(
        index
            .search(&query("vaisselier"), now())
            .expect("search")
            .total,
        1
    );
    // A bump by an announced node raises it; one by another key does nothing.
    let bump = |key: &SecretKey, at: Timestamp| {
        world
            .signer
            .sign(key, Bump { series }, at, Some(at.plus_ms(DAY)))
    };
    let node = testkit::key("search-node");
    let is_node = |k: &PublicKey| *k == node.public_key();
    let stranger = bump(&world.author, now().minus_ms(10));
    feed.apply(&world.store, &stranger, now(), &is_node)
        .expect("apply");
    feed.commit().expect("commit");
    assert_eq!(index.num_docs(), 1);
    let mut q = query("");
    q.sort = SortOrder::BumpedFirst;
    let other = world.listing(None, "Commode", T0.plus_ms(5_000));
    world.store(&other);
    feed.apply(&world.store, &other, now(), &is_node)
        .expect("apply");
    feed.commit().expect("commit");
    assert_eq!(
        index.search(&q, now()).expect("search").hits[0].series,
        other.id()
    );
    let real = bump(&node, now().minus_ms(5));
    world.store(&real);
    feed.apply(&world.store, &real, now(), &is_node)
        .expect("apply");
    feed.commit().expect("commit");
    assert_eq!(
        index.search(&q, now()).expect("search").hits[0].series,
        series
    );
    // A tombstone removes the series, and a later version cannot bring it back.
    let tombstone = world.signer.sign(
        &world.author,
        ListingTombstone {
            series,
            reason: String::new(),
        },
        T0.plus_ms(3_000),
        None,
    );
    let late = world.listing(Some(series), "Buffet revenu", T0.plus_ms(4_000));
    for record in [&tombstone, &late] {
        world.store(record);
        feed.apply(&world.store, record, now(), &any_node)
            .expect("apply");
    }
    feed.commit().expect("commit");
    assert_eq!(
        index.search(&query("buffet"), now()).expect("search").total,
        0
    );
    assert_eq!(
        index
            .search(&query("commode"), now())
            .expect("search")
            .total,
        1
    );
}

#[test]
fn erasure_removes_the_erased_listings() {
    let world = World::new();
    let index = SearchIndex::in_memory().expect("index");
    let mut feed = world.feed(&index);
    let pram = world.listing(None, "Poussette pliable", T0);
    let bed = world.listing(None, "Lit parapluie", T0.plus_ms(10));
    let bed_v2 = world.listing(Some(bed.id()), "Lit parapluie et matelas", T0.plus_ms(20));
    for record in [&pram, &bed, &bed_v2] {
        world.store(record);
        feed.apply(&world.store, record, now(), &any_node)
            .expect("apply");
    }
    feed.commit().expect("commit");
    assert_eq!(
        index
            .search(&query("poussette"), now())
            .expect("search")
            .total,
        1
    );
    let erasure = world.signer.erase(&world.author, T0.plus_ms(1_000));
    world.store(&erasure);
    for record in [&pram, &bed, &bed_v2] {
        world
            .store
            .replace_with_bare_header(&record.id())
            .expect("erase");
    }
    // A version signed after the erasure keeps its body, and becomes current.
    let bed_v3 = world.listing(Some(bed.id()), "Lit parapluie neuf", T0.plus_ms(2_000));
    world.store(&bed_v3);
    feed.apply(&world.store, &erasure, now(), &any_node)
        .expect("apply");
    feed.commit().expect("commit");
    assert_eq!(
        index
            .search(&query("poussette"), now())
            .expect("search")
            .total,
        0
    );
    let hits = index.search(&query("lit"), now()).expect("search").hits;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].version, bed_v3.id());
    assert_eq!(
        index
            .search(&query("matelas"), now())
            .expect("search")
            .total,
        0
    );
}

#[test]
fn start_keeps_a_consistent_index_and_rebuilds_a_stale_one() {
    let world = World::new();
    let dir = tempfile::tempdir().expect("folder");
    let open = || SearchIndex::open(dir.path(), 30_000_000).expect("open");
    let no = AtomicBool::new(false);
    let kept = world.listing(None, "Guitare classique", T0);
    let expired = world.listing(None, "Guitare électrique", T0.minus_ms(40 * DAY));
    world.store(&kept);
    world.store(&expired);
    {
        let index = open();
        let mut feed = world.feed(&index);
        let started = feed
            .start(&world.store, now(), &any_node, &no)
            .expect("start");
        assert!(
            matches!(started, Started::Rebuilt { listings: 1, .. }),
            "{started:?}"
        );
        assert_eq!(
            index
                .search(&query("guitare"), now())
                .expect("search")
                .total,
            1
        );
    }
    {
        let index = open();
        assert_eq!(index.num_docs(), 1, "the index persists");
        let mut feed = world.feed(&index);
        let started = feed
            .start(&world.store, now(), &any_node, &no)
            .expect("start");
        assert_eq!(started, Started::Kept);
    }
    // A record stored while the feeder was not running: the marker no longer agrees.
    let missed = world.listing(None, "Guitare basse", T0.plus_ms(1));
    world.store(&missed);
    let index = open();
    let mut feed = world.feed(&index);
    let started = feed
        .start(&world.store, now(), &any_node, &no)
        .expect("start");
    assert!(
        matches!(started, Started::Rebuilt { listings: 2, .. }),
        "{started:?}"
    );
    assert_eq!(
        index
            .search(&query("guitare"), now())
            .expect("search")
            .total,
        2
    );
    assert!(matches!(index.writer(), Err(SearchError::WriterTaken)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feeder_follows_the_engine() {
    use crate::engine::{Engine, EngineParts, Origin};
    use crate::ingest::parking::ParkingLimits;
    use crate::store::{SledConfig, SledStore};

    let net = crate::generator::generate(11, 12);
    let dir = tempfile::tempdir().expect("folder");
    let store = SledStore::open(&SledConfig {
        path: dir.path().join("db"),
        cache_capacity_bytes: 4 << 20,
    })
    .expect("sled");
    let at = net.now;
    let engine = Engine::start(EngineParts {
        store: Arc::new(store),
        charter: net.records[0].clone(),
        node_key: testkit::key("search-test-node").public_key(),
        name: "search".into(),
        parking: ParkingLimits::default(),
        joins_per_introducer_per_day: crate::engine::standing::DEFAULT_JOINS_PER_INTRODUCER_PER_DAY,
        clock: Arc::new(move || at),
    })
    .await
    .expect("engine");
    let wires = net.records.iter().map(Record::to_wire).collect();
    engine
        .submit_many(wires, Origin::Local)
        .await
        .expect("ingest");
    let index = SearchIndex::in_memory().expect("index");
    let (stop, signal) = tokio::sync::watch::channel(false);
    let feeder = spawn_feeder(engine.clone(), index.writer().expect("writer"), signal);
    let q = query("");
    let generated = wait_for(&index, &q, at, |n| n > 0).await;
    let author = &net
        .keys
        .iter()
        .find(|(l, _)| l == "member-4")
        .expect("member")
        .1;
    let fresh = net
        .signer
        .listing(author, "Harpe celtique", at.minus_ms(60_000));
    engine
        .submit_wire(&fresh.to_wire(), Origin::Local)
        .await
        .expect("stored");
    let mut q = query("harpe");
    wait_for(&index, &q, at, |n| n == 1).await;
    q.text.clear();
    wait_for(&index, &q, at, |n| n == generated + 1).await;
    stop.send_replace(true);
    feeder.await.expect("joined").expect("feeder ends cleanly");
    assert!(index.marker().expect("marker").is_some());
}

/// Polls the index until `ok(total)`, for at most 10 s.
async fn wait_for(
    index: &SearchIndex,
    q: &SearchQuery,
    at: Timestamp,
    ok: impl Fn(usize) -> bool,
) -> usize {
    for _ in 0..200 {
        let total = index.search(q, at).expect("search").total;
        if ok(total) {
            return total;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "the index never reached the expected state for {:?}",
        q.text
    );
}

#[test]
fn singular_and_plural_stems_meet() {
    let pairs = [
        ("vélo", "VÉLOS"),
        ("armoire", "armoires"),
        ("cafetière", "cafetieres"),
        ("cheval", "chevaux"),
        ("jeu", "jeux"),
        ("gâteau", "gâteaux"),
        ("bijou", "bijoux"),
        ("table", "tables"),
    ];
    for (one, many) in pairs {
        assert_eq!(schema::tokens(one), schema::tokens(many), "{one} / {many}");
    }
    assert_eq!(
        schema::tokens("pas"),
        vec!["pas"],
        "short words keep their s"
    );
    assert!(
        schema::tokens(&"x".repeat(60)).is_empty(),
        "long tokens are dropped"
    );
}

#[test]
fn a_node_s_bumps_past_the_daily_limit_do_not_raise_listings_whatever_the_arrival_order() {
    let mut world = World::new();
    world.signer.charter.bumps_per_node_per_day = 1;
    let index = SearchIndex::in_memory().expect("index");
    let mut feed = world.feed(&index);
    let node = testkit::key("search-node");
    let first = world.listing(None, "Vélo rouge", T0);
    let second = world.listing(None, "Vélo bleu", T0.plus_ms(1));
    let bump = |series: RecordId, at: Timestamp| {
        world
            .signer
            .sign(&node, Bump { series }, at, Some(at.plus_ms(DAY)))
    };
    // The later bump arrives first, then the earlier one: only the earlier takes effect.
    let later = bump(second.id(), now().minus_ms(10));
    let earlier = bump(first.id(), now().minus_ms(20));
    for record in [&first, &second, &later, &earlier] {
        world.store(record);
        feed.apply(&world.store, record, now(), &any_node)
            .expect("apply");
    }
    feed.commit().expect("commit");
    let mut q = query("velo");
    q.sort = SortOrder::BumpedFirst;
    let bumped = |index: &SearchIndex| {
        index
            .search(&q, now())
            .expect("search")
            .hits
            .iter()
            .map(|h| h.series)
            .collect::<Vec<_>>()
    };
    assert_eq!(bumped(&index), vec![first.id(), second.id()]);
    // A rebuild from the store agrees.
    let rebuilt = SearchIndex::in_memory().expect("index");
    let mut fresh = world.feed(&rebuilt);
    fresh
        .rebuild(&world.store, now(), &any_node, &AtomicBool::new(false))
        .expect("rebuild");
    assert_eq!(bumped(&rebuilt), vec![first.id(), second.id()]);
}
