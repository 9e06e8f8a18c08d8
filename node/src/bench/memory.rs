//! Memory per record: a node in its own process takes new listings over its HTTP API at a
//! steady pace, as members publish them, for minutes; its resident set is sampled
//! throughout. It is then stopped and started again on the same store, and the fresh
//! start's resident set is the limit: memory the running node holds beyond it is memory a
//! long-running node gains and never gives back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use maillon_protocol::testkit::DAY;
use maillon_protocol::Record;

use super::child::ChildNode;
use super::fixture::{fresh_listings, load, now, settings, Fixture};
use super::sync::rss_kib;
use super::{thousands, BenchOptions, BenchResult, Row};
use crate::generator::GeneratorOptions;

/// Members of the network the listings' authors belong to.
const MEMBERS: usize = 2_000;
/// Posts in flight at once: enough to keep the pace, as independent members would.
const IN_FLIGHT: usize = 8;
/// The goal: the running node's resident set at the end within this share of a fresh
/// start's on the same store.
const GOAL_OF_FRESH_START: f64 = 1.5;
/// How often the resident set is sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// The resident set at points of the run, in KiB.
#[derive(Debug, Default)]
struct Samples {
    /// Once the node held the network, before the first post.
    before: u64,
    /// The highest sampled while posting.
    highest: u64,
    /// After the last post was answered and the node was left alone for a few seconds.
    after: u64,
    /// The restarted node once in full service with every record.
    fresh_start: u64,
}

/// Runs the memory benchmark.
pub async fn run(options: &BenchOptions) -> BenchResult<Vec<Row>> {
    let (count, rate) = (options.memory_records, options.memory_rate.max(1));
    let fixture = Fixture::new(
        options.seed,
        &GeneratorOptions::national_shaped(MEMBERS, now().minus_ms(DAY)),
        2,
    )?;
    let genesis = fixture.genesis();
    let source = fixture
        .start(0, settings(Vec::new(), Duration::from_secs(3600)))
        .await?;
    load(&source.engine, &genesis, 4096).await?;
    let held = source.engine.sync_set().len() as u64;
    let listings = fresh_listings(&fixture, &source.engine, count, now().minus_ms(DAY / 2))?;
    let bootstrap = source.p2p_addresses().await?.remove(0);
    let config = fixture.child_config(1, "Banc mémoire", &bootstrap)?;
    let child = ChildNode::spawn(&config).await?;
    wait_for_records(&child.base, held).await?;
    let mut samples = Samples {
        before: rss_kib(child.pid()).unwrap_or(0),
        ..Samples::default()
    };
    println!(
        "memory: node holds {} records at {} MiB; posting {} listings at {rate}/s",
        thousands(held),
        samples.before / 1024,
        thousands(count as u64)
    );
    let started = Instant::now();
    samples.highest = post_paced(&child, listings, rate).await?;
    let posting = started.elapsed();
    wait_for_records(&child.base, held + count as u64).await?;
    tokio::time::sleep(SAMPLE_EVERY).await;
    samples.after = rss_kib(child.pid()).unwrap_or(0);
    child.stop().await?;
    source.shutdown().await?;
    let restarted = ChildNode::spawn(&config).await?;
    wait_for_records(&restarted.base, held + count as u64).await?;
    tokio::time::sleep(SAMPLE_EVERY).await;
    samples.fresh_start = rss_kib(restarted.pid()).unwrap_or(0);
    restarted.stop().await?;
    println!(
        "memory: {:.0} s of posting; RSS before {} MiB, highest {} MiB, after {} MiB; fresh start {} MiB",
        posting.as_secs_f64(),
        samples.before / 1024,
        samples.highest / 1024,
        samples.after / 1024,
        samples.fresh_start / 1024
    );
    Ok(rows(&samples, count, rate, posting))
}

