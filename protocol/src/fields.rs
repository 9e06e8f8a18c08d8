//! Typed reading and writing of the fixed-position CBOR arrays that headers and bodies use.

use crate::cbor::Value;
use crate::error::DecodeError;
use crate::ids::{BlobHash, PublicKey, RecordId};
use crate::signature::Signature;

/// Reads the fields of one CBOR array in order; every error names the field.
pub(crate) struct Fields<'a> {
    items: &'a [Value],
    next: usize,
}

impl<'a> Fields<'a> {
    /// Expects `value` to be an array of exactly `arity` items.
    pub fn new(value: &'a Value, arity: usize, what: &'static str) -> Result<Self, DecodeError> {
        match value {
            Value::Array(items) if items.len() == arity => Ok(Fields { items, next: 0 }),
            Value::Array(items) => Err(DecodeError::WrongArity {
                what,
                expected: arity,
                found: items.len(),
            }),
            _ => Err(DecodeError::Malformed {
                field: what,
                expected: "array",
            }),
        }
    }

    fn next(&mut self) -> &'a Value {
        let value = &self.items[self.next];
        self.next += 1;
        value
    }

    /// Passes over one field read by other means.
    pub fn skip(&mut self) {
        self.next += 1;
    }

    pub fn uint(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        match self.next() {
            Value::Unsigned(n) => Ok(*n),
            _ => Err(DecodeError::Malformed {
                field,
                expected: "unsigned integer",
            }),
        }
    }

    /// An unsigned integer in `min..=max`.
    pub fn uint_in(&mut self, field: &'static str, min: u64, max: u64) -> Result<u64, DecodeError> {
        let n = self.uint(field)?;
        if n < min || n > max {
            return Err(DecodeError::OutOfRange {
                field,
                value: n as i128,
            });
        }
        Ok(n)
    }

    pub fn opt_uint(&mut self, field: &'static str) -> Result<Option<u64>, DecodeError> {
        match self.next() {
            Value::Null => Ok(None),
            Value::Unsigned(n) => Ok(Some(*n)),
            _ => Err(DecodeError::Malformed {
                field,
                expected: "unsigned integer or null",
            }),
        }
    }

    /// A signed integer in `min..=max`.
    pub fn int_in(&mut self, field: &'static str, min: i64, max: i64) -> Result<i64, DecodeError> {
        let n: i128 = match self.next() {
            Value::Unsigned(n) => *n as i128,
            Value::Negative(n) => -1 - *n as i128,
            _ => {
                return Err(DecodeError::Malformed {
                    field,
                    expected: "integer",
                })
            }
        };
        if n < min as i128 || n > max as i128 {
            return Err(DecodeError::OutOfRange { field, value: n });
        }
        Ok(n as i64)
    }

    fn fixed<const N: usize>(value: &Value, field: &'static str) -> Result<[u8; N], DecodeError> {
        match value {
            Value::Bytes(b) if b.len() == N => {
                let mut out = [0u8; N];
                out.copy_from_slice(b);
                Ok(out)
            }
            _ => Err(DecodeError::Malformed {
                field,
                expected: if N == 32 {
                    "32-byte string"
                } else {
                    "64-byte string"
                },
            }),
        }
    }

    /// A byte string of any length (the caller bounds the whole input).
    pub fn byte_string(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        match self.next() {
            Value::Bytes(b) => Ok(b),
            _ => Err(DecodeError::Malformed {
                field,
                expected: "byte string",
            }),
        }
    }

    pub fn bytes32(&mut self, field: &'static str) -> Result<[u8; 32], DecodeError> {
        Self::fixed(self.next(), field)
    }

    pub fn key(&mut self, field: &'static str) -> Result<PublicKey, DecodeError> {
        self.bytes32(field).map(PublicKey)
    }

    pub fn record_id(&mut self, field: &'static str) -> Result<RecordId, DecodeError> {
        self.bytes32(field).map(RecordId)
    }

    pub fn opt_record_id(&mut self, field: &'static str) -> Result<Option<RecordId>, DecodeError> {
        match self.items[self.next] {
            Value::Null => {
                self.next += 1;
                Ok(None)
            }
            _ => self.record_id(field).map(Some),
        }
    }

    pub fn signature(&mut self, field: &'static str) -> Result<Signature, DecodeError> {
        Self::fixed(self.next(), field).map(Signature)
    }

    /// A text string of `min..=max` bytes with no control character but line feed.
    pub fn text(
        &mut self,
        field: &'static str,
        min: usize,
        max: usize,
    ) -> Result<String, DecodeError> {
        let Value::Text(text) = self.next() else {
            return Err(DecodeError::Malformed {
                field,
                expected: "text string",
            });
        };
        check_text(field, text, min, max)?;
        Ok(text.clone())
    }

    /// Exactly five ASCII digits: a French postcode.
    pub fn postcode(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let text = self.text(field, 5, 5)?;
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DecodeError::Malformed {
                field,
                expected: "five ASCII digits",
            });
        }
        Ok(text)
    }

    /// An array of at most `max` items, read by `item`.
    pub fn list<T>(
        &mut self,
        field: &'static str,
        max: usize,
        item: impl Fn(&'a Value) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let Value::Array(items) = self.next() else {
            return Err(DecodeError::Malformed {
                field,
                expected: "array",
            });
        };
        if items.len() > max {
            return Err(DecodeError::TooMany {
                field,
                count: items.len(),
                max,
            });
        }
        items.iter().map(item).collect()
    }

    /// An array of at most `max` 32-byte strings in strictly ascending order.
    pub fn sorted_keys(
        &mut self,
        field: &'static str,
        max: usize,
    ) -> Result<Vec<[u8; 32]>, DecodeError> {
        let keys = self.list(field, max, |v| Self::fixed::<32>(v, field))?;
        if keys.windows(2).any(|w| w[0] >= w[1]) {
            return Err(DecodeError::NotSorted { field });
        }
        Ok(keys)
    }

    /// Co-signatures: `[[key, signature], …]`, at most `max`, keys strictly ascending.
    pub fn cosignatures(
        &mut self,
        field: &'static str,
        max: usize,
    ) -> Result<Vec<(PublicKey, Signature)>, DecodeError> {
        let pairs = self.list(field, max, |v| {
            let mut pair = Fields::new(v, 2, field)?;
            Ok((pair.key(field)?, pair.signature(field)?))
        })?;
        if pairs.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(DecodeError::NotSorted { field });
        }
        Ok(pairs)
    }

    pub fn blob_hashes(
        &mut self,
        field: &'static str,
        max: usize,
    ) -> Result<Vec<BlobHash>, DecodeError> {
        self.list(field, max, |v| Self::fixed::<32>(v, field).map(BlobHash))
    }
}

