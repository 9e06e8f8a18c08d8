//! `maillon bench search`: builds the search index of a million generated listings in a
//! temporary folder (French words, the 12 categories, positions spread over France), then
//! times queries of text + distance + category, the goal being p99 under 30 ms.
//!
//! Listing bodies are generated, not signed: the index is built through
//! [`SearchWriter::add_new`], as a rebuild does, without the store reads. Same-run limits: a
//! plain tantivy index of the same titles and descriptions (default tokenizer, nothing
//! else) for the build rate, and tantivy's own `Count` of the same text ∧ category query
//! (no distance, no sort, no stored document) for the query latency; a linear scan of the
//! million positions for the distance ∧ category part is also reported. A rebuild from a
//! sled store of signed listings (at most [`REBUILD_LISTINGS`]) is timed separately: it
//! adds the store reads and record decoding to the index build.

use std::time::{Duration, Instant};

use maillon_protocol::ids::{PublicKey, RecordId, Timestamp};
use maillon_protocol::kinds::{Category, Intent, Position};
use maillon_protocol::testkit::{SplitMix64, DAY, T0};
use tantivy::collector::Count;

use super::{ms, percentile, thousands, BenchOptions, BenchResult, Row};
use crate::generator::TOWNS;
use crate::search::{geo, query, ListingDoc, SearchIndex};
use maillon_web_ui::backend::{SearchQuery, SortOrder};

/// The writer's memory budget in the benchmark: 2 threads × 100 MB.
pub const BUILD_BUDGET: usize = 200_000_000;

/// Signed listings stored for the rebuild row.
pub const REBUILD_LISTINGS: usize = 200_000;

/// The goal for p99 query latency.
pub const GOAL_P99: Duration = Duration::from_millis(30);

/// Town centres over mainland France and Corsica, latitude then longitude in degrees,
/// besides the generator's towns.
const CITY_DEGREES: &[f64] = &[
    48.8566, 2.3522, 43.2965, 5.3698, 43.6047, 1.4442, 43.7102, 7.2620, 43.6108, 3.8767, 48.5734,
    7.7521, 44.8378, -0.5792, 50.6292, 3.0573, 48.1173, -1.6778, 49.2583, 4.0317, 43.1242, 5.9280,
    45.4397, 4.3872, 49.4944, 0.1079, 45.1885, 5.7245, 47.3220, 5.0415, 47.4784, -0.5632, 43.8367,
    4.3601, 45.7772, 3.0870, 48.0061, 0.1996, 48.3904, -4.4861, 47.3941, 0.6848, 49.8941, 2.2958,
    45.8336, 1.2611, 45.8992, 6.1294, 42.6887, 2.8948, 49.1193, 6.1757, 47.2378, 6.0241, 47.9030,
    1.9093, 49.4432, 1.0999, 49.1829, -0.3707, 48.6921, 6.1844, 46.5802, 0.3404, 46.1603, -1.1511,
    43.2951, -0.3708, 47.9960, -4.1020, 48.2973, 4.0744, 41.9192, 8.7386, 44.9264, 2.4397, 44.5594,
    6.0786, 47.7982, 3.5673, 45.1846, 0.7214, 47.6582, -2.7608, 44.3506, 2.5750,
];

