//! A small deterministic CBOR codec (RFC 8949 §4.2.1) for the subset the protocol uses.
//!
//! Supported: unsigned and negative integers, byte strings, text strings, arrays, `false`,
//! `true` and `null`. Maps, tags, floats and indefinite lengths are refused: the protocol
//! never needs them and each one is a source of ambiguous encodings.
//!
//! The decoder is lenient about integer width on purpose: the record layer re-encodes what
//! it decoded and compares bytes, which is how non-canonical input is detected.

use thiserror::Error;

/// Deepest nesting of arrays the decoder accepts.
pub const MAX_DEPTH: usize = 8;

/// A decoded CBOR data item of the supported subset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// Major type 0.
    Unsigned(u64),
    /// Major type 1: the value is `-1 - n`.
    Negative(u64),
    /// Major type 2.
    Bytes(Vec<u8>),
    /// Major type 3, valid UTF-8.
    Text(String),
    /// Major type 4, definite length.
    Array(Vec<Value>),
    /// Simple values 20 and 21.
    Bool(bool),
    /// Simple value 22.
    Null,
}

/// Why a byte string is not a CBOR item of the supported subset.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CborError {
    /// The input ended inside an item.
    #[error("input ends inside a CBOR item")]
    UnexpectedEnd,
    /// Bytes follow the top-level item.
    #[error("{0} trailing bytes after the CBOR item")]
    TrailingBytes(usize),
    /// A major type or additional information value outside the subset.
    #[error("unsupported CBOR item (initial byte 0x{0:02x})")]
    Unsupported(u8),
    /// A text string that is not valid UTF-8.
    #[error("text string is not valid UTF-8")]
    InvalidUtf8,
    /// Arrays nested deeper than [`MAX_DEPTH`].
    #[error("arrays nested deeper than {MAX_DEPTH}")]
    TooDeep,
    /// A length larger than the remaining input.
    #[error("declared length {0} exceeds the remaining input")]
    LengthTooLarge(u64),
}

impl Value {
    /// Encodes the item in deterministic form: shortest integer and length encodings.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the deterministic encoding of the item to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Value::Unsigned(n) => write_head(out, 0, *n),
            Value::Negative(n) => write_head(out, 1, *n),
            Value::Bytes(b) => {
                write_head(out, 2, b.len() as u64);
                out.extend_from_slice(b);
            }
            Value::Text(t) => {
                write_head(out, 3, t.len() as u64);
                out.extend_from_slice(t.as_bytes());
            }
            Value::Array(items) => {
                write_head(out, 4, items.len() as u64);
                for item in items {
                    item.encode_into(out);
                }
            }
            Value::Bool(false) => out.push(0xf4),
            Value::Bool(true) => out.push(0xf5),
            Value::Null => out.push(0xf6),
        }
    }

    /// Decodes exactly one item that fills `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Value, CborError> {
        let mut reader = Reader { bytes, pos: 0 };
        let value = reader.item(0)?;
        let rest = bytes.len() - reader.pos;
        if rest != 0 {
            return Err(CborError::TrailingBytes(rest));
        }
        Ok(value)
    }

    /// A signed integer as a CBOR item.
    pub fn int(n: i64) -> Value {
        if n >= 0 {
            Value::Unsigned(n as u64)
        } else {
            Value::Negative((-1 - n) as u64)
        }
    }

    /// An optional item, `null` when absent.
    pub fn option<T>(value: Option<T>, f: impl FnOnce(T) -> Value) -> Value {
        value.map_or(Value::Null, f)
    }
}

