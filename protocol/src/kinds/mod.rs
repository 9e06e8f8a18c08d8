//! Every record kind: its number, its body fields in order, and its context-free rules.
//!
//! A body is a CBOR array whose fields have fixed positions. Each kind's module gives the
//! fields, their types and their limits; docs/PROTOCOL.md states the same field by field.

mod identity;
mod listing;
mod moderation;
pub mod network;
mod site;
mod transaction;

pub use identity::{
    join_introduction_message, key_binding_message, Erasure, Join, KeyRecovery, KeyRotation,
    Profile, Relation, Sponsorship, SponsorshipWithdrawal,
};
pub use listing::{
    Bump, Category, Intent, Listing, ListingTombstone, LISTING_MAX_LIFETIME_MS, MAX_PHOTOS,
    MAX_PRICE_CENTS,
};
pub use moderation::{
    appointment_message, AppointmentAction, Complaint, ComplaintReason, ComplaintSubject,
    LabelAction, LabelRetraction, ModerationLabel, ModeratorAppointment,
};
pub use network::{node_operator_message, Charter, NodeAnnouncement, NodePolicy, PolicyLevel};
pub use site::{SiteAddress, SiteAddressError};
pub use transaction::{
    Outcome, TransactionAnswer, TransactionClose, TransactionMessage, TransactionOpen,
};

use crate::cbor::Value;
use crate::error::DecodeError;
use crate::record::Header;

/// Position information a coarse location carries: a postcode centre in microdegrees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Position {
    /// Latitude in millionths of a degree, −90e6..=90e6.
    pub lat_microdeg: i64,
    /// Longitude in millionths of a degree, −180e6..=180e6.
    pub lon_microdeg: i64,
}

impl Position {
    pub(crate) fn read(f: &mut crate::fields::Fields<'_>) -> Result<Position, DecodeError> {
        Ok(Position {
            lat_microdeg: f.int_in("lat_microdeg", -90_000_000, 90_000_000)?,
            lon_microdeg: f.int_in("lon_microdeg", -180_000_000, 180_000_000)?,
        })
    }

    pub(crate) fn values(&self) -> [Value; 2] {
        [Value::int(self.lat_microdeg), Value::int(self.lon_microdeg)]
    }
}

/// What one kind's body implements.
pub(crate) trait BodyFields: Sized {
    /// The body as a CBOR array.
    fn to_value(&self) -> Value;
    /// Reads the body, checking each field's type and limits.
    fn from_value(value: &Value) -> Result<Self, DecodeError>;
    /// Rules that tie the body to its own header (expiry, refs, author).
    fn check_header(&self, _header: &Header) -> Result<(), DecodeError> {
        Ok(())
    }
}

macro_rules! kinds {
    ($($name:ident = $code:literal, $family:ident;)*) => {
        /// The kind of a record, as the header's `kind` number.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind {
            $(
                #[doc = concat!("Kind ", stringify!($code), ": see [`", stringify!($name), "`].")]
                $name = $code,
            )*
        }

        impl Kind {
            /// Every kind, in number order.
            pub const ALL: &'static [Kind] = &[$(Kind::$name),*];

            /// The kind with this number.
            pub fn from_code(code: u64) -> Option<Kind> {
                match code {
                    $($code => Some(Kind::$name),)*
                    _ => None,
                }
            }

            /// The gossip family the kind travels in.
            pub fn family(self) -> Family {
                match self {
                    $(Kind::$name => Family::$family,)*
                }
            }

            /// Whether an erasure removes this kind's body. Kinds that carry personal data
            /// are erasable; the structural kinds that membership and moderation of other
            /// people depend on are not.
            pub fn is_erasable(self) -> bool {
                matches!(
                    self,
                    Kind::Profile
                        | Kind::Listing
                        | Kind::ListingTombstone
                        | Kind::TransactionOpen
                        | Kind::TransactionAnswer
                        | Kind::TransactionMessage
                        | Kind::TransactionClose
                        | Kind::Complaint
                )
            }

            /// The kind's name, as used in APIs and vectors.
            pub fn name(self) -> &'static str {
                match self {
                    $(Kind::$name => stringify!($name),)*
                }
            }
        }

        /// A decoded body of any kind.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Body {
            $(
                #[doc = concat!("A [`", stringify!($name), "`] body.")]
                $name($name),
            )*
        }

        impl Body {
            /// The body's kind.
            pub fn kind(&self) -> Kind {
                match self {
                    $(Body::$name(_) => Kind::$name,)*
                }
            }

            /// The body as a CBOR array.
            pub fn to_value(&self) -> Value {
                match self {
                    $(Body::$name(b) => b.to_value(),)*
                }
            }

            /// Reads a body of `kind`.
            pub fn from_value(kind: Kind, value: &Value) -> Result<Body, DecodeError> {
                match kind {
                    $(Kind::$name => $name::from_value(value).map(Body::$name),)*
                }
            }

            /// Checks the rules that tie the body to its header.
            pub fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
                match self {
                    $(Body::$name(b) => b.check_header(header),)*
                }
            }
        }

        $(
            impl From<$name> for Body {
                fn from(body: $name) -> Body {
                    Body::$name(body)
                }
            }
        )*
    };
}

