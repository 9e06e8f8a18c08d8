//! Sync: one session between two nodes that differ by 1,000 records (then agree), and the
//! cold sync of a new node, in its own process, from a node holding the whole network.

use std::time::{Duration, Instant};

use maillon_protocol::testkit::DAY;
use maillon_protocol::Kind;

use super::child::ChildNode;
use super::fixture::{load, now, settings, whole_network, Fixture};
use super::limits::measure;
use super::{thousands, BenchOptions, BenchResult, Row};
use crate::generator::GeneratorOptions;
use crate::network::sync_driver::{self, SessionReport};

/// Records per member in a network of the national shape (join, 3 sponsorships, profile,
/// 4/3 listings).
const RECORDS_PER_MEMBER: f64 = 1.0 + 3.0 + 1.0 + 200_000.0 / 150_000.0;
/// Records that differ between the two nodes of sync-diff.
const DIFFERENCES: usize = 1_000;

fn bytes_of(report: &SessionReport) -> u64 {
    report.reconcile_bytes + report.fetched_bytes + report.pushed_bytes
}

fn report_line(report: &SessionReport, elapsed: Duration) -> String {
    format!(
        "{:.3} s, {} rounds, reconcile {} B, fetch {} B ({} records), push {} B ({} records)",
        elapsed.as_secs_f64(),
        report.rounds,
        thousands(report.reconcile_bytes),
        thousands(report.fetched_bytes),
        report.fetched,
        thousands(report.pushed_bytes),
        report.pushed
    )
}

/// sync-diff then sync-agree on the same two nodes.
pub async fn sessions(options: &BenchOptions) -> BenchResult<(Vec<Row>, Vec<Row>)> {
    let members = (options.sync_records as f64 / RECORDS_PER_MEMBER) as usize;
    let fixture = Fixture::new(
        options.seed,
        &GeneratorOptions::national_shaped(members, now().minus_ms(DAY)),
        2,
    )?;
    let all = fixture.genesis();
    // 1,000 listings spread evenly over the year, alternately unique to each side.
    let listings: Vec<usize> = fixture
        .network
        .records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.header().kind == Kind::Listing)
        .map(|(i, _)| i)
        .collect();
    let step = (listings.len() / DIFFERENCES).max(1);
    let chosen: Vec<usize> = listings
        .iter()
        .step_by(step)
        .take(DIFFERENCES)
        .copied()
        .collect();
    let only_a: Vec<usize> = chosen.iter().step_by(2).copied().collect();
    let only_b: Vec<usize> = chosen.iter().skip(1).step_by(2).copied().collect();
    let unique: std::collections::HashSet<usize> = chosen.iter().copied().collect();
    let common: Vec<Vec<u8>> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| !unique.contains(i))
        .map(|(_, w)| w.clone())
        .collect();
    let pick = |set: &[usize]| -> Vec<Vec<u8>> { set.iter().map(|&i| all[i].clone()).collect() };
    let (wires_a, wires_b) = (pick(&only_a), pick(&only_b));

    // Connect with the common records only: the on-connect sessions then find nothing to do.
    let quiet = Duration::from_secs(3600);
    let b = fixture.start(1, settings(Vec::new(), quiet)).await?;
    load(&b.engine, &common, 4096).await?;
    let b_address = b.p2p_addresses().await?.remove(0);
    let a = fixture.start(0, settings(Vec::new(), quiet)).await?;
    load(&a.engine, &common, 4096).await?;
    a.client.dial(b_address).await?;
    let started = Instant::now();
    while a.client.peers().await?.is_empty() || b.client.peers().await?.is_empty() {
        if started.elapsed() > Duration::from_secs(30) {
            return Err("the two nodes did not connect".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Records fetched or loaded are not gossiped: each side now holds its 500 alone.
    load(&a.engine, &wires_a, 4096).await?;
    load(&b.engine, &wires_b, 4096).await?;
    let (size_a, size_b) = (a.engine.sync_set().len(), b.engine.sync_set().len());
    let peer = b.client.peer_id();
    let started = Instant::now();
    let diff = sync_driver::session(&a.engine, &a.client, peer).await?;
    let diff_elapsed = started.elapsed();
    println!(
        "sync-diff: {} vs {} records, {DIFFERENCES} differences: {}",
        thousands(size_a as u64),
        thousands(size_b as u64),
        report_line(&diff, diff_elapsed)
    );
    if diff.fetched != only_b.len() as u64 || diff.pushed != only_a.len() as u64 {
        return Err(format!("the session did not repair the difference: {diff:?}").into());
    }
    let size = a.engine.sync_set().len();
    let started = Instant::now();
    let agree = sync_driver::session(&a.engine, &a.client, peer).await?;
    let agree_elapsed = started.elapsed();
    println!(
        "sync-agree: {} records each: {}",
        thousands(size as u64),
        report_line(&agree, agree_elapsed)
    );
    a.shutdown().await?;
    b.shutdown().await?;

    let differing: Vec<Vec<u8>> = wires_a.iter().chain(&wires_b).cloned().collect();
    let record_bytes: u64 = differing.iter().map(|w| w.len() as u64).sum();
    let limits = measure(&differing, &fixture.network_id(), DIFFERENCES)?;
    // Each side verifies and stores the half it lacks: both halves in parallel at best.
    let floor = Duration::from_secs_f64(
        (DIFFERENCES / 2) as f64 / limits.verify_one_core
            + (DIFFERENCES / 2) as f64 / limits.sled_insert,
    );
    let diff_bytes = bytes_of(&diff);
    let diff_rows = vec![
        Row::new(
            format!(
                "sync-diff: one session, {} vs {} records, {DIFFERENCES} differences",
                thousands(size_a as u64),
                thousands(size_b as u64)
            ),
            format!("{:.3} s", diff_elapsed.as_secs_f64()),
            "< 0.5 s",
            format!(
                "{} → 500 verified + 500 stored per side ≈ {:.3} s",
                limits.describe(),
                floor.as_secs_f64()
            ),
            format!("{:.1}", diff_elapsed.as_secs_f64() / floor.as_secs_f64()),
            Some(diff_elapsed < Duration::from_millis(500)),
        ),
        Row::new(
            "sync-diff: bytes both ways (reconcile + fetch + push, records included)",
            format!(
                "{} B (reconcile {}, fetch {}, push {})",
                thousands(diff_bytes),
                thousands(diff.reconcile_bytes),
                thousands(diff.fetched_bytes),
                thousands(diff.pushed_bytes)
            ),
            "< 1.2 MB",
            format!("the 1,000 records alone: {} B", thousands(record_bytes)),
            format!("{:.2}", diff_bytes as f64 / record_bytes as f64),
            Some(diff_bytes < 1_200_000),
        ),
    ];
    let agree_bytes = bytes_of(&agree);
    let agree_rows = vec![Row::new(
        format!(
            "sync-agree: one session, {} identical records",
            thousands(size as u64)
        ),
        format!(
            "{} B (reconcile {}, announcement push {}), {:.3} s",
            thousands(agree_bytes),
            thousands(agree.reconcile_bytes),
            thousands(agree.pushed_bytes),
            agree_elapsed.as_secs_f64()
        ),
        "< 10 KB",
        "0 B of records to move",
        "—",
        Some(agree_bytes < 10_000),
    )];
    Ok((diff_rows, agree_rows))
}

/// The peak resident set of a process in KiB (`VmHWM`), if readable.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&status, "VmHWM:")
}

/// The resident set of a process now in KiB (`VmRSS`), if readable.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&status, "VmRSS:")
}

