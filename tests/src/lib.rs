//! Harness for Maillon's integration tests: a generated network, node keys with their
//! announcements, and real nodes started on loopback (port 0) in one process, talked to
//! over their HTTP API.
//!
//! # Layout
//! - [`Cluster`]: the shared network data and a folder per node.
//! - [`TestNode`]: one running node and its HTTP helpers.
//! - [`wait_until`]: bounded polling.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use libp2p::Multiaddr;
use maillon_node::config::Config;
use maillon_node::engine::{system_clock, Origin};
use maillon_node::generator::{self, GeneratedNetwork};
use maillon_node::ingest::parking::ParkingLimits;
use maillon_node::network::NetworkSettings;
use maillon_node::node::{self, NodeOptions, RunningNode};
use maillon_protocol::{testkit, Record, SecretKey, Timestamp};

/// A generated network shared by the nodes of a test.
pub struct Cluster {
    /// The generated members and records.
    pub network: GeneratedNetwork,
    /// One key per node.
    pub node_keys: Vec<SecretKey>,
    /// One announcement per node, vouched for by a founder.
    pub announcements: Vec<Record>,
    /// Each node's introduction quota (a test that posts many joins through the testkit's
    /// one introducer raises it before starting nodes).
    pub joins_per_introducer_per_day: usize,
    /// Each node's free-space floor in bytes (0: none).
    pub min_free_bytes: u64,
    /// Where the nodes' folders go instead of a temporary folder (a small volume, say).
    pub data_root: Option<PathBuf>,
    root: tempfile::TempDir,
}

/// The current time in ms.
pub fn now() -> Timestamp {
    system_clock()()
}

impl Cluster {
    /// A network of `members` members (seeded) and `nodes` node keys.
    pub fn new(seed: u64, members: usize, nodes: usize) -> Cluster {
        Cluster::with_network(seed, generator::generate(seed, members), nodes)
    }

    /// This generated network and `nodes` node keys (seeded).
    pub fn with_network(seed: u64, network: GeneratedNetwork, nodes: usize) -> Cluster {
        // Logs when RUST_LOG is set; a second initialisation in the same process is a no-op.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let node_keys: Vec<SecretKey> = (0..nodes)
            .map(|i| testkit::key(&format!("node-{seed}-{i}")))
            .collect();
        let announcements = node_keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let operator = &network.keys[i % 3].1;
                let name = format!("Nœud {i}");
                network
                    .signer
                    .announce_node(key, operator, &name, network.now)
            })
            .collect();
        Cluster {
            network,
            node_keys,
            announcements,
            joins_per_introducer_per_day:
                maillon_node::engine::standing::DEFAULT_JOINS_PER_INTRODUCER_PER_DAY,
            min_free_bytes: 0,
            data_root: None,
            root: tempfile::tempdir().unwrap(),
        }
    }

    /// Every record nodes start with: the network and the node announcements.
    pub fn genesis(&self) -> Vec<Vec<u8>> {
        self.network
            .records
            .iter()
            .chain(&self.announcements)
            .map(Record::to_wire)
            .collect()
    }

    /// The data folder of node `i`.
    pub fn dir(&self, i: usize) -> PathBuf {
        let root = self.data_root.as_deref().unwrap_or(self.root.path());
        root.join(format!("node-{i}"))
    }

    /// Network settings fit for tests: fast heartbeat and sync.
    pub fn settings(bootstrap: Vec<Multiaddr>) -> NetworkSettings {
        NetworkSettings {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            bootstrap,
            sync_interval: Duration::from_secs(2),
            heartbeat: Duration::from_millis(200),
            gating_grace: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            ..NetworkSettings::default()
        }
    }

    /// Writes node `i`'s folder (key, charter, configuration) if not there yet.
    pub fn prepare(&self, i: usize) -> Result<Config> {
        let dir = self.dir(i);
        std::fs::create_dir_all(&dir)?;
        let charter_file = dir.join("charter.cbor");
        std::fs::write(&charter_file, self.network.records[0].to_wire())?;
        std::fs::write(dir.join("node.key"), hex::encode(self.node_keys[i].seed()))?;
        Ok(Config {
            name: format!("Nœud {i}"),
            data_dir: dir.clone(),
            charter_file,
            listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
            bootstrap: Vec::new(),
            mdns: false,
            http_listen: "127.0.0.1:0".parse()?,
            cache_capacity_bytes: 16 << 20,
            min_free_bytes: self.min_free_bytes,
            parking: ParkingLimits::default(),
            joins_per_introducer_per_day: self.joins_per_introducer_per_day,
            site: Default::default(),
            links: Default::default(),
            smtp: None,
            site_address: None,
            metrics: maillon_node::metrics::settings::MetricsSettings::OFF,
        })
    }

    /// Starts node `i` with these settings; `seed` loads the genesis records first.
    pub async fn start(&self, i: usize, settings: NetworkSettings, seed: bool) -> Result<TestNode> {
        let records = if seed { self.genesis() } else { Vec::new() };
        self.start_with(i, settings, records).await
    }

    /// Starts node 0 as a gatekeeper that holds the network but no node announcement, with
    /// this gating grace, and node 1 bootstrapping to it: node 1 is a stranger there.
    pub async fn gatekeeper_and_stranger(&self, grace: Duration) -> Result<(TestNode, TestNode)> {
        let records: Vec<Vec<u8>> = self.network.records.iter().map(Record::to_wire).collect();
        let settings = NetworkSettings {
            gating_grace: grace,
            ..Cluster::settings(Vec::new())
        };
        let gatekeeper = self.start_with(0, settings, records).await?;
        let stranger = self
            .start(1, Cluster::settings(vec![gatekeeper.address()]), false)
            .await?;
        Ok((gatekeeper, stranger))
    }

    /// Starts node `i` and loads `records` into it (as if fetched by sync).
    pub async fn start_with(
        &self,
        i: usize,
        settings: NetworkSettings,
        records: Vec<Vec<u8>>,
    ) -> Result<TestNode> {
        let config = self.prepare(i)?;
        start_from(config, i, settings, records).await
    }
}

