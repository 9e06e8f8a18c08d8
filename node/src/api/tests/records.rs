//! Posting and reading records, and every kind of bad input.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use maillon_protocol::kinds::{Body as RecordBody, Join, Profile};
use maillon_protocol::testkit::{self};
use maillon_protocol::Record;
use serde_json::json;

use super::super::MAX_BODY_BYTES;
use crate::generator::generate;

use super::*;

#[tokio::test]
async fn a_posted_record_is_stored_then_read_back_byte_for_byte() {
    let node = TestNode::loaded("n").await;
    let before = node.record_count().await;
    let listing = fresh_listing("Commode ancienne");
    let wire = listing.to_wire();

    let (code, body) = node.post(wire.clone()).await;
    assert_eq!(code, StatusCode::CREATED);
    assert_eq!(
        body,
        json!({"id": listing.id().to_hex(), "status": "stored"})
    );
    assert_eq!(node.record_count().await, before + 1);

    for id in [listing.id().to_hex(), listing.id().to_hex().to_uppercase()] {
        let request = Request::get(format!("/api/v1/records/{id}"))
            .body(Body::empty())
            .unwrap();
        let (code, headers, bytes) = node.call(request).await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "application/cbor");
        assert_eq!(bytes.as_ref(), wire.as_slice());
    }

    // A second post, and a post of the same header with another signature, are duplicates.
    let (code, body) = node.post(wire.clone()).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        body,
        json!({"id": listing.id().to_hex(), "status": "duplicate"})
    );
    let mut resigned = wire.clone();
    resigned[signature_s_offset(&listing)] ^= 1;
    let (code, body) = node.post(resigned).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["status"], "duplicate");
    assert_eq!(node.record_count().await, before + 1);

    // Generated records read back identical too, and the media type may carry parameters.
    let profile = &network().records[5];
    let request = Request::get(format!("/api/v1/records/{}", profile.id().to_hex()))
        .body(Body::empty())
        .unwrap();
    let (code, _, bytes) = node.call(request).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(bytes.as_ref(), profile.to_wire().as_slice());
    let other = fresh_listing("Miroir doré");
    let (code, body) = node
        .post_as(Some("application/cbor; charset=binary"), other.to_wire())
        .await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_record_whose_ref_is_missing_is_parked_then_released() {
    let net = network();
    let node = TestNode::loaded("n").await;
    let founder = secret("founder-2");
    let newcomer = testkit::key("api-test-newcomer");
    let join = net.signer.join(&newcomer, net.now.minus_ms(20_000));
    let (code, _) = node.post(join.to_wire()).await;
    assert_eq!(code, StatusCode::CREATED);
    let before = node.record_count().await;

    let sponsorship = net
        .signer
        .sponsor(founder, newcomer.public_key(), net.now.minus_ms(10_000));
    let withdrawal = net
        .signer
        .withdraw(founder, sponsorship.id(), net.now.minus_ms(5_000));
    let (code, body) = node.post(withdrawal.to_wire()).await;
    assert_eq!(code, StatusCode::ACCEPTED);
    assert_eq!(
        body,
        json!({
            "id": withdrawal.id().to_hex(),
            "status": "parked",
            "missing": [sponsorship.id().to_hex()],
        })
    );
    assert_eq!(
        node.record_count().await,
        before,
        "a parked record is not held"
    );
    let (code, body) = node
        .get(&format!("/api/v1/records/{}", withdrawal.id().to_hex()))
        .await;
    assert_error(&(code, body), StatusCode::NOT_FOUND, "unknown_record");
    assert_eq!(node.engine.wanted(), vec![sponsorship.id()]);

    let (code, body) = node.post(sponsorship.to_wire()).await;
    assert_eq!(code, StatusCode::CREATED);
    assert_eq!(
        body,
        json!({
            "id": sponsorship.id().to_hex(),
            "status": "stored",
            "released": [withdrawal.id().to_hex()],
        })
    );
    assert_eq!(node.record_count().await, before + 2);
    let request = Request::get(format!("/api/v1/records/{}", withdrawal.id().to_hex()))
        .body(Body::empty())
        .unwrap();
    let (code, _, bytes) = node.call(request).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(bytes.as_ref(), withdrawal.to_wire().as_slice());
}