fn write_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= u8::MAX as u64 {
        out.extend_from_slice(&[m | 24, n as u8]);
    } else if n <= u16::MAX as u64 {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= u32::MAX as u64 {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], CborError> {
        let end = self.pos.checked_add(n).ok_or(CborError::UnexpectedEnd)?;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or(CborError::UnexpectedEnd)?;
        self.pos = end;
        Ok(slice)
    }

    fn head(&mut self, initial: u8) -> Result<u64, CborError> {
        let info = initial & 0x1f;
        Ok(match info {
            0..=23 => info as u64,
            24 => self.take(1)?[0] as u64,
            25 => u16::from_be_bytes(self.array()?) as u64,
            26 => u32::from_be_bytes(self.array()?) as u64,
            27 => u64::from_be_bytes(self.array()?),
            _ => return Err(CborError::Unsupported(initial)),
        })
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CborError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn length(&mut self, initial: u8) -> Result<usize, CborError> {
        let n = self.head(initial)?;
        let remaining = (self.bytes.len() - self.pos) as u64;
        if n > remaining {
            return Err(CborError::LengthTooLarge(n));
        }
        Ok(n as usize)
    }

    fn item(&mut self, depth: usize) -> Result<Value, CborError> {
        let initial = self.take(1)?[0];
        match initial >> 5 {
            0 => Ok(Value::Unsigned(self.head(initial)?)),
            1 => Ok(Value::Negative(self.head(initial)?)),
            2 => {
                let n = self.length(initial)?;
                Ok(Value::Bytes(self.take(n)?.to_vec()))
            }
            3 => {
                let n = self.length(initial)?;
                let raw = self.take(n)?.to_vec();
                String::from_utf8(raw)
                    .map(Value::Text)
                    .map_err(|_| CborError::InvalidUtf8)
            }
            4 => {
                if depth >= MAX_DEPTH {
                    return Err(CborError::TooDeep);
                }
                // Every item takes at least one byte, so the length is bounded by the input.
                let n = self.length(initial)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            7 => match initial {
                0xf4 => Ok(Value::Bool(false)),
                0xf5 => Ok(Value::Bool(true)),
                0xf6 => Ok(Value::Null),
                _ => Err(CborError::Unsupported(initial)),
            },
            _ => Err(CborError::Unsupported(initial)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8949_appendix_a_examples_round_trip() {
        let cases: &[(Value, &str)] = &[
            (Value::Unsigned(0), "00"),
            (Value::Unsigned(23), "17"),
            (Value::Unsigned(24), "1818"),
            (Value::Unsigned(1000), "1903e8"),
            (Value::Unsigned(1_000_000), "1a000f4240"),
            (Value::Unsigned(18446744073709551615), "1bffffffffffffffff"),
            (Value::int(-1), "20"),
            (Value::int(-1000), "3903e7"),
            (Value::Bytes(vec![1, 2, 3, 4]), "4401020304"),
            (Value::Text("ü".into()), "62c3bc"),
            (Value::Null, "f6"),
            (
                Value::Array(vec![
                    Value::Unsigned(1),
                    Value::Array(vec![Value::Unsigned(2)]),
                ]),
                "82018102",
            ),
        ];
        for (value, hex_str) in cases {
            assert_eq!(hex::encode(value.encode()), *hex_str, "{value:?}");
            assert_eq!(
                Value::decode(&hex::decode(hex_str).unwrap()).unwrap(),
                *value
            );
        }
    }

    #[test]
    fn non_shortest_integers_decode_but_reencode_differently() {
        let long = hex::decode("1900ff").unwrap();
        let value = Value::decode(&long).unwrap();
        assert_eq!(value, Value::Unsigned(255));
        assert_ne!(value.encode(), long);
    }

    #[test]
    fn refuses_what_is_outside_the_subset() {
        for (hex_str, expected) in [
            ("a0", CborError::Unsupported(0xa0)),
            ("9f01ff", CborError::Unsupported(0x9f)),
            ("f93c00", CborError::Unsupported(0xf9)),
            ("c11a514b67b0", CborError::Unsupported(0xc1)),
            ("0000", CborError::TrailingBytes(1)),
            ("5a00010000", CborError::LengthTooLarge(65536)),
            ("62c3", CborError::LengthTooLarge(2)),
            ("62fffe", CborError::InvalidUtf8),
            ("19", CborError::UnexpectedEnd),
        ] {
            assert_eq!(
                Value::decode(&hex::decode(hex_str).unwrap()),
                Err(expected),
                "{hex_str}"
            );
        }
    }

    #[test]
    fn refuses_deep_nesting() {
        let deep = vec![0x81u8; MAX_DEPTH + 1]
            .into_iter()
            .chain([0x00])
            .collect::<Vec<_>>();
        assert_eq!(Value::decode(&deep), Err(CborError::TooDeep));
        let ok = vec![0x81u8; MAX_DEPTH]
            .into_iter()
            .chain([0x00])
            .collect::<Vec<_>>();
        assert!(Value::decode(&ok).is_ok());
    }
}
