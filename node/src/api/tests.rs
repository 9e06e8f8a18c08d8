//! Tests of the JSON API, without a socket: every route is called with
//! `tower::ServiceExt::oneshot` on the router, over an engine on a real sled store in a
//! temporary folder, with a fixed clock at the generated network's `now`.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use maillon_protocol::ids::{PublicKey, RecordId};
use maillon_protocol::kinds::{Body as RecordBody, Join, Profile};
use maillon_protocol::membership::{Facts, MembershipTable, Rules};
use maillon_protocol::testkit::{self, SplitMix64};
use maillon_protocol::trust::{trust_paths, TrustQuery};
use maillon_protocol::{Record, SecretKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use super::{router, ApiState, MAX_BODY_BYTES};
use crate::engine::{Engine, EngineParts};
use crate::generator::{generate, GeneratedNetwork};
use crate::ingest::parking::ParkingLimits;
use crate::ingest::pipeline::Submitted;
use crate::store::{SledConfig, SledStore};
use maillon_protocol::state::DIGEST_TAG as STATE_DIGEST_TAG;

/// The network every test uses: 3 founders, 30 members, built once.
fn network() -> &'static GeneratedNetwork {
    static NETWORK: OnceLock<GeneratedNetwork> = OnceLock::new();
    NETWORK.get_or_init(|| generate(7, 30))
}

/// A generated key by label (`founder-1`, `member-12`, ...).
fn secret(label: &str) -> &'static SecretKey {
    &network()
        .keys
        .iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("no key {label}"))
        .1
}

fn public(label: &str) -> PublicKey {
    secret(label).public_key()
}

/// One node: its engine, its router, and the folder its store lives in.
struct TestNode {
    engine: Engine,
    router: Router,
    _dir: tempfile::TempDir,
}

impl TestNode {
    /// A node holding only the charter.
    async fn empty(name: &str) -> TestNode {
        let net = network();
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = SledStore::open(&SledConfig {
            path: dir.path().join("db"),
            cache_capacity_bytes: 4 << 20,
        })
        .expect("sled opens");
        let now = net.now;
        let engine = Engine::start(EngineParts {
            store: Arc::new(store),
            charter: net.records[0].clone(),
            node_key: testkit::key("api-test-node").public_key(),
            name: name.into(),
            parking: ParkingLimits::default(),
            clock: Arc::new(move || now),
        })
        .await
        .expect("engine starts");
        let router = router(ApiState {
            engine: engine.clone(),
            network: None,
        });
        TestNode {
            engine,
            router,
            _dir: dir,
        }
    }

    /// A node holding every generated record, ingested in the generator's order.
    async fn loaded(name: &str) -> TestNode {
        let node = TestNode::empty(name).await;
        let wires = network().records.iter().map(Record::to_wire).collect();
        let outcomes = node
            .engine
            .submit_many(wires, crate::engine::Origin::Local)
            .await
            .expect("engine runs");
        for (record, outcome) in network().records.iter().zip(outcomes) {
            match outcome {
                Ok(Submitted::Stored { .. }) => {}
                Ok(Submitted::Duplicate(id)) if id == network().records[0].id() => {}
                other => panic!("{:?} not stored: {other:?}", record.header().kind),
            }
        }
        node
    }

    async fn call(&self, request: Request<Body>) -> (StatusCode, HeaderMap, Bytes) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, headers, body)
    }

    /// GET `uri`, answer parsed as JSON.
    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let request = Request::get(uri).body(Body::empty()).unwrap();
        let (status, headers, body) = self.call(request).await;
        (status, as_json(&headers, &body))
    }

    /// POST bytes to `/api/v1/records` with this content type (none if `None`).
    async fn post_as(&self, media: Option<&str>, bytes: Vec<u8>) -> (StatusCode, Value) {
        let mut request = Request::post("/api/v1/records");
        if let Some(media) = media {
            request = request.header(header::CONTENT_TYPE, media);
        }
        let (status, headers, body) = self.call(request.body(Body::from(bytes)).unwrap()).await;
        (status, as_json(&headers, &body))
    }

    /// POST wire bytes as `application/cbor`.
    async fn post(&self, bytes: Vec<u8>) -> (StatusCode, Value) {
        self.post_as(Some("application/cbor"), bytes).await
    }

    async fn status(&self) -> Value {
        let (code, body) = self.get("/api/v1/status").await;
        assert_eq!(code, StatusCode::OK, "{body}");
        body
    }

    async fn record_count(&self) -> u64 {
        self.status().await["records"]
            .as_u64()
            .expect("records is a number")
    }
}

