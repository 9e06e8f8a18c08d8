//! Record encoding: round trips, and one test per decoding failure.

#![allow(clippy::unwrap_used)]

use maillon_protocol::cbor::Value;
use maillon_protocol::error::DecodeError;
use maillon_protocol::ids::{BodyHash, NetworkId, RecordId, Timestamp};
use maillon_protocol::kinds::{Body, Category, Intent, Listing, Position};
use maillon_protocol::record::{signing_bytes, Draft, Record, MAX_RECORD_BYTES};
use maillon_protocol::testkit::{self, Signer, T0};
use proptest::prelude::*;

fn signer() -> Signer {
    let founder = testkit::key("founder");
    Signer::new(testkit::charter(&[&founder], &[&founder], 1))
}

fn listing_record() -> Record {
    signer().listing(&testkit::key("founder"), "Armoire normande", T0)
}

/// Splits wire bytes into (header value, signature bytes, body bytes).
fn parts(wire: &[u8]) -> (Value, Vec<u8>, Vec<u8>) {
    let Value::Array(items) = Value::decode(wire).unwrap() else {
        panic!("not an array")
    };
    let (Value::Bytes(sig), Value::Bytes(body)) = (&items[1], &items[2]) else {
        panic!("bad parts")
    };
    (items[0].clone(), sig.clone(), body.clone())
}

fn header_field(header: &mut Value, index: usize) -> &mut Value {
    let Value::Array(items) = header else {
        panic!("header not an array")
    };
    &mut items[index]
}

fn assemble(header: &Value, sig: &[u8], body: &[u8]) -> Vec<u8> {
    Value::Array(vec![
        header.clone(),
        Value::Bytes(sig.to_vec()),
        Value::Bytes(body.to_vec()),
    ])
    .encode()
}

/// Replaces the body and fixes the header's hash and length to match.
fn with_body(wire: &[u8], body: &[u8]) -> Vec<u8> {
    let (mut header, sig, _) = parts(wire);
    *header_field(&mut header, 7) = Value::Bytes(BodyHash::of_body(body).0.to_vec());
    *header_field(&mut header, 8) = Value::Unsigned(body.len() as u64);
    assemble(&header, &sig, body)
}

fn decode(wire: &[u8]) -> Result<Record, DecodeError> {
    Record::decode(wire, &signer().network)
}

#[test]
fn a_signed_record_round_trips_and_verifies() {
    let record = listing_record();
    let wire = record.to_wire();
    let decoded = decode(&wire).unwrap();
    assert_eq!(decoded, record);
    assert_eq!(decoded.to_wire(), wire);
    assert_eq!(decoded.id(), RecordId::of_header(decoded.header_bytes()));
    decoded.verify().unwrap();
    let expected = signing_bytes(&signer().network, decoded.header_bytes());
    assert!(expected.starts_with(b"maillon/record/v1\0"));
    assert_eq!(decoded.signing_bytes(), expected);
}

#[test]
fn the_id_does_not_depend_on_the_body_so_an_erased_record_keeps_it() {
    let record = listing_record();
    let erased = record.without_body();
    let decoded = decode(&erased.to_wire()).unwrap();
    assert_eq!(decoded.id(), record.id());
    assert!(decoded.body().is_none());
    decoded.verify().unwrap();
}

#[test]
fn a_tampered_header_breaks_the_signature_not_the_decoding() {
    let (mut header, sig, body) = parts(&listing_record().to_wire());
    *header_field(&mut header, 4) = Value::Unsigned(T0.0 + 1);
    let record = decode(&assemble(&header, &sig, &body)).unwrap();
    assert!(record.verify().is_err());
}

#[test]
fn non_canonical_record_bytes_are_refused() {
    let wire = listing_record().to_wire();
    // Re-encode the header's version (1) in two bytes instead of one.
    let mut long = wire.clone();
    assert_eq!(long[1], 0x89, "header is a 9-item array");
    assert_eq!(long[2], 0x01, "version 1");
    long.splice(2..3, [0x18, 0x01]);
    assert_eq!(
        decode(&long),
        Err(DecodeError::NonCanonical { part: "record" })
    );
}

