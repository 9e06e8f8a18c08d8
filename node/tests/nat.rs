//! Nodes behind home routers: one public node offering a relay, and two nodes each behind
//! its own router that masquerades (iptables NAT) and lets no connection in. Each is a
//! `maillon run` process in its own network namespace. AutoNAT must find the two private,
//! they must listen through the public node's relay, reach each other (relayed, or
//! directly once DCUtR punches a hole), and records published on each must reach the other
//! two. Needs root (CI runs as root); skips with the reason where namespaces cannot be made.

#![allow(clippy::unwrap_used)]

mod lab;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Result};
use lab::nodes::{announcement, peer_id, prepare, wait_for_agreement, NodeProcess, NodeSpec};
use lab::{Host, Lab};
use maillon_node::generator::generate;
use maillon_protocol::testkit::key;
use maillon_protocol::Timestamp;

fn now() -> Timestamp {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    Timestamp(since.as_millis() as u64)
}

/// Waits until `node`'s status shows `wanted` as reachability, and returns the status.
async fn wait_for_status(
    http: &reqwest::Client,
    node: &NodeProcess,
    what: &str,
    timeout: Duration,
    check: impl Fn(&serde_json::Value) -> bool,
) -> Result<serde_json::Value> {
    let start = Instant::now();
    loop {
        if let Ok(status) = node.status(http).await {
            if check(&status) {
                return Ok(status);
            }
            if start.elapsed() > timeout {
                bail!(
                    "{}: {what} not seen within {timeout:?}; status {}\n{}",
                    node.name,
                    status["links"],
                    tail(&node.log(), 40)
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn link_to(status: &serde_json::Value, peer: &str) -> Option<String> {
    status["links"]["peers"]
        .as_array()?
        .iter()
        .find(|p| p["peer"] == peer)
        .and_then(|p| p["link"].as_str().map(str::to_string))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_behind_two_routers_reach_each_other_and_the_public_node() {
    if let Some(reason) = Lab::unavailable() {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let mut lab = Lab::new("nat");
    let switch = lab.switch("in").unwrap();
    let admin = "10.80.0.254";
    lab.admin(&switch, admin).unwrap();
    let public = lab.host(&switch, "pub", "10.80.0.1").unwrap();
    let port = lab::nodes::HTTP_PORT;
    let home_a = lab
        .host_behind_nat(&switch, "a", "10.80.0.11", "10.81.1", admin, port)
        .unwrap();
    let home_b = lab
        .host_behind_nat(&switch, "b", "10.80.0.12", "10.81.2", admin, port)
        .unwrap();

    let network = generate(80, 30);
    let root = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let hosts: [(&Host, &str); 3] = [
        (&public, "public"),
        (&home_a, "maison-a"),
        (&home_b, "maison-b"),
    ];
    let keys: Vec<_> = hosts
        .iter()
        .map(|(_, n)| key(&format!("nat-{n}")))
        .collect();
    let mut nodes: Vec<NodeProcess> = Vec::new();
    for (i, (host, name)) in hosts.iter().enumerate() {
        let extra = if i == 0 {
            "[relay]\nserve = true\n".to_string()
        } else {
            String::new()
        };
        let spec = NodeSpec {
            host,
            name,
            key: keys[i].clone(),
            bootstrap: nodes.first().map(|n| n.p2p.clone()).into_iter().collect(),
            extra_config: extra,
        };
        let dir = prepare(root.path(), &network, &spec).unwrap();
        let mut node = NodeProcess::start(&dir, host, name, &keys[i]).unwrap();
        node.wait_ready(&http, Duration::from_secs(60))
            .await
            .unwrap();
        if i == 0 {
            let mut genesis = network.records.clone();
            for (j, node_key) in keys.iter().enumerate() {
                let operator = &network.keys[j].1;
                genesis.push(announcement(
                    &network,
                    node_key,
                    operator,
                    hosts[j].1,
                    now(),
                ));
            }
            node.post_all(&http, &genesis).await.unwrap();
        }
        nodes.push(node);
    }
    let all: Vec<&NodeProcess> = nodes.iter().collect();
    wait_for_agreement(&http, &all, Duration::from_secs(90))
        .await
        .unwrap();

    let private = |s: &serde_json::Value| s["links"]["reachability"] == "private";
    for node in &nodes[1..] {
        wait_for_status(
            &http,
            node,
            "reachability private",
            Duration::from_secs(90),
            private,
        )
        .await
        .unwrap();
        wait_for_status(
            &http,
            node,
            "a relay listener",
            Duration::from_secs(60),
            |s| {
                s["links"]["relays"]
                    .as_array()
                    .is_some_and(|r| !r.is_empty())
            },
        )
        .await
        .unwrap();
    }
    let (peer_a, peer_b) = (peer_id(&keys[1]), peer_id(&keys[2]));
    let a_to_b = wait_for_status(
        &http,
        &nodes[1],
        "a link to maison-b",
        Duration::from_secs(90),
        |s| link_to(s, &peer_b).is_some(),
    )
    .await
    .unwrap();
    // DCUtR may upgrade the relayed link: give it a moment, then report what was used.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let a_status = nodes[1].status(&http).await.unwrap();
    let path = link_to(&a_status, &peer_b)
        .or_else(|| link_to(&a_to_b, &peer_b))
        .unwrap();
    let b_status = nodes[2].status(&http).await.unwrap();
    assert!(
        link_to(&b_status, &peer_a).is_some(),
        "maison-b sees maison-a too: {}",
        b_status["links"]
    );
    let public_status = nodes[0].status(&http).await.unwrap();
    assert_eq!(
        link_to(&public_status, &peer_a).as_deref(),
        Some("direct"),
        "the NATed nodes dial the public node directly: {}",
        public_status["links"]
    );

    // A listing published on each NATed node reaches the two others.
    let on_a = network
        .signer
        .listing(&network.keys[5].1, "Vélo publié derrière la box A", now());
    let on_b = network
        .signer
        .listing(&network.keys[6].1, "Table publiée derrière la box B", now());
    nodes[1]
        .post_all(&http, std::slice::from_ref(&on_a))
        .await
        .unwrap();
    nodes[2]
        .post_all(&http, std::slice::from_ref(&on_b))
        .await
        .unwrap();
    let took = wait_for_agreement(&http, &all, Duration::from_secs(30))
        .await
        .unwrap();
    for node in &nodes {
        for record in [&on_a, &on_b] {
            let url = format!("{}/api/v1/records/{}", node.url, record.id().to_hex());
            let code = http.get(url).send().await.unwrap().status().as_u16();
            assert_eq!(code, 200, "{} holds {}", node.name, record.id().to_hex());
        }
    }
    eprintln!(
        "behind two NATs: maison-a and maison-b are connected by a {path} link; \
         both listings reached every node {:.1}s after publication",
        took.as_secs_f64()
    );
}
