//! Transaction kinds: open, answer, message and close.

use super::{header_rules, BodyFields};
use crate::cbor::Value;
use crate::error::DecodeError;
use crate::fields::{put, Fields};
use crate::ids::RecordId;
use crate::record::Header;

/// A member opens a transaction on a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionOpen {
    /// The listing's series id; also the record's only ref.
    pub listing: RecordId,
    /// The first message, 1..=2000 bytes.
    pub message: String,
}

/// The listing's author answers a transaction: this stops the answer deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionAnswer {
    /// The transaction (its open record's id); also the only ref.
    pub transaction: RecordId,
    /// The answer, 1..=2000 bytes.
    pub message: String,
}

/// Either party writes in a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionMessage {
    /// The transaction; also the only ref.
    pub transaction: RecordId,
    /// The message, 1..=2000 bytes.
    pub message: String,
}

macro_rules! message_kind {
    ($name:ident, $kind:ident, $field:ident, $what:literal) => {
        impl BodyFields for $name {
            fn to_value(&self) -> Value {
                Value::Array(vec![put::id(&self.$field), put::text(&self.message)])
            }

            fn from_value(value: &Value) -> Result<Self, DecodeError> {
                let mut f = Fields::new(value, 2, $what)?;
                Ok($name {
                    $field: f.record_id(stringify!($field))?,
                    message: f.text("message", 1, 2000)?,
                })
            }

            fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
                header_rules::no_expiry(header)
            }
        }
    };
}

message_kind!(
    TransactionOpen,
    TransactionOpen,
    listing,
    "transaction_open"
);
message_kind!(
    TransactionAnswer,
    TransactionAnswer,
    transaction,
    "transaction_answer"
);
message_kind!(
    TransactionMessage,
    TransactionMessage,
    transaction,
    "transaction_message"
);

/// How a transaction ended, as one party says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The deal was done.
    Completed = 0,
    /// The parties did not agree.
    NoDeal = 1,
    /// A party called it off.
    Cancelled = 2,
    /// The author never answered.
    NoAnswer = 3,
}

impl Outcome {
    const ALL: [Outcome; 4] = [
        Outcome::Completed,
        Outcome::NoDeal,
        Outcome::Cancelled,
        Outcome::NoAnswer,
    ];
}

/// One party closes a transaction with an outcome and a short review of the other party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionClose {
    /// The transaction; also the only ref.
    pub transaction: RecordId,
    /// The outcome.
    pub outcome: Outcome,
    /// A rating of the other party, 1..=5, or none.
    pub rating: Option<u64>,
    /// The review, 0..=1000 bytes.
    pub review: String,
}

impl BodyFields for TransactionClose {
    fn to_value(&self) -> Value {
        Value::Array(vec![
            put::id(&self.transaction),
            put::uint(self.outcome as u64),
            put::opt_uint(self.rating),
            put::text(&self.review),
        ])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 4, "transaction_close")?;
        let transaction = f.record_id("transaction")?;
        let outcome = Outcome::ALL[f.uint_in("outcome", 0, 3)? as usize];
        let rating = f.opt_uint("rating")?;
        if let Some(r) = rating.filter(|r| !(1..=5).contains(r)) {
            return Err(DecodeError::OutOfRange {
                field: "rating",
                value: r as i128,
            });
        }
        Ok(TransactionClose {
            transaction,
            outcome,
            rating,
            review: f.text("review", 0, 1000)?,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::no_expiry(header)
    }
}