/// A bad post: what it is, its content type, its bytes, the status and code expected.
type BadPost = (
    &'static str,
    Option<&'static str>,
    Vec<u8>,
    StatusCode,
    &'static str,
);

#[tokio::test]
async fn bad_records_are_json_4xx_and_nothing_is_stored() {
    let net = network();
    let node = TestNode::loaded("n").await;
    // A candidate who joined but has no sponsor yet.
    let candidate = testkit::key("api-test-candidate");
    let (code, _) = node
        .post(
            net.signer
                .join(&candidate, net.now.minus_ms(30_000))
                .to_wire(),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED);
    let before = node.status().await;
    let count = before["records"].as_u64().unwrap();

    let listing = fresh_listing("Lampe de chevet");
    let wire = listing.to_wire();
    let mut tampered = wire.clone();
    tampered[signature_s_offset(&listing)] ^= 1;
    let mut body_changed = wire.clone();
    *body_changed.last_mut().unwrap() ^= 1;
    let mut trailing = wire.clone();
    trailing.push(0);
    let stranger = testkit::key("api-test-stranger");
    let other_network = generate(8, 1);
    let foreign = other_network
        .signer
        .join(&testkit::key("api-test-foreigner"), other_network.now);
    let bad_join = {
        let key = testkit::key("api-test-bad-join");
        let at = net.now.minus_ms(1_000);
        let Some(maillon_protocol::Body::Join(body)) = net.signer.join(&key, at).body().cloned()
        else {
            unreachable!()
        };
        net.signer.sign(
            &key,
            Join {
                accepted_rules_hash: [7; 32],
                ..body
            },
            at,
            None,
        )
    };
    let stranger_profile = net.signer.sign(
        &stranger,
        Profile {
            display_name: "Inconnu".into(),
            home_node: testkit::key("api-test-node").public_key(),
            town: "Die".into(),
            postcode: "26150".into(),
            position: maillon_protocol::kinds::Position {
                lat_microdeg: 44_753_000,
                lon_microdeg: 5_370_000,
            },
            about: String::new(),
        },
        net.now.minus_ms(1_000),
        None,
    );
    // member-2's sponsorship, withdrawn by someone else.
    let sponsorship = net
        .records
        .iter()
        .find(|r| {
            r.header().author == public("member-2")
                && matches!(r.body(), Some(RecordBody::Sponsorship(_)))
        })
        .expect("member-2 sponsors someone");
    let wrong_withdrawal = net.signer.withdraw(
        secret("member-3"),
        sponsorship.id(),
        net.now.minus_ms(1_000),
    );
    let future = net.signer.listing(
        secret("member-4"),
        "Lit d'enfant",
        net.now.plus_ms(3_600_000),
    );

    let cbor = Some("application/cbor");
    let cases: Vec<BadPost> = vec![
        (
            "empty body",
            cbor,
            vec![],
            StatusCode::BAD_REQUEST,
            "invalid_cbor",
        ),
        (
            "garbage",
            cbor,
            b"pas un enregistrement".to_vec(),
            StatusCode::BAD_REQUEST,
            "trailing_bytes",
        ),
        (
            "bytes that are not CBOR",
            cbor,
            vec![0xff, 0x00, 0x13, 0x37],
            StatusCode::BAD_REQUEST,
            "invalid_cbor",
        ),
        (
            "truncated",
            cbor,
            wire[..wire.len() - 1].to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_cbor",
        ),
        (
            "trailing byte",
            cbor,
            trailing,
            StatusCode::BAD_REQUEST,
            "trailing_bytes",
        ),
        (
            "tampered signature",
            cbor,
            tampered,
            StatusCode::BAD_REQUEST,
            "signature_mismatch",
        ),
        (
            "tampered body",
            cbor,
            body_changed,
            StatusCode::BAD_REQUEST,
            "body_hash_mismatch",
        ),
        (
            "another network",
            cbor,
            foreign.to_wire(),
            StatusCode::BAD_REQUEST,
            "wrong_network",
        ),
        (
            "larger than a record",
            cbor,
            vec![0; 30 * 1024],
            StatusCode::BAD_REQUEST,
            "too_large",
        ),
        (
            "larger than the body limit",
            cbor,
            vec![0; MAX_BODY_BYTES + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_rejected",
        ),
        (
            "text/plain",
            Some("text/plain"),
            wire.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "application/json",
            Some("application/json"),
            wire.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "no content type",
            None,
            wire.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "listing by an author who never joined",
            cbor,
            net.signer
                .listing(&stranger, "Chaise", net.now.minus_ms(1_000))
                .to_wire(),
            StatusCode::FORBIDDEN,
            "author_not_in_good_standing",
        ),
        (
            "profile by an author who never joined",
            cbor,
            stranger_profile.to_wire(),
            StatusCode::CONFLICT,
            "unknown_author",
        ),
        (
            "listing by a candidate",
            cbor,
            net.signer
                .listing(&candidate, "Chaise", net.now.minus_ms(1_000))
                .to_wire(),
            StatusCode::FORBIDDEN,
            "author_not_in_good_standing",
        ),
        (
            "created in the future",
            cbor,
            future.to_wire(),
            StatusCode::CONFLICT,
            "from_the_future",
        ),
        (
            "join of other rules",
            cbor,
            bad_join.to_wire(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_rules",
        ),
        (
            "withdrawal by another author",
            cbor,
            wrong_withdrawal.to_wire(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_author",
        ),
    ];
    for (what, media, bytes, status, code) in cases {
        let answer = node.post_as(media, bytes.clone()).await;
        assert_ne!(answer.0, StatusCode::INTERNAL_SERVER_ERROR, "{what}");
        assert!(answer.0.is_client_error(), "{what}: {}", answer.0);
        assert_eq!(answer.0, status, "{what}: {}", answer.1);
        assert_eq!(answer.1["error"], code, "{what}: {}", answer.1);
        if status == StatusCode::BAD_REQUEST {
            // Decoding and signature refusals carry the protocol's own code.
            let protocol = match Record::decode(&bytes, &net.signer.network) {
                Ok(record) => record.verify().expect_err("a bad signature").code(),
                Err(error) => error.code(),
            };
            assert_eq!(code, protocol, "{what}");
        }
        assert_error(&answer, status, code);
        if let Ok(record) = Record::decode_any_network(&bytes) {
            let (found, _) = node
                .get(&format!("/api/v1/records/{}", record.id().to_hex()))
                .await;
            assert_eq!(found, StatusCode::NOT_FOUND, "{what} was stored");
        }
    }
    let after = node.status().await;
    assert_eq!(after["records"], count, "nothing was stored");
    assert_eq!(after["state_digest"], before["state_digest"]);
    assert!(node.engine.wanted().is_empty(), "nothing was parked");
}

#[tokio::test]
async fn record_ids_are_checked() {
    let node = TestNode::loaded("n").await;
    for bad in [
        "xyz",
        "00",
        &"a".repeat(63),
        &"a".repeat(65),
        &"g".repeat(64),
    ] {
        let answer = node.get(&format!("/api/v1/records/{bad}")).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "bad_id");
    }
    // Percent-encoded bytes that are not UTF-8: answered in JSON like every error.
    let answer = node.get("/api/v1/records/%FF%FE").await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "bad_path");
    let answer = node.get("/api/v1/members/%FF%FE").await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "bad_path");
    let answer = node
        .get(&format!("/api/v1/records/{}", "0".repeat(64)))
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "unknown_record");
}
