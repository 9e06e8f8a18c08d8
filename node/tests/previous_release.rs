//! A mixed network: a `maillon run` of this version next to one of the previous release,
//! built from git by `scripts/test-all.sh` (the path comes in `MAILLON_PREVIOUS_BIN`;
//! without it the test says it is skipped). The old node starts empty and must reach the
//! new node's records by sync (each node's state digest must be its release's digest of
//! every record the test wrote: the previous release shows the `v1` digest, this one `v2`); records posted to either must reach the other on
//! gossip, within a bound well under the 60 s between periodic syncs. Then the old node's
//! store, written by the old release without a format marker (format 1), is refused by
//! this version's start, migrated by `maillon migrate` and opened (an upgrade in place);
//! the folder saved before the upgrade is opened again by the old release (going back).

#![allow(clippy::unwrap_used)]

mod lab;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context, Result};
use lab::nodes::{announcement, peer_id};
use maillon_node::generator::{generate, GeneratedNetwork};
use maillon_protocol::testkit::key;
use maillon_protocol::{Record, RecordId, SecretKey, Timestamp};
use serde_json::Value;

/// The variable naming the previous release's binary.
const PREVIOUS: &str = "MAILLON_PREVIOUS_BIN";
/// Whether `binary` is the previous release's.
fn is_previous(binary: &Path) -> bool {
    std::env::var_os(PREVIOUS).is_some_and(|previous| Path::new(&previous) == binary)
}

/// A record posted to one node must be on the other within this: gossip, not the
/// periodic sync (every 60 s).
const GOSSIP_BOUND: Duration = Duration::from_secs(10);

fn now() -> Timestamp {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    Timestamp(since.as_millis() as u64)
}

/// A free port on loopback (the listener is closed before the node binds it).
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A node's folder and its `maillon run` process, of a given binary.
struct Node {
    name: String,
    dir: PathBuf,
    url: String,
    p2p: String,
    child: Option<Child>,
}

impl Node {
    /// Writes the folder: key, charter, configuration on free loopback ports.
    fn prepare(
        root: &Path,
        name: &str,
        network: &GeneratedNetwork,
        node_key: &SecretKey,
        bootstrap: Option<&str>,
    ) -> Result<Node> {
        let dir = root.join(name);
        let data = dir.join("data");
        std::fs::create_dir_all(&data)?;
        std::fs::write(dir.join("charter.cbor"), network.records[0].to_wire())?;
        std::fs::write(data.join("node.key"), hex::encode(node_key.seed()))?;
        let (p2p_port, http_port) = (free_port()?, free_port()?);
        let bootstrap = bootstrap.map(|b| format!("\"{b}\"")).unwrap_or_default();
        let config = format!(
            "[node]\nname = \"{name}\"\ndata_dir = \"data\"\n\n\
             [network]\ncharter_file = \"charter.cbor\"\n\
             listen = [\"/ip4/127.0.0.1/tcp/{p2p_port}\"]\n\
             bootstrap = [{bootstrap}]\nautonat_private_addresses = true\n\n\
             [http]\nlisten = \"127.0.0.1:{http_port}\"\n"
        );
        std::fs::write(dir.join("maillon.toml"), config)?;
        Ok(Node {
            name: name.into(),
            dir,
            url: format!("http://127.0.0.1:{http_port}"),
            p2p: format!("/ip4/127.0.0.1/tcp/{p2p_port}/p2p/{}", peer_id(node_key)),
            child: None,
        })
    }

