//! Invalid records, each with the stage that refuses it, its verdict and its reason code.

use maillon_protocol::cbor::Value as Cbor;
use maillon_protocol::ids::{BodyHash, NetworkId, RecordId, Timestamp};
use maillon_protocol::kinds::*;
use maillon_protocol::record::{Draft, Record};
use maillon_protocol::testkit;
use serde_json::{json, Value};

use super::scenario::{find_sponsorship, Scenario};

fn parts(wire: &[u8]) -> Vec<Cbor> {
    match Cbor::decode(wire) {
        Ok(Cbor::Array(items)) => items,
        _ => unreachable!("valid wire"),
    }
}

fn header_items(wire: &[u8]) -> (Vec<Cbor>, Cbor, Cbor) {
    let mut p = parts(wire);
    let body = p.pop().unwrap();
    let sig = p.pop().unwrap();
    let Cbor::Array(header) = p.pop().unwrap() else {
        unreachable!()
    };
    (header, sig, body)
}

fn assemble(header: Vec<Cbor>, sig: Cbor, body: Cbor) -> Vec<u8> {
    Cbor::Array(vec![Cbor::Array(header), sig, body]).encode()
}

fn with_header_field(wire: &[u8], index: usize, value: Cbor) -> Vec<u8> {
    let (mut header, sig, body) = header_items(wire);
    header[index] = value;
    assemble(header, sig, body)
}

fn with_body(wire: &[u8], body: &[u8]) -> Vec<u8> {
    let (mut header, sig, _) = header_items(wire);
    header[7] = Cbor::Bytes(BodyHash::of_body(body).0.to_vec());
    header[8] = Cbor::Unsigned(body.len() as u64);
    assemble(header, sig, Cbor::Bytes(body.to_vec()))
}

fn with_signature(wire: &[u8], edit: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let (header, sig, body) = header_items(wire);
    let Cbor::Bytes(mut sig) = sig else {
        unreachable!()
    };
    edit(&mut sig);
    assemble(header, Cbor::Bytes(sig), body)
}

fn case(name: &str, wire: &[u8], stage: &str, verdict: &str, reason: &str) -> Value {
    json!({ "name": name, "wire": hex::encode(wire), "stage": stage, "verdict": verdict, "reason": reason })
}

pub fn cases(s: &Scenario) -> Value {
    let mut s = Scenario {
        signer: s.signer.clone(),
        set: s.set.clone(),
        keys: s.keys.clone(),
        log: s.log.clone(),
        now: s.now,
    };
    let mut out = decode_cases(&mut s);
    out.extend(signature_cases(&mut s));
    out.extend(validation_cases(&mut s));
    json!({
        "description": "Invalid records. `stage` says which step refuses them: decode (for the network of network.json), signature, or validate (against the state after applying network.json, at now_ms). `verdict` is reject (the sender is at fault), ignore (may become valid later) or park (refs missing).",
        "network": s.signer.network.to_hex(),
        "now_ms": s.now.0,
        "cases": out,
    })
}