/// Parses a JSON answer, checking its content type.
fn as_json(headers: &HeaderMap, body: &[u8]) -> Value {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert_eq!(
        media,
        "application/json",
        "not JSON: {}",
        String::from_utf8_lossy(body)
    );
    serde_json::from_slice(body).expect("valid JSON")
}

/// Checks an error answer: this status, and exactly `{"error": code, "message": text}`.
#[track_caller]
fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    let object = body.as_object().expect("an object");
    assert_eq!(object.len(), 2, "only error and message: {body}");
    assert_eq!(object["error"], code, "{body}");
    assert!(
        object["message"].as_str().is_some_and(|m| !m.is_empty()),
        "a message: {body}"
    );
}

fn hexes(keys: &[PublicKey]) -> Vec<String> {
    keys.iter().map(PublicKey::to_hex).collect()
}

/// SHA-256 over the tag and the sorted ids, computed here from the definition.
fn expected_digest(ids: impl IntoIterator<Item = RecordId>) -> String {
    let mut ids: Vec<RecordId> = ids.into_iter().collect();
    ids.sort();
    ids.dedup();
    let mut hasher = Sha256::new();
    hasher.update(STATE_DIGEST_TAG);
    for id in ids {
        hasher.update(id.0);
    }
    hex::encode(hasher.finalize())
}

/// The membership table of the generated records, computed by the protocol directly.
fn protocol_table() -> MembershipTable {
    let net = network();
    let charter = &net.signer.charter;
    let facts = Facts::from_records(charter, &net.records);
    MembershipTable::compute(&Rules::of(charter), &facts, net.now)
}

/// A new listing by a generated member, not held by any node yet.
fn fresh_listing(title: &str) -> Record {
    let net = network();
    net.signer
        .listing(secret("member-4"), title, net.now.minus_ms(60_000))
}

/// The offset of the signature's S half in a record's wire bytes.
fn signature_s_offset(record: &Record) -> usize {
    // 0x83, the header, then a 64-byte byte string (0x58 0x40), R then S.
    1 + record.header_bytes().len() + 2 + 32
}

#[tokio::test]
async fn status_reports_the_network_the_node_and_the_counts() {
    let net = network();
    let empty = TestNode::empty("Nœud de Valence").await;
    let status = empty.status().await;
    assert_eq!(status["network_id"], net.signer.network.to_hex());
    assert_eq!(status["node_name"], "Nœud de Valence");
    assert_eq!(
        status["node_key"],
        testkit::key("api-test-node").public_key().to_hex()
    );
    assert_eq!(status["peer_id"], Value::Null);
    assert_eq!(status["peers"], 0);
    assert_eq!(status["records"], 1);
    assert_eq!(status["records_per_kind"], json!({"charter": 1}));
    assert_eq!(status["members"], 3, "the three founders");
    assert_eq!(
        status["state_digest"],
        expected_digest([net.records[0].id()])
    );

    let node = TestNode::loaded("Nœud de Nantes").await;
    let status = node.status().await;
    let fields: Vec<&str> = status
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "members",
            "network_id",
            "node_key",
            "node_name",
            "peer_id",
            "peers",
            "records",
            "records_per_kind",
            "state_digest"
        ]
    );
    assert_eq!(status["network_id"], net.signer.network.to_hex());
    assert_eq!(status["node_name"], "Nœud de Nantes");
    assert_eq!(status["peer_id"], Value::Null);
    assert_eq!(status["records"], net.records.len() as u64);
    assert_eq!(status["records"], 166);
    assert_eq!(
        status["records_per_kind"],
        json!({"charter": 1, "join": 30, "sponsorship": 90, "profile": 30, "listing": 15})
    );
    let mut per_kind: BTreeMap<String, u64> = BTreeMap::new();
    for record in &net.records {
        *per_kind
            .entry(crate::engine::status::kind_name(record.header().kind))
            .or_default() += 1;
    }
    assert_eq!(status["records_per_kind"], json!(per_kind));
    assert_eq!(status["members"], 33, "3 founders and 30 members");
    assert_eq!(
        status["members"],
        protocol_table().good_standing_count() as u64
    );
    assert_eq!(
        status["state_digest"],
        expected_digest(net.records.iter().map(Record::id))
    );
}

