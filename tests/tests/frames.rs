//! Oversized gossip: a message far over the record size limit is refused and its sender
//! penalised; the connection stays up and the record the same peer sends next still
//! arrives by gossip alone (it is published, never stored by the sender, so sync cannot
//! bring it).
//!
//! One bad frame costs −30 (invalid deliveries squared × 30, docs/PROTOCOL.md 10.8); two
//! close together put the sender below the graylist (−80) and gossipsub then ignores it,
//! which is the intended answer to a peer that sends invalid records. So the two sizes
//! are sent apart, the second once the first count has decayed (×0.9 a second): each is
//! one bad frame. This spacing is what an earlier version of this test lacked; it failed
//! about one run in eight, when the two frames fell within about five seconds.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use maillon_protocol::kinds::Family;
use maillon_tests::{now, wait_for_peers, wait_until, Cluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_oversized_gossip_message_does_not_silence_its_sender() {
    let cluster = Cluster::new(43, 20, 2);
    let slow_sync = |bootstrap| maillon_node::network::NetworkSettings {
        sync_interval: Duration::from_secs(5),
        ..Cluster::settings(bootstrap)
    };
    let receiver = cluster.start(0, slow_sync(Vec::new()), true).await.unwrap();
    let sender = cluster
        .start(1, slow_sync(vec![receiver.address()]), true)
        .await
        .unwrap();
    let nodes = [receiver, sender];
    wait_for_peers(&nodes, 1).await.unwrap();
    let client = nodes[1].node().client.clone();
    let member = &cluster.network.keys[5].1;
    // First, gossip works between the two: a record sent alone arrives (the meshes and
    // subscriptions are in place), so a loss below is the oversized message's doing.
    let receiver = &nodes[0];
    wait_until(
        "gossip between the two nodes",
        Duration::from_secs(30),
        || {
            let probe = cluster.network.signer.listing(member, "Sonde", now());
            let client = client.clone();
            async move {
                let _ = client.publish(Family::Listings, probe.to_wire()).await;
                tokio::time::sleep(Duration::from_millis(500)).await;
                receiver.has(&probe.id()).await
            }
        },
    )
    .await
    .unwrap();
    for (size, title) in [(30_000, "Chaise de bureau"), (200_000, "Lampe de chevet")] {
        // Let the previous bad frame's count decay: 0.9^10 ≈ 0.35, so this one leaves the
        // sender at about −55, above the graylist.
        tokio::time::sleep(Duration::from_secs(10)).await;
        client
            .publish(Family::Listings, vec![0x5a; size])
            .await
            .unwrap();
        let listing = cluster.network.signer.listing(member, title, now());
        client
            .publish(Family::Listings, listing.to_wire())
            .await
            .unwrap();
        assert!(client
            .peers()
            .await
            .unwrap()
            .contains(&receiver.node().client.peer_id()));
        wait_until(
            "the record sent after an oversized message",
            Duration::from_secs(30),
            || {
                let id = listing.id();
                async move { receiver.has(&id).await }
            },
        )
        .await
        .unwrap();
    }
}
