//! Tests of the JSON API, without a socket: every route is called with
//! `tower::ServiceExt::oneshot` on the router, over an engine on a real sled store in a
//! temporary folder, with a fixed clock at the generated network's `now`.
//!
//! - [`status`]: the status endpoint and the state digest.
//! - [`records`]: posting and reading records, bad input.
//! - [`members`]: members, trust, unknown routes.

mod members;
mod records;
mod status;

use std::sync::{Arc, OnceLock};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use maillon_protocol::ids::{PublicKey, RecordId};
use maillon_protocol::membership::{Facts, MembershipTable, Rules};
use maillon_protocol::testkit::{self};
use maillon_protocol::{Record, SecretKey};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use super::{router, ApiState};
use crate::engine::{Engine, EngineParts};
use crate::generator::{generate, GeneratedNetwork};
use crate::ingest::parking::ParkingLimits;
use crate::ingest::pipeline::Submitted;
use crate::store::{SledConfig, SledStore};
use maillon_protocol::state::DIGEST_TAG as STATE_DIGEST_TAG;

/// The network every test uses: 3 founders, 30 members, built once.
pub(super) fn network() -> &'static GeneratedNetwork {
    static NETWORK: OnceLock<GeneratedNetwork> = OnceLock::new();
    NETWORK.get_or_init(|| generate(7, 30))
}

/// A generated key by label (`founder-1`, `member-12`, ...).
pub(super) fn secret(label: &str) -> &'static SecretKey {
    &network()
        .keys
        .iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("no key {label}"))
        .1
}

pub(super) fn public(label: &str) -> PublicKey {
    secret(label).public_key()
}

/// One node: its engine, its router, and the folder its store lives in.
pub(super) struct TestNode {
    engine: Engine,
    router: Router,
    _dir: tempfile::TempDir,
}

impl TestNode {
    /// A node holding only the charter.
    pub(super) async fn empty(name: &str) -> TestNode {
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
            joins_per_introducer_per_day:
                crate::engine::standing::DEFAULT_JOINS_PER_INTRODUCER_PER_DAY,
            clock: Arc::new(move || now),
        })
        .await
        .expect("engine starts");
        let router = router(ApiState {
            peers_configured: false,
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
    pub(super) async fn loaded(name: &str) -> TestNode {
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

    pub(super) async fn call(&self, request: Request<Body>) -> (StatusCode, HeaderMap, Bytes) {
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
    pub(super) async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let request = Request::get(uri).body(Body::empty()).unwrap();
        let (status, headers, body) = self.call(request).await;
        (status, as_json(&headers, &body))
    }

    /// POST bytes to `/api/v1/records` with this content type (none if `None`).
    pub(super) async fn post_as(&self, media: Option<&str>, bytes: Vec<u8>) -> (StatusCode, Value) {
        let mut request = Request::post("/api/v1/records");
        if let Some(media) = media {
            request = request.header(header::CONTENT_TYPE, media);
        }
        let (status, headers, body) = self.call(request.body(Body::from(bytes)).unwrap()).await;
        (status, as_json(&headers, &body))
    }

    /// POST wire bytes as `application/cbor`.
    pub(super) async fn post(&self, bytes: Vec<u8>) -> (StatusCode, Value) {
        self.post_as(Some("application/cbor"), bytes).await
    }

    pub(super) async fn status(&self) -> Value {
        let (code, body) = self.get("/api/v1/status").await;
        assert_eq!(code, StatusCode::OK, "{body}");
        body
    }

    pub(super) async fn record_count(&self) -> u64 {
        self.status().await["records"]
            .as_u64()
            .expect("records is a number")
    }
}

/// Parses a JSON answer, checking its content type.
pub(super) fn as_json(headers: &HeaderMap, body: &[u8]) -> Value {
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
pub(super) fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str) {
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

pub(super) fn hexes(keys: &[PublicKey]) -> Vec<String> {
    keys.iter().map(PublicKey::to_hex).collect()
}

/// SHA-256 over the tag, the sum of the distinct ids and their number, computed here from
/// the definition (byte by byte, not with the protocol's accumulator).
pub(super) fn expected_digest(ids: impl IntoIterator<Item = RecordId>) -> String {
    let mut ids: Vec<RecordId> = ids.into_iter().collect();
    ids.sort();
    ids.dedup();
    let mut sum = [0u8; 32];
    for id in &ids {
        let mut carry = 0u16;
        for (byte, add) in sum.iter_mut().zip(id.0) {
            let total = *byte as u16 + add as u16 + carry;
            *byte = total as u8;
            carry = total >> 8;
        }
    }
    let mut hasher = Sha256::new();
    hasher.update(STATE_DIGEST_TAG);
    hasher.update(sum);
    hasher.update((ids.len() as u64).to_le_bytes());
    hex::encode(hasher.finalize())
}

/// The membership table of the generated records, computed by the protocol directly.
pub(super) fn protocol_table() -> MembershipTable {
    let net = network();
    let charter = &net.signer.charter;
    let facts = Facts::from_records(charter, &net.records);
    MembershipTable::compute(&Rules::of(charter), &facts, net.now)
}

/// A new listing by a generated member, not held by any node yet.
pub(super) fn fresh_listing(title: &str) -> Record {
    let net = network();
    net.signer
        .listing(secret("member-4"), title, net.now.minus_ms(60_000))
}

/// The offset of the signature's S half in a record's wire bytes.
pub(super) fn signature_s_offset(record: &Record) -> usize {
    // 0x83, the header, then a 64-byte byte string (0x58 0x40), R then S.
    1 + record.header_bytes().len() + 2 + 32
}