/// Starts a node from `config` (a folder prepared by [`Cluster::prepare`], or restored from
/// a backup), known as node `i`, and loads `records` into it (as if fetched by sync).
pub async fn start_from(
    config: Config,
    i: usize,
    settings: NetworkSettings,
    records: Vec<Vec<u8>>,
) -> Result<TestNode> {
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let running = node::start(NodeOptions {
        config,
        http,
        network: settings,
        clock: system_clock(),
        web: maillon_web_ui::WebConfig {
            kdf: maillon_web_ui::keys::KdfParams::FOR_TESTS,
            ..maillon_web_ui::WebConfig::default()
        },
    })
    .await?;
    if !records.is_empty() {
        let outcomes = running.engine.submit_many(records, Origin::Fetched).await?;
        for outcome in outcomes {
            outcome.context("a genesis record was refused")?;
        }
    }
    let addresses = running.p2p_addresses().await?;
    Ok(TestNode {
        base: format!("http://{}", running.http_address),
        running: Some(running),
        addresses,
        http: reqwest::Client::new(),
        index: i,
    })
}

/// A running node.
pub struct TestNode {
    /// The node, until stopped.
    pub running: Option<RunningNode>,
    /// Its HTTP base URL.
    pub base: String,
    /// Its p2p addresses with `/p2p/<peer id>`.
    pub addresses: Vec<Multiaddr>,
    /// Its position in the cluster.
    pub index: usize,
    http: reqwest::Client,
}

impl TestNode {
    /// The running node.
    pub fn node(&self) -> &RunningNode {
        self.running.as_ref().unwrap()
    }

    /// One address to dial this node.
    pub fn address(&self) -> Multiaddr {
        self.addresses[0].clone()
    }

