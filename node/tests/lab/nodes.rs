//! Real `maillon run` processes in the lab's namespaces, each with its own folder, driven
//! over HTTP from the test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use maillon_node::generator::GeneratedNetwork;
use maillon_protocol::kinds::{node_operator_message, NodeAnnouncement};
use maillon_protocol::{Draft, Record, SecretKey, Timestamp};

use super::Host;

/// The port every node listens on for libp2p, in its own namespace.
pub const P2P_PORT: u16 = 4001;
/// The port every node serves HTTP on, in its own namespace.
pub const HTTP_PORT: u16 = 8080;

/// A node's folder and how to start it.
pub struct NodeSpec<'a> {
    /// Where it runs.
    pub host: &'a Host,
    /// Its name.
    pub name: &'a str,
    /// Its key.
    pub key: SecretKey,
    /// Bootstrap addresses.
    pub bootstrap: Vec<String>,
    /// Extra lines of `maillon.toml` (whole sections).
    pub extra_config: String,
}

/// A `maillon run` process.
pub struct NodeProcess {
    /// Its name.
    pub name: String,
    /// Its folder.
    pub dir: PathBuf,
    /// Its base URL.
    pub url: String,
    /// Its libp2p address with `/p2p/<peer id>`.
    pub p2p: String,
    child: Option<Child>,
    host: Host,
}

/// The libp2p peer id of a node key.
pub fn peer_id(key: &SecretKey) -> String {
    maillon_node::network::gating::peer_id_of(&key.public_key())
        .unwrap()
        .to_string()
}

/// An announcement for a node, vouched for by its operator.
pub fn announcement(
    network: &GeneratedNetwork,
    key: &SecretKey,
    operator: &SecretKey,
    name: &str,
    now: Timestamp,
) -> Record {
    let body = NodeAnnouncement {
        name: name.into(),
        region: "Drôme".into(),
        postcode: "26000".into(),
        addresses: Vec::new(),
        operator: operator.public_key(),
        operator_signature: operator.sign(&node_operator_message(
            &network.signer.network,
            &key.public_key(),
        )),
    };
    let draft = Draft {
        body: body.into(),
        created: now,
        expires: None,
    };
    Record::sign(key, &network.signer.network, draft).unwrap()
}

/// Writes a node's folder: key, charter and configuration. Its announcement is posted to
/// a running node by the test, as an operator's would arrive.
pub fn prepare(root: &Path, network: &GeneratedNetwork, spec: &NodeSpec) -> Result<PathBuf> {
    let dir = root.join(spec.name);
    let data = dir.join("data");
    std::fs::create_dir_all(&data)?;
    std::fs::write(dir.join("charter.cbor"), network.records[0].to_wire())?;
    std::fs::write(data.join("node.key"), hex::encode(spec.key.seed()))?;
    let bootstrap: Vec<String> = spec.bootstrap.iter().map(|b| format!("\"{b}\"")).collect();
    let config = format!(
        "[node]\nname = \"{name}\"\ndata_dir = \"data\"\n\n\
         [network]\ncharter_file = \"charter.cbor\"\nlisten = [\"/ip4/{ip}/tcp/{P2P_PORT}\"]\n\
         bootstrap = [{bootstrap}]\nautonat_private_addresses = true\n\n\
         [http]\nlisten = \"{ip}:{HTTP_PORT}\"\n\n{extra}\n",
        name = spec.name,
        ip = spec.host.ip,
        bootstrap = bootstrap.join(", "),
        extra = spec.extra_config,
    );
    std::fs::write(dir.join("maillon.toml"), config)?;
    Ok(dir)
}

impl NodeProcess {
    /// Starts `maillon run` in the host's namespace, logging to `<dir>/node.log`.
    pub fn start(dir: &Path, host: &Host, name: &str, key: &SecretKey) -> Result<NodeProcess> {
        let mut node = NodeProcess {
            name: name.into(),
            dir: dir.to_path_buf(),
            url: format!("http://{}:{HTTP_PORT}", host.ip),
            p2p: format!("/ip4/{}/tcp/{P2P_PORT}/p2p/{}", host.ip, peer_id(key)),
            child: None,
            host: host.clone(),
        };
        node.restart()?;
        Ok(node)
    }

