//! The invitation vectors: one valid invitation of the scenario's network, signed by its
//! announced node, in bytes and text, and invitations that must be refused, with their code.

use maillon_protocol::cbor::Value;
use maillon_protocol::invitation::Invitation;
use maillon_protocol::kinds::Kind;
use maillon_protocol::testkit::{self, Signer, DAY};
use maillon_protocol::{PublicKey, Record, Timestamp};
use serde_json::{json, Value as Json};

use super::scenario::Scenario;

/// The libp2p peer id of an Ed25519 key: base58btc of the identity multihash of the
/// protobuf-encoded public key.
pub fn peer_id(key: &PublicKey) -> String {
    let mut bytes = vec![0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
    bytes.extend_from_slice(&key.0);
    bs58::encode(bytes).into_string()
}

fn wire(body: Vec<u8>, signature: &[u8]) -> Vec<u8> {
    Value::Array(vec![Value::Bytes(body), Value::Bytes(signature.to_vec())]).encode()
}

fn case(name: &str, bytes: &[u8], now: Timestamp, reason: &str) -> Json {
    json!({ "name": name, "bytes": hex::encode(bytes), "now_ms": now.0, "reason": reason })
}

pub fn cases(s: &Scenario) -> Json {
    let node = testkit::key("node-valence");
    let inviter: Record = s
        .log
        .iter()
        .find(|r| {
            r.header().kind == Kind::NodeAnnouncement && r.header().author == node.public_key()
        })
        .expect("the scenario announces node-valence")
        .clone();
    let created = s.now;
    let invitation = Invitation {
        charter: s.log[0].clone(),
        inviter,
        addresses: vec![
            format!(
                "/dns4/noeud.paroisse-valence.example/tcp/4001/p2p/{}",
                peer_id(&node.public_key())
            ),
            format!(
                "/ip4/192.0.2.7/tcp/4001/p2p/{}",
                peer_id(&node.public_key())
            ),
        ],
        created,
        expires: created.plus_ms(7 * DAY),
    };
    let signed = invitation.clone().sign(&node).expect("signs");
    let now = created.plus_ms(DAY);
    let bytes = signed.to_bytes();

    let mut altered = invitation.clone();
    altered.addresses.swap(0, 1);
    let altered = wire(altered.body_bytes(), &signed.signature().0);

    let other_founder = testkit::key("other-founder");
    let other = Signer::new(testkit::charter(&[&other_founder], &[&other_founder], 1));
    let mut mixed = invitation.clone();
    mixed.inviter = other.announce_node(&node, &other_founder, "Ailleurs", created);
    let mixed = wire(mixed.body_bytes(), &node.sign(&mixed.signing_bytes()).0);

    let Value::Array(mut fields) = Value::decode(&invitation.body_bytes()).expect("cbor") else {
        panic!("an array");
    };
    fields[0] = Value::Unsigned(2);
    let future_body = Value::Array(fields).encode();
    let mut future_signing = invitation.signing_bytes();
    future_signing.truncate(maillon_protocol::invitation::INVITATION_TAG.len() + 32);
    future_signing.extend_from_slice(&future_body);
    let future = wire(future_body, &node.sign(&future_signing).0);

    // The signature's byte string with a non-shortest length head (0x58 0x40 … is canonical;
    // 0x59 0x00 0x40 is not).
    let mut non_canonical = bytes.clone();
    let at = non_canonical.len() - 66;
    non_canonical.splice(at..at + 2, [0x59, 0x00, 0x40]);

    let skew = match s.log[0].body() {
        Some(maillon_protocol::Body::Charter(c)) => c.max_clock_skew_ms,
        _ => 0,
    };
    json!({
        "description": "Invitations (PROTOCOL.md section 14): one valid invitation of the network of network.json, signed by its announced node node-valence, in bytes, text form and short code, and invitations that must be refused at now_ms with the code given.",
        "network": s.signer.network.to_hex(),
        "valid": {
            "inviter": node.public_key().to_hex(),
            "charter": hex::encode(invitation.charter.to_wire()),
            "announcement": hex::encode(invitation.inviter.to_wire()),
            "addresses": invitation.addresses,
            "created_ms": created.0,
            "expires_ms": invitation.expires.0,
            "body": hex::encode(invitation.body_bytes()),
            "signing_bytes": hex::encode(invitation.signing_bytes()),
            "signature": signed.signature().to_hex(),
            "bytes": hex::encode(&bytes),
            "text": signed.to_text(),
            "short_code_hash": hex::encode(maillon_protocol::ids::sha256(&[
                maillon_protocol::invitation::SHORT_CODE_TAG,
                &bytes,
            ])),
            "short_code": signed.short_code().to_string(),
            "now_ms": now.0,
        },
        "invalid": [
            case("expired", &bytes, invitation.expires, "expired"),
            case("dated_in_the_future", &bytes, created.minus_ms(skew + 1), "not_yet_valid"),
            case("address_altered_after_signing", &altered, now, "bad_signature"),
            case("announcement_of_another_network", &mixed, now, "other_network"),
            case("unknown_version", &future, now, "unknown_version"),
            case("non_canonical_length", &non_canonical, now, "malformed"),
        ],
    })
}