/// Words of listings, most frequent first (picked with a skew towards the start).
const WORDS_TEXT: &str = "\
    vends bon état très neuf cherche donne prix urgent lot maison appartement chambre meublé \
    jardin garage vélo voiture table chaise armoire canapé lit matelas bureau étagère commode \
    buffet lampe miroir tapis rideaux vaisselle cafetière réfrigérateur congélateur lave-linge \
    four micro-ondes aspirateur télévision ordinateur téléphone tablette imprimante console \
    jeux livres bandes dessinées disques vinyles guitare piano violon batterie manteau veste \
    robe pantalon chaussures bottes pull chemise écharpe sac montre bijoux bague collier \
    poussette siège auto jouets peluche berceau landau vêtements enfant bébé fille garçon femme \
    homme taille ancien ancienne moderne rustique chêne massif merisier pin métal verre cuir \
    laine coton rouge bleu vert noir blanc gris beige grand petit petite grande léger lourd \
    pliable électrique manuel cours soutien scolaire mathématiques anglais français musique \
    garde enfants mercredi soir week-end vacances ménage repassage jardinage bricolage \
    plomberie peinture déménagement courses aide personne âgée covoiturage transport location \
    colocation studio maison gîte mer montagne campagne centre ville gare proche commerces \
    calme lumineux terrasse balcon parking cave grenier cuisine équipée salle bains douche \
    chauffage bois fioul poêle cheminée tondeuse taille-haie outils perceuse scie échelle \
    brouette plantes graines légumes fruits pommes confitures miel œufs poules lapins chat \
    chien chiot chaton cage aquarium vélo électrique trottinette casque skis raquettes tente \
    camping randonnée pêche canne moulinet barque remorque pneus jantes moto scooter pièces \
    détachées collection timbres monnaies cartes postales photos appareil objectif jumelles \
    horloge pendule tableau cadre sculpture vase bougeoir nappe draps couette oreiller \
    serviettes machine coudre tricot broderie tissu mercerie laine patron recette gâteau \
    anniversaire mariage baptême fête décoration déguisement costume cravate chapeau gants \
    parapluie valise cartable trousse cahiers calculatrice dictionnaire encyclopédie roman \
    policier histoire géographie cuisine jardin nature animaux sport football tennis raquette \
    ballon panier basket piscine vélo rameur haltères tapis course banc musculation emploi \
    poste temps partiel plein saisonnier vendanges récolte cueillette serveur cuisinier vendeur \
    chauffeur maçon électricien menuisier couvreur jardinier nounou assistante maternelle \
    infirmière auxiliaire vie secrétaire comptable";

/// The generator's vocabulary and places.
struct Data {
    words: Vec<&'static str>,
    cities: Vec<(f64, f64)>,
}

impl Data {
    fn new() -> Data {
        Data {
            words: WORDS_TEXT.split_whitespace().collect(),
            cities: CITY_DEGREES.chunks_exact(2).map(|c| (c[0], c[1])).collect(),
        }
    }
}

/// A generated listing: positions over France, words from the vocabulary.
fn listing(rng: &mut SplitMix64, n: u64, end: Timestamp, data: &Data) -> ListingDoc {
    let (lat, lon) = if rng.below(5) == 0 {
        let t = rng.pick(TOWNS).position;
        (t.lat_microdeg as f64 / 1e6, t.lon_microdeg as f64 / 1e6)
    } else {
        *rng.pick(&data.cities)
    };
    // About ±0.4° of jitter (tens of kilometres), denser near the centre.
    let jitter =
        |rng: &mut SplitMix64| (rng.below(4001) as f64 + rng.below(4001) as f64) / 1e4 - 0.4;
    let position = Position {
        lat_microdeg: ((lat + jitter(rng)) * 1e6) as i64,
        lon_microdeg: ((lon + jitter(rng)) * 1e6) as i64,
    };
    let words = |count: u64, rng: &mut SplitMix64| {
        let len = data.words.len() as u64;
        (0..count)
            .map(|_| data.words[(rng.below(len) * rng.below(len) / len) as usize])
            .collect::<Vec<_>>()
            .join(" ")
    };
    let title = words(3 + rng.below(4), rng);
    let description = words(10 + rng.below(31), rng);
    let category = *rng.pick(Category::ALL);
    let created = end.minus_ms(rng.below(170 * DAY));
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&rng.below(150_000).to_be_bytes());
    let mut id = [0u8; 32];
    id[..8].copy_from_slice(&n.to_be_bytes());
    id[8..16].copy_from_slice(&rng.next_u64().to_be_bytes());
    ListingDoc {
        series: RecordId(id),
        version: RecordId(id),
        author: PublicKey(key),
        intent: if rng.below(5) == 0 {
            Intent::Request
        } else {
            Intent::Offer
        },
        category,
        title,
        description,
        town: "Ville".into(),
        price_cents: (rng.below(4) > 0).then(|| 100 * (1 + rng.below(2_000))),
        position,
        created,
        expires: Some(created.plus_ms(DAY * (60 + rng.below(120)))),
        bump: None,
    }
}