#[tokio::test]
async fn the_digest_changes_with_a_record_and_ignores_insertion_order() {
    let net = network();
    let in_order = TestNode::loaded("a").await;
    // The other node gets the records over the API in a shuffled order; records refused
    // for now (author not known or not yet admitted) are posted again until all are held.
    let shuffled = TestNode::empty("b").await;
    let mut pending: Vec<&Record> = net.records[1..].iter().collect();
    SplitMix64::new(42).shuffle(&mut pending);
    assert_ne!(pending[0].id(), net.records[1].id(), "the order differs");
    let mut passes = 0;
    while !pending.is_empty() {
        passes += 1;
        assert!(passes <= 40, "no progress: {} records left", pending.len());
        let mut refused = Vec::new();
        for record in pending {
            let (code, body) = shuffled.post(record.to_wire()).await;
            match code {
                StatusCode::CREATED | StatusCode::OK | StatusCode::ACCEPTED => {}
                StatusCode::FORBIDDEN | StatusCode::CONFLICT => refused.push(record),
                other => panic!("{other}: {body}"),
            }
        }
        pending = refused;
    }
    assert!(passes > 1, "the shuffled order needed retries");
    let a = in_order.status().await;
    let b = shuffled.status().await;
    assert_eq!(b["records"], net.records.len() as u64);
    assert_eq!(a["state_digest"], b["state_digest"]);
    assert_eq!(a["records_per_kind"], b["records_per_kind"]);
    assert_eq!(a["members"], b["members"]);

    let listing = fresh_listing("Buffet de cuisine");
    let (code, body) = in_order.post(listing.to_wire()).await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    let after = in_order.status().await;
    assert_ne!(after["state_digest"], a["state_digest"]);
    assert_eq!(after["records"], net.records.len() as u64 + 1);
    assert_eq!(after["records_per_kind"]["listing"], 16);
    assert_eq!(
        after["state_digest"],
        expected_digest(net.records.iter().map(Record::id).chain([listing.id()]))
    );
    let (code, body) = shuffled.post(listing.to_wire()).await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    assert_eq!(
        shuffled.status().await["state_digest"],
        after["state_digest"]
    );
}

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
    let bad_join = net.signer.sign(
        &testkit::key("api-test-bad-join"),
        Join {
            accepted_rules_hash: [7; 32],
        },
        net.now.minus_ms(1_000),
        None,
    );
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

#[tokio::test]
async fn members_are_reported_as_the_generator_built_them() {
    let net = network();
    let node = TestNode::loaded("n").await;
    let table = protocol_table();
    let sponsorships: Vec<(PublicKey, PublicKey)> = net
        .records
        .iter()
        .filter_map(|r| match r.body() {
            Some(RecordBody::Sponsorship(s)) => Some((r.header().author, s.candidate)),
            _ => None,
        })
        .collect();
    let homes: BTreeMap<PublicKey, PublicKey> = net
        .records
        .iter()
        .filter_map(|r| match r.body() {
            Some(RecordBody::Profile(p)) => Some((r.header().author, p.home_node)),
            _ => None,
        })
        .collect();
    for (label, key) in &net.keys {
        let key = key.public_key();
        let (code, body) = node.get(&format!("/api/v1/members/{}", key.to_hex())).await;
        assert_eq!(code, StatusCode::OK, "{label}: {body}");
        let mut sponsors: Vec<PublicKey> = sponsorships
            .iter()
            .filter(|(_, c)| *c == key)
            .map(|(s, _)| *s)
            .collect();
        sponsors.sort();
        let mut sponsees: Vec<PublicKey> = sponsorships
            .iter()
            .filter(|(s, _)| *s == key)
            .map(|(_, c)| *c)
            .collect();
        sponsees.sort();
        let founder = label.starts_with("founder-");
        assert_eq!(
            body,
            json!({
                "key": key.to_hex(),
                "identity": key.to_hex(),
                "status": if founder { "founder" } else { "member" },
                "admitted_at": table.admitted_at(&key).map(|t| t.0),
                "sponsors": hexes(&sponsors),
                "sponsees": hexes(&sponsees),
                "home_node": homes.get(&key).map(PublicKey::to_hex),
                "strikes": 0,
                "quota": 20,
            }),
            "{label}"
        );
        if founder {
            assert!(
                sponsors.is_empty() && body["home_node"].is_null(),
                "{label}"
            );
            assert_eq!(body["admitted_at"], 0, "founders are admitted at time 0");
        } else {
            assert_eq!(sponsors.len(), 3, "{label}");
            assert!(body["home_node"].is_string(), "{label} has a profile");
            assert!(body["admitted_at"].is_u64(), "{label} was admitted");
        }
    }
    // Upper-case hex names the same member.
    let (code, body) = node
        .get(&format!(
            "/api/v1/members/{}",
            public("member-0").to_hex().to_uppercase()
        ))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["key"], public("member-0").to_hex());

    // A joined key without sponsors is a candidate.
    let candidate = testkit::key("api-test-candidate");
    let (code, _) = node
        .post(
            net.signer
                .join(&candidate, net.now.minus_ms(1_000))
                .to_wire(),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED);
    let (code, body) = node
        .get(&format!(
            "/api/v1/members/{}",
            candidate.public_key().to_hex()
        ))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["status"], "candidate");
    assert_eq!(body["admitted_at"], Value::Null);
    assert_eq!(body["sponsors"], json!([]));
    assert_eq!(body["home_node"], Value::Null);

    let unknown = testkit::key("api-test-nobody").public_key();
    let answer = node
        .get(&format!("/api/v1/members/{}", unknown.to_hex()))
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "unknown_member");
    for bad in ["abc", &"0".repeat(63), &"z".repeat(64)] {
        let answer = node.get(&format!("/api/v1/members/{bad}")).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "bad_key");
    }
}

