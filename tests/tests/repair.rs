//! Convergence through sync: a node that was stopped catches up after a restart, and two
//! sides of a partition agree after it heals.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use maillon_protocol::Record;
use maillon_tests::{now, start_cluster, wait_for_peers, wait_until, Cluster, TestNode};

fn listings(cluster: &Cluster, author: usize, count: usize, label: &str) -> Vec<Record> {
    let member = &cluster.network.keys[author].1;
    (0..count)
        .map(|i| {
            cluster
                .network
                .signer
                .listing(member, &format!("{label} {i}"), now())
        })
        .collect()
}

async fn post_all(node: &TestNode, records: &[Record]) {
    for record in records {
        let (code, body) = node.post(&record.to_wire()).await.unwrap();
        assert_eq!(code, 201, "{body}");
    }
}

async fn wait_for_same_digest(nodes: &[TestNode], timeout: Duration) {
    wait_until("every state digest to be equal", timeout, || async {
        let first = nodes[0].digest().await?;
        for node in &nodes[1..] {
            if node.digest().await? != first {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_node_catches_up_through_sync_after_a_restart() {
    let cluster = Cluster::new(41, 30, 3);
    let mut nodes = start_cluster(&cluster, 3).await.unwrap();
    wait_for_peers(&nodes, 1).await.unwrap();
    nodes[2].stop().await.unwrap();
    let records = listings(&cluster, 4, 25, "Pendant l'arrêt");
    post_all(&nodes[0], &records).await;
    // Restart from the same folder, without seeding: only sync can bring the records.
    let bootstrap = vec![nodes[0].address()];
    nodes[2] = cluster
        .start(2, Cluster::settings(bootstrap), false)
        .await
        .unwrap();
    let restarted = &nodes[2];
    for record in &records {
        wait_until(
            "the restarted node to catch up",
            Duration::from_secs(30),
            || {
                let id = record.id();
                async move { restarted.has(&id).await }
            },
        )
        .await
        .unwrap();
    }
    wait_for_same_digest(&nodes, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn both_sides_of_a_partition_converge_after_healing() {
    let cluster = Cluster::new(43, 30, 5);
    let nodes = start_cluster(&cluster, 5).await.unwrap();
    wait_for_peers(&nodes, 1).await.unwrap();
    let (left, right) = nodes.split_at(2);
    // Partition: {A, B} and {C, D, E} block each other.
    for a in left {
        for b in right {
            let (pa, pb) = (a.node().client.peer_id(), b.node().client.peer_id());
            a.node().client.set_blocked(pb, true).await.unwrap();
            b.node().client.set_blocked(pa, true).await.unwrap();
        }
    }
    // Make sure the right side is connected among itself (they may have only known A).
    for b in &right[1..] {
        b.node().client.dial(right[0].address()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let left_records = listings(&cluster, 6, 10, "À gauche");
    let right_records = listings(&cluster, 7, 10, "À droite");
    post_all(&left[0], &left_records).await;
    post_all(&right[1], &right_records).await;
    // Each side gets its own writes, and not the other side's.
    wait_for_same_digest(left, Duration::from_secs(20)).await;
    wait_for_same_digest(right, Duration::from_secs(20)).await;
    assert!(!right[0].has(&left_records[0].id()).await.unwrap());
    assert!(!left[1].has(&right_records[0].id()).await.unwrap());
    // Heal.
    for a in left {
        for b in right {
            let (pa, pb) = (a.node().client.peer_id(), b.node().client.peer_id());
            a.node().client.set_blocked(pb, false).await.unwrap();
            b.node().client.set_blocked(pa, false).await.unwrap();
        }
    }
    for b in right {
        b.node().client.dial(left[0].address()).await.unwrap();
    }
    wait_for_same_digest(&nodes, Duration::from_secs(40)).await;
    for record in left_records.iter().chain(&right_records) {
        for node in &nodes {
            assert!(node.has(&record.id()).await.unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_node_introduces_itself_and_syncs_the_whole_network_from_its_bootstrap() {
    let cluster = Cluster::new(47, 60, 3);
    // Nodes 0 and 1 do not know node 2's announcement: node 2 is a stranger to them.
    let genesis: Vec<Vec<u8>> = cluster.genesis()[..cluster.genesis().len() - 1].to_vec();
    let first = cluster
        .start_with(0, Cluster::settings(Vec::new()), genesis.clone())
        .await
        .unwrap();
    let second = cluster
        .start_with(1, Cluster::settings(vec![first.address()]), genesis)
        .await
        .unwrap();
    // The new node starts empty but for its charter and its own announcement.
    let dir = cluster.dir(2);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(maillon_node::node::ANNOUNCEMENT_FILE),
        cluster.announcements[2].to_wire(),
    )
    .unwrap();
    let joiner = cluster
        .start(2, Cluster::settings(vec![first.address()]), false)
        .await
        .unwrap();
    let nodes = [first, second, joiner];
    wait_for_same_digest(&nodes, Duration::from_secs(40)).await;
    let status = nodes[2].status().await.unwrap();
    assert_eq!(
        status["records"].as_u64().unwrap() as usize,
        cluster.genesis().len()
    );
}

/// Whether node `node` holds `id` with its body.
fn holds_body(node: &TestNode, id: &maillon_protocol::RecordId) -> bool {
    let wire = node.node().engine.record(id).unwrap().unwrap();
    maillon_node::store::index::decode_stored(&wire)
        .unwrap()
        .body()
        .is_some()
}

/// A node whose store holds a body the network erased (an erasure it stored but never
/// applied) and lacks a body nobody erased (a damaged store) shows the same state digest
/// but another erased digest, and the erased reconciliation repairs both from a peer
/// (docs/PROTOCOL.md 10.9).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_holding_other_bodies_than_its_peer_is_seen_and_repaired() {
    use maillon_node::store::{SledConfig, SledStore, Store};
    let cluster = Cluster::new(47, 30, 2);
    let mut nodes = start_cluster(&cluster, 2).await.unwrap();
    wait_for_peers(&nodes, 1).await.unwrap();
    let erased = listings(&cluster, 5, 1, "Effacée").remove(0);
    let kept = listings(&cluster, 6, 1, "Gardée").remove(0);
    post_all(&nodes[0], &[erased.clone(), kept.clone()]).await;
    let erasure = cluster
        .network
        .signer
        .erase(&cluster.network.keys[5].1, now());
    post_all(&nodes[0], &[erasure]).await;
    wait_for_same_digest(&nodes, Duration::from_secs(30)).await;
    let status = |node: &TestNode| {
        let node = node.base.clone();
        async move {
            let answer: serde_json::Value = reqwest::get(format!("{node}/api/v1/status"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (
                answer["state_digest"].as_str().unwrap().to_string(),
                answer["erased_digest"].as_str().unwrap().to_string(),
            )
        }
    };
    wait_until(
        "the same bodies everywhere",
        Duration::from_secs(30),
        || async { Ok(status(&nodes[0]).await == status(&nodes[1]).await) },
    )
    .await
    .unwrap();
    let sound = status(&nodes[0]).await;
    assert!(!holds_body(&nodes[1], &erased.id()));

    // Damage node 1's store while it is stopped.
    nodes[1].stop().await.unwrap();
    {
        let store = SledStore::open(&SledConfig {
            path: cluster.dir(1).join("store"),
            cache_capacity_bytes: 8 << 20,
        })
        .unwrap();
        store.restore_body(&erased).unwrap();
        store.replace_with_bare_header(&kept.id()).unwrap();
        store.flush().await.unwrap();
    }
    // Alone, it shows the disagreement: same records, other bodies.
    let alone = cluster
        .start(1, Cluster::settings(Vec::new()), false)
        .await
        .unwrap();
    let damaged = status(&alone).await;
    assert_eq!(damaged.0, sound.0, "the same records");
    assert_ne!(damaged.1, sound.1, "other bodies");
    assert!(holds_body(&alone, &erased.id()));
    let mut alone = alone;
    alone.stop().await.unwrap();

    // With its peer, sync repairs it.
    nodes[1] = cluster
        .start(1, Cluster::settings(vec![nodes[0].address()]), false)
        .await
        .unwrap();
    wait_until("the repaired bodies", Duration::from_secs(30), || async {
        Ok(status(&nodes[1]).await == sound)
    })
    .await
    .unwrap();
    assert!(
        !holds_body(&nodes[1], &erased.id()),
        "the erased body is dropped"
    );
    assert!(holds_body(&nodes[1], &kept.id()), "the lost body is back");
    assert_eq!(
        status(&nodes[0]).await,
        sound,
        "the sound node is unchanged"
    );
    for mut node in nodes {
        node.stop().await.unwrap();
    }
}