fn decode_cases(s: &mut Scenario) -> Vec<Value> {
    let anne = testkit::key("anne");
    let listing = s
        .signer
        .listing(&anne, "Buffet de cuisine", s.now.minus_ms(1000));
    let wire = listing.to_wire();
    let body = listing.body_bytes().unwrap().to_vec();
    let mut out = Vec::new();
    out.push(case(
        "not CBOR",
        &[0xff],
        "decode",
        "reject",
        "invalid_cbor",
    ));
    out.push(case("a map", &[0xa0], "decode", "reject", "invalid_cbor"));
    let mut trailing = wire.clone();
    trailing.push(0);
    out.push(case(
        "trailing byte",
        &trailing,
        "decode",
        "reject",
        "trailing_bytes",
    ));
    let mut long = wire.clone();
    long.splice(2..3, [0x18, 0x01]);
    out.push(case(
        "version in two bytes",
        &long,
        "decode",
        "reject",
        "non_canonical",
    ));
    let mut long_body = body.clone();
    long_body.splice(2..3, [0x18, 0x00]);
    out.push(case(
        "body integer in two bytes",
        &with_body(&wire, &long_body),
        "decode",
        "reject",
        "non_canonical",
    ));
    out.push(case(
        "version 2",
        &with_header_field(&wire, 0, Cbor::Unsigned(2)),
        "decode",
        "reject",
        "unknown_version",
    ));
    out.push(case(
        "kind 99",
        &with_header_field(&wire, 2, Cbor::Unsigned(99)),
        "decode",
        "reject",
        "unknown_kind",
    ));
    let other = Record::sign(
        &anne,
        &NetworkId([1; 32]),
        Draft {
            body: listing.body().unwrap().clone(),
            created: listing.header().created,
            expires: listing.header().expires,
        },
    )
    .unwrap();
    out.push(case(
        "another network",
        &other.to_wire(),
        "decode",
        "reject",
        "wrong_network",
    ));
    let mut flipped = body.clone();
    let last = flipped.len() - 40;
    flipped[last] ^= 1;
    let (header, sig, _) = header_items(&wire);
    out.push(case(
        "body changed",
        &assemble(header, sig, Cbor::Bytes(flipped)),
        "decode",
        "reject",
        "body_hash_mismatch",
    ));
    out.push(case(
        "body length",
        &with_header_field(&wire, 8, Cbor::Unsigned(body.len() as u64 + 1)),
        "decode",
        "reject",
        "body_length_mismatch",
    ));
    let Some(Body::Listing(l)) = listing.body().cloned() else {
        unreachable!()
    };
    let long_title = Body::Listing(Listing {
        title: "é".repeat(61),
        ..l.clone()
    })
    .to_value()
    .encode();
    out.push(case(
        "title of 122 bytes",
        &with_body(&wire, &long_title),
        "decode",
        "reject",
        "field_too_long",
    ));
    let bad_postcode = Body::Listing(Listing {
        postcode: "2A004".into(),
        ..l.clone()
    })
    .to_value()
    .encode();
    out.push(case(
        "postcode with a letter",
        &with_body(&wire, &bad_postcode),
        "decode",
        "reject",
        "malformed_field",
    ));
    let nine_photos = Body::Listing(Listing {
        photos: vec![maillon_protocol::BlobHash([3; 32]); 9],
        ..l
    })
    .to_value()
    .encode();
    out.push(case(
        "nine photos",
        &with_body(&wire, &nine_photos),
        "decode",
        "reject",
        "too_many_items",
    ));
    out.push(case(
        "no expiry on a listing",
        &with_header_field(&wire, 5, Cbor::Null),
        "decode",
        "reject",
        "inconsistent",
    ));
    out.push(case(
        "oversized",
        &vec![0x40; 20 * 1024 + 1],
        "decode",
        "reject",
        "too_large",
    ));
    out.push(case(
        "author as text",
        &with_header_field(&wire, 3, Cbor::Text("anne".into())),
        "decode",
        "reject",
        "malformed_field",
    ));
    out
}

fn signature_cases(s: &mut Scenario) -> Vec<Value> {
    let anne = testkit::key("anne");
    let wire = s
        .signer
        .listing(&anne, "Buffet de cuisine", s.now.minus_ms(1000))
        .to_wire();
    vec![
        case(
            "signature bit flipped",
            &with_signature(&wire, |sig| sig[40] ^= 1),
            "signature",
            "reject",
            "signature_mismatch",
        ),
        case(
            "S above the group order",
            &with_signature(&wire, |sig| sig[63] = 0xff),
            "signature",
            "reject",
            "non_canonical_s",
        ),
        case(
            "R of small order (identity)",
            &with_signature(&wire, |sig| {
                sig[..32].fill(0);
                sig[0] = 1;
            }),
            "signature",
            "reject",
            "small_order_r",
        ),
        case(
            "signed by another key",
            &{
                let forged = s.signer.listing(
                    &testkit::key("mallory"),
                    "Buffet de cuisine",
                    s.now.minus_ms(1000),
                );
                let (header, _, body) = header_items(&wire);
                let (_, sig, _) = header_items(&forged.to_wire());
                assemble(header, sig, body)
            },
            "signature",
            "reject",
            "signature_mismatch",
        ),
    ]
}

