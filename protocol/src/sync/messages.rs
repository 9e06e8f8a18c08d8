//! The sync request-response messages: deterministic CBOR arrays `[tag, fields…]`, decoded
//! strictly (canonical form, no trailing bytes, every list and size bounded).

use crate::cbor::Value;
use crate::ids::{BlobHash, RecordId};
use crate::record::MAX_RECORD_BYTES;

use super::{SyncError, MAX_MESSAGE_BYTES};

/// Most ids in one [`SyncRequest::FetchRecords`].
pub const MAX_FETCH_IDS: usize = 1024;
/// Most records in one [`SyncRequest::PushRecords`] or [`SyncResponse::Records`].
pub const MAX_RECORDS_PER_MESSAGE: usize = 1024;
/// Most record bytes, summed, in one push or records message.
pub const MAX_RECORDS_BYTES: usize = 4 * 1024 * 1024;
/// Largest blob carried by [`SyncResponse::Blob`].
pub const MAX_BLOB_BYTES: usize = 8 * 1024 * 1024;
/// Longest refusal code.
pub const MAX_CODE_BYTES: usize = 64;
/// Largest encoded request or response.
pub const MAX_FRAME_BYTES: usize = MAX_BLOB_BYTES + 64 * 1024;

/// What a node asks a peer on the sync protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncRequest {
    /// `[0, bstr]`: a reconciliation message (the initiator's side).
    Reconcile(Vec<u8>),
    /// `[1, [bstr32…]]`: the records with these ids, at most [`MAX_FETCH_IDS`].
    FetchRecords(Vec<RecordId>),
    /// `[2, [bstr…]]`: records in wire form, at most [`MAX_RECORDS_PER_MESSAGE`] and
    /// [`MAX_RECORDS_BYTES`] in total.
    PushRecords(Vec<Vec<u8>>),
    /// `[3, bstr32]`: the blob with this hash.
    FetchBlob(BlobHash),
    /// `[4, bstr]`: a reconciliation message over the *erased items* only: the records held
    /// as bare headers (docs/PROTOCOL.md 10.9). Answered with [`SyncResponse::Reconcile`].
    ReconcileErased(Vec<u8>),
}

/// What a peer answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncResponse {
    /// `[0, bstr]`: the responder's reconciliation message.
    Reconcile(Vec<u8>),
    /// `[1, [bstr…]]`: the requested records held, in (created, id) order, stopping before
    /// [`MAX_RECORDS_BYTES`]; the requester asks again for the rest.
    Records(Vec<Vec<u8>>),
    /// `[2, stored, duplicate, parked, refused]`: the outcome of a push, sent only once the
    /// receiver's store has flushed the stored and parked records.
    PushAck {
        /// Records newly stored.
        stored: u32,
        /// Records already held.
        duplicate: u32,
        /// Records kept aside until their refs arrive.
        parked: u32,
        /// Records refused as invalid.
        refused: u32,
    },
    /// `[3, bstr / null]`: the blob, or null when not held; at most [`MAX_BLOB_BYTES`].
    Blob(Option<Vec<u8>>),
    /// `[4, tstr]`: a short machine code (`too_many_ids`, `malformed`, `rate_limited`…):
    /// 1..=[`MAX_CODE_BYTES`] bytes of `a`–`z`, `0`–`9` and `_`.
    Refused {
        /// The reason.
        code: String,
    },
}

impl SyncRequest {
    /// The deterministic CBOR encoding.
    pub fn encode(&self) -> Vec<u8> {
        let (tag, field) = match self {
            SyncRequest::Reconcile(message) => (0, Value::Bytes(message.clone())),
            SyncRequest::FetchRecords(ids) => (1, id_array(ids)),
            SyncRequest::PushRecords(records) => (2, bytes_array(records)),
            SyncRequest::FetchBlob(hash) => (3, Value::Bytes(hash.0.to_vec())),
            SyncRequest::ReconcileErased(message) => (4, Value::Bytes(message.clone())),
        };
        Value::Array(vec![Value::Unsigned(tag), field]).encode()
    }

    /// Decodes a request, strictly.
    pub fn decode(bytes: &[u8]) -> Result<SyncRequest, SyncError> {
        let (tag, fields) = envelope(bytes)?;
        match (tag, fields.as_slice()) {
            (0, [message]) => Ok(SyncRequest::Reconcile(reconcile_bytes(message)?)),
            (1, [ids]) => Ok(SyncRequest::FetchRecords(fetch_ids(ids)?)),
            (2, [records]) => Ok(SyncRequest::PushRecords(records_list(records)?)),
            (3, [hash]) => Ok(SyncRequest::FetchBlob(BlobHash(bytes32(hash)?))),
            (4, [message]) => Ok(SyncRequest::ReconcileErased(reconcile_bytes(message)?)),
            (0..=4, _) => Err(SyncError::Malformed("request field count")),
            (other, _) => Err(SyncError::UnknownTag(other)),
        }
    }
}

impl SyncResponse {
    /// The deterministic CBOR encoding.
    pub fn encode(&self) -> Vec<u8> {
        let fields = match self {
            SyncResponse::Reconcile(message) => vec![Value::Bytes(message.clone())],
            SyncResponse::Records(records) => vec![bytes_array(records)],
            SyncResponse::PushAck {
                stored,
                duplicate,
                parked,
                refused,
            } => [stored, duplicate, parked, refused]
                .map(|n| Value::Unsigned(u64::from(*n)))
                .to_vec(),
            SyncResponse::Blob(blob) => vec![Value::option(blob.clone(), Value::Bytes)],
            SyncResponse::Refused { code } => vec![Value::Text(code.clone())],
        };
        let mut items = vec![Value::Unsigned(self.tag())];
        items.extend(fields);
        Value::Array(items).encode()
    }