/// A query: one or two words, a town, a radius of 30–100 km, a category.
fn random_query(rng: &mut SplitMix64, data: &Data) -> SearchQuery {
    let count = 1 + rng.below(2);
    let text: Vec<&str> = (0..count).map(|_| *rng.pick(&data.words)).collect();
    let (lat, lon) = *rng.pick(&data.cities);
    let centre = Position {
        lat_microdeg: (lat * 1e6) as i64,
        lon_microdeg: (lon * 1e6) as i64,
    };
    SearchQuery {
        text: text.join(" "),
        category: Some(*rng.pick(Category::ALL)),
        origin: Some(centre),
        radius_km: Some(30.0 + rng.below(71) as f64),
        per_page: 20,
        ..SearchQuery::default()
    }
}

/// Sorted latencies of `f` over every query, after 200 unmeasured warm-up calls.
fn time_all<T>(
    queries: &[SearchQuery],
    mut f: impl FnMut(&SearchQuery) -> BenchResult<T>,
) -> BenchResult<Vec<Duration>> {
    for q in queries.iter().take(200) {
        f(q)?;
    }
    let mut times = Vec::with_capacity(queries.len());
    for q in queries {
        let started = Instant::now();
        f(q)?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times)
}

fn p(times: &[Duration], at: f64) -> Duration {
    percentile(times, at).unwrap_or_default()
}

fn describe(times: &[Duration]) -> String {
    format!(
        "p50 {}, p99 {}, max {}",
        ms(p(times, 50.0)),
        ms(p(times, 99.0)),
        ms(times.last().copied().unwrap_or_default())
    )
}

