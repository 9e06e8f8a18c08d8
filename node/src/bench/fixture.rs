//! Generated networks, node folders and in-process nodes for the benchmarks.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use libp2p::Multiaddr;
use maillon_protocol::ids::Timestamp;
use maillon_protocol::{Record, SecretKey};

use super::BenchResult;
use crate::config::Config;
use crate::engine::{system_clock, Engine, Origin};
use crate::generator::{generate_with, GeneratedNetwork, GeneratorOptions};
use crate::ingest::parking::ParkingLimits;
use crate::network::NetworkSettings;
use crate::node::{self, NodeOptions, RunningNode};

/// The current time by the system clock.
pub fn now() -> Timestamp {
    system_clock()()
}

/// A generated network and the keys and announcements of its nodes, in a temporary folder.
pub struct Fixture {
    /// The generated network.
    pub network: GeneratedNetwork,
    /// One key per node.
    pub node_keys: Vec<SecretKey>,
    /// One announcement per node, vouched for by a founder.
    pub announcements: Vec<Record>,
    root: tempfile::TempDir,
}

impl Fixture {
    /// Generates the network and `nodes` node keys with their announcements. A network whose
    /// last record would lie after the present is moved back in time.
    pub fn new(seed: u64, options: &GeneratorOptions, nodes: usize) -> BenchResult<Fixture> {
        let present = now();
        let mut options = *options;
        let mut network = generate_with(seed, &options);
        let last = network.records.iter().map(|r| r.header().created).max();
        if let Some(last) = last.filter(|last| *last > present.minus_ms(60_000)) {
            options.start = options.start.minus_ms(last.0 - present.0 + 3_600_000);
            network = generate_with(seed, &options);
        }
        let node_keys: Vec<SecretKey> = (0..nodes)
            .map(|i| maillon_protocol::testkit::key(&format!("bench-node-{seed}-{i}")))
            .collect();
        let at = network.now.min(now());
        let announcements = node_keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let operator = &network.keys[i % 3].1;
                network
                    .signer
                    .announce_node(key, operator, &format!("Banc {i}"), at)
            })
            .collect();
        Ok(Fixture {
            network,
            node_keys,
            announcements,
            root: root()?,
        })
    }

    /// The wire bytes of every record and announcement, charter first.
    pub fn genesis(&self) -> Vec<Vec<u8>> {
        self.network
            .records
            .iter()
            .chain(&self.announcements)
            .map(Record::to_wire)
            .collect()
    }

    /// The network id.
    pub fn network_id(&self) -> maillon_protocol::ids::NetworkId {
        self.network.signer.network
    }

    /// The folder of node `i`.
    pub fn dir(&self, i: usize) -> PathBuf {
        self.root.path().join(format!("node-{i}"))
    }

    /// Writes node `i`'s key and charter and returns its configuration.
    pub fn prepare(&self, i: usize) -> BenchResult<Config> {
        let dir = self.dir(i);
        std::fs::create_dir_all(&dir)?;
        let charter_file = dir.join("charter.cbor");
        std::fs::write(&charter_file, self.network.records[0].to_wire())?;
        std::fs::write(dir.join("node.key"), hex::encode(self.node_keys[i].seed()))?;
        Ok(Config {
            name: format!("Banc {i}"),
            data_dir: dir,
            charter_file,
            listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
            bootstrap: Vec::new(),
            mdns: false,
            http_listen: "127.0.0.1:0".parse()?,
            cache_capacity_bytes: 64 << 20,
            min_free_bytes: 0,
            parking: ParkingLimits::default(),
            // The ingest bench posts generated joins, all introduced by one key: it measures
            // throughput, not the introduction quota.
            joins_per_introducer_per_day: 1_000_000,
            site: Default::default(),
            links: Default::default(),
            smtp: None,
            site_address: None,
            metrics: crate::metrics::settings::MetricsSettings::OFF,
        })
    }

    /// Writes the folder of node `i` run in its own process (`maillon run`): its key, its
    /// announcement, the charter, and a configuration with `bootstrap` as its one peer.
    /// Returns the configuration file.
    pub fn child_config(
        &self,
        i: usize,
        name: &str,
        bootstrap: &Multiaddr,
    ) -> BenchResult<PathBuf> {
        let dir = self.dir(i).join("own-process");
        let data = dir.join("data");
        std::fs::create_dir_all(&data)?;
        std::fs::write(dir.join("charter.cbor"), self.network.records[0].to_wire())?;
        std::fs::write(data.join("node.key"), hex::encode(self.node_keys[i].seed()))?;
        std::fs::write(
            data.join(crate::node::ANNOUNCEMENT_FILE),
            self.announcements[i].to_wire(),
        )?;
        let config = dir.join("maillon.toml");
        let text = super::child::config_text(name, "data", Some(&bootstrap.to_string()));
        std::fs::write(&config, text)?;
        Ok(config)
    }

    /// Starts node `i` in this process.
    pub async fn start(&self, i: usize, settings: NetworkSettings) -> BenchResult<RunningNode> {
        let config = self.prepare(i)?;
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Ok(node::start(NodeOptions {
            config,
            http,
            network: settings,
            clock: system_clock(),
            web: maillon_web_ui::WebConfig {
                kdf: maillon_web_ui::keys::KdfParams::FOR_TESTS,
                ..maillon_web_ui::WebConfig::default()
            },
        })
        .await?)
    }
}