#[tokio::test]
async fn trust_answers_equal_the_protocol() {
    let node = TestNode::loaded("n").await;
    let table = protocol_table();
    let pairs = [
        ("founder-1", "member-29"),
        ("member-0", "member-29"),
        ("member-3", "member-17"),
        ("member-21", "founder-3"),
        ("member-8", "member-8"),
    ];
    let mut far = false;
    for (from, to) in pairs {
        let (a, b) = (public(from), public(to));
        let (code, body) = node
            .get(&format!(
                "/api/v1/trust?from={}&to={}",
                a.to_hex(),
                b.to_hex()
            ))
            .await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let report = trust_paths(&table, &a, &b, TrustQuery::default());
        let paths: Vec<Vec<String>> = report.paths.iter().map(|p| hexes(p)).collect();
        assert_eq!(
            body,
            json!({
                "distance": report.distance,
                "paths": paths,
                "independent_paths": report.independent_paths,
                "truncated": report.truncated,
            }),
            "{from} to {to}"
        );
        if let (Some(distance), Some(first)) = (report.distance, report.paths.first()) {
            assert_eq!(first.first(), Some(&a));
            assert_eq!(first.last(), Some(&b));
            assert_eq!(first.len() as u32, distance + 1);
            far |= distance >= 2 && report.independent_paths >= 1;
        }
    }
    assert!(far, "at least one pair is two hops or more apart");

    // A key the network does not know has no path.
    let nobody = testkit::key("api-test-nobody").public_key();
    let (code, body) = node
        .get(&format!(
            "/api/v1/trust?from={}&to={}",
            public("founder-1").to_hex(),
            nobody.to_hex()
        ))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        body,
        json!({"distance": null, "paths": [], "independent_paths": 0, "truncated": false})
    );

    let key = public("member-1").to_hex();
    for query in [
        String::new(),
        "?".into(),
        format!("?from={key}"),
        format!("?to={key}"),
        format!("?other=1&to={key}"),
    ] {
        let answer = node.get(&format!("/api/v1/trust{query}")).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "missing_parameter");
    }
    for query in [
        format!("?from=xyz&to={key}"),
        format!("?from={key}&to=12"),
        format!("?from=&to={key}"),
    ] {
        let answer = node.get(&format!("/api/v1/trust{query}")).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "bad_key");
    }
    // A repeated parameter is a malformed query, answered in JSON like every error.
    let answer = node
        .get(&format!("/api/v1/trust?from={key}&from={key}&to={key}"))
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "bad_query");
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_json() {
    let node = TestNode::empty("n").await;
    for uri in [
        "/",
        "/api/v1",
        "/api/v1/nothing",
        "/api/v2/status",
        "/api/v1/status/extra",
    ] {
        let answer = node.get(uri).await;
        assert_error(&answer, StatusCode::NOT_FOUND, "not_found");
    }
    for (method, uri, allow) in [
        (Method::POST, "/api/v1/status", "GET,HEAD"),
        (Method::GET, "/api/v1/records", "POST"),
        (
            Method::DELETE,
            &*format!("/api/v1/records/{}", "0".repeat(64)),
            "GET,HEAD",
        ),
    ] {
        let request = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/cbor")
            .body(Body::empty())
            .unwrap();
        let (code, headers, body) = node.call(request).await;
        assert_eq!(headers[header::ALLOW], allow, "{method} {uri}");
        assert_error(
            &(code, as_json(&headers, &body)),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        );
    }
}

#[tokio::test]
async fn the_media_type_is_matched_without_regard_to_case() {
    let node = TestNode::loaded("n").await;
    let listing = fresh_listing("Tapis berbère");
    let (code, body) = node
        .post_as(Some("Application/CBOR"), listing.to_wire())
        .await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
}
