//! [`ListingDoc`]: what the index keeps of one listing's current version, and its
//! conversion to and from tantivy documents.

use maillon_protocol::ids::{PublicKey, RecordId, Timestamp};
use maillon_protocol::kinds::{Category, Intent, Position};
use maillon_protocol::{Body, Record};
use tantivy::schema::Value as _;
use tantivy::TantivyDocument;

use super::schema::Fields;
use super::SearchError;

/// A bump in force on a listing: raised at `at` until `expires`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BumpMark {
    /// The bump record's creation time.
    pub at: Timestamp,
    /// The bump record's expiry.
    pub expires: Timestamp,
}

/// One listing as indexed: its current version's searchable fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListingDoc {
    /// The series id: the first version's record id.
    pub series: RecordId,
    /// The current version's record id.
    pub version: RecordId,
    /// The version's author.
    pub author: PublicKey,
    /// Offer or request.
    pub intent: Intent,
    /// Category.
    pub category: Category,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Town.
    pub town: String,
    /// Price in cents, if any.
    pub price_cents: Option<u64>,
    /// The postcode's centre.
    pub position: Position,
    /// The version's creation time.
    pub created: Timestamp,
    /// The version's expiry, if any.
    pub expires: Option<Timestamp>,
    /// The newest bump in force, if any.
    pub bump: Option<BumpMark>,
}

impl ListingDoc {
    /// The document of a listing record; `None` for another kind or an erased body.
    pub fn from_record(record: &Record) -> Option<ListingDoc> {
        let Some(Body::Listing(listing)) = record.body() else {
            return None;
        };
        let h = record.header();
        Some(ListingDoc {
            series: listing.series_or(record.id()),
            version: record.id(),
            author: h.author,
            intent: listing.intent,
            category: listing.category,
            title: listing.title.clone(),
            description: listing.description.clone(),
            town: listing.town.clone(),
            price_cents: listing.price_cents,
            position: listing.position,
            created: h.created,
            expires: h.expires,
            bump: None,
        })
    }

    /// The same document with this bump.
    pub fn with_bump(mut self, bump: Option<BumpMark>) -> ListingDoc {
        self.bump = bump;
        self
    }

    /// Whether the version has expired at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }

    /// The tantivy document.
    pub fn to_document(&self, f: &Fields) -> TantivyDocument {
        let mut d = TantivyDocument::new();
        d.add_bytes(f.series, self.series.0.as_slice());
        d.add_bytes(f.version, self.version.0.as_slice());
        d.add_bytes(f.author, self.author.0.as_slice());
        d.add_u64(f.author_prefix, author_prefix(&self.author));
        d.add_u64(f.intent, self.intent as u64);
        d.add_u64(f.category, self.category as u64);
        d.add_text(f.title, &self.title);
        d.add_text(f.description, &self.description);
        d.add_text(f.town, &self.town);
        if let Some(price) = self.price_cents {
            d.add_u64(f.price_cents, price);
        }
        d.add_i64(f.lat, self.position.lat_microdeg);
        d.add_i64(f.lon, self.position.lon_microdeg);
        d.add_u64(f.created, self.created.0);
        let (bumped_at, bump_expires) = self.bump.map_or((0, 0), |b| (b.at.0, b.expires.0));
        d.add_u64(f.bumped_at, bumped_at);
        d.add_u64(f.bump_expires, bump_expires);
        d.add_u64(f.expires, self.expires.map_or(u64::MAX, |e| e.0));
        d
    }
}

/// The first 8 bytes of a key, big-endian: the author filter's fast field.
pub fn author_prefix(key: &PublicKey) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&key.0[..8]);
    u64::from_be_bytes(first)
}

/// The stored identity of a hit: series, version and author.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredIds {
    /// The series id.
    pub series: RecordId,
    /// The version id.
    pub version: RecordId,
    /// The author.
    pub author: PublicKey,
}

impl StoredIds {
    /// Reads the stored ids of a document.
    pub fn read(doc: &TantivyDocument, f: &Fields) -> Result<StoredIds, SearchError> {
        Ok(StoredIds {
            series: RecordId(bytes32(doc, f.series, "series")?),
            version: RecordId(bytes32(doc, f.version, "version")?),
            author: PublicKey(bytes32(doc, f.author, "author")?),
        })
    }
}

fn bytes32(
    doc: &TantivyDocument,
    field: tantivy::schema::Field,
    name: &'static str,
) -> Result<[u8; 32], SearchError> {
    doc.get_first(field)
        .and_then(|v| v.as_bytes())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or(SearchError::Malformed(name))
}
