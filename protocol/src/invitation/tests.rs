//! Invitations: round trips, and every way a bad one is refused.

use super::*;
use crate::cbor::Value;
use crate::testkit::{self, Signer, DAY, T0};

struct Fixture {
    node: SecretKey,
    signer: Signer,
    invitation: Invitation,
}

fn fixture() -> Fixture {
    let founder = testkit::key("founder-a");
    let node = testkit::key("node-a");
    let signer = Signer::new(testkit::charter(&[&founder], &[&founder], 1));
    let invitation = Invitation {
        charter: signer.charter_record(&founder),
        inviter: signer.announce_node(&node, &founder, "Nœud A", T0),
        addresses: vec!["/ip4/192.0.2.7/tcp/4001/p2p/12D3KooWExample".into()],
        created: T0.plus_ms(DAY),
        expires: T0.plus_ms(8 * DAY),
    };
    Fixture {
        node,
        signer,
        invitation,
    }
}

fn signed() -> (Fixture, SignedInvitation) {
    let f = fixture();
    let signed = f.invitation.clone().sign(&f.node).expect("signs");
    (f, signed)
}

const NOW: Timestamp = Timestamp(T0.0 + 2 * DAY);

#[test]
fn bytes_and_text_round_trip() {
    let (f, signed) = signed();
    let bytes = signed.to_bytes();
    let read = SignedInvitation::from_bytes(&bytes, NOW).expect("reads");
    assert_eq!(read, signed);
    assert_eq!(read.invitation().network(), f.signer.network);
    assert_eq!(read.invitation().inviter_key(), f.node.public_key());
    let text = signed.to_text();
    assert!(text.starts_with(TEXT_PREFIX));
    assert!(text.lines().all(|line| line.len() <= 64));
    let messy = format!("  {}\n", text.to_lowercase().replace('\n', " \r\n "));
    assert_eq!(SignedInvitation::from_text(&messy, NOW), Ok(signed));
}

#[test]
fn any_altered_byte_is_refused() {
    let (_, signed) = signed();
    let bytes = signed.to_bytes();
    // Every byte of the signed body and signature, one at a time.
    for index in 0..bytes.len() {
        let mut altered = bytes.clone();
        altered[index] ^= 0x01;
        assert!(
            SignedInvitation::from_bytes(&altered, NOW).is_err(),
            "byte {index} altered and still accepted"
        );
    }
}

#[test]
fn an_altered_address_breaks_the_signature() {
    let (f, signed) = signed();
    let mut invitation = f.invitation.clone();
    invitation.addresses = vec!["/ip4/203.0.113.9/tcp/4001/p2p/12D3KooWExample".into()];
    let forged = Value::Array(vec![
        Value::Bytes(invitation.body_bytes()),
        Value::Bytes(signed.signature().0.to_vec()),
    ])
    .encode();
    assert!(matches!(
        SignedInvitation::from_bytes(&forged, NOW),
        Err(InvitationError::BadSignature(_))
    ));
}

#[test]
fn time_bounds_hold() {
    let (f, signed) = signed();
    let bytes = signed.to_bytes();
    assert_eq!(
        SignedInvitation::from_bytes(&bytes, f.invitation.expires),
        Err(InvitationError::Expired(f.invitation.expires))
    );
    assert_eq!(
        SignedInvitation::from_bytes(&bytes, T0),
        Err(InvitationError::NotYetValid(f.invitation.created))
    );
    let mut long = f.invitation.clone();
    long.expires = long.created.plus_ms(MAX_VALIDITY_MS + 1);
    assert_eq!(long.sign(&f.node), Err(InvitationError::BadValidity));
    let mut backwards = f.invitation;
    backwards.expires = backwards.created;
    assert_eq!(backwards.sign(&f.node), Err(InvitationError::BadValidity));
}

#[test]
fn parts_of_another_network_are_refused() {
    let f = fixture();
    let other_founder = testkit::key("founder-b");
    let other = Signer::new(testkit::charter(&[&other_founder], &[&other_founder], 1));
    let mut mixed = f.invitation.clone();
    mixed.inviter = other.announce_node(&f.node, &other_founder, "Nœud B", T0);
    assert!(matches!(
        mixed.clone().sign(&f.node),
        Err(InvitationError::OtherNetwork { .. })
    ));
    // Signed by hand, as a forger would: still refused when read.
    let forged = Value::Array(vec![
        Value::Bytes(mixed.body_bytes()),
        Value::Bytes(f.node.sign(&mixed.signing_bytes()).0.to_vec()),
    ])
    .encode();
    assert!(matches!(
        SignedInvitation::from_bytes(&forged, NOW),
        Err(InvitationError::OtherNetwork { .. })
    ));
}

