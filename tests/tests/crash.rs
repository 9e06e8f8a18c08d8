//! kill -9 during heavy ingest: every record acknowledged with 201 is there after the
//! restart, and the store opens cleanly.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use maillon_protocol::RecordId;
use maillon_tests::{now, Cluster};

/// Starts the node process and returns it with its HTTP base URL.
fn spawn(config: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_maillon-test-node"))
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let address = line
        .trim()
        .strip_prefix("READY ")
        .unwrap_or_else(|| panic!("{line}"));
    (child, format!("http://{address}"))
}

async fn post(http: &reqwest::Client, base: &str, wire: Vec<u8>) -> u16 {
    match http
        .post(format!("{base}/api/v1/records"))
        .header("content-type", "application/cbor")
        .body(wire)
        .send()
        .await
    {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn records_acknowledged_before_a_kill_9_survive_it() {
    let cluster = Cluster::new(61, 40, 1);
    let config = cluster.prepare(0).unwrap();
    let toml = "[node]\nname = \"Crash\"\ndata_dir = \".\"\n\n[network]\ncharter_file = \"charter.cbor\"\n\
         listen = [\"/ip4/127.0.0.1/tcp/0\"]\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n[store]\ncache_mib = 16\n\n[metrics]\nlisten = \"\"\n";
    let config_file = config.data_dir.join("maillon.toml");
    std::fs::write(&config_file, toml).unwrap();
    let (mut child, base) = spawn(&config_file);
    let http = reqwest::Client::new();
    for wire in cluster.genesis() {
        assert!(matches!(post(&http, &base, wire).await, 200 | 201));
    }
    // Heavy ingest from 8 writers; each remembers what was acknowledged with 201.
    let acknowledged: Arc<Mutex<Vec<RecordId>>> = Arc::default();
    let mut writers = Vec::new();
    for writer in 0..8 {
        let (http, base, acknowledged) = (http.clone(), base.clone(), Arc::clone(&acknowledged));
        let author = cluster.network.keys[3 + writer].1.clone();
        let signer = cluster.network.signer.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let record = signer.listing(&author, &format!("Annonce {writer}-{i}"), now());
                match post(&http, &base, record.to_wire()).await {
                    201 => acknowledged.lock().unwrap().push(record.id()),
                    0 => break,
                    code => panic!("unexpected {code}"),
                }
            }
        }));
    }
    while acknowledged.lock().unwrap().len() < 400 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 400);
    let (mut child, base) = spawn(&config_file);
    for id in &acknowledged {
        let response = http
            .get(format!("{base}/api/v1/records/{}", id.to_hex()))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            200,
            "acknowledged record {id} was lost"
        );
    }
    let status: serde_json::Value = http
        .get(format!("{base}/api/v1/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let held = status["records"].as_u64().unwrap() as usize;
    assert!(held >= cluster.genesis().len() + acknowledged.len());
    // The reopened store checks its indexes at start-up; writing still works.
    let more = cluster
        .network
        .signer
        .listing(&cluster.network.keys[20].1, "Après", now());
    assert_eq!(post(&http, &base, more.to_wire()).await, 201);
    child.kill().unwrap();
    child.wait().unwrap();
}
