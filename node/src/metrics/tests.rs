//! The metrics' text, the HTTP middleware's labels, the history's rules and the local-only
//! guard of `/metrics` on the site's port.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use tower::ServiceExt;

use super::history::{self, Sample, KEEP_MS, MIN_GAP_MS};
use super::serve::is_direct_local;
use super::snapshot::{PeerCounts, Snapshot};
use super::{Metrics, SyncFigures};
use crate::blobs::BlobUsage;
use crate::engine::Origin;
use crate::ingest::outcome::GossipVerdict;
use crate::ingest::pipeline::{IngestError, Submitted};
use crate::store::StoreError;

fn snapshot() -> Snapshot {
    Snapshot {
        at: maillon_protocol::Timestamp(1_000),
        records: 7,
        records_per_kind: vec![("charter".into(), 1), ("listing".into(), 6)],
        members: 4,
        peers: PeerCounts {
            direct: 2,
            relayed: 1,
            hole_punched: 0,
        },
        sync_lag: Some(Duration::from_millis(2_500)),
        store_bytes: Some(123_456),
        photos: BlobUsage {
            files: 3,
            bytes: 9_000,
        },
        mail_queue: 0,
    }
}

/// The value of the sample line that starts with `prefix` (name and labels).
fn value(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[test]
fn counters_and_gauges_appear_with_their_labels() {
    let metrics = Metrics::new();
    let id = maillon_protocol::ids::RecordId([1; 32]);
    let stored: Result<Submitted, IngestError> = Ok(Submitted::Stored {
        id,
        released: Vec::new(),
    });
    metrics.record_ingest(Origin::Local, &stored);
    metrics.record_ingest(Origin::Local, &stored);
    metrics.record_ingest(Origin::Gossip, &Ok(Submitted::Duplicate(id)));
    let full = Err(IngestError::Store(StoreError::NoSpace("full".into())));
    metrics.record_ingest(Origin::Pushed, &full);
    metrics.record_gossip(GossipVerdict::Reject);
    metrics.record_sync(SyncFigures {
        succeeded: true,
        fetched: 5,
        pushed: 2,
        reconcile_bytes: 100,
        fetch_bytes: 2_000,
        push_bytes: 300,
    });
    metrics.record_sync(SyncFigures::default());
    metrics.record_index_refresh(Duration::from_millis(3));
    metrics.set_mail_queue(4);
    let text = metrics.encode(&snapshot());
    let expect = [
        (
            r#"maillon_ingest_outcomes_total{origin="local",outcome="stored"}"#,
            2.0,
        ),
        (
            r#"maillon_ingest_outcomes_total{origin="gossip",outcome="duplicate"}"#,
            1.0,
        ),
        (
            r#"maillon_ingest_outcomes_total{origin="pushed",outcome="insufficient_storage"}"#,
            1.0,
        ),
        (r#"maillon_gossip_messages_total{verdict="reject"}"#, 1.0),
        (r#"maillon_sync_sessions_total{result="ok"}"#, 1.0),
        (r#"maillon_sync_sessions_total{result="error"}"#, 1.0),
        (r#"maillon_sync_records_total{direction="fetched"}"#, 5.0),
        (r#"maillon_sync_bytes_total{phase="fetch"}"#, 2_000.0),
        ("maillon_sync_lag_seconds ", 2.5),
        (r#"maillon_records{kind="listing"}"#, 6.0),
        ("maillon_members ", 4.0),
        (r#"maillon_peers{link="relayed"}"#, 1.0),
        (r#"maillon_peers{link="hole_punched"}"#, 0.0),
        ("maillon_store_bytes ", 123_456.0),
        ("maillon_photo_bytes ", 9_000.0),
        ("maillon_photos ", 3.0),
        ("maillon_mail_queue ", 4.0),
        ("maillon_membership_index_refresh_seconds_count ", 1.0),
    ];
    for (prefix, expected) in expect {
        assert_eq!(value(&text, prefix), Some(expected), "{prefix} in\n{text}");
    }
    assert!(text.contains("# TYPE maillon_membership_index_refresh_seconds histogram"));
    assert!(
        text.trim_end().ends_with("# EOF"),
        "OpenMetrics text ends with # EOF"
    );
    assert_eq!(metrics.mail_queue(), 4);
}

#[tokio::test]
async fn http_answers_are_counted_by_route_pattern_never_by_raw_path() {
    let metrics = Metrics::new();
    let app = super::http::counted(
        Router::new().route("/annonces/{id}", get(|| async { "une annonce" })),
        metrics.clone(),
    );
    for uri in ["/annonces/1", "/annonces/2", "/nulle-part"] {
        let request = Request::get(uri).body(Body::empty()).unwrap();
        app.clone().oneshot(request).await.unwrap();
    }
    let request = Request::builder()
        .method("BREW")
        .uri("/annonces/3")
        .body(Body::empty())
        .unwrap();
    let answer = app.clone().oneshot(request).await.unwrap();
    assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED);
    let text = metrics.encode(&snapshot());
    let route = r#"maillon_http_requests_total{route="/annonces/{id}",method="GET",status="200"}"#;
    assert_eq!(value(&text, route), Some(2.0), "{text}");
    let unmatched = r#"maillon_http_requests_total{route="unmatched",method="GET",status="404"}"#;
    assert_eq!(value(&text, unmatched), Some(1.0), "{text}");
    let other =
        r#"maillon_http_requests_total{route="/annonces/{id}",method="OTHER",status="405"}"#;
    assert_eq!(value(&text, other), Some(1.0), "{text}");
    let count = r#"maillon_http_request_duration_seconds_count{route="/annonces/{id}"}"#;
    assert_eq!(value(&text, count), Some(3.0), "{text}");
    assert!(
        !text.contains("/annonces/1"),
        "raw paths never become labels"
    );
}

#[test]
fn metrics_on_the_site_port_answer_only_direct_local_requests() {
    let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let outside: SocketAddr = "192.0.2.7:5000".parse().unwrap();
    let none = HeaderMap::new();
    assert!(is_direct_local(Some(local), &none));
    assert!(is_direct_local(Some("[::1]:5000".parse().unwrap()), &none));
    assert!(!is_direct_local(Some(outside), &none));
    assert!(!is_direct_local(None, &none));
    for header in ["x-forwarded-for", "forwarded", "x-real-ip"] {
        let mut proxied = HeaderMap::new();
        proxied.insert(header, HeaderValue::from_static("192.0.2.7"));
        assert!(!is_direct_local(Some(local), &proxied), "{header}");
    }
}

fn sample(at_ms: u64, records: u64) -> Sample {
    Sample {
        at_ms,
        records,
        peers: 1,
    }
}

#[test]
fn the_history_keeps_thirty_days_and_restarts_do_not_pile_up() {
    let hour = 3_600_000;
    let start = 10 * KEEP_MS;
    let mut samples = Vec::new();
    for i in 0..24 * 40 {
        history::add(&mut samples, sample(start + i * hour, i));
    }
    let last = start + (24 * 40 - 1) * hour;
    assert!(samples.iter().all(|s| s.at_ms >= last - KEEP_MS));
    assert_eq!(samples.len() as u64, KEEP_MS / hour + 1);
    // A restart ten minutes after the last sample replaces it (and the oldest sample,
    // now more than 30 days old, goes).
    history::add(&mut samples, sample(last + MIN_GAP_MS / 3, 9_999));
    assert_eq!(samples.len() as u64, KEEP_MS / hour);
    assert_eq!(samples.last().unwrap().records, 9_999);
    // A clock set back forgets what is after it.
    history::add(&mut samples, sample(last - 5 * hour, 1));
    assert_eq!(samples.last().unwrap().at_ms, last - 5 * hour);
    assert!(samples.windows(2).all(|w| w[0].at_ms < w[1].at_ms));
}

#[test]
fn the_history_file_round_trips_and_a_bad_one_starts_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(history::HISTORY_FILE);
    assert!(history::load(&path).is_empty(), "no file: no samples");
    let samples = vec![sample(1, 2), sample(MIN_GAP_MS * 3, 5)];
    history::save(&path, &samples).unwrap();
    assert_eq!(history::load(&path), samples);
    std::fs::write(&path, b"{ not json").unwrap();
    assert!(history::load(&path).is_empty());
    std::fs::write(&path, br#"{"version":9,"samples":[]}"#).unwrap();
    assert!(history::load(&path).is_empty());
}