/// Bytes of every file under `dir`.
fn folder_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => folder_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// The 1-minute load average: other processes share the machine.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// `VmRSS` and `VmHWM` of this process in MiB.
fn memory_mib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .map_or(0, |kib| kib / 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Runs the benchmark and returns its rows.
pub fn run(options: &BenchOptions) -> BenchResult<Vec<Row>> {
    let data = Data::new();
    let n = options.search_listings as u64;
    let now = T0.plus_ms(365 * DAY);
    let dir = tempfile::tempdir()?;
    let load_start = load_average();
    println!("search: indexing {} generated listings…", thousands(n));
    let index = SearchIndex::open(dir.path(), BUILD_BUDGET)?;
    let mut writer = index.writer()?;
    let mut rng = SplitMix64::new(options.seed);
    let mut points: Vec<(i64, i64, u8)> = Vec::with_capacity(n as usize);
    let started = Instant::now();
    for i in 0..n {
        let doc = listing(&mut rng, i, now, &data);
        points.push((
            doc.position.lat_microdeg,
            doc.position.lon_microdeg,
            doc.category as u8,
        ));
        writer.add_new(&doc)?;
    }
    writer.commit(None)?;
    let build = started.elapsed();
    let merge_started = Instant::now();
    writer.finish()?;
    let merges = merge_started.elapsed();
    drop(index);
    let index = SearchIndex::open(dir.path(), BUILD_BUDGET)?;
    let segments = index.tantivy().searchable_segment_ids()?.len();
    let bytes = folder_bytes(dir.path());
    let (rss_built, hwm_built) = memory_mib();
    let load_built = load_average();
    let plain_n = n.min(200_000);
    let plain = plain_build_rate(options.seed, plain_n, now)?;
    let rate = n as f64 / build.as_secs_f64();

    let mut rng = SplitMix64::new(options.seed ^ 0x5eac);
    let count = options.search_queries.max(1);
    let queries: Vec<SearchQuery> = (0..count).map(|_| random_query(&mut rng, &data)).collect();
    let mut hits = 0usize;
    let main = time_all(&queries, |q| {
        hits += index.search(q, now)?.total;
        Ok(())
    })?;
    let nearest: Vec<SearchQuery> = queries
        .iter()
        .cloned()
        .map(|q| SearchQuery {
            sort: SortOrder::Nearest,
            ..q
        })
        .collect();
    let nearest_times = time_all(&nearest, |q| index.search(q, now).map_err(Into::into))?;
    let broad: Vec<SearchQuery> = queries
        .iter()
        .map(|q| SearchQuery {
            text: String::new(),
            sort: SortOrder::Newest,
            ..q.clone()
        })
        .collect();
    let broad_times = time_all(&broad, |q| index.search(q, now).map_err(Into::into))?;
    let places: Vec<SearchQuery> = broad
        .iter()
        .map(|q| SearchQuery {
            category: None,
            ..q.clone()
        })
        .collect();
    let places_times = time_all(&places, |q| index.search(q, now).map_err(Into::into))?;
    let searcher = index.tantivy().reader()?.searcher();
    let counts = time_all(&queries, |q| {
        let bare = SearchQuery {
            origin: None,
            radius_km: None,
            ..q.clone()
        };
        let (tq, _) = query::tantivy_query(index.fields(), &bare);
        Ok(searcher.search(&*tq, &Count)?)
    })?;
    let scans = time_all(&queries[..count.min(300)], |q| {
        let (Some(centre), Some(radius)) = (q.origin, q.radius_km) else {
            return Ok(0);
        };
        let code = q.category.map_or(0, |c| c as u8);
        Ok(points
            .iter()
            .filter(|(lat, lon, c)| {
                *c == code
                    && geo::haversine_km(
                        centre,
                        Position {
                            lat_microdeg: *lat,
                            lon_microdeg: *lon,
                        },
                    ) <= radius
            })
            .count())
    })?;
    let (rss_end, hwm_end) = memory_mib();
    let load_queries = load_average();
    drop(searcher);
    drop(index);
    let rebuild_n = options.search_listings.min(REBUILD_LISTINGS);
    println!(
        "search: storing {} signed listings for the rebuild…",
        thousands(rebuild_n as u64)
    );
    let (rebuild_rate, rebuild_time) = rebuild_from_store(options.seed, rebuild_n as u64, now)?;
    let load_end = load_average();
    let p99 = p(&main, 99.0);
    let limit_p99 = p(&counts, 99.0);
    let ratio =
        |a: Duration, b: Duration| format!("{:.1}", a.as_secs_f64() / b.as_secs_f64().max(1e-9));
    Ok(vec![
        Row::new(
            format!("search: index build, {} listings (add + one commit; {BUILD_BUDGET} B budget)", thousands(n)),
            format!("{}/s ({:.1} s; merges after: {:.1} s, {segments} segments)", thousands(rate as u64), build.as_secs_f64(), merges.as_secs_f64()),
            "none",
            format!("plain tantivy, title + description only, {} docs: {}/s", thousands(plain_n), thousands(plain as u64)),
            format!("{:.2}", rate / plain),
            None,
        ),
        Row::new(
            format!("search: rebuild from a sled store of {} signed listings (`Feed::rebuild`)", thousands(rebuild_n as u64)),
            format!("{}/s ({:.1} s)", thousands(rebuild_rate as u64), rebuild_time.as_secs_f64()),
            "none",
            "the index build above",
            format!("{:.2}", rebuild_rate / rate),
            None,
        ),
        Row::new(
            "search: index size on disk (merged)",
            format!("{:.0} MiB ({:.0} B per listing)", bytes as f64 / 1_048_576.0, bytes as f64 / n.max(1) as f64),
            "none",
            "—",
            "—",
            None,
        ),
        Row::new(
            format!("search: {} queries text + 30–100 km + category, 20 per page, by relevance", thousands(count as u64)),
            describe(&main),
            "p99 < 30 ms",
            format!("tantivy `Count` of text ∧ category alone: {}", describe(&counts)),
            ratio(p99, limit_p99),
            Some(p99 < GOAL_P99),
        ),
        Row::new(
            "search: same queries, nearest first",
            describe(&nearest_times),
            "p99 < 30 ms",
            "as above",
            ratio(p(&nearest_times, 99.0), limit_p99),
            Some(p(&nearest_times, 99.0) < GOAL_P99),
        ),
        Row::new(
            "search: same without text (distance + category), newest first",
            describe(&broad_times),
            "p99 < 30 ms",
            format!("linear scan of {} positions (category, haversine): {}", thousands(n), describe(&scans)),
            ratio(p(&broad_times, 99.0), p(&scans, 99.0)),
            Some(p(&broad_times, 99.0) < GOAL_P99),
        ),
        Row::new(
            "search: distance only (no text, no category: range queries on lat/lon), newest first",
            describe(&places_times),
            "p99 < 30 ms",
            "—",
            "—",
            Some(p(&places_times, 99.0) < GOAL_P99),
        ),
        Row::new(
            "search: memory of the process (VmRSS / VmHWM; the index files are mapped)",
            format!("after build {rss_built} / {hwm_built} MiB; after queries {rss_end} / {hwm_end} MiB"),
            "none",
            format!("the benchmark's own position table: {} MiB", points.len() * 24 / 1_048_576),
            "—",
            None,
        ),
        Row::new(
            "search: machine load (1-minute load average on 2 cores)",
            format!("start {load_start}, after build {load_built}, after queries {load_queries}, end {load_end}"),
            "none",
            "—",
            "—",
            None,
        ),
        Row::new(
            "search: average matches per main query",
            format!("{:.0}", hits as f64 / count as f64),
            "none",
            "—",
            "—",
            None,
        ),
    ])
}

/// Documents per second into a plain tantivy index of titles and descriptions (default
/// tokenizer, no fast field, nothing stored), same writer budget, one commit.
fn plain_build_rate(seed: u64, n: u64, now: Timestamp) -> BenchResult<f64> {
    let data = Data::new();
    use tantivy::schema::{Schema, TEXT};
    let mut builder = Schema::builder();
    let title = builder.add_text_field("title", TEXT);
    let description = builder.add_text_field("description", TEXT);
    let dir = tempfile::tempdir()?;
    let index = tantivy::Index::create_in_dir(dir.path(), builder.build())?;
    let threads = std::thread::available_parallelism()
        .map_or(1, |c| c.get())
        .min(2);
    let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(threads, BUILD_BUDGET)?;
    let mut rng = SplitMix64::new(seed);
    let started = Instant::now();
    for i in 0..n {
        let doc = listing(&mut rng, i, now, &data);
        writer.add_document(tantivy::doc!(title => doc.title, description => doc.description))?;
    }
    writer.commit()?;
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// Stores `n` signed listings in a fresh sled store, then times [`Feed::rebuild`] into a
/// fresh index folder: listings per second and the time.
fn rebuild_from_store(seed: u64, n: u64, now: Timestamp) -> BenchResult<(f64, Duration)> {
    let data = Data::new();
    use crate::search::feed::Feed;
    use crate::store::{SledConfig, SledStore, Store};
    use maillon_protocol::kinds::Listing;
    use maillon_protocol::{testkit, Draft, Record};

    let founder = testkit::key("bench-search-founder");
    let network = testkit::charter(&[&founder], &[], 0).network_id();
    let authors: Vec<_> = (0..64)
        .map(|i| testkit::key(&format!("bench-search-{i}")))
        .collect();
    let dir = tempfile::tempdir()?;
    let store = SledStore::open(&SledConfig {
        path: dir.path().join("db"),
        cache_capacity_bytes: 256 << 20,
    })?;
    let mut rng = SplitMix64::new(seed);
    for i in 0..n {
        let doc = listing(&mut rng, i, now, &data);
        let body = Listing {
            series: None,
            intent: doc.intent,
            category: doc.category,
            title: doc.title,
            description: doc.description,
            price_cents: doc.price_cents,
            town: doc.town,
            postcode: "75001".into(),
            position: doc.position,
            photos: vec![],
        };
        let draft = Draft {
            body: body.into(),
            created: doc.created,
            expires: doc.expires,
        };
        store.put(&Record::sign(
            &authors[i as usize % authors.len()],
            &network,
            draft,
        )?)?;
    }
    futures::executor::block_on(store.flush())?;
    let index = SearchIndex::open(&dir.path().join("search"), BUILD_BUDGET)?;
    let mut feed = Feed::new(index.writer()?, network, u64::MAX);
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let started = Instant::now();
    feed.rebuild(&store, now, &|_| false, &cancel)?;
    let took = started.elapsed();
    Ok((n as f64 / took.as_secs_f64(), took))
}
