//! Arbitrary bytes into `Record::decode_any_network`.
//!
//! Decoding must not panic and must be deterministic; whatever it accepts must re-encode to
//! exactly the input bytes, decode again to an equal record, carry the id of its header
//! bytes, and survive `verify` (whose result does not matter here).

#![no_main]

use libfuzzer_sys::fuzz_target;
use maillon_protocol::{Record, RecordId};

fuzz_target!(|data: &[u8]| {
    let first = Record::decode_any_network(data);
    // Deterministic: a second decode of the same bytes gives the same answer, error included.
    assert_eq!(
        first,
        Record::decode_any_network(data),
        "decoding is not deterministic"
    );
    let Ok(record) = first else {
        return;
    };

    // Byte-exact round trip.
    let wire = record.to_wire();
    assert_eq!(
        wire.as_slice(),
        data,
        "accepted input does not re-encode to the same bytes"
    );
    let again = Record::decode_any_network(&wire).expect("re-encoded record no longer decodes");
    assert_eq!(again, record, "re-decoded record differs");

    // The id is the tagged hash of the header bytes, and those bytes are the header's encoding.
    assert_eq!(
        record.id(),
        RecordId::of_header(record.header_bytes()),
        "wrong record id"
    );
    assert_eq!(
        record.header().encode(),
        record.header_bytes(),
        "header bytes are not the header's encoding"
    );

    // The network-checked decoder accepts it for its own network, identically.
    let same = Record::decode(data, &record.header().network)
        .expect("decode refuses a record for its own network");
    assert_eq!(same, record);

    // Erasing the body keeps a decodable record with the same header and id.
    let erased = record.without_body();
    let erased_again = Record::decode_any_network(&erased.to_wire())
        .expect("record with its body erased no longer decodes");
    assert_eq!(erased_again, erased);
    assert_eq!(erased_again.id(), record.id());

    // Must not panic, whatever the signature.
    let verdict = record.verify();
    assert_eq!(
        verdict,
        erased.verify(),
        "erasing the body changed the signature verdict"
    );
});
