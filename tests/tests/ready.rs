//! `GET /ready` on running nodes: a node with no peer configured is ready at once; a node
//! whose bootstrap peer cannot be reached is not, and says why; one that has synced with its
//! bootstrap peer is.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use maillon_tests::{wait_until, Cluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_is_ready_once_it_has_synced_with_a_configured_peer() {
    let cluster = Cluster::new(97, 30, 3);
    let first = cluster
        .start(0, Cluster::settings(Vec::new()), true)
        .await
        .unwrap();
    let (code, answer) = first.get_json("/ready").await.unwrap();
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["ready"], true);
    assert_eq!(answer["synced"], serde_json::Value::Null);

    // A bootstrap address where nobody listens: never synced, never ready.
    let nowhere = format!("/ip4/127.0.0.1/tcp/1/p2p/{}", libp2p::PeerId::random());
    let lonely = cluster
        .start(1, Cluster::settings(vec![nowhere.parse().unwrap()]), true)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (code, answer) = lonely.get_json("/ready").await.unwrap();
    assert_eq!(code, 503, "{answer}");
    assert_eq!(answer["synced"], false);
    assert!(answer["problems"][0].as_str().unwrap().contains("no sync"));

    let joined = cluster
        .start(2, Cluster::settings(vec![first.address()]), true)
        .await
        .unwrap();
    wait_until(
        "the node syncs and is ready",
        Duration::from_secs(30),
        || async { Ok(joined.get_json("/ready").await?.0 == 200) },
    )
    .await
    .unwrap();
    assert_eq!(joined.get_json("/ready").await.unwrap().1["synced"], true);
}
