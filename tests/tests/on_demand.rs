//! A page that needs a record this node does not hold yet asks its peers for it, rather
//! than answering « Page introuvable » for something that exists in the network.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use maillon_node::engine::Origin;
use maillon_tests::{now, wait_for_peers, Cluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_listing_page_fetches_a_listing_this_node_lacks_from_its_peers() {
    let cluster = Cluster::new(41, 20, 2);
    // Sync at the production interval: only the page can bring the listing in time.
    let slow_sync = |bootstrap| maillon_node::network::NetworkSettings {
        sync_interval: Duration::from_secs(300),
        ..Cluster::settings(bootstrap)
    };
    let a = cluster.start(0, slow_sync(Vec::new()), true).await.unwrap();
    let b = cluster
        .start(1, slow_sync(vec![a.address()]), true)
        .await
        .unwrap();
    let nodes = [a, b];
    wait_for_peers(&nodes, 1).await.unwrap();
    let member = &cluster.network.keys[5].1;
    let listing = cluster
        .network
        .signer
        .listing(member, "Poussette presque neuve", now());
    // Stored on A as if fetched there: A does not gossip it, so B lacks it.
    nodes[0]
        .node()
        .engine
        .submit_wire(&listing.to_wire(), Origin::Fetched)
        .await
        .unwrap();
    assert!(!nodes[1].has(&listing.id()).await.unwrap());

    let http = reqwest::Client::new();
    let page = |id: String| {
        let (http, base) = (http.clone(), nodes[1].base.clone());
        async move {
            let answer = http
                .get(format!("{base}/annonce/{id}"))
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    let (status, body) = page(listing.id().to_hex()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Poussette presque neuve"), "{body}");
    assert!(nodes[1].has(&listing.id()).await.unwrap(), "B keeps it");
    // What no peer holds is not found.
    let (status, body) = page("ab".repeat(32)).await;
    assert_eq!(status, 404);
    assert!(body.contains("Page introuvable"), "{body}");
    for mut node in nodes {
        node.stop().await.unwrap();
    }
}
