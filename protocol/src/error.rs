//! Why wire bytes are not a well-formed record: one typed reason per failure.
//!
//! These are context-free failures, found without looking at any other record. Failures
//! that need the state are [`crate::validate::Invalid`].

use thiserror::Error;

use crate::cbor::CborError;
use crate::ids::NetworkId;

/// Why bytes are not a well-formed record of this network.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The whole record is larger than the protocol allows.
    #[error("record is {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// Bytes received.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not CBOR of the supported subset.
    #[error("not valid CBOR: {0}")]
    Cbor(CborError),
    /// Bytes follow the record.
    #[error("{0} trailing bytes after the record")]
    TrailingBytes(usize),
    /// Valid CBOR whose re-encoding differs: not in deterministic form.
    #[error("not in deterministic CBOR form ({part})")]
    NonCanonical {
        /// `record`, `header` or `body`.
        part: &'static str,
    },
    /// A header version this implementation does not know.
    #[error("unknown record version {0}")]
    UnknownVersion(u64),
    /// A record kind this implementation does not know.
    #[error("unknown record kind {0}")]
    UnknownKind(u64),
    /// The record belongs to another network.
    #[error("record is for network {found}, not {expected}")]
    WrongNetwork {
        /// This node's network.
        expected: NetworkId,
        /// The record's network.
        found: NetworkId,
    },
    /// The header's body length differs from the body's.
    #[error("body is {actual} bytes but the header says {declared}")]
    BodyLengthMismatch {
        /// What the header says.
        declared: u64,
        /// What arrived.
        actual: u64,
    },
    /// The header's body hash differs from the body's.
    #[error("body hash does not match the header")]
    BodyHashMismatch,
    /// An array with the wrong number of items.
    #[error("{what} must have {expected} fields, found {found}")]
    WrongArity {
        /// What the array is.
        what: &'static str,
        /// Expected count.
        expected: usize,
        /// Found count.
        found: usize,
    },
    /// A field of the wrong CBOR type or shape.
    #[error("field {field} must be {expected}")]
    Malformed {
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// A text field over its byte limit.
    #[error("field {field} is {len} bytes, more than the {max} allowed")]
    FieldTooLong {
        /// The field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A text field under its minimum length.
    #[error("field {field} is {len} bytes, fewer than the {min} required")]
    FieldTooShort {
        /// The field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// A text field containing a control character other than line feed.
    #[error("field {field} contains a control character")]
    ControlCharacter {
        /// The field.
        field: &'static str,
    },
    /// An array with more items than allowed.
    #[error("field {field} has {count} items, more than the {max} allowed")]
    TooMany {
        /// The field.
        field: &'static str,
        /// Items found.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A number outside its allowed range.
    #[error("field {field} has the out-of-range value {value}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value found.
        value: i128,
    },
    /// A list that must be strictly ascending is not.
    #[error("field {field} must be strictly ascending with no duplicates")]
    NotSorted {
        /// The field.
        field: &'static str,
    },
    /// A rule that ties fields of one record together is broken.
    #[error("inconsistent record: {0}")]
    Inconsistent(&'static str),
}

impl DecodeError {
    /// A short stable code for APIs and test vectors, such as `non_canonical`.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::Cbor(_) => "invalid_cbor",
            DecodeError::TrailingBytes(_) => "trailing_bytes",
            DecodeError::NonCanonical { .. } => "non_canonical",
            DecodeError::UnknownVersion(_) => "unknown_version",
            DecodeError::UnknownKind(_) => "unknown_kind",
            DecodeError::WrongNetwork { .. } => "wrong_network",
            DecodeError::BodyLengthMismatch { .. } => "body_length_mismatch",
            DecodeError::BodyHashMismatch => "body_hash_mismatch",
            DecodeError::WrongArity { .. } => "wrong_arity",
            DecodeError::Malformed { .. } => "malformed_field",
            DecodeError::FieldTooLong { .. } => "field_too_long",
            DecodeError::FieldTooShort { .. } => "field_too_short",
            DecodeError::ControlCharacter { .. } => "control_character",
            DecodeError::TooMany { .. } => "too_many_items",
            DecodeError::OutOfRange { .. } => "out_of_range",
            DecodeError::NotSorted { .. } => "not_sorted",
            DecodeError::Inconsistent(_) => "inconsistent",
        }
    }
}
