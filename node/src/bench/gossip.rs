//! Gossip: nodes on loopback in one process, each dialling a few earlier ones; records
//! published at random nodes; for each, the time until the last node has stored it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use maillon_protocol::ids::RecordId;
use maillon_protocol::testkit::{SplitMix64, DAY};
use maillon_protocol::Record;
use tokio::sync::mpsc;

use super::fixture::{fresh_listings, load, now, settings, Fixture};
use super::limits::{sled_flush_latency, verify_latency};
use super::{ms, percentile, BenchOptions, BenchResult, Row};
use crate::engine::Origin;
use crate::generator::GeneratorOptions;
use crate::node::RunningNode;

/// Members of the network every node holds.
const MEMBERS: usize = 300;
/// Earlier nodes each node dials.
const DIALS: usize = 3;
/// Time between two publications.
const SPACING: Duration = Duration::from_millis(25);

/// Runs the gossip benchmark.
pub async fn run(options: &BenchOptions) -> BenchResult<Vec<Row>> {
    let count = options.gossip_nodes.max(2);
    let fixture = Fixture::new(
        options.seed,
        &GeneratorOptions::national_shaped(MEMBERS, now().minus_ms(DAY)),
        count,
    )?;
    let genesis = fixture.genesis();
    let mut rng = SplitMix64::new(options.seed);
    let mut nodes: Vec<RunningNode> = Vec::new();
    let quiet = Duration::from_secs(3600);
    for i in 0..count {
        let node = fixture.start(i, settings(Vec::new(), quiet)).await?;
        load(&node.engine, &genesis, 4096).await?;
        let mut targets: Vec<usize> = (0..i).collect();
        for _ in 0..DIALS.min(i) {
            let at = rng.below(targets.len() as u64) as usize;
            let target = targets.swap_remove(at);
            let address = nodes[target].p2p_addresses().await?.remove(0);
            node.client.dial(address).await?;
        }
        nodes.push(node);
    }
    let started = Instant::now();
    for node in &nodes {
        while node.client.peers().await?.len() < 2 {
            if started.elapsed() > Duration::from_secs(60) {
                return Err("the gossip nodes did not connect".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Several heartbeats for the meshes to form and the on-connect sessions to end.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let mut degrees = Vec::new();
    for node in &nodes {
        degrees.push(node.client.peers().await?.len());
    }
    println!(
        "gossip: {count} nodes connected (peers per node: min {}, max {}) in {:.1} s",
        degrees.iter().min().unwrap_or(&0),
        degrees.iter().max().unwrap_or(&0),
        started.elapsed().as_secs_f64()
    );

    let records: Vec<Record> = fresh_listings(
        &fixture,
        &nodes[0].engine,
        options.gossip_records,
        now().minus_ms(600_000),
    )?;
    let (tx, mut rx) = mpsc::unbounded_channel::<(RecordId, Instant)>();
    for node in &nodes {
        let mut events = node.engine.subscribe();
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                if tx.send((event.record.id(), Instant::now())).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let mut published: HashMap<RecordId, Instant> = HashMap::new();
    let mut seen: HashMap<RecordId, (usize, Instant)> = HashMap::new();
    let mut submissions = Vec::new();
    for record in &records {
        let engine = nodes[rng.below(count as u64) as usize].engine.clone();
        let wire = record.to_wire();
        published.insert(record.id(), Instant::now());
        submissions.push(tokio::spawn(async move {
            engine.submit_wire(&wire, Origin::Local).await
        }));
        tokio::time::sleep(SPACING).await;
        drain(&mut rx, &mut seen);
    }
    for submission in submissions {
        submission.await??;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline
        && seen.values().filter(|(n, _)| *n >= count).count() < records.len()
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
        drain(&mut rx, &mut seen);
    }
    for node in nodes {
        node.shutdown().await?;
    }

    let mut delays: Vec<Duration> = Vec::new();
    for (id, at) in &published {
        if let Some((n, last)) = seen.get(id) {
            if *n >= count {
                delays.push(last.duration_since(*at));
            }
        }
    }
    delays.sort();
    let missing = records.len() - delays.len();
    let wires: Vec<Vec<u8>> = records.iter().take(200).map(Record::to_wire).collect();
    let verify = verify_latency(&wires, &fixture.network_id())?;
    let flush = sled_flush_latency(&wires[0], 50)?;
    let p = |q: f64| percentile(&delays, q).unwrap_or_default();
    println!(
        "gossip: {} of {} records reached all {count} nodes; p50 {}, p99 {}, max {}",
        delays.len(),
        records.len(),
        ms(p(50.0)),
        ms(p(99.0)),
        ms(p(100.0))
    );
    Ok(vec![Row::new(
        format!(
            "gossip: {} records at random nodes of {count}, time to the last node",
            records.len()
        ),
        format!(
            "p50 {}, p99 {}, max {}{}",
            ms(p(50.0)),
            ms(p(99.0)),
            ms(p(100.0)),
            if missing > 0 {
                format!(" ({missing} never reached every node)")
            } else {
                String::new()
            }
        ),
        "p99 < 100 ms",
        format!(
            "per hop: verify {} + sled insert and flush {} (median)",
            ms(verify),
            ms(flush)
        ),
        format!(
            "p99 = {:.1} hops' floor",
            p(99.0).as_secs_f64() / (verify + flush).as_secs_f64()
        ),
        Some(missing == 0 && p(99.0) < Duration::from_millis(100)),
    )])
}

fn drain(
    rx: &mut mpsc::UnboundedReceiver<(RecordId, Instant)>,
    seen: &mut HashMap<RecordId, (usize, Instant)>,
) {
    while let Ok((id, at)) = rx.try_recv() {
        let entry = seen.entry(id).or_insert((0, at));
        entry.0 += 1;
        entry.1 = entry.1.max(at);
    }
}
