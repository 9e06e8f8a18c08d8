//! How a search ([`SearchQuery`], the web UI's query type, the only one) becomes a tantivy
//! query plus a [`PageCollector`], and what it answers ([`SearchPage`]).
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
use maillon_protocol::kinds::Position;
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
pub use maillon_web_ui::backend::{SearchQuery, SortOrder};

/// Most hits a page may hold.
pub const MAX_PER_PAGE: usize = 100;

/// Deepest result reachable by paging: pages past it come back empty (the total is still
/// counted).
pub const MAX_DEPTH: usize = 2_000;

/// How much more a title word weighs than a description or town word.
pub const TITLE_BOOST: f32 = 2.0;

/// Largest search radius: beyond it the whole of France is in range anyway.
pub const MAX_RADIUS_KM: f64 = 2_000.0;

/// The authors a search may return, as the collector checks them: the keys, and their 8-byte
/// prefixes, which the index keeps in a fast field.
#[derive(Clone, Debug)]
struct AuthorFilter {
    keys: Arc<HashSet<PublicKey>>,
    prefixes: Arc<HashSet<u64>>,
}

impl AuthorFilter {
    /// A filter admitting exactly these keys.
    fn new(keys: &Arc<HashSet<PublicKey>>) -> AuthorFilter {
        AuthorFilter {
            prefixes: Arc::new(keys.iter().map(author_prefix).collect()),
            keys: Arc::clone(keys),
        }
    }
}

/// The distance filter of a query: its origin and radius, when it has both.
fn near(q: &SearchQuery) -> Option<(Position, f64)> {
    Some((q.origin?, q.radius_km?))
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
    if let (false, Some((centre, radius))) = (narrowed, near(q)) {
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

/// Runs `q` on `searcher` at time `now` (listings expired by then are left out): counts
/// every match, sorts on fast fields, and loads the stored ids of the requested page only.
pub fn execute(
    searcher: &Searcher,
    fields: &Fields,
    q: &SearchQuery,
    now: Timestamp,
) -> Result<SearchPage, SearchError> {
    let per_page = q.per_page.clamp(1, MAX_PER_PAGE);
    let start = q.page.saturating_mul(per_page);
    let depth = start.saturating_add(per_page).min(MAX_DEPTH);
    let (query, scored) = tantivy_query(fields, q);
    let near =
        near(q).map(|(centre, radius)| GeoFilter::new(centre, radius.clamp(0.0, MAX_RADIUS_KM)));
    let authors = q.authors.as_ref().map(AuthorFilter::new);
    let collector = PageCollector {
        sort: q.sort,
        scored,
        depth,
        now,
        price: (q.price_min_cents.is_some() || q.price_max_cents.is_some()).then(|| {
            (
                q.price_min_cents.unwrap_or(0),
                q.price_max_cents.unwrap_or(u64::MAX),
            )
        }),
        authors: authors.as_ref().map(|filter| Arc::clone(&filter.prefixes)),
        near,
        origin: q.origin,
    };
    let found = searcher.search(&*query, &collector)?;
    let mut total = found.total;
    let mut hits = Vec::new();
    for entry in found.top.iter().skip(start).take(per_page) {
        let doc: TantivyDocument = searcher.doc(DocAddress::new(entry.segment, entry.doc))?;
        let ids = StoredIds::read(&doc, fields)?;
        if let Some(filter) = &authors {
            // The fast field holds the key's first 8 bytes: confirm the whole key.
            if !filter.keys.contains(&ids.author) {
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
