//! [`PageCollector`]: filters matches on fast fields (expiry, price, author prefix, exact
//! distance), counts them, and keeps the best `depth` of them in the query's order, reading
//! only fast-field columns, never stored documents.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashSet};
use std::sync::Arc;

use maillon_protocol::ids::Timestamp;
use maillon_protocol::kinds::Position;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::geo::{self, BoundingBox};
use super::query::SortOrder;
use super::schema::names;

/// A circle to stay within, prepared for fast checks.
#[derive(Clone, Copy, Debug)]
pub struct GeoFilter {
    lat_rad: f64,
    lon_rad: f64,
    radius_km: f64,
    bbox: BoundingBox,
}

impl GeoFilter {
    /// The circle of `radius_km` around `centre`.
    pub fn new(centre: Position, radius_km: f64) -> GeoFilter {
        GeoFilter {
            lat_rad: (centre.lat_microdeg as f64 / 1e6).to_radians(),
            lon_rad: (centre.lon_microdeg as f64 / 1e6).to_radians(),
            radius_km,
            bbox: geo::bounding_box(centre, radius_km),
        }
    }

    /// The distance from the centre if the point is within the circle.
    fn distance_within(&self, lat: i64, lon: i64) -> Option<f64> {
        if lat < self.bbox.lat_min || lat > self.bbox.lat_max {
            return None;
        }
        if let Some((low, high)) = self.bbox.lon {
            if lon < low || lon > high {
                return None;
            }
        }
        let d = geo::haversine_raw(self.lat_rad, self.lon_rad, lat, lon);
        (d <= self.radius_km).then_some(d)
    }
}

/// One kept match.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// The sort key: greater comes first.
    pub key: (u64, u64),
    /// The segment.
    pub segment: SegmentOrdinal,
    /// The document in its segment.
    pub doc: DocId,
    /// The text score.
    pub score: f32,
    /// Distance from the query's origin, if it has one.
    pub distance_km: Option<f64>,
}

