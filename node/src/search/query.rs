//! What a search asks ([`SearchQuery`]) and answers ([`SearchPage`]), and how a query
//! becomes a tantivy query plus a [`PageCollector`].
//!
//! The text is analyzed like the index (French stemming, accents folded); every word must
//! occur in the title (boosted), the description or the town. Category and intent are term
//! queries. A distance filter is checked by the collector (bounding box, then the exact
//! great-circle distance); when there is neither text nor category nor intent, the box is
//! also given to tantivy as range queries on the latitude and longitude fast fields.
//! Everything else (expiry, price, authors, sort keys) is read from fast fields by the
//! collector: only the requested page's stored documents are loaded.

use std::collections::HashSet;
use std::ops::Bound;
use std::sync::Arc;

use maillon_protocol::ids::{PublicKey, RecordId, Timestamp};
use maillon_protocol::kinds::{Category, Intent, Position};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{IndexRecordOption, Term};
use tantivy::{DocAddress, Searcher, TantivyDocument};

use super::collector::{GeoFilter, PageCollector};
use super::doc::{author_prefix, StoredIds};
use super::geo;
use super::schema::{self, Fields};
use super::SearchError;

/// Most hits a page may hold.
pub const MAX_PER_PAGE: usize = 100;

/// Deepest result reachable by paging: pages past it come back empty (the total is still
/// counted).
pub const MAX_DEPTH: usize = 2_000;

/// How much more a title word weighs than a description or town word.
pub const TITLE_BOOST: f32 = 2.0;

/// Largest search radius: beyond it the whole of France is in range anyway.
pub const MAX_RADIUS_KM: f64 = 2_000.0;

/// The order of hits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortOrder {
    /// Best text match first (newest first for an empty text).
    #[default]
    Relevance,
    /// Newest version first.
    Newest,
    /// Closest to the query's origin first (newest first without an origin).
    Nearest,
    /// Listings under a bump in force first, most recently bumped first, then newest.
    BumpedFirst,
}

/// The authors a search may return: for instance the members within some trust hops.
#[derive(Clone, Debug, Default)]
pub struct AuthorFilter {
    keys: HashSet<PublicKey>,
    prefixes: Arc<HashSet<u64>>,
}

impl AuthorFilter {
    /// A filter admitting exactly these keys.
    pub fn new(keys: impl IntoIterator<Item = PublicKey>) -> AuthorFilter {
        let keys: HashSet<PublicKey> = keys.into_iter().collect();
        let prefixes = keys.iter().map(author_prefix).collect();
        AuthorFilter {
            keys,
            prefixes: Arc::new(prefixes),
        }
    }

    /// Whether `key` is admitted.
    pub fn contains(&self, key: &PublicKey) -> bool {
        self.keys.contains(key)
    }

    /// How many keys are admitted.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is admitted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The admitted keys' 8-byte prefixes, which the collector checks on a fast field.
    pub(crate) fn prefixes(&self) -> Arc<HashSet<u64>> {
        Arc::clone(&self.prefixes)
    }
}

/// A search.
#[derive(Clone, Debug, Default)]
pub struct SearchQuery {
    /// Words to find; empty matches every listing.
    pub text: String,
    /// Only this category.
    pub category: Option<Category>,
    /// Only offers or only requests.
    pub intent: Option<Intent>,
    /// Lowest price in cents, inclusive. A price bound excludes listings without a price.
    pub price_min_cents: Option<u64>,
    /// Highest price in cents, inclusive.
    pub price_max_cents: Option<u64>,
    /// Only listings within this many kilometres of this position.
    pub near: Option<(Position, f64)>,
    /// Where distances are measured from (and the `Nearest` order); defaults to `near`'s
    /// centre.
    pub origin: Option<Position>,
    /// Only listings by these authors.
    pub authors: Option<AuthorFilter>,
    /// The order of hits.
    pub sort: SortOrder,
    /// The page, from 0.
    pub page: usize,
    /// Hits per page, 1..=[`MAX_PER_PAGE`] (0 is taken as 1, more as the maximum).
    pub per_page: usize,
    /// The time of the search: listings expired by then are left out.
    pub now: Timestamp,
}

/// One hit.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchHit {
    /// The listing's series id.
    pub series: RecordId,
    /// The current version's record id.
    pub version: RecordId,
    /// The version's author.
    pub author: PublicKey,
    /// Distance from the query's origin in kilometres, if it has one.
    pub distance_km: Option<f64>,
    /// The text score (0 without text or for non-relevance orders).
    pub score: f32,
}

