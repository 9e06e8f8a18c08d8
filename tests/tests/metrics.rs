//! `GET /metrics` on running nodes: the separate listener (loopback, port 0 here) and the
//! site's port (direct local requests only) serve Prometheus text whose figures follow what
//! the nodes do: records by kind, ingest outcomes, HTTP requests by route, peers, sync and
//! gossip; a node without `on_site` answers 404 on its site's port.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use maillon_node::metrics::settings::MetricsSettings;
use maillon_tests::{now, start_from, wait_for_peers, wait_until, Cluster, TestNode};

/// The value of the first sample line starting with `prefix`, 0 if none.
fn value(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(node: &TestNode) -> String {
    let address = node.node().metrics_address.expect("a metrics listener");
    let answer = reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let media = answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(media.starts_with("application/openmetrics-text"), "{media}");
    answer.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_follow_what_the_nodes_do() {
    let cluster = Cluster::new(61, 30, 2);
    let mut first_config = cluster.prepare(0).unwrap();
    first_config.metrics = MetricsSettings {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        on_site: true,
    };
    let genesis = cluster.genesis();
    let first = start_from(
        first_config,
        0,
        Cluster::settings(Vec::new()),
        genesis.clone(),
    )
    .await
    .unwrap();
    let mut second_config = cluster.prepare(1).unwrap();
    second_config.metrics = MetricsSettings {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        on_site: false,
    };
    let second = start_from(
        second_config,
        1,
        Cluster::settings(vec![first.address()]),
        genesis,
    )
    .await
    .unwrap();
    let nodes = [first, second];
    wait_for_peers(&nodes, 1).await.unwrap();

    let before = scrape(&nodes[0]).await;
    let listings_before = value(&before, r#"maillon_records{kind="listing"}"#);
    let member = &cluster.network.keys[5].1;
    let listing = cluster
        .network
        .signer
        .listing(member, "Poussette presque neuve", now());
    let (code, body) = nodes[0].post(&listing.to_wire()).await.unwrap();
    assert_eq!(code, 201, "{body}");
    let (code, _) = nodes[0].post(&listing.to_wire()).await.unwrap();
    assert_eq!(code, 200, "the second post is a duplicate");
    wait_until(
        "the listing reaches the second node",
        Duration::from_secs(20),
        || {
            let id = listing.id();
            let node = &nodes[1];
            async move { node.has(&id).await }
        },
    )
    .await
    .unwrap();

    let after = scrape(&nodes[0]).await;
    assert_eq!(
        value(&after, r#"maillon_records{kind="listing"}"#),
        listings_before + 1.0,
        "{after}"
    );
    let stored = r#"maillon_ingest_outcomes_total{origin="local",outcome="stored"}"#;
    assert!(value(&after, stored) >= 1.0, "{after}");
    let posted =
        r#"maillon_http_requests_total{route="/api/v1/records",method="POST",status="201"}"#;
    assert_eq!(value(&after, posted), 1.0, "{after}");
    // The API answers a record it holds before the engine sees it: an HTTP 200, no ingest.
    let again =
        r#"maillon_http_requests_total{route="/api/v1/records",method="POST",status="200"}"#;
    assert_eq!(value(&after, again), 1.0, "{after}");
    assert_eq!(
        value(&after, r#"maillon_peers{link="direct"}"#),
        1.0,
        "{after}"
    );
    assert!(value(&after, "maillon_store_bytes ") > 0.0, "{after}");
    assert!(value(&after, "maillon_members ") > 0.0, "{after}");

    // The second node took the listing by gossip or by sync, and counted it there.
    wait_until(
        "the second node counts a session",
        Duration::from_secs(30),
        || async {
            let text = scrape(&nodes[1]).await;
            Ok(value(&text, r#"maillon_sync_sessions_total{result="ok"}"#) >= 1.0)
        },
    )
    .await
    .unwrap();
    let second = scrape(&nodes[1]).await;
    let by_gossip = value(
        &second,
        r#"maillon_gossip_messages_total{verdict="accept"}"#,
    );
    let fetched = value(
        &second,
        r#"maillon_ingest_outcomes_total{origin="fetched",outcome="stored"}"#,
    );
    assert!(by_gossip + fetched >= 1.0, "{second}");
    assert!(
        value(&second, r#"maillon_sync_bytes_total{phase="reconcile"}"#) > 0.0,
        "{second}"
    );
    assert!(
        !value(&second, "maillon_sync_lag_seconds ").is_nan(),
        "{second}"
    );

    // On the site's port: answered to a direct local request, not through a proxy, and
    // not at all on a node without `on_site`.
    let client = reqwest::Client::new();
    let on_site = client
        .get(format!("{}/metrics", nodes[0].base))
        .send()
        .await
        .unwrap();
    assert_eq!(on_site.status(), 200);
    assert!(on_site.text().await.unwrap().contains("maillon_records"));
    let proxied = client
        .get(format!("{}/metrics", nodes[0].base))
        .header("x-forwarded-for", "192.0.2.7")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 404);
    let (code, _) = nodes[1].get_json("/metrics").await.unwrap();
    assert_eq!(code, 404);

    // The metrics listener serves nothing else.
    let address = nodes[0].node().metrics_address.unwrap();
    let other = reqwest::get(format!("http://{address}/api/v1/status"))
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_metrics_port_stops_the_start_with_the_setting_named() {
    let cluster = Cluster::new(62, 10, 1);
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = cluster.prepare(0).unwrap();
    config.metrics.listen = Some(taken.local_addr().unwrap());
    let error = start_from(config, 0, Cluster::settings(Vec::new()), Vec::new())
        .await
        .err()
        .expect("the start fails");
    let message = format!("{error:#}");
    assert!(message.contains("[metrics] listen"), "{message}");
}
