//! A new node catching up with thousands of records reports its progress in
//! `GET /api/v1/status` (records taken and to take, rate, time left) while it syncs, and no
//! longer once it holds the network.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

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