impl Entry {
    /// Greater is better: the key, then the earlier segment and document (stable ties).
    fn rank(&self, other: &Entry) -> Ordering {
        self.key
            .cmp(&other.key)
            .then_with(|| other.segment.cmp(&self.segment))
            .then_with(|| other.doc.cmp(&self.doc))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.rank(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank(other)
    }
}

/// What a search found: how many matched, and the best `depth`, best first.
#[derive(Clone, Debug, Default)]
pub struct Found {
    /// Matches in all.
    pub total: usize,
    /// The best matches, best first.
    pub top: Vec<Entry>,
}

/// Filters and orders matches on fast fields.
#[derive(Clone, Debug)]
pub struct PageCollector {
    /// The order.
    pub sort: SortOrder,
    /// Whether the query computes text scores.
    pub scored: bool,
    /// How many of the best matches to keep.
    pub depth: usize,
    /// Versions expired by then are left out; bumps expired by then do not count.
    pub now: Timestamp,
    /// Inclusive price bounds; listings without a price are left out when set.
    pub price: Option<(u64, u64)>,
    /// Admitted author prefixes.
    pub authors: Option<Arc<HashSet<u64>>>,
    /// The circle to stay within.
    pub near: Option<GeoFilter>,
    /// Where distances are measured from.
    pub origin: Option<Position>,
}

/// The per-segment half of [`PageCollector`].
pub struct PageSegmentCollector {
    segment: SegmentOrdinal,
    sort: SortOrder,
    depth: usize,
    now: u64,
    price: Option<(u64, u64)>,
    authors: Option<Arc<HashSet<u64>>>,
    near: Option<GeoFilter>,
    origin: Option<(f64, f64)>,
    origin_is_centre: bool,
    expires: Column<u64>,
    created: Column<u64>,
    bumped: Option<(Column<u64>, Column<u64>)>,
    price_col: Option<Column<u64>>,
    author_col: Option<Column<u64>>,
    position: Option<(Column<i64>, Column<i64>)>,
    total: usize,
    heap: BinaryHeap<Reverse<Entry>>,
}

impl Collector for PageCollector {
    type Fruit = Found;
    type Child = PageSegmentCollector;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<PageSegmentCollector> {
        let ff = reader.fast_fields();
        let origin = self.origin.map(|p| {
            (
                (p.lat_microdeg as f64 / 1e6).to_radians(),
                (p.lon_microdeg as f64 / 1e6).to_radians(),
            )
        });
        let origin_is_centre = match (self.near, origin) {
            (Some(n), Some((lat, lon))) => n.lat_rad == lat && n.lon_rad == lon,
            _ => false,
        };
        let needs_position = self.near.is_some() || origin.is_some();
        Ok(PageSegmentCollector {
            segment,
            sort: self.sort,
            depth: self.depth,
            now: self.now.0,
            price: self.price,
            authors: self.authors.clone(),
            near: self.near,
            origin,
            origin_is_centre,
            expires: ff.u64(names::EXPIRES)?,
            created: ff.u64(names::CREATED)?,
            bumped: if self.sort == SortOrder::BumpedFirst {
                Some((ff.u64(names::BUMPED_AT)?, ff.u64(names::BUMP_EXPIRES)?))
            } else {
                None
            },
            price_col: self.price.map(|_| ff.u64(names::PRICE_CENTS)).transpose()?,
            author_col: self
                .authors
                .as_ref()
                .map(|_| ff.u64(names::AUTHOR_PREFIX))
                .transpose()?,
            position: if needs_position {
                Some((ff.i64(names::LAT)?, ff.i64(names::LON)?))
            } else {
                None
            },
            total: 0,
            heap: BinaryHeap::with_capacity(self.depth + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.scored
    }

    fn merge_fruits(&self, fruits: Vec<Found>) -> tantivy::Result<Found> {
        let total = fruits.iter().map(|f| f.total).sum();
        let mut top: Vec<Entry> = fruits.into_iter().flat_map(|f| f.top).collect();
        top.sort_unstable_by(|a, b| b.cmp(a));
        top.truncate(self.depth);
        Ok(Found { total, top })
    }
}

impl SegmentCollector for PageSegmentCollector {
    type Fruit = Found;

    fn collect(&mut self, doc: DocId, score: Score) {
        if self.expires.first(doc).unwrap_or(u64::MAX) <= self.now {
            return;
        }
        if let (Some((low, high)), Some(column)) = (self.price, &self.price_col) {
            match column.first(doc) {
                Some(price) if price >= low && price <= high => {}
                _ => return,
            }
        }
        if let (Some(admitted), Some(column)) = (&self.authors, &self.author_col) {
            match column.first(doc) {
                Some(prefix) if admitted.contains(&prefix) => {}
                _ => return,
            }
        }
        let mut distance_km = None;
        if let Some((lat_col, lon_col)) = &self.position {
            let (Some(lat), Some(lon)) = (lat_col.first(doc), lon_col.first(doc)) else {
                return;
            };
            if let Some(near) = &self.near {
                match near.distance_within(lat, lon) {
                    Some(d) => distance_km = self.origin_is_centre.then_some(d),
                    None => return,
                }
            }
            if distance_km.is_none() {
                distance_km = self
                    .origin
                    .map(|(olat, olon)| geo::haversine_raw(olat, olon, lat, lon));
            }
        }
        self.total += 1;
        let created = self.created.first(doc).unwrap_or(0);
        let key = match self.sort {
            SortOrder::Relevance => (u64::from(score.max(0.0).to_bits()), created),
            SortOrder::Newest => (created, 0),
            SortOrder::Nearest => match distance_km {
                // Closer first: millimetres subtracted from the largest key.
                Some(d) => (u64::MAX - (d * 1e6) as u64, created),
                None => (0, created),
            },
            SortOrder::BumpedFirst => {
                let bumped = self.bumped.as_ref().map_or(0, |(at, expires)| {
                    if expires.first(doc).unwrap_or(0) > self.now {
                        at.first(doc).unwrap_or(0)
                    } else {
                        0
                    }
                });
                (bumped, created)
            }
        };
        let entry = Entry {
            key,
            segment: self.segment,
            doc,
            score,
            distance_km,
        };
        if self.heap.len() < self.depth {
            self.heap.push(Reverse(entry));
        } else if self.heap.peek().is_some_and(|worst| entry > worst.0) {
            self.heap.pop();
            self.heap.push(Reverse(entry));
        }
    }

    fn harvest(self) -> Found {
        let mut top: Vec<Entry> = self.heap.into_iter().map(|r| r.0).collect();
        top.sort_unstable_by(|a, b| b.cmp(a));
        Found {
            total: self.total,
            top,
        }
    }
}
