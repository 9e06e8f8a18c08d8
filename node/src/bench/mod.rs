//! `maillon bench`: end-to-end benchmarks of a node, with real sled stores in temporary
//! folders, real libp2p on 127.0.0.1 and the node's own code paths. Each prints a table of
//! the figure, the goal, and the limits measured in the same run on this machine: the
//! signature verification rate over the same records (`Record::verify_many`, on one and on
//! every core) and a plain sled insert loop of as many values into a fresh store with one
//! flush at the end. docs/PERFORMANCE.md ("Node (issue 3)") has the figures.
//!
//! - [`fixture`]: generated networks, node folders and in-process nodes.
//! - [`limits`]: the same-run limits.
//! - [`ingest`]: records per second through the HTTP API and through the fetch path.
//! - [`sync`]: cold sync of a new node (separate process), and one session between two
//!   nodes that differ by 1,000 records or agree.
//! - [`restart`]: a node holding the whole network restarted (separate process): first
//!   answer, full service, memory.
//! - [`memory`]: a node in its own process taking listings at a steady pace for minutes:
//!   the growth of its resident set, against a fresh start on the same store.
//! - [`child`]: a node in its own process.
//! - [`gossip`]: propagation delay over 20 nodes.
//! - [`search`]: the listing search index at a million listings: build, size, query
//!   latency (docs/PERFORMANCE.md, "Search (issue 4)").
//! - [`web`]: the listing page under `wrk` and the weight of the main pages.

pub mod child;
pub mod fixture;
pub mod gossip;
pub mod ingest;
pub mod limits;
pub mod memory;
pub mod restart;
pub mod search;
pub mod sync;
pub mod web;

use std::fmt::Write as _;
use std::time::Duration;

/// A benchmark's error: anything, with its message.
pub type BenchError = Box<dyn std::error::Error + Send + Sync>;
/// A benchmark's result.
pub type BenchResult<T> = Result<T, BenchError>;

/// Which benchmark to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// Records per second through the HTTP API and through the fetch path.
    Ingest,
    /// A new node syncing the whole network from one peer: time and peak memory.
    ColdSync,
    /// A node holding the whole network restarted: first answer, full service, memory.
    Restart,
    /// A node taking listings at a steady pace for minutes: the growth of its memory.
    Memory,
    /// One session between two nodes of 100,000 records differing by 1,000.
    SyncDiff,
    /// One session between two nodes holding the same 100,000 records.
    SyncAgree,
    /// Propagation delay over 20 nodes.
    Gossip,
    /// The search index at a million listings: build rate, size, query latency.
    Search,
    /// The listing page under `wrk` at 64 connections, and page weights (needs `wrk`).
    Web,
    /// Every benchmark, one after the other.
    All,
}

/// What to run and at which size.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// The benchmark.
    pub which: Which,
    /// The generator's seed.
    pub seed: u64,
    /// Records posted in the ingest benchmark.
    pub ingest_records: usize,
    /// Members of the cold-sync network; `None` is the national network.
    pub cold_members: Option<usize>,
    /// About how many records each node holds in the sync benchmarks.
    pub sync_records: usize,
    /// Nodes in the gossip benchmark.
    pub gossip_nodes: usize,
    /// Records published in the gossip benchmark.
    pub gossip_records: usize,
    /// Listings indexed in the search benchmark.
    pub search_listings: usize,
    /// Queries timed in the search benchmark.
    pub search_queries: usize,
    /// Listings posted in the memory benchmark.
    pub memory_records: usize,
    /// Listings per second in the memory benchmark.
    pub memory_rate: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            which: Which::All,
            seed: 1,
            ingest_records: 40_000,
            cold_members: None,
            sync_records: 100_000,
            gossip_nodes: 20,
            gossip_records: 200,
            search_listings: 1_000_000,
            search_queries: 2_000,
            memory_records: 60_000,
            memory_rate: 100,
        }
    }
}