fn rows(samples: &Samples, count: usize, rate: usize, posting: Duration) -> Vec<Row> {
    let grown = samples.after.saturating_sub(samples.before);
    let per_record = grown as f64 * 1024.0 / count.max(1) as f64;
    let ratio = samples.after as f64 / samples.fresh_start.max(1) as f64;
    vec![
        Row::new(
            format!(
                "memory: {} listings over HTTP at {rate}/s ({:.0} s), growth of the resident set",
                thousands(count as u64),
                posting.as_secs_f64()
            ),
            format!(
                "{} → {} MiB (highest {}): {:.0} B per record",
                samples.before / 1024,
                samples.after / 1024,
                samples.highest / 1024,
                per_record
            ),
            "none (reported)",
            "—",
            "—",
            None,
        ),
        Row::new(
            "memory: the running node against a fresh start on the same store",
            format!("{} MiB", thousands(samples.after / 1024)),
            format!("≤ {GOAL_OF_FRESH_START} × fresh start"),
            format!("fresh start {} MiB", thousands(samples.fresh_start / 1024)),
            format!("{ratio:.2}"),
            Some(ratio <= GOAL_OF_FRESH_START),
        ),
    ]
}

/// Posts `listings` to the node at `rate` per second, [`IN_FLIGHT`] at most at once; each
/// must be answered 201. Returns the highest resident set sampled meanwhile, in KiB.
async fn post_paced(child: &ChildNode, listings: Vec<Record>, rate: usize) -> BenchResult<u64> {
    let url = format!("{}/api/v1/records", child.base);
    let client = reqwest::Client::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sample = tokio::time::interval(SAMPLE_EVERY);
    let mut posts = tokio::task::JoinSet::new();
    let mut highest = 0u64;
    for listing in listings {
        loop {
            tokio::select! {
                _ = pace.tick() => break,
                _ = sample.tick() => highest = highest.max(rss_kib(child.pid()).unwrap_or(0)),
            }
        }
        let permit = Arc::clone(&slots).acquire_owned().await?;
        let (client, url) = (client.clone(), url.clone());
        posts.spawn(async move {
            let answer = client
                .post(&url)
                .header("content-type", "application/cbor")
                .body(listing.to_wire())
                .send()
                .await;
            drop(permit);
            match answer {
                Ok(response) if response.status().as_u16() == 201 => Ok(()),
                Ok(response) => Err(format!("a post was answered {}", response.status())),
                Err(error) => Err(format!("a post failed: {error}")),
            }
        });
        while let Some(done) = posts.try_join_next() {
            done??;
        }
    }
    while let Some(done) = posts.join_next().await {
        done??;
    }
    Ok(highest.max(rss_kib(child.pid()).unwrap_or(0)))
}

/// Waits until the node at `base` holds `records` records (at most 10 minutes).
async fn wait_for_records(base: &str, records: u64) -> BenchResult<()> {
    let http = reqwest::Client::new();
    let url = format!("{base}/api/v1/status");
    let started = Instant::now();
    loop {
        if let Ok(response) = http.get(&url).send().await {
            if response.status().is_success() {
                let status: serde_json::Value = response.json().await?;
                if status["records"].as_u64() == Some(records) {
                    return Ok(());
                }
            }
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err(format!("the node did not reach {records} records in 10 minutes").into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rows_compare_the_end_with_a_fresh_start() {
        let samples = Samples {
            before: 100 * 1024,
            highest: 400 * 1024,
            after: 300 * 1024,
            fresh_start: 250 * 1024,
        };
        let rows = rows(&samples, 60_000, 100, Duration::from_secs(600));
        assert!(rows[0].figure.contains("100 → 300 MiB (highest 400)"));
        assert!(
            rows[0].figure.contains("3495 B per record"),
            "{}",
            rows[0].figure
        );
        assert_eq!(rows[1].verdict, "met");
        let worse = Samples {
            after: 400 * 1024,
            ..samples
        };
        assert_eq!(rows_verdict(&worse), "**missed**");
    }

    fn rows_verdict(samples: &Samples) -> &'static str {
        rows(samples, 60_000, 100, Duration::from_secs(600))[1].verdict
    }
}
