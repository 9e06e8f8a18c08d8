//! Oversized gossip: a message far over the record size limit is refused and its sender
//! penalised, and the records the same peer sends next still arrive.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use maillon_protocol::kinds::Family;
use maillon_tests::{now, wait_for_peers, wait_until, Cluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_oversized_gossip_message_does_not_silence_its_sender() {
    let cluster = Cluster::new(43, 20, 2);
    // Sync at a long interval: only gossip can deliver within the test.
    let slow_sync = |bootstrap| maillon_node::network::NetworkSettings {
        sync_interval: Duration::from_secs(300),
        ..Cluster::settings(bootstrap)
    };
    let receiver = cluster.start(0, slow_sync(Vec::new()), true).await.unwrap();
    let sender = cluster
        .start(1, slow_sync(vec![receiver.address()]), true)
        .await
        .unwrap();
    let nodes = [receiver, sender];
    wait_for_peers(&nodes, 1).await.unwrap();
    // Let the meshes form.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let client = nodes[1].node().client.clone();
    let member = &cluster.network.keys[5].1;
    for (size, title) in [(30_000, "Chaise de bureau"), (200_000, "Lampe de chevet")] {
        client
            .publish(Family::Listings, vec![0x5a; size])
            .await
            .unwrap();
        let listing = cluster.network.signer.listing(member, title, now());
        client
            .publish(Family::Listings, listing.to_wire())
            .await
            .unwrap();
        let receiver = &nodes[0];
        wait_until(
            "the record sent after an oversized message",
            Duration::from_secs(10),
            || {
                let id = listing.id();
                async move { receiver.has(&id).await }
            },
        )
        .await
        .unwrap();
    }
}
