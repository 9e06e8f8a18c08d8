//! Ingest: pre-signed listings by admitted members posted through the HTTP API (4 clients,
//! 64 requests in flight each), and the same listings submitted on the fetch path
//! (`submit_many(.., Origin::Fetched)` in batches of 1,024, one after the other, as the sync
//! driver does with each fetch answer).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use maillon_protocol::testkit::DAY;
use maillon_protocol::Record;

use super::fixture::{fresh_listings, load, now, settings, Fixture};
use super::limits::measure;
use super::{thousands, BenchOptions, BenchResult, Row};
use crate::generator::GeneratorOptions;

/// HTTP clients (connections pools) posting at once.
pub const CLIENTS: usize = 4;
/// Requests in flight per client.
pub const IN_FLIGHT: usize = 64;
/// The goal for ingest over HTTP, as a share of the same-run verification rate on every
/// core (issue 14).
const GOAL_OF_VERIFY: f64 = 0.8;
/// Members of the network the listings' authors belong to.
const MEMBERS: usize = 2_000;

/// Runs the ingest benchmark.
pub async fn run(options: &BenchOptions) -> BenchResult<Vec<Row>> {
    let n = options.ingest_records;
    let fixture = Fixture::new(
        options.seed,
        &GeneratorOptions::national_shaped(MEMBERS, now().minus_ms(DAY)),
        2,
    )?;
    let genesis = fixture.genesis();
    let quiet = Duration::from_secs(3600);
    let node = fixture.start(0, settings(Vec::new(), quiet)).await?;
    load(&node.engine, &genesis, 4096).await?;
    let listings = fresh_listings(&fixture, &node.engine, n, now().minus_ms(3_600_000))?;
    let wires: Arc<Vec<Vec<u8>>> = Arc::new(listings.iter().map(Record::to_wire).collect());
    let mean_bytes = wires.iter().map(Vec::len).sum::<usize>() / wires.len().max(1);
    println!(
        "ingest: network of {} records loaded; posting {} listings of {mean_bytes} bytes on average",
        thousands(genesis.len() as u64),
        thousands(n as u64)
    );

    let url = format!("http://{}/api/v1/records", node.http_address);
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(IN_FLIGHT)
            .build()?;
        for _ in 0..IN_FLIGHT {
            let (client, url, wires, next, failures) = (
                client.clone(),
                url.clone(),
                Arc::clone(&wires),
                Arc::clone(&next),
                Arc::clone(&failures),
            );
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(wire) = wires.get(i) else { break };
                    let answer = client
                        .post(&url)
                        .header("content-type", "application/cbor")
                        .body(wire.clone())
                        .send()
                        .await;
                    match answer {
                        Ok(response) if response.status().as_u16() == 201 => {}
                        _ => {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
    }
    for task in tasks {
        task.await?;
    }
    let http_elapsed = started.elapsed();
    let failed = failures.load(Ordering::Relaxed);
    if failed > 0 {
        return Err(format!("{failed} posts were not answered 201").into());
    }
    node.shutdown().await?;

    let fresh = fixture.start(1, settings(Vec::new(), quiet)).await?;
    load(&fresh.engine, &genesis, 4096).await?;
    let fetched_elapsed = load(&fresh.engine, &wires, 1024).await?;
    fresh.shutdown().await?;

    let limits = measure(&wires, &fixture.network_id(), n)?;
    let http_rate = n as f64 / http_elapsed.as_secs_f64();
    let fetched_rate = n as f64 / fetched_elapsed.as_secs_f64();
    let ratio = |rate: f64| {
        format!(
            "{:.2} of verify ({} cores), {:.2} of 1 core, {:.2} of sled",
            rate / limits.verify_all_cores,
            limits.cores,
            rate / limits.verify_one_core,
            rate / limits.sled_insert
        )
    };
    Ok(vec![
        Row::new(
            format!(
                "ingest over HTTP, {} listings, {CLIENTS}×{IN_FLIGHT} in flight",
                thousands(n as u64)
            ),
            format!(
                "{}/s ({:.2} s)",
                thousands(http_rate as u64),
                http_elapsed.as_secs_f64()
            ),
            "≥ 0.8 of verify (all cores)",
            limits.describe(),
            ratio(http_rate),
            Some(http_rate >= GOAL_OF_VERIFY * limits.verify_all_cores),
        ),
        Row::new(
            format!(
                "ingest on the fetch path, {} listings, batches of 1,024",
                thousands(n as u64)
            ),
            format!(
                "{}/s ({:.2} s)",
                thousands(fetched_rate as u64),
                fetched_elapsed.as_secs_f64()
            ),
            "none (reported)",
            limits.describe(),
            ratio(fetched_rate),
            None,
        ),
    ])
}