/// One line of a result table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// What is measured.
    pub what: String,
    /// The figure, formatted.
    pub figure: String,
    /// The goal, formatted.
    pub goal: String,
    /// The same-run limits, formatted.
    pub limit: String,
    /// Figure over limit, formatted.
    pub ratio: String,
    /// `met`, `missed` or `reported`.
    pub verdict: &'static str,
}

impl Row {
    /// A row with a verdict from `met`: `Some(true)` met, `Some(false)` missed, `None` no goal.
    pub fn new(
        what: impl Into<String>,
        figure: impl Into<String>,
        goal: impl Into<String>,
        limit: impl Into<String>,
        ratio: impl Into<String>,
        met: Option<bool>,
    ) -> Row {
        Row {
            what: what.into(),
            figure: figure.into(),
            goal: goal.into(),
            limit: limit.into(),
            ratio: ratio.into(),
            verdict: match met {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "reported",
            },
        }
    }
}

/// The rows as a Markdown table.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| Figure | Measured | Goal | Same-run limit | Ratio | Verdict |\n|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            r.what, r.figure, r.goal, r.limit, r.ratio, r.verdict
        );
    }
    out
}

/// The `p`-th percentile (0 < p ≤ 100) of sorted values by the nearest-rank method;
/// `None` for no values.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// A count with thousands separators.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Runs the chosen benchmarks and prints their tables.
pub fn run(options: &BenchOptions) -> BenchResult<()> {
    let command: Vec<String> = std::env::args().collect();
    println!("$ {}", command.join(" "));
    println!(
        "cores: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let all = options.which == Which::All;
    let mut rows = Vec::new();
    runtime.block_on(async {
        if all || options.which == Which::Ingest {
            rows.extend(section("ingest", ingest::run(options).await?));
        }
        if all || options.which == Which::SyncDiff || options.which == Which::SyncAgree {
            let (diff, agree) = sync::sessions(options).await?;
            if all || options.which == Which::SyncDiff {
                rows.extend(section("sync-diff", diff));
            }
            if all || options.which == Which::SyncAgree {
                rows.extend(section("sync-agree", agree));
            }
        }
        if all || options.which == Which::Gossip {
            rows.extend(section("gossip", gossip::run(options).await?));
        }
        if all || options.which == Which::Search {
            let opts = options.clone();
            let found = tokio::task::spawn_blocking(move || search::run(&opts)).await??;
            rows.extend(section("search", found));
        }
        if all || options.which == Which::Web {
            rows.extend(section("web", web::run(options).await?));
        }
        if all || options.which == Which::ColdSync {
            rows.extend(section("cold-sync", sync::cold(options).await?));
        }
        if all || options.which == Which::Restart {
            rows.extend(section("restart", restart::run(options).await?));
        }
        if all || options.which == Which::Memory {
            rows.extend(section("memory", memory::run(options).await?));
        }
        Ok::<(), BenchError>(())
    })?;
    if all {
        println!("\n== summary ==\n{}", table(&rows));
    }
    Ok(())
}

fn section(name: &str, rows: Vec<Row>) -> Vec<Row> {
    println!("\n== {name} ==\n{}", table(&rows));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<Duration> = (1..=200).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 50.0), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&values, 99.0), Some(Duration::from_millis(198)));
        assert_eq!(percentile(&values, 100.0), Some(Duration::from_millis(200)));
        assert_eq!(percentile(&values, 0.1), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&[], 50.0), None);
        let one = [Duration::from_millis(7)];
        assert_eq!(percentile(&one, 99.0), Some(Duration::from_millis(7)));
    }

    #[test]
    fn tables_and_numbers_are_formatted() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        let row = Row::new("a", "1", "2", "3", "0.5", Some(false));
        let text = table(&[row]);
        assert!(text.ends_with("| a | 1 | 2 | 3 | 0.5 | **missed** |\n"));
    }
}
