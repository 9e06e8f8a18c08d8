//! Arbitrary bytes into the low-level CBOR decoder, `cbor::Value::decode`.
//!
//! Must not panic. Whatever it accepts must re-encode to bytes that decode to an equal
//! value. The low-level decoder accepts non-shortest integer and length heads and the
//! encoder writes the shortest form (the record layer detects the difference by comparing
//! bytes), so only values are compared here, plus: the re-encoding is a fixed point and is
//! never longer than the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use maillon_protocol::cbor::Value;

fuzz_target!(|data: &[u8]| {
    let first = Value::decode(data);
    assert_eq!(first, Value::decode(data), "decoding is not deterministic");
    let Ok(value) = first else {
        return;
    };
    let encoded = value.encode();
    assert!(
        encoded.len() <= data.len(),
        "canonical re-encoding is longer than the input"
    );
    let again = Value::decode(&encoded).expect("re-encoded value no longer decodes");
    assert_eq!(again, value, "re-decoded value differs");
    assert_eq!(
        again.encode(),
        encoded,
        "canonical encoding is not a fixed point"
    );
});