fn validation_cases(s: &mut Scenario) -> Vec<Value> {
    let now = s.now;
    let before = now.minus_ms(1000);
    let key = |l: &str| testkit::key(l);
    let (anne, bob, eve, moderator) = (key("anne"), key("bob-2"), key("eve"), key("moderator"));
    let (f1, f2, f3) = (key("founder-1"), key("founder-2"), key("founder-3"));
    let listing_id = s
        .log
        .iter()
        .find(|r| r.header().kind == Kind::Listing)
        .unwrap()
        .id();
    let expel_id = s.log.iter().rev().find(|r| matches!(r.body(), Some(Body::ModerationLabel(l)) if l.action == LabelAction::ExpelMember)).unwrap().id();
    let sign = |k: &maillon_protocol::SecretKey,
                body: Body,
                at: Timestamp,
                exp: Option<Timestamp>| s.signer.sign(k, body, at, exp);
    let w = |r: Record| r.to_wire();
    let mut out = vec![
        case(
            "from the future",
            &w(s.signer.listing(&anne, "Demain", now.plus_ms(600_000))),
            "validate",
            "ignore",
            "from_the_future",
        ),
        case(
            "unknown author",
            &w(s.signer.listing(&key("stranger"), "Inconnu", before)),
            "validate",
            "ignore",
            "unknown_author",
        ),
        case(
            "join with other rules",
            &w({
                let mut join = s.signer.join(&key("ida"), before);
                let Some(Body::Join(mut body)) = join.body().cloned() else {
                    unreachable!()
                };
                body.accepted_rules_hash = [0; 32];
                join = sign(&key("ida"), body.into(), before, None);
                join
            }),
            "validate",
            "reject",
            "wrong_rules",
        ),
        case(
            "join whose introducer signature is not the node's",
            &w(s.signer.join_through(
                &key("ida"),
                &key("not-the-node"),
                s.signer.introduction().id(),
                before,
            )),
            "validate",
            "reject",
            "bad_cosignature",
        ),
        case(
            "join introduced through a record that is not an announcement",
            &w(s.signer
                .join_through(&key("ida"), &key("not-the-node"), listing_id, before)),
            "validate",
            "reject",
            "wrong_ref_kind",
        ),
        case(
            "join introduced by a node not held yet",
            &w(s.signer
                .join_through(&key("ida"), &key("not-the-node"), RecordId([7; 32]), before)),
            "validate",
            "park",
            "missing_refs",
        ),
        case(
            "withdrawal of a listing",
            &w(sign(
                &anne,
                SponsorshipWithdrawal {
                    sponsorship: listing_id,
                    reason: String::new(),
                }
                .into(),
                before,
                None,
            )),
            "validate",
            "reject",
            "wrong_ref_kind",
        ),
        case(
            "tombstone by someone else",
            &w(sign(
                &bob,
                ListingTombstone {
                    series: listing_id,
                    reason: String::new(),
                }
                .into(),
                before,
                None,
            )),
            "validate",
            "reject",
            "wrong_author",
        ),
        case(
            "retracting an expulsion",
            &w(sign(
                &moderator,
                LabelRetraction {
                    label: expel_id,
                    reason: "Pardon".into(),
                }
                .into(),
                before,
                None,
            )),
            "validate",
            "reject",
            "expulsion_is_permanent",
        ),
        case(
            "appointment by one council member",
            &w(s.signer.appoint(
                &f1,
                &[],
                key("ida").public_key(),
                AppointmentAction::Appoint,
                before,
            )),
            "validate",
            "reject",
            "council_threshold",
        ),
        case(
            "appointment by a non-council key",
            &w(s.signer.appoint(
                &anne,
                &[&f2],
                key("ida").public_key(),
                AppointmentAction::Appoint,
                before,
            )),
            "validate",
            "reject",
            "not_council",
        ),
        case(
            "erased body offered again",
            &w(s.signer
                .profile(&eve, "Eve", f1.public_key(), before.minus_ms(testkit::DAY))),
            "validate",
            "reject",
            "erased_body",
        ),
        case(
            "erased body the node held, offered again",
            &w(s.log
                .iter()
                .find(|r| {
                    r.header().author == eve.public_key()
                        && r.header().kind.is_erasable()
                        && r.body().is_some()
                })
                .expect("eve's complaint is in the log")
                .clone()),
            "validate",
            "reject",
            "erased_body",
        ),
        case(
            "bare header without erasure",
            &w(s.signer.listing(&anne, "Sans corps", before).without_body()),
            "validate",
            "ignore",
            "missing_body",
        ),
        case(
            "transaction on an unknown listing",
            &w(sign(
                &bob,
                TransactionOpen {
                    listing: RecordId([9; 32]),
                    message: "Bonjour".into(),
                }
                .into(),
                before,
                None,
            )),
            "validate",
            "park",
            "missing_refs",
        ),
    ];
    let first = s.log.iter().find(|r| r.id() == listing_id).unwrap().clone();
    let Some(Body::Listing(l)) = first.body().cloned() else {
        unreachable!()
    };
    let stale = Listing {
        series: Some(listing_id),
        ..l
    };
    out.push(case(
        "version older than the first",
        &w(sign(&anne, stale.into(), first.header().created, Some(now))),
        "validate",
        "reject",
        "version_not_newer",
    ));
    let carl = key("carl");
    let sponsorships: Vec<RecordId> = ["founder-1", "founder-2", "founder-3"]
        .iter()
        .map(|sp| find_sponsorship(s, sp, &carl))
        .collect();
    out.push(case(
        "recovery with two sponsors",
        &w(s.signer.recover(
            carl.public_key(),
            &key("carl-3"),
            &[&f1, &f2],
            &sponsorships[..2],
            before,
        )),
        "validate",
        "reject",
        "recovery_threshold",
    ));
    out.push(case(
        "recovery co-signed by a non-sponsor",
        &w(s.signer.recover(
            carl.public_key(),
            &key("carl-3"),
            &[&f1, &f2, &anne],
            &sponsorships,
            before,
        )),
        "validate",
        "reject",
        "not_a_sponsor",
    ));
    let mut forged = s.signer.recover(
        carl.public_key(),
        &key("carl-3"),
        &[&f1, &f2, &f3],
        &sponsorships,
        before,
    );
    let Some(Body::KeyRecovery(mut body)) = forged.body().cloned() else {
        unreachable!()
    };
    body.sponsor_signatures[0].1 = f1.sign(b"something else");
    forged = s.signer.sign(&key("carl-3"), body, before, None);
    out.push(case(
        "recovery with a bad co-signature",
        &w(forged),
        "validate",
        "reject",
        "bad_cosignature",
    ));
    out.extend(linking_cases(s, before));
    out
}

