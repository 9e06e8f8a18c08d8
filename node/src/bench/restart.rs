//! Restart at national scale: a node holding the whole network is stopped and started
//! again, in its own process; measured are the time to its first HTTP answer (the page or
//! JSON served while it starts, `http_server::starting`), the time until it serves in full
//! (`GET /api/v1/status` is 200), and its peak memory after the fresh start. Once after a
//! clean stop (SIGTERM) and once after `kill -9`, when the start checks the store's indexes.
//! The same-run limit is one read of every record from the same sled store.

use std::path::Path;
use std::time::{Duration, Instant};

use maillon_protocol::testkit::DAY;

use super::child::{config_text, ChildNode};
use super::fixture::{load, now, settings, whole_network, Fixture};
use super::sync::peak_rss_kib;
use super::{thousands, BenchOptions, BenchResult, Row};
use crate::store::{SledConfig, SledStore};

/// The goal for the first answer.
const FIRST_ANSWER_GOAL: Duration = Duration::from_secs(5);

/// One start of the node process.
struct StartTimes {
    /// Until any HTTP answer (a 503 while starting counts).
    first_answer: Duration,
    /// Until `GET /api/v1/status` is 200.
    full_service: Duration,
    /// Peak resident set once in full service, KiB.
    peak_kib: u64,
}

/// Starts the node of `config` and times its start; returns it running.
async fn time_start(config: &Path, held: u64) -> BenchResult<(ChildNode, StartTimes)> {
    let started = Instant::now();
    let child = ChildNode::spawn(config).await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let status_url = format!("{}/api/v1/status", child.base);
    let mut first_answer = None;
    loop {
        if let Ok(response) = http.get(&status_url).send().await {
            first_answer.get_or_insert_with(|| started.elapsed());
            if response.status().is_success() {
                let status: serde_json::Value = response.json().await?;
                if status["records"].as_u64() != Some(held) {
                    return Err(format!("restarted with {} records", status["records"]).into());
                }
                break;
            }
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err("the node did not serve within 10 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let times = StartTimes {
        first_answer: first_answer.unwrap_or_default(),
        full_service: started.elapsed(),
        peak_kib: peak_rss_kib(child.pid()).unwrap_or(0),
    };
    Ok((child, times))
}

/// Reads every record's bytes from the store once, as sled iterates them; returns the time
/// and the bytes read.
fn read_every_record(store: &Path) -> BenchResult<(Duration, u64)> {
    let store = SledStore::open(&SledConfig {
        path: store.to_path_buf(),
        cache_capacity_bytes: 64 << 20,
    })?;
    let started = Instant::now();
    let (_, bytes) = store.scan_records()?;
    Ok((started.elapsed(), bytes))
}

/// The restart benchmark.
pub async fn run(options: &BenchOptions) -> BenchResult<Vec<Row>> {
    let end = now().minus_ms(DAY);
    let fixture = Fixture::new(options.seed, &whole_network(options, end), 1)?;
    let genesis = fixture.genesis();
    let source = fixture
        .start(0, settings(Vec::new(), Duration::from_secs(3600)))
        .await?;
    load(&source.engine, &genesis, 8192).await?;
    let held = source.engine.sync_set().len() as u64;
    source.shutdown().await?;
    let dir = fixture.dir(0);
    let config = dir.join("maillon.toml");
    std::fs::write(&config, config_text("Banc 0", ".", None))?;
    println!("restart: a node holding {} records", thousands(held));

    let (node, clean) = time_start(&config, held).await?;
    node.stop().await?;
    let (node, _) = time_start(&config, held).await?;
    drop(node); // SIGKILL: no clean-stop mark.
    let (node, crashed) = time_start(&config, held).await?;
    node.stop().await?;
    let store = dir.join("store");
    let (scan, bytes) = tokio::task::spawn_blocking(move || read_every_record(&store)).await??;
    let limit = format!(
        "one read of every record from sled: {:.2} s ({} MiB)",
        scan.as_secs_f64(),
        bytes >> 20
    );
    let mut rows = Vec::new();
    for (how, times) in [("after a clean stop", &clean), ("after kill -9", &crashed)] {
        rows.push(Row::new(
            format!(
                "restart {how}, {} records: first HTTP answer",
                thousands(held)
            ),
            format!("{:.2} s", times.first_answer.as_secs_f64()),
            "< 5 s",
            limit.clone(),
            format!(
                "{:.2}",
                times.first_answer.as_secs_f64() / scan.as_secs_f64()
            ),
            Some(times.first_answer < FIRST_ANSWER_GOAL),
        ));
        rows.push(Row::new(
            format!("restart {how}: in full service (status 200)"),
            format!("{:.2} s", times.full_service.as_secs_f64()),
            "none (reported)",
            limit.clone(),
            format!(
                "{:.2}",
                times.full_service.as_secs_f64() / scan.as_secs_f64()
            ),
            None,
        ));
    }
    rows.push(Row::new(
        "restart after a clean stop: peak RSS once serving",
        format!(
            "{} MiB ({:.0} bytes per record)",
            thousands(clean.peak_kib / 1024),
            clean.peak_kib as f64 * 1024.0 / held as f64
        ),
        "none (reported)",
        "—",
        "—",
        None,
    ));
    Ok(rows)
}
