//! Connection gating: a node keeps only announced nodes as peers, and drops and blocks a
//! node its own policy suspends.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use maillon_protocol::kinds::{NodePolicy, PolicyLevel};
use maillon_tests::{now, start_cluster, wait_for_peers, wait_until, Cluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_that_is_not_an_announced_node_is_dropped_after_its_grace() {
    let cluster = Cluster::new(71, 20, 2);
    let (gatekeeper, stranger) = cluster
        .gatekeeper_and_stranger(Duration::from_secs(1))
        .await
        .unwrap();
    let stranger_peer = stranger.node().client.peer_id();
    wait_until(
        "the stranger to be dropped",
        Duration::from_secs(10),
        || async {
            let peers = gatekeeper.node().client.peers().await?;
            let connected = stranger.node().client.peers().await?;
            Ok(!peers.contains(&stranger_peer) && connected.is_empty())
        },
    )
    .await
    .unwrap();
    // It was served nothing: it holds only its charter.
    let held = stranger.status().await.unwrap()["records"]
        .as_u64()
        .unwrap();
    assert_eq!(held, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_suspended_by_this_nodes_policy_is_disconnected_and_blocked() {
    let cluster = Cluster::new(73, 20, 3);
    let nodes = start_cluster(&cluster, 3).await.unwrap();
    wait_for_peers(&nodes, 1).await.unwrap();
    let target = nodes[2].node().client.peer_id();
    nodes[0]
        .node()
        .client
        .dial(nodes[2].address())
        .await
        .unwrap();
    wait_until("node 0 to see node 2", Duration::from_secs(10), || async {
        Ok(nodes[0].node().client.peers().await?.contains(&target))
    })
    .await
    .unwrap();
    let policy = cluster.network.signer.sign(
        &cluster.node_keys[0],
        NodePolicy {
            target: cluster.node_keys[2].public_key(),
            level: PolicyLevel::Suspend,
            reason: "Annonces frauduleuses répétées".into(),
        },
        now(),
        None,
    );
    assert_eq!(nodes[0].post(&policy.to_wire()).await.unwrap().0, 201);
    wait_until(
        "node 2 to be dropped by node 0",
        Duration::from_secs(10),
        || async { Ok(!nodes[0].node().client.peers().await?.contains(&target)) },
    )
    .await
    .unwrap();
    // Node 2 tries again and is refused; node 1 is not affected.
    let _ = nodes[2].node().client.dial(nodes[0].address()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!nodes[0]
        .node()
        .client
        .peers()
        .await
        .unwrap()
        .contains(&target));
    let node1 = nodes[1].node().client.peer_id();
    assert!(nodes[0]
        .node()
        .client
        .peers()
        .await
        .unwrap()
        .contains(&node1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stranger_may_only_introduce_itself_and_gets_no_gossip_meanwhile() {
    use maillon_protocol::sync::{SyncRequest, SyncResponse};

    let cluster = Cluster::new(75, 20, 2);
    let (gatekeeper, stranger) = cluster
        .gatekeeper_and_stranger(Duration::from_secs(20))
        .await
        .unwrap();
    let (gate_peer, stranger_peer) = (
        gatekeeper.node().client.peer_id(),
        stranger.node().client.peer_id(),
    );
    wait_until(
        "the stranger to connect",
        Duration::from_secs(10),
        || async { Ok(stranger.node().client.peers().await?.contains(&gate_peer)) },
    )
    .await
    .unwrap();
    // A record published on the gatekeeper during the grace does not reach the stranger.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let member = &cluster.network.keys[5].1;
    let live = cluster
        .network
        .signer
        .listing(member, "Table de jardin", now());
    assert_eq!(gatekeeper.post(&live.to_wire()).await.unwrap().0, 201);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !stranger.has(&live.id()).await.unwrap(),
        "no gossip to a stranger"
    );
    // It may push its own announcement, and nothing else.
    let other = cluster
        .network
        .signer
        .listing(member, "Vélo d'enfant", now());
    let push = SyncRequest::PushRecords(vec![other.to_wire(), cluster.announcements[1].to_wire()]);
    let answer = stranger
        .node()
        .client
        .request(gate_peer, &push)
        .await
        .unwrap();
    let SyncResponse::PushAck {
        stored, refused, ..
    } = answer
    else {
        panic!("{answer:?}")
    };
    assert_eq!((stored, refused), (1, 1));
    assert!(!gatekeeper.has(&other.id()).await.unwrap());
    assert!(gatekeeper
        .has(&cluster.announcements[1].id())
        .await
        .unwrap());
    // Announced now, it is a peer like any other and receives the network.
    wait_until(
        "the stranger to get the live record",
        Duration::from_secs(20),
        || async { stranger.has(&live.id()).await },
    )
    .await
    .unwrap();
    assert!(gatekeeper
        .node()
        .client
        .peers()
        .await
        .unwrap()
        .contains(&stranger_peer));
}

/// A new node whose peer learns of it only some seconds into its first session (a busy peer
/// that has just taken in a large network recomputes its peers late) asks again within that
/// session, instead of waiting for the next periodic one (an hour here).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_node_asks_again_until_its_peer_knows_it_within_its_first_session() {
    use maillon_protocol::sync::{SyncRequest, SyncResponse};
    use maillon_protocol::Record;

    let cluster = Cluster::new(77, 20, 2);
    let hourly = |bootstrap| maillon_node::network::NetworkSettings {
        sync_interval: Duration::from_secs(3600),
        gating_grace: Duration::from_secs(60),
        ..Cluster::settings(bootstrap)
    };
    let records: Vec<Vec<u8>> = cluster
        .network
        .records
        .iter()
        .map(Record::to_wire)
        .collect();
    let known = cluster
        .start_with(0, hourly(Vec::new()), records)
        .await
        .unwrap();
    let newcomer = cluster
        .start(1, hourly(vec![known.address()]), false)
        .await
        .unwrap();
    let known_peer = known.node().client.peer_id();
    wait_until(
        "the newcomer to connect",
        Duration::from_secs(10),
        || async { Ok(newcomer.node().client.peers().await?.contains(&known_peer)) },
    )
    .await
    .unwrap();
    // Past the old three asks a second apart, the peer still does not know the newcomer.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let listing = &cluster.network.records[cluster.network.records.len() - 1];
    assert!(
        !newcomer.has(&listing.id()).await.unwrap(),
        "nothing synced yet"
    );
    let push = SyncRequest::PushRecords(vec![cluster.announcements[1].to_wire()]);
    let answer = newcomer
        .node()
        .client
        .request(known_peer, &push)
        .await
        .unwrap();
    assert!(
        matches!(answer, SyncResponse::PushAck { stored: 1, .. }),
        "{answer:?}"
    );
    wait_until(
        "the newcomer to hold the network from its first session",
        Duration::from_secs(40),
        || async { Ok(newcomer.digest().await? == known.digest().await?) },
    )
    .await
    .unwrap();
}