    fn tag(&self) -> u64 {
        match self {
            SyncResponse::Reconcile(_) => 0,
            SyncResponse::Records(_) => 1,
            SyncResponse::PushAck { .. } => 2,
            SyncResponse::Blob(_) => 3,
            SyncResponse::Refused { .. } => 4,
        }
    }

    /// Decodes a response, strictly.
    pub fn decode(bytes: &[u8]) -> Result<SyncResponse, SyncError> {
        let (tag, fields) = envelope(bytes)?;
        match (tag, fields.as_slice()) {
            (0, [message]) => Ok(SyncResponse::Reconcile(reconcile_bytes(message)?)),
            (1, [records]) => Ok(SyncResponse::Records(records_list(records)?)),
            (2, [stored, duplicate, parked, refused]) => Ok(SyncResponse::PushAck {
                stored: count(stored)?,
                duplicate: count(duplicate)?,
                parked: count(parked)?,
                refused: count(refused)?,
            }),
            (3, [Value::Null]) => Ok(SyncResponse::Blob(None)),
            (3, [blob]) => Ok(SyncResponse::Blob(Some(bounded_bytes(
                blob,
                MAX_BLOB_BYTES,
            )?))),
            (4, [Value::Text(code)]) if valid_code(code) => {
                Ok(SyncResponse::Refused { code: code.clone() })
            }
            (4, [_]) => Err(SyncError::Malformed("refusal code")),
            (0..=4, _) => Err(SyncError::Malformed("response field count")),
            (other, _) => Err(SyncError::UnknownTag(other)),
        }
    }
}

/// Whether `code` is a valid refusal code.
pub fn valid_code(code: &str) -> bool {
    (1..=MAX_CODE_BYTES).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn id_array(ids: &[RecordId]) -> Value {
    Value::Array(ids.iter().map(|id| Value::Bytes(id.0.to_vec())).collect())
}

fn bytes_array(items: &[Vec<u8>]) -> Value {
    Value::Array(items.iter().cloned().map(Value::Bytes).collect())
}

/// Checks the size, CBOR validity and canonical form; splits off the tag.
fn envelope(bytes: &[u8]) -> Result<(u64, Vec<Value>), SyncError> {
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(SyncError::Oversized {
            len: bytes.len(),
            max: MAX_FRAME_BYTES,
        });
    }
    let value = Value::decode(bytes)?;
    if value.encode() != bytes {
        return Err(SyncError::NonCanonical);
    }
    let Value::Array(mut items) = value else {
        return Err(SyncError::Malformed("message is not an array"));
    };
    if items.is_empty() {
        return Err(SyncError::Malformed("message without a tag"));
    }
    match items.remove(0) {
        Value::Unsigned(tag) => Ok((tag, items)),
        _ => Err(SyncError::Malformed("message tag")),
    }
}

fn bounded_bytes(value: &Value, max: usize) -> Result<Vec<u8>, SyncError> {
    match value {
        Value::Bytes(bytes) if bytes.len() <= max => Ok(bytes.clone()),
        Value::Bytes(bytes) => Err(SyncError::Oversized {
            len: bytes.len(),
            max,
        }),
        _ => Err(SyncError::Malformed("expected a byte string")),
    }
}

fn reconcile_bytes(value: &Value) -> Result<Vec<u8>, SyncError> {
    bounded_bytes(value, MAX_MESSAGE_BYTES)
}

fn bytes32(value: &Value) -> Result<[u8; 32], SyncError> {
    match value {
        Value::Bytes(bytes) => bytes
            .as_slice()
            .try_into()
            .map_err(|_| SyncError::Malformed("expected a 32-byte string")),
        _ => Err(SyncError::Malformed("expected a 32-byte string")),
    }
}

fn count(value: &Value) -> Result<u32, SyncError> {
    match value {
        Value::Unsigned(n) => u32::try_from(*n).map_err(|_| SyncError::Malformed("count")),
        _ => Err(SyncError::Malformed("count")),
    }
}

fn list<'v>(value: &'v Value, what: &'static str, max: usize) -> Result<&'v [Value], SyncError> {
    let Value::Array(items) = value else {
        return Err(SyncError::Malformed("expected an array"));
    };
    if items.len() > max {
        return Err(SyncError::TooMany {
            what,
            len: items.len(),
            max,
        });
    }
    Ok(items)
}

fn fetch_ids(value: &Value) -> Result<Vec<RecordId>, SyncError> {
    list(value, "ids", MAX_FETCH_IDS)?
        .iter()
        .map(|id| bytes32(id).map(RecordId))
        .collect()
}

fn records_list(value: &Value) -> Result<Vec<Vec<u8>>, SyncError> {
    let items = list(value, "records", MAX_RECORDS_PER_MESSAGE)?;
    let mut total = 0usize;
    let mut records = Vec::with_capacity(items.len());
    for item in items {
        let record = bounded_bytes(item, MAX_RECORD_BYTES)?;
        total += record.len();
        if total > MAX_RECORDS_BYTES {
            return Err(SyncError::Oversized {
                len: total,
                max: MAX_RECORDS_BYTES,
            });
        }
        records.push(record);
    }
    Ok(records)
}