#[test]
fn non_canonical_body_bytes_are_refused() {
    let record = listing_record();
    let body = record.body_bytes().unwrap().to_vec();
    // The body's first field is `series` (null); the second is `intent` (0): widen it.
    assert_eq!(&body[..3], &[0x8b, 0xf6, 0x00]);
    let mut long = body.clone();
    long.splice(2..3, [0x18, 0x00]);
    let wire = with_body(&record.to_wire(), &long);
    assert_eq!(
        decode(&wire),
        Err(DecodeError::NonCanonical { part: "body" })
    );
}

#[test]
fn trailing_bytes_are_refused() {
    let mut wire = listing_record().to_wire();
    wire.push(0);
    assert_eq!(decode(&wire), Err(DecodeError::TrailingBytes(1)));
}

#[test]
fn unknown_versions_and_kinds_are_refused() {
    let wire = listing_record().to_wire();
    let (mut header, sig, body) = parts(&wire);
    *header_field(&mut header, 0) = Value::Unsigned(2);
    assert_eq!(
        decode(&assemble(&header, &sig, &body)),
        Err(DecodeError::UnknownVersion(2))
    );
    let (mut header, sig, body) = parts(&wire);
    *header_field(&mut header, 2) = Value::Unsigned(99);
    assert_eq!(
        decode(&assemble(&header, &sig, &body)),
        Err(DecodeError::UnknownKind(99))
    );
}

#[test]
fn records_of_another_network_are_refused() {
    let wire = listing_record().to_wire();
    let other = NetworkId([9; 32]);
    assert!(
        matches!(Record::decode(&wire, &other), Err(DecodeError::WrongNetwork { expected, .. }) if expected == other)
    );
}

#[test]
fn body_hash_and_length_must_match_the_header() {
    let wire = listing_record().to_wire();
    let (header, sig, mut body) = parts(&wire);
    body[5] ^= 1;
    assert_eq!(
        decode(&assemble(&header, &sig, &body)),
        Err(DecodeError::BodyHashMismatch)
    );
    let (header, sig, mut body) = parts(&wire);
    body.push(0);
    let actual = body.len() as u64;
    assert_eq!(
        decode(&assemble(&header, &sig, &body)),
        Err(DecodeError::BodyLengthMismatch {
            declared: actual - 1,
            actual
        })
    );
}

#[test]
fn fields_over_their_limits_are_refused_each_by_name() {
    let record = listing_record();
    let Some(Body::Listing(listing)) = record.body().cloned() else {
        panic!()
    };
    let cases: Vec<(Listing, DecodeError)> = vec![
        (
            Listing {
                title: "x".repeat(121),
                ..listing.clone()
            },
            DecodeError::FieldTooLong {
                field: "title",
                len: 121,
                max: 120,
            },
        ),
        (
            Listing {
                title: "ab".into(),
                ..listing.clone()
            },
            DecodeError::FieldTooShort {
                field: "title",
                len: 2,
                min: 3,
            },
        ),
        (
            Listing {
                photos: vec![maillon_protocol::BlobHash([1; 32]); 9],
                ..listing.clone()
            },
            DecodeError::TooMany {
                field: "photos",
                count: 9,
                max: 8,
            },
        ),
        (
            Listing {
                price_cents: Some(2_000_000_000),
                ..listing.clone()
            },
            DecodeError::OutOfRange {
                field: "price_cents",
                value: 2_000_000_000,
            },
        ),
        (
            Listing {
                postcode: "2600A".into(),
                ..listing.clone()
            },
            DecodeError::Malformed {
                field: "postcode",
                expected: "five ASCII digits",
            },
        ),
        (
            Listing {
                title: "bell\u{7}".into(),
                ..listing.clone()
            },
            DecodeError::ControlCharacter { field: "title" },
        ),
        (
            Listing {
                position: Position {
                    lat_microdeg: 91_000_000,
                    lon_microdeg: 0,
                },
                ..listing.clone()
            },
            DecodeError::OutOfRange {
                field: "lat_microdeg",
                value: 91_000_000,
            },
        ),
    ];
    for (bad, expected) in cases {
        let body = Body::Listing(bad).to_value().encode();
        assert_eq!(
            decode(&with_body(&record.to_wire(), &body)),
            Err(expected.clone()),
            "{expected}"
        );
    }
}