/// Checks a text field's byte length and characters.
pub(crate) fn check_text(
    field: &'static str,
    text: &str,
    min: usize,
    max: usize,
) -> Result<(), DecodeError> {
    if text.len() > max {
        return Err(DecodeError::FieldTooLong {
            field,
            len: text.len(),
            max,
        });
    }
    if text.len() < min {
        return Err(DecodeError::FieldTooShort {
            field,
            len: text.len(),
            min,
        });
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(DecodeError::ControlCharacter { field });
    }
    Ok(())
}

/// Builders for the CBOR values of common field types.
pub(crate) mod put {
    use super::*;

    pub fn bytes(b: &[u8]) -> Value {
        Value::Bytes(b.to_vec())
    }
    pub fn key(k: &PublicKey) -> Value {
        bytes(&k.0)
    }
    pub fn id(r: &RecordId) -> Value {
        bytes(&r.0)
    }
    pub fn opt_id(r: &Option<RecordId>) -> Value {
        r.as_ref().map_or(Value::Null, id)
    }
    pub fn text(t: &str) -> Value {
        Value::Text(t.to_string())
    }
    pub fn uint(n: u64) -> Value {
        Value::Unsigned(n)
    }
    pub fn opt_uint(n: Option<u64>) -> Value {
        n.map_or(Value::Null, Value::Unsigned)
    }
    pub fn keys(keys: &[PublicKey]) -> Value {
        Value::Array(keys.iter().map(key).collect())
    }
    pub fn cosignatures(pairs: &[(PublicKey, Signature)]) -> Value {
        Value::Array(
            pairs
                .iter()
                .map(|(k, s)| Value::Array(vec![key(k), bytes(&s.0)]))
                .collect(),
        )
    }
}