/// The network of the cold-sync and restart benchmarks: `--members N` in the national
/// shape, or the national network, ending at `end`.
pub fn whole_network(options: &super::BenchOptions, end: Timestamp) -> GeneratorOptions {
    match options.cold_members {
        Some(members) => GeneratorOptions::national_shaped(members, end),
        None => GeneratorOptions::national(end),
    }
}

/// The fixture's folder: removed at the end, unless `MAILLON_BENCH_KEEP` is set, for
/// profiling a node on the benchmark's store afterwards (the path is printed).
fn root() -> BenchResult<tempfile::TempDir> {
    let keep = std::env::var_os("MAILLON_BENCH_KEEP").is_some();
    let root = tempfile::Builder::new()
        .prefix("maillon-bench-")
        .disable_cleanup(keep)
        .tempdir()?;
    if keep {
        println!("fixture kept in {}", root.path().display());
    }
    Ok(root)
}

/// Loopback settings; background sync every `sync_interval`.
pub fn settings(bootstrap: Vec<Multiaddr>, sync_interval: Duration) -> NetworkSettings {
    NetworkSettings {
        listen: vec!["/ip4/127.0.0.1/tcp/0"
            .parse()
            .expect("a valid multiaddress")],
        bootstrap,
        sync_interval,
        ..NetworkSettings::default()
    }
}

/// Submits `wires` in order, `batch` at a time, as if fetched by sync; fails if any is
/// refused. Returns the time taken.
pub async fn load(engine: &Engine, wires: &[Vec<u8>], batch: usize) -> BenchResult<Duration> {
    let started = Instant::now();
    for chunk in wires.chunks(batch) {
        for outcome in engine.submit_many(chunk.to_vec(), Origin::Fetched).await? {
            outcome?;
        }
    }
    Ok(started.elapsed())
}

/// `count` new listings, each by a member in good standing at its creation time on
/// `engine`, created one millisecond apart from `start`.
pub fn fresh_listings(
    fixture: &Fixture,
    engine: &Engine,
    count: usize,
    start: Timestamp,
) -> BenchResult<Vec<Record>> {
    let authors: Vec<&SecretKey> = {
        let index = engine.index();
        fixture.network.keys[3..]
            .iter()
            .map(|(_, key)| key)
            .filter(|key| index.in_good_standing_at(&key.public_key(), start))
            .collect()
    };
    if authors.is_empty() {
        return Err("no member is in good standing to sign listings".into());
    }
    Ok((0..count)
        .map(|i| {
            let at = start.plus_ms(i as u64);
            fixture.network.signer.listing(
                authors[i % authors.len()],
                &format!("Armoire n° {i}"),
                at,
            )
        })
        .collect())
}
