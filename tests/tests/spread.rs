//! How fast gossip alone spreads records: five nodes on loopback, sync slowed to the
//! production interval (60 s) so that it cannot hide a record gossip dropped. 1,000 records
//! are posted at random nodes, among them candidates' joins each followed at once by their
//! profile (a profile gossiped ahead of its join used to be dropped until the next sync).
//! Prints the delivery times; the figure is in docs/PERFORMANCE.md.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use maillon_node::engine::Origin;
use maillon_protocol::testkit::SplitMix64;
use maillon_protocol::{Record, RecordId};
use maillon_tests::{now, wait_for_peers, wait_until, Cluster, TestNode};

const RECORDS: usize = 1000;
const CANDIDATES: usize = 100;

async fn five_nodes(cluster: &Cluster) -> Vec<TestNode> {
    let slow_sync = |bootstrap| maillon_node::network::NetworkSettings {
        sync_interval: Duration::from_secs(60),
        ..Cluster::settings(bootstrap)
    };
    let first = cluster.start(0, slow_sync(Vec::new()), true).await.unwrap();
    let bootstrap = vec![first.address()];
    let mut nodes = vec![first];
    for i in 1..5 {
        nodes.push(
            cluster
                .start(i, slow_sync(bootstrap.clone()), true)
                .await
                .unwrap(),
        );
    }
    nodes
}

/// The records to post: joins each followed by their profile, then listings by members in
/// good standing.
fn records(cluster: &Cluster, node: &TestNode) -> Vec<Record> {
    let signer = &cluster.network.signer;
    let mut records = Vec::new();
    for i in 0..CANDIDATES {
        let key = maillon_protocol::testkit::key(&format!("candidate-{i}"));
        let at = now();
        records.push(signer.join(&key, at));
        records.push(signer.profile(&key, &format!("Candidate {i}"), key.public_key(), at));
    }
    let index = node.node().engine.index();
    let members: Vec<_> = cluster
        .network
        .keys
        .iter()
        .filter(|(_, key)| index.member(&key.public_key()).status.is_in_good_standing())
        .collect();
    for i in 0..RECORDS - records.len() {
        let (_, key) = &members[i % members.len()];
        records.push(signer.listing(key, &format!("Annonce {i}"), now()));
    }
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_records_at_random_nodes_reach_every_node_by_gossip() {
    let mut cluster = Cluster::new(37, 40, 5);
    // The 100 joins are all introduced by the testkit's one introducer: this test is about
    // spread, not the introduction quota (tests/tests/join_flood.rs).
    cluster.joins_per_introducer_per_day = 10_000;
    let nodes = five_nodes(&cluster).await;
    wait_for_peers(&nodes, 4).await.unwrap();
    // Let the meshes form.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let arrivals: Arc<Mutex<HashMap<(usize, RecordId), Instant>>> = Arc::default();
    for (index, node) in nodes.iter().enumerate() {
        let mut events = node.node().engine.subscribe();
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                let at = Instant::now();
                arrivals
                    .lock()
                    .unwrap()
                    .insert((index, event.record.id()), at);
            }
        });
    }
    let mut random = SplitMix64::new(7);
    let mut sent = Vec::new();
    let mut origin = 0;
    for record in records(&cluster, &nodes[0]) {
        // A profile is posted where its join was, as a member's site does.
        if !matches!(record.body(), Some(maillon_protocol::Body::Profile(_))) {
            origin = random.below(nodes.len() as u64) as usize;
        }
        let at = Instant::now();
        nodes[origin]
            .node()
            .engine
            .submit_wire(&record.to_wire(), Origin::Local)
            .await
            .unwrap();
        sent.push((record.id(), origin, at));
        // A profile follows its join at once, as the join form sends them.
        if !matches!(record.body(), Some(maillon_protocol::Body::Join(_))) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let wanted = sent.len() * nodes.len();
    let held = arrivals.clone();
    let all = wait_until(
        "every record on every node",
        Duration::from_secs(50),
        || {
            let count = held.lock().unwrap().len();
            async move { Ok(count >= wanted) }
        },
    )
    .await;
    let arrivals = arrivals.lock().unwrap().clone();
    let mut delays: Vec<Duration> = Vec::new();
    let mut missing = 0;
    for (id, origin, at) in &sent {
        for index in (0..nodes.len()).filter(|i| i != origin) {
            match arrivals.get(&(index, *id)) {
                Some(arrived) => delays.push(arrived.saturating_duration_since(*at)),
                None => missing += 1,
            }
        }
    }
    delays.sort();
    let quantile = |q: f64| delays[((delays.len() as f64 - 1.0) * q) as usize];
    println!(
        "gossip spread of {} records over 5 nodes: p50 {:.1?}, p99 {:.1?}, max {:.1?}, {} deliveries missing after 50 s",
        sent.len(),
        quantile(0.5),
        quantile(0.99),
        delays.last().copied().unwrap_or_default(),
        missing
    );
    for mut node in nodes {
        node.stop().await.unwrap();
    }
    all.unwrap();
    assert_eq!(missing, 0);
    // A generous bound; the figure itself is reported, not asserted.
    assert!(
        quantile(0.99) < Duration::from_secs(10),
        "p99 {:?}",
        quantile(0.99)
    );
}
