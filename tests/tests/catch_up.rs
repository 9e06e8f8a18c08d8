//! A new node catching up with thousands of records reports its progress in
//! `GET /api/v1/status` (records taken and to take, rate, time left) while it syncs, and no
//! longer once it holds the network. Records that arrive before what makes them valid are
//! fetched again within the same session.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use maillon_node::generator::{generate_with, GeneratorOptions};
use maillon_node::network::NetworkSettings;
use maillon_protocol::testkit::{DAY, T0};
use maillon_protocol::Kind;
use maillon_tests::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_catching_up_node_reports_its_progress_in_status() {
    let cluster = Cluster::new(71, 400, 2);
    let total = cluster.genesis().len() as u64;
    assert!(
        total > 1_500,
        "{total} records: a catch-up, not a routine fetch"
    );
    let full = cluster
        .start(0, Cluster::settings(Vec::new()), true)
        .await
        .unwrap();
    let target = full.digest().await.unwrap();
    let fresh = cluster
        .start(1, Cluster::settings(vec![full.address()]), false)
        .await
        .unwrap();
    let started = Instant::now();
    let mut reports = Vec::new();
    loop {
        let status = fresh.status().await.unwrap();
        if !status["sync_progress"].is_null() {
            reports.push(status["sync_progress"].clone());
        }
        if status["state_digest"] == target.as_str() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "no catch-up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!reports.is_empty(), "the catch-up was seen in status");
    for report in &reports {
        let fetched = report["fetched"].as_u64().unwrap();
        let to_take = report["total"].as_u64().unwrap();
        assert!(to_take >= 1_000 && to_take <= total, "{report}");
        assert!(fetched <= to_take, "{report}");
        assert!(report["elapsed_secs"].is_u64(), "{report}");
    }
    maillon_tests::wait_until(
        "the report ends with the catch-up",
        Duration::from_secs(10),
        || async { Ok(fresh.status().await?["sync_progress"].is_null()) },
    )
    .await
    .unwrap();
}

/// Joins created before the node that introduced them (its announcement is created at `T0`)
/// wait in the parking lot until the announcement arrives, later in sync order; meanwhile
/// their authors' sponsorships, profiles and listings are refused for now (`unknown_author`).
/// The new node reconciles and fetches again within its first session, so it holds the
/// network long before the next periodic sync (an hour here).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn records_refused_for_now_are_fetched_again_within_the_session() {
    let options = GeneratorOptions {
        members: 300,
        listings_per_member: 1.0,
        start: T0.minus_ms(12 * DAY),
        spacing_ms: Some(DAY / 30),
    };
    let cluster = Cluster::with_network(72, generate_with(72, &options), 2);
    let early_joins = cluster
        .network
        .records
        .iter()
        .filter(|r| r.header().kind == Kind::Join && r.header().created < T0)
        .count();
    assert!(
        early_joins > 100,
        "{early_joins} joins precede their introducing node"
    );
    let hourly = |bootstrap| NetworkSettings {
        sync_interval: Duration::from_secs(3600),
        ..Cluster::settings(bootstrap)
    };
    let full = cluster.start(0, hourly(Vec::new()), true).await.unwrap();
    let target = full.digest().await.unwrap();
    let fresh = cluster
        .start(1, hourly(vec![full.address()]), false)
        .await
        .unwrap();
    maillon_tests::wait_until(
        "the new node holds the network after its first session",
        Duration::from_secs(90),
        || async { Ok(fresh.digest().await? == target) },
    )
    .await
    .unwrap();
}