    /// Starts `binary run` on the folder, logging to `<dir>/node.log`.
    fn start(&mut self, binary: &Path) -> Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("node.log"))?;
        let mut command = Command::new(binary);
        if !is_previous(binary) {
            // Two nodes on one machine: no metrics listener, whose default port they would
            // share. The previous release has no `[metrics]` and refuses the variable.
            command.env("MAILLON_METRICS__LISTEN", "");
        }
        let child = command
            .arg("run")
            .arg("--config")
            .arg(self.dir.join("maillon.toml"))
            .env("RUST_LOG", "info,libp2p_gossipsub=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// Stops the process as an operator would (SIGTERM), and waits for it.
    fn stop(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            let status = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()?;
            ensure!(status.success(), "kill -TERM failed");
            let start = Instant::now();
            while child.try_wait()?.is_none() {
                if start.elapsed() > Duration::from_secs(30) {
                    let _ = child.kill();
                    bail!("{} did not stop within 30 s", self.name);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(())
    }

    /// Runs `binary <command> --config <the node's maillon.toml>` to its end.
    fn run_to_end(&self, binary: &Path, command: &str) -> Result<std::process::Output> {
        let mut child = Command::new(binary)
            .arg(command)
            .arg("--config")
            .arg(self.dir.join("maillon.toml"))
            .env("MAILLON_METRICS__LISTEN", "")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let start = Instant::now();
        while child.try_wait()?.is_none() {
            if start.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                bail!("`{command}` did not end within 60 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(child.wait_with_output()?)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    async fn status(&self, http: &reqwest::Client) -> Result<Value> {
        let response = http
            .get(format!("{}/api/v1/status", self.url))
            .timeout(Duration::from_secs(5))
            .send()
            .await?;
        Ok(response.error_for_status()?.json().await?)
    }

    async fn wait_ready(&mut self, http: &reqwest::Client) -> Result<Value> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Some(child) = self.child.as_mut() {
                if let Some(code) = child.try_wait()? {
                    bail!("{} exited with {code}: {}", self.name, self.log());
                }
            }
            if let Ok(status) = self.status(http).await {
                return Ok(status);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("{} did not answer within 60 s: {}", self.name, self.log())
    }

    async fn post_all(&self, http: &reqwest::Client, records: &[Record]) -> Result<()> {
        lab::nodes::post_records(http, &self.url, &self.name, records).await
    }

    async fn holds(&self, http: &reqwest::Client, id: &RecordId) -> bool {
        let response = http
            .get(format!("{}/api/v1/records/{}", self.url, id.to_hex()))
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        response.is_ok_and(|r| r.status().is_success())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Copies a folder and everything under it.
fn copy_folder(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_folder(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// The state digest of the previous release: SHA-256 over `maillon/digest/v1\0` and the
/// ids held in ascending order (docs/PROTOCOL.md before the `v2` digest).
fn digest_v1(written: &BTreeSet<RecordId>) -> String {
    let ids: Vec<&[u8]> = written.iter().map(|id| &id.0[..]).collect();
    let mut parts: Vec<&[u8]> = vec![b"maillon/digest/v1\0"];
    parts.extend(ids);
    hex::encode(maillon_protocol::ids::sha256(&parts))
}

/// The digest `node` must show once it holds exactly `written`: its release's formula.
fn expected_digest(node_binary: &Path, written: &BTreeSet<RecordId>) -> String {
    if is_previous(node_binary) {
        digest_v1(written)
    } else {
        hex::encode(maillon_protocol::state::state_digest(written))
    }
}

/// Waits until both nodes hold exactly `written`: each shows its release's digest of it.
async fn wait_for_agreement(
    http: &reqwest::Client,
    nodes: [(&Node, &Path); 2],
    written: &BTreeSet<RecordId>,
) -> Result<()> {
    let start = Instant::now();
    loop {
        let mut seen = Vec::new();
        for (node, binary) in nodes {
            let status = node.status(http).await.ok();
            let digest = status.map(|s| s["state_digest"].clone());
            seen.push((digest, expected_digest(binary, written)));
        }
        if seen
            .iter()
            .all(|(digest, expected)| digest.as_ref().and_then(Value::as_str) == Some(expected))
        {
            return Ok(());
        }
        ensure!(
            start.elapsed() < Duration::from_secs(120),
            "no agreement on {} records within 120 s (seen, expected): {seen:?}\n--- {}:\n{}\n--- {}:\n{}",
            written.len(),
            nodes[0].0.name,
            nodes[0].0.log(),
            nodes[1].0.name,
            nodes[1].0.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Posts one listing to `from` and waits for `to` to hold it.
async fn gossip_reaches(
    http: &reqwest::Client,
    network: &GeneratedNetwork,
    author: usize,
    from: &Node,
    to: &Node,
) -> Result<(RecordId, Duration)> {
    let listing = network.signer.listing(
        &network.keys[author].1,
        &format!("Annonce de {} pour {}", from.name, to.name),
        now(),
    );
    from.post_all(http, std::slice::from_ref(&listing)).await?;
    let start = Instant::now();
    while !to.holds(http, &listing.id()).await {
        ensure!(
            start.elapsed() < GOSSIP_BOUND,
            "a listing posted to {} was not on {} within {GOSSIP_BOUND:?}",
            from.name,
            to.name
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((listing.id(), start.elapsed()))
}

async fn wait_for_peer(http: &reqwest::Client, node: &Node) -> Result<()> {
    let start = Instant::now();
    while node.status(http).await?["peers"].as_u64() != Some(1) {
        ensure!(
            start.elapsed() < Duration::from_secs(60),
            "{} has no peer after 60 s",
            node.name
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_of_the_previous_release_syncs_and_gossips_with_this_version() -> Result<()> {
    let Some(previous) = std::env::var_os(PREVIOUS).map(PathBuf::from) else {
        eprintln!(
            "SKIPPED: {PREVIOUS} is not set (scripts/test-all.sh builds the previous release)"
        );
        return Ok(());
    };
    ensure!(
        previous.exists(),
        "{PREVIOUS}={} is missing",
        previous.display()
    );
    let current = PathBuf::from(env!("CARGO_BIN_EXE_maillon"));
    let http = reqwest::Client::new();
    let root = tempfile::tempdir()?;
    let network = generate(7, 30);
    let (new_key, old_key) = (key("mixed-new"), key("mixed-old"));

    // The new node holds the network and both nodes' announcements.
    let mut new = Node::prepare(root.path(), "nouveau", &network, &new_key, None)?;
    new.start(&current)?;
    let status = new.wait_ready(&http).await?;
    assert_eq!(status["protocol_version"], 1);
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    let mut genesis = network.records.clone();
    genesis.push(announcement(
        &network,
        &new_key,
        &network.keys[0].1,
        "nouveau",
        now(),
    ));
    genesis.push(announcement(
        &network,
        &old_key,
        &network.keys[1].1,
        "ancien",
        now(),
    ));
    new.post_all(&http, &genesis).await?;

    // The old node starts empty, with the new one as its bootstrap, and syncs everything.
    let mut old = Node::prepare(root.path(), "ancien", &network, &old_key, Some(&new.p2p))?;
    old.start(&previous)?;
    let status = old.wait_ready(&http).await?;
    assert!(
        status.get("protocol_version").is_none(),
        "MAILLON_PREVIOUS_BIN must be the release before status reported versions"
    );
    let mut written: BTreeSet<RecordId> = genesis.iter().map(Record::id).collect();
    wait_for_agreement(&http, [(&new, &current), (&old, &previous)], &written).await?;

    // Gossip both ways, several times, each well within the periodic sync's interval.
    wait_for_peer(&http, &new).await?;
    wait_for_peer(&http, &old).await?;
    for round in 0..3 {
        let (to_new_id, to_new) = gossip_reaches(&http, &network, 3 + round, &old, &new).await?;
        let (to_old_id, to_old) = gossip_reaches(&http, &network, 10 + round, &new, &old).await?;
        written.extend([to_new_id, to_old_id]);
        eprintln!("gossip round {round}: old → new {to_new:?}, new → old {to_old:?}");
    }
    wait_for_agreement(&http, [(&new, &current), (&old, &previous)], &written).await?;
    let records = new.status(&http).await?["records"].clone();

    // Upgrade in place: the old node's store (format 1, no marker) is refused by this
    // version's start, which names `maillon migrate`; once migrated, this version opens it.
    old.stop()?;
    let data = old.dir.join("data");
    let saved = old.dir.join("data.before-upgrade");
    copy_folder(&data, &saved)?;
    let refused = old.run_to_end(&current, "run")?;
    let said = String::from_utf8_lossy(&refused.stderr).to_string();
    ensure!(
        !refused.status.success(),
        "a format-1 store must be refused: {said}"
    );
    ensure!(
        said.contains("maillon migrate --config"),
        "no migrate hint: {said}"
    );
    let migrated = old.run_to_end(&current, "migrate")?;
    ensure!(
        migrated.status.success(),
        "maillon migrate failed: {}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    old.start(&current)?;
    let status = old.wait_ready(&http).await?;
    assert_eq!(status["store_format"], 2);
    assert_eq!(status["records"], records, "every record kept");
    assert_eq!(
        status["state_digest"],
        Value::from(expected_digest(&current, &written))
    );

    // Going back: the previous release does not read format 2; the operator restores the
    // folder saved before the upgrade (docs/OPERATIONS.md), and the previous release
    // opens it.
    old.stop()?;
    std::fs::remove_dir_all(&data)?;
    std::fs::rename(&saved, &data)?;
    old.start(&previous)?;
    let status = old.wait_ready(&http).await?;
    assert_eq!(status["records"], records);
    assert_eq!(
        status["state_digest"],
        Value::from(expected_digest(&previous, &written))
    );
    Ok(())
}