/// The value in KiB of one line (`VmHWM:`, `VmRSS:`) of a `/proc/<pid>/status` text.
pub fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The cold sync of a new node from a node holding the whole network.
pub async fn cold(options: &BenchOptions) -> BenchResult<Vec<Row>> {
    let end = now().minus_ms(DAY);
    let generator = whole_network(options, end);
    let started = Instant::now();
    let fixture = Fixture::new(options.seed, &generator, 2)?;
    let genesis = fixture.genesis();
    println!(
        "cold-sync: generated {} records in {:.1} s",
        thousands(genesis.len() as u64),
        started.elapsed().as_secs_f64()
    );
    let source = fixture
        .start(0, settings(Vec::new(), Duration::from_secs(3600)))
        .await?;
    let load_elapsed = load(&source.engine, &genesis, 8192).await?;
    let load_rate = genesis.len() as f64 / load_elapsed.as_secs_f64();
    let held = source.engine.sync_set().len() as u64;
    println!(
        "cold-sync: source loaded {} records in {:.1} s ({}/s)",
        thousands(held),
        load_elapsed.as_secs_f64(),
        thousands(load_rate as u64)
    );

    // The new node: its own folder and configuration, its announcement (already held by
    // the source, whose gate therefore accepts it), started from this same binary.
    let bootstrap = source.p2p_addresses().await?.remove(0);
    let config = fixture.child_config(1, "Banc nouveau", &bootstrap)?;
    let started = Instant::now();
    let child = ChildNode::spawn(&config).await?;
    let (pid, base) = (child.pid(), child.base.clone());
    let http = reqwest::Client::new();
    let status_url = format!("{base}/api/v1/status");
    let mut peak = 0u64;
    let (elapsed, digest) = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        peak = peak.max(peak_rss_kib(pid).unwrap_or(0));
        let Ok(response) = http.get(&status_url).send().await else {
            continue;
        };
        let status: serde_json::Value = response.json().await?;
        if status["records"].as_u64() == Some(held) {
            break (started.elapsed(), status["state_digest"].clone());
        }
        if started.elapsed() > Duration::from_secs(1800) {
            return Err(format!("the new node held {} after 30 min", status["records"]).into());
        }
    };
    peak = peak.max(peak_rss_kib(pid).unwrap_or(0));
    drop(child);
    let source_digest = crate::engine::status::state_digest(&source.engine.sync_set());
    if digest.as_str() != Some(source_digest.as_str()) {
        return Err("the new node's state digest differs from the source's".into());
    }
    source.shutdown().await?;
    println!(
        "cold-sync: new node held all {} records after {:.1} s, peak RSS {} MiB",
        thousands(held),
        elapsed.as_secs_f64(),
        peak / 1024
    );

    let limits = measure(&genesis, &fixture.network_id(), 50_000)?;
    let floor = held as f64 / limits.binding();
    Ok(vec![
        Row::new(
            format!(
                "cold-sync source load, {} records, submit_many(Fetched) × 8,192",
                thousands(held)
            ),
            format!(
                "{}/s ({:.1} s)",
                thousands(load_rate as u64),
                load_elapsed.as_secs_f64()
            ),
            "none (reported)",
            limits.describe(),
            format!(
                "{:.2} of verify ({} cores), {:.2} of 1 core",
                load_rate / limits.verify_all_cores,
                limits.cores,
                load_rate / limits.verify_one_core
            ),
            None,
        ),
        Row::new(
            format!(
                "cold-sync: new node (own process) to {} records",
                thousands(held)
            ),
            format!("{:.1} s", elapsed.as_secs_f64()),
            "< 60 s",
            format!(
                "{} → {:.1} s for the records at the binding rate",
                limits.describe(),
                floor
            ),
            format!("{:.2}", elapsed.as_secs_f64() / floor),
            Some(elapsed < Duration::from_secs(60)),
        ),
        Row::new(
            "cold-sync: new node's peak RSS (VmHWM)",
            format!("{} MiB", thousands(peak / 1024)),
            format!("< {} GiB", rss_goal_kib(held) >> 20),
            "—",
            "—",
            Some(peak < rss_goal_kib(held)),
        ),
    ])
}