kinds! {
    Charter = 1, Network;
    NodeAnnouncement = 2, Network;
    Profile = 3, Membership;
    Join = 4, Membership;
    Sponsorship = 5, Membership;
    SponsorshipWithdrawal = 6, Membership;
    Listing = 7, Listings;
    ListingTombstone = 8, Listings;
    TransactionOpen = 9, Transactions;
    TransactionAnswer = 10, Transactions;
    TransactionMessage = 11, Transactions;
    TransactionClose = 12, Transactions;
    Complaint = 13, Moderation;
    ModeratorAppointment = 14, Moderation;
    ModerationLabel = 15, Moderation;
    LabelRetraction = 16, Moderation;
    NodePolicy = 17, Network;
    Bump = 18, Listings;
    Erasure = 19, Membership;
    KeyRotation = 20, Membership;
    KeyRecovery = 21, Membership;
}

/// Record families: each has its own gossip topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// Charter, node announcements, node policies.
    Network,
    /// Profiles, joins, sponsorships, erasures, key changes.
    Membership,
    /// Listings, tombstones, bumps.
    Listings,
    /// Transactions and their messages.
    Transactions,
    /// Complaints, appointments, labels.
    Moderation,
}

impl Family {
    /// The family's name as used in topic strings.
    pub fn name(self) -> &'static str {
        match self {
            Family::Network => "network",
            Family::Membership => "membership",
            Family::Listings => "listings",
            Family::Transactions => "transactions",
            Family::Moderation => "moderation",
        }
    }
}

/// Shared header rules used by several kinds.
pub(crate) mod header_rules {
    use super::*;

    pub fn no_expiry(header: &Header) -> Result<(), DecodeError> {
        match header.expires {
            None => Ok(()),
            Some(_) => Err(DecodeError::Inconsistent("this kind has no expiry")),
        }
    }

    /// Expiry required, after creation, at most `max_ms` later.
    pub fn expiry_within(header: &Header, max_ms: u64) -> Result<(), DecodeError> {
        let Some(expires) = header.expires else {
            return Err(DecodeError::Inconsistent("this kind requires an expiry"));
        };
        if expires <= header.created || expires.0 - header.created.0 > max_ms {
            return Err(DecodeError::Inconsistent(
                "expiry must be after creation and within the kind's limit",
            ));
        }
        Ok(())
    }

    /// The header's refs are the ids the body names, sorted ascending without duplicates;
    /// for a body that [`Body::links_keys`], they may also name key bindings.
    pub fn refs(header: &Header, body: &Body) -> Result<(), DecodeError> {
        let declared = body.declared_refs();
        let matches = if body.links_keys() {
            declared
                .iter()
                .all(|id| header.refs.binary_search(id).is_ok())
        } else {
            header.refs == declared
        };
        if matches {
            Ok(())
        } else {
            Err(DecodeError::Inconsistent(
                "refs must list the records the body names (and, where allowed, key bindings)",
            ))
        }
    }
}

impl Body {
    /// The refs a record with this body must carry, strictly ascending.
    pub fn declared_refs(&self) -> Vec<crate::ids::RecordId> {
        let mut refs = match self {
            Body::SponsorshipWithdrawal(b) => vec![b.sponsorship],
            Body::Listing(b) => b.series.into_iter().collect(),
            Body::ListingTombstone(b) => vec![b.series],
            Body::Bump(b) => vec![b.series],
            Body::TransactionOpen(b) => vec![b.listing],
            Body::TransactionAnswer(b) => vec![b.transaction],
            Body::TransactionMessage(b) => vec![b.transaction],
            Body::TransactionClose(b) => vec![b.transaction],
            Body::Complaint(b) => match b.subject {
                ComplaintSubject::Listing(id) | ComplaintSubject::Transaction(id) => vec![id],
                ComplaintSubject::Member(_) => vec![],
            },
            Body::ModerationLabel(b) => {
                let mut refs: Vec<_> = b.complaint.into_iter().collect();
                if b.action.targets_record() {
                    refs.push(crate::ids::RecordId(b.target));
                }
                refs
            }
            Body::LabelRetraction(b) => vec![b.label],
            Body::Join(b) => vec![b.introduction],
            Body::KeyRecovery(b) => b.sponsorships.clone(),
            Body::Charter(_)
            | Body::NodeAnnouncement(_)
            | Body::Profile(_)
            | Body::Sponsorship(_)
            | Body::ModeratorAppointment(_)
            | Body::NodePolicy(_)
            | Body::Erasure(_)
            | Body::KeyRotation(_) => vec![],
        };
        refs.sort();
        refs.dedup();
        refs
    }

    /// Whether the header's refs may name, beyond the declared refs, key bindings
    /// (KeyRotation, KeyRecovery) that link the author to the keys the acceptance rules
    /// compare it with: docs/PROTOCOL.md, 7.1 "Refs" and 8.6 "Linked keys". These are the
    /// bodies whose rules ask whether two keys are one person's, or that act on every key
    /// of their author (an erasure).
    pub fn links_keys(&self) -> bool {
        match self {
            Body::Listing(b) => b.series.is_some(),
            Body::SponsorshipWithdrawal(_)
            | Body::ListingTombstone(_)
            | Body::TransactionAnswer(_)
            | Body::TransactionMessage(_)
            | Body::TransactionClose(_)
            | Body::Erasure(_)
            | Body::KeyRecovery(_) => true,
            Body::Charter(_)
            | Body::NodeAnnouncement(_)
            | Body::Profile(_)
            | Body::Join(_)
            | Body::Sponsorship(_)
            | Body::TransactionOpen(_)
            | Body::Complaint(_)
            | Body::ModeratorAppointment(_)
            | Body::ModerationLabel(_)
            | Body::LabelRetraction(_)
            | Body::NodePolicy(_)
            | Body::Bump(_)
            | Body::KeyRotation(_) => false,
        }
    }
}
