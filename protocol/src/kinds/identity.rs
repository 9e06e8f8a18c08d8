//! Membership kinds: profile, join, sponsorship and its withdrawal, erasure, key changes.

use super::{header_rules, BodyFields, Position};
use crate::cbor::Value;
use crate::error::DecodeError;
use crate::fields::{put, Fields};
use crate::ids::{NetworkId, PublicKey, RecordId, Timestamp};
use crate::record::Header;
use crate::signature::Signature;

/// Longest a sponsorship may stay open before it is used: 365 days.
pub const SPONSORSHIP_MAX_LIFETIME_MS: u64 = 365 * Timestamp::DAY_MS;

/// A member's public profile. The newest per author is in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Display name, 1..=80 bytes.
    pub display_name: String,
    /// The key of the member's home node.
    pub home_node: PublicKey,
    /// Town, 1..=80 bytes.
    pub town: String,
    /// Postcode.
    pub postcode: String,
    /// The postcode's centre, never an exact address.
    pub position: Position,
    /// A short presentation, 0..=1000 bytes.
    pub about: String,
}

impl BodyFields for Profile {
    fn to_value(&self) -> Value {
        let [lat, lon] = self.position.values();
        Value::Array(vec![
            put::text(&self.display_name),
            put::key(&self.home_node),
            put::text(&self.town),
            put::text(&self.postcode),
            lat,
            lon,
            put::text(&self.about),
        ])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 7, "profile")?;
        Ok(Profile {
            display_name: f.text("display_name", 1, 80)?,
            home_node: f.key("home_node")?,
            town: f.text("town", 1, 80)?,
            postcode: f.postcode("postcode")?,
            position: Position::read(&mut f)?,
            about: f.text("about", 0, 1000)?,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::no_expiry(header)
    }
}

/// Domain tag of the statement by which a node introduces a candidate.
pub const JOIN_INTRODUCTION_TAG: &[u8] = b"maillon/join-introduction/v1\0";

/// The bytes a node signs to introduce `candidate`'s join created at `created`.
pub fn join_introduction_message(
    network: &NetworkId,
    candidate: &PublicKey,
    created: Timestamp,
) -> Vec<u8> {
    [
        JOIN_INTRODUCTION_TAG,
        &network.0,
        &candidate.0,
        &created.0.to_be_bytes(),
    ]
    .concat()
}

/// A candidate asks to join and accepts the charter's rules, introduced by the node they
/// joined through: the node co-signs, so that its policy and daily quota apply and every
/// join can be traced to a node (docs/PROTOCOL.md 7.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Join {
    /// SHA-256 of the charter's rules text: what the candidate accepted.
    pub accepted_rules_hash: [u8; 32],
    /// The introducing node's NodeAnnouncement; also the only ref.
    pub introduction: RecordId,
    /// That announcement's author's signature over [`join_introduction_message`].
    pub introducer_signature: Signature,
}

impl BodyFields for Join {
    fn to_value(&self) -> Value {
        Value::Array(vec![
            put::bytes(&self.accepted_rules_hash),
            put::id(&self.introduction),
            put::bytes(&self.introducer_signature.0),
        ])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 3, "join")?;
        Ok(Join {
            accepted_rules_hash: f.bytes32("accepted_rules_hash")?,
            introduction: f.record_id("introduction")?,
            introducer_signature: f.signature("introducer_signature")?,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::no_expiry(header)
    }
}

/// How a sponsor knows the candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Relation {
    /// Family.
    Family = 0,
    /// Friend.
    Friend = 1,
    /// Neighbour.
    Neighbour = 2,
    /// Colleague.
    Colleague = 3,
    /// Association, parish or club.
    Association = 4,
    /// Something else, told in the note.
    Other = 5,
}

impl Relation {
    /// Every relation, in code order.
    pub const ALL: [Relation; 6] = [
        Relation::Family,
        Relation::Friend,
        Relation::Neighbour,
        Relation::Colleague,
        Relation::Association,
        Relation::Other,
    ];
}

/// "I know this person in real life." Expires if not used in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sponsorship {
    /// The candidate's key.
    pub candidate: PublicKey,
    /// How they know each other.
    pub relation: Relation,
    /// A note, 0..=500 bytes.
    pub note: String,
}

