//! Listing kinds: listings and their new versions, tombstones and bumps.

use super::{header_rules, BodyFields, Position};
use crate::cbor::Value;
use crate::error::DecodeError;
use crate::fields::{put, Fields};
use crate::ids::{BlobHash, RecordId, Timestamp};
use crate::record::Header;

/// Longest a listing version may stay up: 180 days.
pub const LISTING_MAX_LIFETIME_MS: u64 = 180 * Timestamp::DAY_MS;
/// Longest a bump lasts: 7 days.
pub const BUMP_MAX_LIFETIME_MS: u64 = 7 * Timestamp::DAY_MS;
/// Photos per listing.
pub const MAX_PHOTOS: usize = 8;

/// Offer or request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Intent {
    /// The author offers something.
    Offer = 0,
    /// The author looks for something.
    Request = 1,
}

macro_rules! categories {
    ($($name:ident = $code:literal, $fr:literal, $en:literal;)*) => {
        /// A listing's category.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Category {
            $(
                #[doc = $en]
                $name = $code,
            )*
        }

        impl Category {
            /// Every category, in code order.
            pub const ALL: &'static [Category] = &[$(Category::$name),*];

            /// The category with this code.
            pub fn from_code(code: u64) -> Option<Category> {
                match code {
                    $($code => Some(Category::$name),)*
                    _ => None,
                }
            }

            /// The French label.
            pub fn label_fr(self) -> &'static str {
                match self {
                    $(Category::$name => $fr,)*
                }
            }

            /// The English label.
            pub fn label_en(self) -> &'static str {
                match self {
                    $(Category::$name => $en,)*
                }
            }
        }
    };
}

categories! {
    PropertySale = 1, "Immobilier : vente", "Property: sale";
    PropertyRental = 2, "Immobilier : location", "Property: rental";
    SharedFlat = 3, "Immobilier : colocation", "Property: shared flat";
    HolidayLet = 4, "Immobilier : location de vacances", "Property: holiday let";
    Jobs = 10, "Emploi", "Jobs";
    Services = 11, "Services", "Services";
    Childcare = 20, "Garde d'enfants", "Childcare";
    Furniture = 30, "Objets : mobilier", "Objects: furniture";
    Clothes = 31, "Objets : vêtements", "Objects: clothes";
    SecondHand = 32, "Objets : occasion", "Objects: second-hand";
    MutualAid = 40, "Entraide", "Mutual aid";
    Gifts = 41, "Dons", "Gifts";
}

/// A classified listing, or a new version of one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    /// `None` for a first version; otherwise the id of the first version, which must also be
    /// the record's only ref. The newest version of a series is in force.
    pub series: Option<RecordId>,
    /// Offer or request.
    pub intent: Intent,
    /// Category.
    pub category: Category,
    /// Title, 3..=120 bytes.
    pub title: String,
    /// Description, 0..=4000 bytes.
    pub description: String,
    /// Price in euro cents; `None` when not applicable (a request, a gift).
    pub price_cents: Option<u64>,
    /// Town, 1..=80 bytes.
    pub town: String,
    /// Postcode.
    pub postcode: String,
    /// The postcode's centre.
    pub position: Position,
    /// Photo blob hashes, at most 8.
    pub photos: Vec<BlobHash>,
}

impl Listing {
    /// The id naming the listing across versions: the series, or for a first version the
    /// record's own id.
    pub fn series_or(&self, own_id: RecordId) -> RecordId {
        self.series.unwrap_or(own_id)
    }
}

/// Most a price may be: ten million euros.
pub const MAX_PRICE_CENTS: u64 = 1_000_000_000;

impl BodyFields for Listing {
    fn to_value(&self) -> Value {
        let [lat, lon] = self.position.values();
        Value::Array(vec![
            put::opt_id(&self.series),
            put::uint(self.intent as u64),
            put::uint(self.category as u64),
            put::text(&self.title),
            put::text(&self.description),
            put::opt_uint(self.price_cents),
            put::text(&self.town),
            put::text(&self.postcode),
            lat,
            lon,
            Value::Array(self.photos.iter().map(|h| put::bytes(&h.0)).collect()),
        ])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 11, "listing")?;
        let series = f.opt_record_id("series")?;
        let intent = if f.uint_in("intent", 0, 1)? == 0 {
            Intent::Offer
        } else {
            Intent::Request
        };
        let code = f.uint("category")?;
        let category = Category::from_code(code).ok_or(DecodeError::OutOfRange {
            field: "category",
            value: code as i128,
        })?;
        let title = f.text("title", 3, 120)?;
        let description = f.text("description", 0, 4000)?;
        let price_cents = f.opt_uint("price_cents")?;
        if let Some(price) = price_cents.filter(|p| *p > MAX_PRICE_CENTS) {
            return Err(DecodeError::OutOfRange {
                field: "price_cents",
                value: price as i128,
            });
        }
        Ok(Listing {
            series,
            intent,
            category,
            title,
            description,
            price_cents,
            town: f.text("town", 1, 80)?,
            postcode: f.postcode("postcode")?,
            position: Position::read(&mut f)?,
            photos: f.blob_hashes("photos", MAX_PHOTOS)?,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::expiry_within(header, LISTING_MAX_LIFETIME_MS)
    }
}

/// The author withdraws a listing (every version).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListingTombstone {
    /// The listing's series id; also the record's only ref.
    pub series: RecordId,
    /// Why, 0..=500 bytes.
    pub reason: String,
}

impl BodyFields for ListingTombstone {
    fn to_value(&self) -> Value {
        Value::Array(vec![put::id(&self.series), put::text(&self.reason)])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 2, "listing_tombstone")?;
        Ok(ListingTombstone {
            series: f.record_id("series")?,
            reason: f.text("reason", 0, 500)?,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::no_expiry(header)
    }
}

/// A node raises a listing to the top until the record expires. Author: the node's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bump {
    /// The listing's series id; also the record's only ref.
    pub series: RecordId,
}

impl BodyFields for Bump {
    fn to_value(&self) -> Value {
        Value::Array(vec![put::id(&self.series)])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 1, "bump")?;
        Ok(Bump {
            series: f.record_id("series")?,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::expiry_within(header, BUMP_MAX_LIFETIME_MS)
    }
}
