//! Records: header plus body, their wire form, signing bytes, ids and strict decoding.
//!
//! Wire form: a CBOR array `[header, signature, body]` where `header` is the header array,
//! `signature` a 64-byte string and `body` a byte string holding the body's own CBOR, or
//! `null` once the body has been erased.

use crate::cbor::{CborError, Value};
use crate::error::DecodeError;
use crate::fields::{put, Fields};
use crate::ids::{BodyHash, NetworkId, PublicKey, RecordId, Timestamp};
use crate::kinds::{Body, Charter, Kind};
use crate::signature::{self, SecretKey, Signature, SignatureError};

/// The only header version this implementation knows.
pub const VERSION: u64 = 1;
/// Domain tag that starts the signing bytes.
pub const SIGNING_TAG: &[u8] = b"maillon/record/v1\0";
/// Largest record on the wire.
pub const MAX_RECORD_BYTES: usize = 20 * 1024;
/// Largest body.
pub const MAX_BODY_BYTES: u64 = 16 * 1024;
/// Most refs a header may carry.
pub const MAX_REFS: usize = 16;

/// A record header: what is signed and hashed into the id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The network the record belongs to.
    pub network: NetworkId,
    /// The kind of body.
    pub kind: Kind,
    /// The signer.
    pub author: PublicKey,
    /// Creation time.
    pub created: Timestamp,
    /// Expiry, for kinds that have one.
    pub expires: Option<Timestamp>,
    /// Ids of records this one depends on, strictly ascending.
    pub refs: Vec<RecordId>,
    /// Tagged SHA-256 of the body bytes.
    pub body_hash: BodyHash,
    /// Length of the body bytes.
    pub body_len: u64,
}

impl Header {
    fn to_value(&self) -> Value {
        Value::Array(vec![
            put::uint(VERSION),
            put::bytes(&self.network.0),
            put::uint(self.kind as u64),
            put::key(&self.author),
            put::uint(self.created.0),
            put::opt_uint(self.expires.map(|t| t.0)),
            Value::Array(self.refs.iter().map(put::id).collect()),
            put::bytes(&self.body_hash.0),
            put::uint(self.body_len),
        ])
    }

    fn from_value(value: &Value) -> Result<Header, DecodeError> {
        if let Value::Array(items) = value {
            match items.first() {
                Some(Value::Unsigned(VERSION)) => {}
                Some(Value::Unsigned(other)) => return Err(DecodeError::UnknownVersion(*other)),
                _ => {
                    return Err(DecodeError::Malformed {
                        field: "version",
                        expected: "unsigned integer",
                    })
                }
            }
        }
        let mut f = Fields::new(value, 9, "header")?;
        f.uint("version")?;
        let network = NetworkId(f.bytes32("network")?);
        let code = f.uint("kind")?;
        let kind = Kind::from_code(code).ok_or(DecodeError::UnknownKind(code))?;
        let author = f.key("author")?;
        let created = Timestamp(f.uint("created")?);
        let expires = f.opt_uint("expires")?.map(Timestamp);
        let refs: Vec<RecordId> = f
            .sorted_keys("refs", MAX_REFS)?
            .into_iter()
            .map(RecordId)
            .collect();
        let body_hash = BodyHash(f.bytes32("body_hash")?);
        let body_len = f.uint_in("body_len", 0, MAX_BODY_BYTES)?;
        Ok(Header {
            network,
            kind,
            author,
            created,
            expires,
            refs,
            body_hash,
            body_len,
        })
    }

    /// The deterministic CBOR encoding of the header.
    pub fn encode(&self) -> Vec<u8> {
        self.to_value().encode()
    }
}

/// The bytes a record's author signs: tag, network id, header bytes.
pub fn signing_bytes(network: &NetworkId, header_bytes: &[u8]) -> Vec<u8> {
    [SIGNING_TAG, &network.0, header_bytes].concat()
}

/// A well-formed record. Its signature is not yet known to be valid: see [`Record::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    header: Header,
    header_bytes: Vec<u8>,
    id: RecordId,
    signature: Signature,
    body: Option<(Vec<u8>, Body)>,
}

/// What to sign: everything of a record but the author and the body hash.
#[derive(Clone, Debug)]
pub struct Draft {
    /// The body.
    pub body: Body,
    /// Creation time.
    pub created: Timestamp,
    /// Expiry, for kinds that have one.
    pub expires: Option<Timestamp>,
}

impl Record {
    /// Signs a draft for `network`. Refs are taken from the body.
    pub fn sign(
        secret: &SecretKey,
        network: &NetworkId,
        draft: Draft,
    ) -> Result<Record, DecodeError> {
        Record::sign_linked(secret, network, draft, &[])
    }

    /// Signs a draft whose refs also name `bindings`, the key bindings that link the author
    /// to the keys its rules compare it with (for bodies that [`Body::links_keys`]; an empty
    /// list otherwise).
    pub fn sign_linked(
        secret: &SecretKey,
        network: &NetworkId,
        draft: Draft,
        bindings: &[RecordId],
    ) -> Result<Record, DecodeError> {
        let mut refs = draft.body.declared_refs();
        refs.extend_from_slice(bindings);
        refs.sort();
        refs.dedup();
        let body_bytes = draft.body.to_value().encode();
        let header = Header {
            network: *network,
            kind: draft.body.kind(),
            author: secret.public_key(),
            created: draft.created,
            expires: draft.expires,
            refs,
            body_hash: BodyHash::of_body(&body_bytes),
            body_len: body_bytes.len() as u64,
        };
        let header_bytes = header.encode();
        let signature = secret.sign(&signing_bytes(network, &header_bytes));
        let wire = Self::assemble(&header_bytes, &signature, Some(&body_bytes));
        // Decoding what we built applies every context-free rule to it.
        Record::decode(&wire, network)
    }

