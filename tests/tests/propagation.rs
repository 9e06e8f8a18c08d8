//! Five real nodes on loopback: a record posted to any of them reaches all the others.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use maillon_tests::{now, start_cluster, wait_for_peers, wait_until, Cluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_record_posted_to_any_node_reaches_all_the_others() {
    let cluster = Cluster::new(31, 40, 5);
    let nodes = start_cluster(&cluster, 5).await.unwrap();
    wait_for_peers(&nodes, 1).await.unwrap();
    let member = &cluster.network.keys[5].1;
    for (i, origin) in nodes.iter().enumerate() {
        let listing = cluster
            .network
            .signer
            .listing(member, &format!("Vélo numéro {i}"), now());
        let (code, body) = origin.post(&listing.to_wire()).await.unwrap();
        assert_eq!(code, 201, "{body}");
        assert_eq!(body["id"], listing.id().to_hex());
        for other in &nodes {
            wait_until(
                "the record to reach every node",
                Duration::from_secs(20),
                || {
                    let id = listing.id();
                    async move { other.has(&id).await }
                },
            )
            .await
            .unwrap();
        }
    }
    let digest = nodes[0].digest().await.unwrap();
    for node in &nodes[1..] {
        assert_eq!(node.digest().await.unwrap(), digest);
    }
}