#[test]
fn only_the_announced_node_signs_and_its_operator_must_have_vouched() {
    let f = fixture();
    assert!(matches!(
        f.invitation.clone().sign(&testkit::key("someone-else")),
        Err(InvitationError::BadInviter(_))
    ));
    let mut unvouched = f.invitation.clone();
    let Some(Body::NodeAnnouncement(mut body)) = f.invitation.inviter.body().cloned() else {
        panic!("an announcement");
    };
    body.operator_signature = f.node.sign(b"not the operator statement");
    unvouched.inviter = f.signer.sign(&f.node, body, T0, None);
    assert!(matches!(
        unvouched.sign(&f.node),
        Err(InvitationError::BadInviter(_))
    ));
    let mut not_a_charter = f.invitation.clone();
    not_a_charter.charter = f.invitation.inviter.clone();
    assert!(matches!(
        not_a_charter.sign(&f.node),
        Err(InvitationError::BadCharter(_))
    ));
}

#[test]
fn garbage_and_unknown_versions_are_refused_with_their_code() {
    let codes = |text: &str| SignedInvitation::from_text(text, NOW).map_err(|e| e.code());
    assert_eq!(codes("bonjour"), Err("unreadable_text"));
    assert_eq!(codes("MAILLON1!!!!"), Err("unreadable_text"));
    assert_eq!(codes("MAILLON1AAAA"), Err("malformed"));
    let (_, signed) = signed();
    let Value::Array(outer) = Value::decode(&signed.to_bytes()).expect("cbor") else {
        panic!("an array");
    };
    let Value::Bytes(body) = &outer[0] else {
        panic!("bytes");
    };
    let Value::Array(mut fields) = Value::decode(body).expect("cbor") else {
        panic!("an array");
    };
    fields[0] = Value::Unsigned(2);
    let future = Value::Array(vec![
        Value::Bytes(Value::Array(fields).encode()),
        outer[1].clone(),
    ]);
    assert_eq!(
        SignedInvitation::from_bytes(&future.encode(), NOW),
        Err(InvitationError::UnknownVersion(2))
    );
    let huge = vec![0u8; MAX_INVITATION_BYTES + 1];
    assert_eq!(
        SignedInvitation::from_bytes(&huge, NOW).map_err(|e| e.code()),
        Err("too_large")
    );
}

#[test]
fn the_short_code_reads_back_and_authenticates_a_fetched_text() {
    let (f, signed) = signed();
    let code = signed.short_code();
    let written = code.to_string();
    assert_eq!(written.len(), 19);
    assert_eq!(written.matches('-').count(), 3);
    assert_eq!(ShortCode::parse(&written), Ok(code));
    let typed = format!(" {} ", written.to_lowercase().replace('-', " "));
    assert_eq!(ShortCode::parse(&typed), Ok(code));
    for bad in [
        "",
        "ABCD-EFGH",
        "ABCD-EFGH-IJKL-MNO1",
        "ABCD-EFGH-IJKL-MNOP-QRST",
    ] {
        assert_eq!(
            ShortCode::parse(bad),
            Err(InvitationError::UnreadableCode),
            "{bad}"
        );
    }
    let text = signed.to_text();
    assert_eq!(
        SignedInvitation::from_text_with_code(&text, code, NOW),
        Ok(signed.clone())
    );
    // Another invitation, validly signed by the same node, is not the one the code names.
    let mut other = f.invitation.clone();
    other.expires = other.expires.plus_ms(DAY);
    let other = other.sign(&f.node).expect("signs").to_text();
    assert_eq!(
        SignedInvitation::from_text_with_code(&other, code, NOW),
        Err(InvitationError::CodeMismatch)
    );
    // The code is checked before the clock: a matching but expired invitation is `expired`.
    let late = f.invitation.expires;
    assert_eq!(
        SignedInvitation::from_text_with_code(&text, code, late).map_err(|e| e.code()),
        Err("expired")
    );
}