    /// Signs a charter, whose network id is its own body hash.
    pub fn sign_charter(
        secret: &SecretKey,
        charter: Charter,
        created: Timestamp,
    ) -> Result<Record, DecodeError> {
        let network = charter.network_id();
        Record::sign(
            secret,
            &network,
            Draft {
                body: charter.into(),
                created,
                expires: None,
            },
        )
    }

    fn assemble(header_bytes: &[u8], signature: &Signature, body: Option<&[u8]>) -> Vec<u8> {
        let mut out = vec![0x83];
        out.extend_from_slice(header_bytes);
        put::bytes(&signature.0).encode_into(&mut out);
        match body {
            Some(b) => put::bytes(b).encode_into(&mut out),
            None => out.push(0xf6),
        }
        out
    }

    /// Decodes wire bytes for `network`, applying every context-free rule.
    pub fn decode(bytes: &[u8], network: &NetworkId) -> Result<Record, DecodeError> {
        let record = Record::decode_any_network(bytes)?;
        if record.header.network != *network {
            return Err(DecodeError::WrongNetwork {
                expected: *network,
                found: record.header.network,
            });
        }
        Ok(record)
    }

    /// Decodes wire bytes of whatever network they name: for reading a charter file.
    pub fn decode_any_network(bytes: &[u8]) -> Result<Record, DecodeError> {
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(DecodeError::TooLarge {
                len: bytes.len(),
                max: MAX_RECORD_BYTES,
            });
        }
        let value = Value::decode(bytes).map_err(|e| match e {
            CborError::TrailingBytes(n) => DecodeError::TrailingBytes(n),
            other => DecodeError::Cbor(other),
        })?;
        if value.encode() != bytes {
            return Err(DecodeError::NonCanonical { part: "record" });
        }
        let mut f = Fields::new(&value, 3, "record")?;
        let Value::Array(parts) = &value else {
            unreachable!("checked by Fields::new")
        };
        let header = Header::from_value(&parts[0])?;
        let header_bytes = parts[0].encode();
        f.skip();
        let signature = f.signature("signature")?;
        let body = match &parts[2] {
            Value::Null => None,
            Value::Bytes(body_bytes) => Some(Self::decode_body(&header, body_bytes)?),
            _ => {
                return Err(DecodeError::Malformed {
                    field: "body",
                    expected: "byte string or null",
                })
            }
        };
        let id = RecordId::of_header(&header_bytes);
        Ok(Record {
            header,
            header_bytes,
            id,
            signature,
            body,
        })
    }

    fn decode_body(header: &Header, body_bytes: &[u8]) -> Result<(Vec<u8>, Body), DecodeError> {
        let actual = body_bytes.len() as u64;
        if actual != header.body_len {
            return Err(DecodeError::BodyLengthMismatch {
                declared: header.body_len,
                actual,
            });
        }
        if BodyHash::of_body(body_bytes) != header.body_hash {
            return Err(DecodeError::BodyHashMismatch);
        }
        let value = Value::decode(body_bytes).map_err(DecodeError::Cbor)?;
        if value.encode() != body_bytes {
            return Err(DecodeError::NonCanonical { part: "body" });
        }
        let body = Body::from_value(header.kind, &value)?;
        body.check_header(header)?;
        crate::kinds::header_rules::refs(header, &body)?;
        Ok((body_bytes.to_vec(), body))
    }

    /// The record id.
    pub fn id(&self) -> RecordId {
        self.id
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The header's bytes, as hashed and signed.
    pub fn header_bytes(&self) -> &[u8] {
        &self.header_bytes
    }

    /// The author's signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The decoded body, unless erased.
    pub fn body(&self) -> Option<&Body> {
        self.body.as_ref().map(|(_, b)| b)
    }

    /// The body bytes, unless erased.
    pub fn body_bytes(&self) -> Option<&[u8]> {
        self.body.as_ref().map(|(b, _)| b.as_slice())
    }

    /// The bytes the author signed.
    pub fn signing_bytes(&self) -> Vec<u8> {
        signing_bytes(&self.header.network, &self.header_bytes)
    }

    /// The wire bytes.
    pub fn to_wire(&self) -> Vec<u8> {
        Self::assemble(&self.header_bytes, &self.signature, self.body_bytes())
    }

    /// The same record with its body erased: header and signature only.
    pub fn without_body(&self) -> Record {
        Record {
            body: None,
            ..self.clone()
        }
    }

    /// Checks the author's signature under the protocol's rule.
    pub fn verify(&self) -> Result<(), SignatureError> {
        signature::verify(&self.header.author, &self.signing_bytes(), &self.signature)
    }

    /// Checks many records' signatures; each result is what [`Record::verify`] returns.
    pub fn verify_many(records: &[&Record]) -> Vec<Result<(), SignatureError>> {
        let messages: Vec<Vec<u8>> = records.iter().map(|r| r.signing_bytes()).collect();
        let items: Vec<signature::BatchItem<'_>> = records
            .iter()
            .zip(&messages)
            .map(|(r, m)| signature::BatchItem {
                key: &r.header.author,
                message: m,
                signature: &r.signature,
            })
            .collect();
        signature::verify_batch(&items)
    }
}