    /// Starts `maillon run` for a folder made by `maillon init`, whose key the test does
    /// not hold; `p2p` is left empty.
    pub fn launch(dir: &Path, host: &Host, name: &str) -> Result<NodeProcess> {
        let mut node = NodeProcess {
            name: name.into(),
            dir: dir.to_path_buf(),
            url: format!("http://{}:{HTTP_PORT}", host.ip),
            p2p: String::new(),
            child: None,
            host: host.clone(),
        };
        node.restart()?;
        Ok(node)
    }

    /// Starts the process again (after [`NodeProcess::kill`]).
    pub fn restart(&mut self) -> Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("node.log"))?;
        let child = Command::new("ip")
            .args(["netns", "exec", &self.host.namespace])
            .arg(env!("CARGO_BIN_EXE_maillon"))
            .arg("run")
            .arg("--config")
            .arg(self.dir.join("maillon.toml"))
            .env("RUST_LOG", "info,libp2p_gossipsub=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start maillon run")?;
        self.child = Some(child);
        Ok(())
    }

    /// Kills the process at once.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The node's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    /// `GET /api/v1/status`.
    pub async fn status(&self, http: &reqwest::Client) -> Result<serde_json::Value> {
        let response = http
            .get(format!("{}/api/v1/status", self.url))
            .timeout(Duration::from_secs(5))
            .send()
            .await?;
        Ok(response.error_for_status()?.json().await?)
    }

    /// Waits until the node answers its status.
    pub async fn wait_ready(&mut self, http: &reqwest::Client, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(child) = self.child.as_mut() {
                if let Some(code) = child.try_wait()? {
                    bail!("{} exited with {code}: {}", self.name, self.log());
                }
            }
            if self.status(http).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!(
            "{} did not answer within {timeout:?}: {}",
            self.name,
            self.log()
        )
    }

    /// Posts records, each acknowledged (201) or already held (200).
    pub async fn post_all(&self, http: &reqwest::Client, records: &[Record]) -> Result<()> {
        post_records(http, &self.url, &self.name, records).await
    }
}

/// Posts records one by one to the node at `url` (called `name` in errors); each must be
/// stored or already held.
pub async fn post_records(
    http: &reqwest::Client,
    url: &str,
    name: &str,
    records: &[Record],
) -> Result<()> {
    for record in records {
        let response = http
            .post(format!("{url}/api/v1/records"))
            .header("content-type", "application/cbor")
            .body(record.to_wire())
            .timeout(Duration::from_secs(10))
            .send()
            .await?;
        let code = response.status().as_u16();
        if code != 201 && code != 200 {
            bail!("{name} answered {code}: {}", response.text().await?);
        }
    }
    Ok(())
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The state digest and peer count of every node, `None` for one that does not answer.
pub async fn digests(
    http: &reqwest::Client,
    nodes: &[&NodeProcess],
) -> Vec<Option<(String, u64, u64)>> {
    let mut out = Vec::new();
    for node in nodes {
        out.push(node.status(http).await.ok().map(|s| {
            (
                s["state_digest"].as_str().unwrap_or("").to_string(),
                s["records"].as_u64().unwrap_or(0),
                s["peers"].as_u64().unwrap_or(0),
            )
        }));
    }
    out
}

/// Waits until every node answers with one digest; returns how long it took.
pub async fn wait_for_agreement(
    http: &reqwest::Client,
    nodes: &[&NodeProcess],
    timeout: Duration,
) -> Result<Duration> {
    let start = Instant::now();
    loop {
        let seen = digests(http, nodes).await;
        let first = seen[0].as_ref().map(|s| s.0.clone());
        if first.is_some()
            && seen
                .iter()
                .all(|s| s.as_ref().map(|s| s.0.clone()) == first)
        {
            return Ok(start.elapsed());
        }
        if start.elapsed() > timeout {
            bail!("no agreement within {timeout:?}: {seen:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