impl BodyFields for Sponsorship {
    fn to_value(&self) -> Value {
        Value::Array(vec![
            put::key(&self.candidate),
            put::uint(self.relation as u64),
            put::text(&self.note),
        ])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 3, "sponsorship")?;
        Ok(Sponsorship {
            candidate: f.key("candidate")?,
            relation: Relation::ALL[f.uint_in("relation", 0, 5)? as usize],
            note: f.text("note", 0, 500)?,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::expiry_within(header, SPONSORSHIP_MAX_LIFETIME_MS)?;
        if self.candidate == header.author {
            return Err(DecodeError::Inconsistent("nobody can sponsor themselves"));
        }
        Ok(())
    }
}

/// The sponsor withdraws a sponsorship.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SponsorshipWithdrawal {
    /// The sponsorship withdrawn; also the record's only ref.
    pub sponsorship: RecordId,
    /// Why, 0..=500 bytes.
    pub reason: String,
}

impl BodyFields for SponsorshipWithdrawal {
    fn to_value(&self) -> Value {
        Value::Array(vec![put::id(&self.sponsorship), put::text(&self.reason)])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 2, "sponsorship_withdrawal")?;
        Ok(SponsorshipWithdrawal {
            sponsorship: f.record_id("sponsorship")?,
            reason: f.text("reason", 0, 500)?,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::no_expiry(header)
    }
}

/// The author erases their personal data: every node drops the bodies of the author's
/// records created up to this record's time and keeps only the signed headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erasure {
    /// An optional reason, 0..=500 bytes.
    pub reason: String,
}

impl BodyFields for Erasure {
    fn to_value(&self) -> Value {
        Value::Array(vec![put::text(&self.reason)])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 1, "erasure")?;
        Ok(Erasure {
            reason: f.text("reason", 0, 500)?,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::no_expiry(header)
    }
}

/// Domain tag of the statement binding a new key to an identity.
pub const KEY_BINDING_TAG: &[u8] = b"maillon/key-binding/v1\0";

/// The bytes signed to bind `new_key` to the identity held by `old_key`. The new key signs
/// them in a rotation (proof of possession); sponsors sign them in a recovery.
pub fn key_binding_message(
    network: &NetworkId,
    old_key: &PublicKey,
    new_key: &PublicKey,
) -> Vec<u8> {
    [KEY_BINDING_TAG, &network.0, &old_key.0, &new_key.0].concat()
}

/// The holder of a key moves their identity to a new key. Author: the old key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRotation {
    /// The new key.
    pub new_key: PublicKey,
    /// The new key's signature over [`key_binding_message`].
    pub new_key_signature: Signature,
}

impl BodyFields for KeyRotation {
    fn to_value(&self) -> Value {
        Value::Array(vec![
            put::key(&self.new_key),
            put::bytes(&self.new_key_signature.0),
        ])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 2, "key_rotation")?;
        Ok(KeyRotation {
            new_key: f.key("new_key")?,
            new_key_signature: f.signature("new_key_signature")?,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::no_expiry(header)?;
        if self.new_key == header.author {
            return Err(DecodeError::Inconsistent(
                "the new key must differ from the old one",
            ));
        }
        Ok(())
    }
}

/// Sponsors bind a lost identity to a new key. Author: the new key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecovery {
    /// The key whose passphrase was lost.
    pub old_key: PublicKey,
    /// The co-signers' sponsorships of the identity, ids ascending, 1..=16; also the refs.
    pub sponsorships: Vec<RecordId>,
    /// Sponsors' signatures over [`key_binding_message`], 1..=16, keys ascending.
    pub sponsor_signatures: Vec<(PublicKey, Signature)>,
}

impl BodyFields for KeyRecovery {
    fn to_value(&self) -> Value {
        Value::Array(vec![
            put::key(&self.old_key),
            Value::Array(self.sponsorships.iter().map(put::id).collect()),
            put::cosignatures(&self.sponsor_signatures),
        ])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 3, "key_recovery")?;
        let old_key = f.key("old_key")?;
        let sponsorships: Vec<RecordId> = f
            .sorted_keys("sponsorships", 16)?
            .into_iter()
            .map(RecordId)
            .collect();
        let sponsor_signatures = f.cosignatures("sponsor_signatures", 16)?;
        if sponsor_signatures.is_empty() {
            return Err(DecodeError::FieldTooShort {
                field: "sponsor_signatures",
                len: 0,
                min: 1,
            });
        }
        if sponsorships.len() != sponsor_signatures.len() {
            return Err(DecodeError::Inconsistent(
                "one sponsorship per sponsor signature",
            ));
        }
        Ok(KeyRecovery {
            old_key,
            sponsorships,
            sponsor_signatures,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::no_expiry(header)?;
        if self.old_key == header.author {
            return Err(DecodeError::Inconsistent(
                "the new key must differ from the old one",
            ));
        }
        Ok(())
    }
}