/// Issue 14's bound on a new node's peak resident set, in KiB: 1 GiB up to the 2017-sized
/// network (950,000 records), 2 GiB beyond it (the 2021 size, 5 million).
fn rss_goal_kib(records: u64) -> u64 {
    if records > 2_000_000 {
        2 << 20
    } else {
        1 << 20
    }
}

#[cfg(test)]
mod tests {
    use super::super::child::config_text;
    use super::*;

    #[test]
    fn the_resident_set_goal_is_one_gib_at_950k_and_two_at_5m() {
        assert_eq!(rss_goal_kib(950_003), 1 << 20);
        assert_eq!(rss_goal_kib(5_003_337), 2 << 20);
    }

    #[test]
    fn the_peak_resident_set_is_read_from_proc_status() {
        let text = "Name:\tmaillon\nVmPeak:\t  900 kB\nVmHWM:\t  123456 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(parse_status_kib(text, "VmHWM:"), Some(123_456));
        assert_eq!(parse_status_kib(text, "VmRSS:"), Some(1));
        assert_eq!(parse_status_kib("Name: x\n", "VmHWM:"), None);
        assert!(peak_rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
        assert!(rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
    }

    #[test]
    fn the_new_node_configuration_is_valid() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("maillon.toml");
        std::fs::write(
            &file,
            config_text(
                "Banc nouveau",
                "data",
                Some("/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"),
            ),
        )
        .unwrap();
        let config = crate::config::RawConfig::load(&file)
            .unwrap()
            .validate(dir.path())
            .unwrap();
        assert_eq!(config.bootstrap.len(), 1);
        assert_eq!(config.http_listen.port(), 0);
        // The restarted node's: no peer, its folder the data folder.
        std::fs::write(&file, config_text("Banc 0", ".", None)).unwrap();
        let config = crate::config::RawConfig::load(&file)
            .unwrap()
            .validate(dir.path())
            .unwrap();
        assert!(config.bootstrap.is_empty());
        assert_eq!(config.data_dir, dir.path().join("."));
    }
}