    /// Posts wire bytes; returns the status code and JSON body.
    pub async fn post(&self, wire: &[u8]) -> Result<(u16, serde_json::Value)> {
        let response = self
            .http
            .post(format!("{}/api/v1/records", self.base))
            .header("content-type", "application/cbor")
            .body(wire.to_vec())
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await?))
    }

    /// GETs a JSON endpoint.
    pub async fn get_json(&self, path: &str) -> Result<(u16, serde_json::Value)> {
        let response = self.http.get(format!("{}{path}", self.base)).send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await?))
    }

    /// Whether the node holds a record (asked over HTTP).
    pub async fn has(&self, id: &maillon_protocol::RecordId) -> Result<bool> {
        let url = format!("{}/api/v1/records/{}", self.base, id.to_hex());
        Ok(self.http.get(url).send().await?.status().as_u16() == 200)
    }

    /// The status endpoint's JSON.
    pub async fn status(&self) -> Result<serde_json::Value> {
        let (code, body) = self.get_json("/api/v1/status").await?;
        if code != 200 {
            bail!("status answered {code}");
        }
        Ok(body)
    }

    /// The state digest.
    pub async fn digest(&self) -> Result<String> {
        Ok(self.status().await?["state_digest"]
            .as_str()
            .unwrap_or("")
            .to_string())
    }

    /// Stops the node cleanly.
    pub async fn stop(&mut self) -> Result<()> {
        if let Some(running) = self.running.take() {
            running.shutdown().await?;
        }
        Ok(())
    }
}

/// Polls `condition` every 100 ms until it holds, or fails after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut condition: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let start = Instant::now();
    loop {
        if condition().await.unwrap_or(false) {
            return Ok(());
        }
        if start.elapsed() > timeout {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts `count` nodes, each seeded, each bootstrapping from node 0.
pub async fn start_cluster(cluster: &Cluster, count: usize) -> Result<Vec<TestNode>> {
    let first = cluster
        .start(0, Cluster::settings(Vec::new()), true)
        .await?;
    let bootstrap = vec![first.address()];
    let mut nodes = vec![first];
    for i in 1..count {
        nodes.push(
            cluster
                .start(i, Cluster::settings(bootstrap.clone()), true)
                .await?,
        );
    }
    Ok(nodes)
}

/// Waits until every node has at least `peers` peers.
pub async fn wait_for_peers(nodes: &[TestNode], peers: usize) -> Result<()> {
    for node in nodes {
        let client = node.node().client.clone();
        wait_until("peers to connect", Duration::from_secs(20), || {
            let client = client.clone();
            async move { Ok(client.peers().await?.len() >= peers) }
        })
        .await?;
    }
    Ok(())
}

/// An `Arc` of a clock fixed at `at`.
pub fn fixed_clock(at: Timestamp) -> maillon_node::engine::Clock {
    Arc::new(move || at)
}

impl Cluster {
    /// Gives the generated member `label` ("member-12", "founder-1") a web account on node
    /// `i`, signed in with `login` and `passphrase`, and returns its public key. Call it
    /// before starting the node: a node reads its accounts folder when it starts.
    pub fn add_account(
        &self,
        i: usize,
        label: &str,
        login: &str,
        passphrase: &str,
    ) -> Result<maillon_protocol::PublicKey> {
        use maillon_node::web::accounts::AccountFiles;
        use maillon_web_ui::backend::{Account, AccountCreated};
        use maillon_web_ui::keys::{self, KdfParams};
        let (_, secret) = self
            .network
            .keys
            .iter()
            .find(|(l, _)| l == label)
            .with_context(|| format!("no generated member is labelled {label}"))?;
        let accounts = AccountFiles::open(self.dir(i).join("accounts"))?;
        let account = Account {
            login: login.to_string(),
            key: secret.public_key(),
            sealed_key: keys::seal(secret, passphrase, KdfParams::FOR_TESTS)?,
            created: now(),
            notifications_seen: now(),
            saved_searches: Vec::new(),
            pending_recovery: None,
            donation_reminder_dismissed_ms: 0,
        };
        if accounts.create(&account)? == AccountCreated::LoginTaken {
            bail!("the login {login} is taken on node {i}");
        }
        Ok(secret.public_key())
    }
}
