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
