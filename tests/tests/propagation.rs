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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_record_parked_on_gossip_gets_its_refs_from_the_relaying_peer() {
    let cluster = Cluster::new(33, 30, 2);
    // Periodic sync far away: only the on-connect session and gossip run.
    let slow = |bootstrap| maillon_node::network::NetworkSettings {
        sync_interval: Duration::from_secs(3600),
        ..Cluster::settings(bootstrap)
    };
    let first = cluster.start(0, slow(Vec::new()), true).await.unwrap();
    let second = cluster
        .start(1, slow(vec![first.address()]), true)
        .await
        .unwrap();
    let nodes = [first, second];
    wait_for_peers(&nodes, 1).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sponsor = &cluster.network.keys[4].1;
    let candidate = maillon_protocol::testkit::key("late-candidate");
    let signer = &cluster.network.signer;
    let sponsorship = signer.sponsor(sponsor, candidate.public_key(), now());
    let withdrawal = signer.withdraw(sponsor, sponsorship.id(), now());
    // The sponsorship reaches the first node without gossip; the withdrawal is posted.
    let engine = &nodes[0].node().engine;
    let outcome = engine
        .submit_many(
            vec![sponsorship.to_wire()],
            maillon_node::engine::Origin::Fetched,
        )
        .await
        .unwrap();
    assert!(outcome[0].is_ok());
    assert_eq!(nodes[0].post(&withdrawal.to_wire()).await.unwrap().0, 201);
    for id in [withdrawal.id(), sponsorship.id()] {
        wait_until(
            "the parked record and its ref",
            Duration::from_secs(10),
            || {
                let second = &nodes[1];
                async move { second.has(&id).await }
            },
        )
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blobs_are_fetched_by_hash_and_checked() {
    use maillon_node::network::blob_fetch::{fetch_blob, fetch_blob_from_any};
    let cluster = Cluster::new(35, 10, 2);
    let nodes = start_cluster(&cluster, 2).await.unwrap();
    wait_for_peers(&nodes, 1).await.unwrap();
    let photo = vec![0xd8u8; 300_000];
    let hash = nodes[0].node().blobs.put(photo.clone()).await.unwrap();
    let (blobs, client) = (&nodes[1].node().blobs, &nodes[1].node().client);
    assert!(!blobs.contains(&hash));
    let fetched = fetch_blob_from_any(blobs, client, &hash).await.unwrap();
    assert_eq!(fetched.as_deref(), Some(&photo[..]));
    assert!(blobs.contains(&hash), "the fetched blob is stored");
    let unknown = maillon_protocol::BlobHash::of_blob(b"absent");
    let peer = nodes[0].node().client.peer_id();
    assert_eq!(
        fetch_blob(blobs, client, peer, &unknown).await.unwrap(),
        None
    );
}
