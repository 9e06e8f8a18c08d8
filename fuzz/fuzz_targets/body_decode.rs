//! A kind and arbitrary body bytes into `Body::from_value`.
//!
//! `record_decode` rarely reaches the body decoders with mutated bodies: a record's header
//! carries the SHA-256 of its body, which random mutation does not fix up. This target
//! skips that gate. The first input byte picks the kind (index into `Kind::ALL`, modulo),
//! the rest is the body's CBOR, held to the same canonical-bytes rule as `Record::decode`.
//! Whatever is accepted must encode back to the same bytes and decode to an equal body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use maillon_protocol::cbor::Value;
use maillon_protocol::{Body, Kind};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let kind = Kind::ALL[usize::from(selector) % Kind::ALL.len()];
    let Ok(value) = Value::decode(bytes) else {
        return;
    };
    if value.encode() != bytes {
        return; // Record::decode refuses non-canonical bodies before reading them.
    }
    let first = Body::from_value(kind, &value);
    assert_eq!(
        first,
        Body::from_value(kind, &value),
        "decoding is not deterministic"
    );
    let Ok(body) = first else {
        return;
    };
    assert_eq!(body.kind(), kind, "decoded body has another kind");
    let encoded = body.to_value().encode();
    assert_eq!(
        encoded.as_slice(),
        bytes,
        "accepted body does not re-encode to the same bytes"
    );
    let again = Body::from_value(
        kind,
        &Value::decode(&encoded).expect("re-encoded body is not CBOR"),
    )
    .expect("re-encoded body no longer decodes");
    assert_eq!(again, body, "re-decoded body differs");
    // Must not panic.
    let _ = body.declared_refs();
});