/// One page of hits.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchPage {
    /// The hits, in order.
    pub hits: Vec<SearchHit>,
    /// Listings matching the query in all.
    pub total: usize,
    /// The page, from 0.
    pub page: usize,
    /// Hits per page, as applied.
    pub per_page: usize,
}

/// The tantivy query for the text and the indexed filters, and whether it scores.
pub fn tantivy_query(fields: &Fields, q: &SearchQuery) -> (Box<dyn Query>, bool) {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let words = schema::tokens(&q.text);
    let scored = !words.is_empty() && q.sort == SortOrder::Relevance;
    let mut seen = HashSet::new();
    for word in words.into_iter().filter(|w| seen.insert(w.clone())) {
        let term = |field| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, &word),
                IndexRecordOption::WithFreqs,
            ))
        };
        let any_field = BooleanQuery::new(vec![
            (
                Occur::Should,
                Box::new(BoostQuery::new(term(fields.title), TITLE_BOOST)),
            ),
            (Occur::Should, term(fields.description)),
            (Occur::Should, term(fields.town)),
        ]);
        clauses.push((Occur::Must, Box::new(any_field)));
    }
    let filter = |query: Box<dyn Query>| -> (Occur, Box<dyn Query>) {
        (Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0)))
    };
    let code_term = |field, code: u64| -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_u64(field, code),
            IndexRecordOption::Basic,
        ))
    };
    if let Some(category) = q.category {
        clauses.push(filter(code_term(fields.category, category as u64)));
    }
    if let Some(intent) = q.intent {
        clauses.push(filter(code_term(fields.intent, intent as u64)));
    }
    // The bounding box as range queries on the fast fields pays only when nothing else
    // narrows the candidates: scanning the latitude column costs more than checking the
    // few text or category matches in the collector (measured: docs/PERFORMANCE.md).
    let narrowed = !clauses.is_empty();
    if let (false, Some((centre, radius))) = (narrowed, q.near) {
        let bbox = geo::bounding_box(centre, radius.min(MAX_RADIUS_KM));
        let range = |field, low: i64, high: i64| -> Box<dyn Query> {
            Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_i64(field, low)),
                Bound::Included(Term::from_field_i64(field, high)),
            ))
        };
        clauses.push(filter(range(fields.lat, bbox.lat_min, bbox.lat_max)));
        if let Some((low, high)) = bbox.lon {
            clauses.push(filter(range(fields.lon, low, high)));
        }
    }
    if clauses.is_empty() {
        return (Box::new(AllQuery), false);
    }
    if clauses.len() == 1 {
        if let Some((_, only)) = clauses.pop() {
            return (only, scored);
        }
    }
    (Box::new(BooleanQuery::new(clauses)), scored)
}

/// Runs `q` on `searcher`: counts every match, sorts on fast fields, and loads the stored
/// ids of the requested page only.
pub fn execute(
    searcher: &Searcher,
    fields: &Fields,
    q: &SearchQuery,
) -> Result<SearchPage, SearchError> {
    let per_page = q.per_page.clamp(1, MAX_PER_PAGE);
    let start = q.page.saturating_mul(per_page);
    let depth = start.saturating_add(per_page).min(MAX_DEPTH);
    let (query, scored) = tantivy_query(fields, q);
    let near = q
        .near
        .map(|(centre, radius)| GeoFilter::new(centre, radius.clamp(0.0, MAX_RADIUS_KM)));
    let origin = q.origin.or(q.near.map(|(centre, _)| centre));
    let collector = PageCollector {
        sort: q.sort,
        scored,
        depth,
        now: q.now,
        price: (q.price_min_cents.is_some() || q.price_max_cents.is_some()).then(|| {
            (
                q.price_min_cents.unwrap_or(0),
                q.price_max_cents.unwrap_or(u64::MAX),
            )
        }),
        authors: q.authors.as_ref().map(AuthorFilter::prefixes),
        near,
        origin,
    };
    let found = searcher.search(&*query, &collector)?;
    let mut total = found.total;
    let mut hits = Vec::new();
    for entry in found.top.iter().skip(start).take(per_page) {
        let doc: TantivyDocument = searcher.doc(DocAddress::new(entry.segment, entry.doc))?;
        let ids = StoredIds::read(&doc, fields)?;
        if let Some(filter) = &q.authors {
            // The fast field holds the key's first 8 bytes: confirm the whole key.
            if !filter.contains(&ids.author) {
                total = total.saturating_sub(1);
                continue;
            }
        }
        hits.push(SearchHit {
            series: ids.series,
            version: ids.version,
            author: ids.author,
            distance_km: entry.distance_km,
            score: if scored { entry.score } else { 0.0 },
        });
    }
    Ok(SearchPage {
        hits,
        total,
        page: q.page,
        per_page,
    })
}