/// Linked keys (docs/PROTOCOL.md 8.6): bob rotated to bob-2 in the scenario.
fn linking_cases(s: &Scenario, before: Timestamp) -> Vec<Value> {
    let key = |l: &str| testkit::key(l);
    let (bob, bob2, eve) = (key("bob"), key("bob-2"), key("eve"));
    let eve_by_bob = find_sponsorship(s, "bob", &eve);
    let rotation = s
        .log
        .iter()
        .find(|r| r.header().kind == Kind::KeyRotation && r.header().author == bob.public_key())
        .unwrap()
        .id();
    let withdrawal = |links: &[RecordId]| {
        let body = SponsorshipWithdrawal {
            sponsorship: eve_by_bob,
            reason: String::new(),
        };
        s.signer
            .sign_linked(&bob2, body, before, None, links)
            .to_wire()
    };
    let anne_profile = s
        .log
        .iter()
        .find(|r| r.header().kind == Kind::Profile && r.body().is_some())
        .unwrap()
        .to_wire();
    let refs = [rotation];
    vec![
        case(
            "withdrawal by a rotated key that does not name the rotation",
            &withdrawal(&[]),
            "validate",
            "reject",
            "wrong_author",
        ),
        case(
            "withdrawal naming a listing as a key binding",
            &withdrawal(&[s
                .log
                .iter()
                .find(|r| r.header().kind == Kind::Listing)
                .unwrap()
                .id()]),
            "validate",
            "reject",
            "wrong_ref_kind",
        ),
        case(
            "profile naming a key binding",
            &with_header_field(
                &anne_profile,
                6,
                Cbor::Array(refs.iter().map(|id| Cbor::Bytes(id.0.to_vec())).collect()),
            ),
            "decode",
            "reject",
            "inconsistent",
        ),
    ]
}