#[test]
fn header_rules_tie_the_body_to_the_header() {
    let founder = testkit::key("founder");
    let signer = signer();
    let no_expiry = Record::sign(
        &founder,
        &signer.network,
        Draft {
            body: signer
                .listing(&founder, "Table", T0)
                .body()
                .unwrap()
                .clone(),
            created: T0,
            expires: None,
        },
    );
    assert_eq!(
        no_expiry,
        Err(DecodeError::Inconsistent("this kind requires an expiry"))
    );
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let big = vec![0u8; MAX_RECORD_BYTES + 1];
    assert_eq!(
        decode(&big),
        Err(DecodeError::TooLarge {
            len: MAX_RECORD_BYTES + 1,
            max: MAX_RECORD_BYTES
        })
    );
}

#[test]
fn garbage_is_refused_as_invalid_cbor() {
    assert!(matches!(decode(&[0xff, 0x00]), Err(DecodeError::Cbor(_))));
    assert!(matches!(decode(&[0x83, 0x01]), Err(DecodeError::Cbor(_))));
}

fn arbitrary_listing() -> impl Strategy<Value = Listing> {
    (
        "[a-zA-Zéèàç ]{3,120}",
        "[a-zA-Z0-9éèàç ,.\n]{0,400}",
        proptest::option::of(0u64..1_000_000_000),
        -90_000_000i64..=90_000_000,
        -180_000_000i64..=180_000_000,
        0usize..=8,
        proptest::sample::select(Category::ALL.to_vec()),
        any::<bool>(),
    )
        .prop_filter("title within 120 bytes", |(title, ..)| title.len() <= 120)
        .prop_map(
            |(title, description, price_cents, lat, lon, photos, category, offer)| Listing {
                series: None,
                intent: if offer {
                    Intent::Offer
                } else {
                    Intent::Request
                },
                category,
                title,
                description,
                price_cents,
                town: "Nantes".into(),
                postcode: "44000".into(),
                position: Position {
                    lat_microdeg: lat,
                    lon_microdeg: lon,
                },
                photos: (0..photos)
                    .map(|i| maillon_protocol::BlobHash([i as u8; 32]))
                    .collect(),
            },
        )
}

proptest! {
    #[test]
    fn every_valid_listing_round_trips(listing in arbitrary_listing(), created in 0u64..4_000_000_000_000) {
        let key = testkit::key("author");
        let signer = signer();
        let created = Timestamp(created);
        let record = Record::sign(&key, &signer.network, Draft { body: listing.into(), created, expires: Some(created.plus_ms(1000)) }).unwrap();
        let wire = record.to_wire();
        let decoded = Record::decode(&wire, &signer.network).unwrap();
        prop_assert_eq!(decoded.to_wire(), wire);
        prop_assert_eq!(&decoded, &record);
        prop_assert!(decoded.verify().is_ok());
    }

    #[test]
    fn any_single_byte_change_is_refused_or_fails_verification(index in 0usize..400, bit in 0u8..8) {
        let wire = listing_record().to_wire();
        let index = index % wire.len();
        let mut changed = wire.clone();
        changed[index] ^= 1 << bit;
        match decode(&changed) {
            Err(_) => {}
            Ok(record) => prop_assert!(record.verify().is_err(), "changed byte {} still verifies", index),
        }
    }
}

#[test]
fn complaint_handling_labels_name_the_complaint_as_their_target() {
    use maillon_protocol::kinds::{LabelAction, ModerationLabel};
    let founder = testkit::key("founder");
    let signer = signer();
    let complaint = RecordId([7; 32]);
    let label = |action, target: [u8; 32], complaint: Option<RecordId>| ModerationLabel {
        action,
        target,
        reason: "Pris en charge.".into(),
        correction: String::new(),
        required_sponsors: None,
        complaint,
    };
    let sign = |body: ModerationLabel| {
        Record::sign(
            &founder,
            &signer.network,
            Draft {
                body: body.into(),
                created: T0,
                expires: None,
            },
        )
    };
    for action in [LabelAction::TakeUpComplaint, LabelAction::CloseComplaint] {
        let good = sign(label(action, complaint.0, Some(complaint))).unwrap();
        assert_eq!(good.header().refs, vec![complaint]);
        assert_eq!(decode(&good.to_wire()).unwrap(), good);
        for bad in [
            label(action, [8; 32], Some(complaint)),
            label(action, complaint.0, None),
        ] {
            assert!(
                matches!(sign(bad), Err(DecodeError::Inconsistent(_))),
                "{action:?}"
            );
        }
    }
}
