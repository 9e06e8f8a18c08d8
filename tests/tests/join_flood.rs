//! Join floods (issue 12 §7): joins are introduced by a node (docs/PROTOCOL.md 7.3), so a
//! flood has a source. A stranger peer gets none of its joins stored; an announced node's
//! flood stops at each node's daily introduction quota on gossip, and sync then only spreads
//! what the edges let in.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use maillon_node::engine::standing::DEFAULT_JOINS_PER_INTRODUCER_PER_DAY;
use maillon_protocol::kinds::Family;
use maillon_protocol::sync::{SyncRequest, SyncResponse};
use maillon_protocol::{testkit, Record};
use maillon_tests::{now, start_cluster, wait_for_peers, wait_until, Cluster, TestNode};

/// `count` joins of fresh keys, all introduced by node `node` of the cluster.
fn flood(cluster: &Cluster, node: usize, count: usize) -> Vec<Record> {
    let at = now();
    (0..count)
        .map(|i| {
            cluster.network.signer.join_through(
                &testkit::key(&format!("flood-{node}-{i}")),
                &cluster.node_keys[node],
                cluster.announcements[node].id(),
                at.plus_ms(i as u64),
            )
        })
        .collect()
}

async fn held_of(node: &TestNode, records: &[Record]) -> Vec<bool> {
    let mut held = Vec::with_capacity(records.len());
    for record in records {
        held.push(node.has(&record.id()).await.unwrap());
    }
    held
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_joins_from_one_node_stops_at_the_quota_on_every_node() {
    let cluster = Cluster::new(91, 20, 3);
    let nodes = start_cluster(&cluster, 3).await.unwrap();
    wait_for_peers(&nodes, 2).await.unwrap();
    // Let the meshes form.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let joins = flood(&cluster, 2, 4 * DEFAULT_JOINS_PER_INTRODUCER_PER_DAY);
    // Node 2 floods its peers over gossip without storing its joins itself, as a node that
    // ignores its own edge policy would.
    for join in &joins {
        nodes[2]
            .node()
            .client
            .publish(Family::Membership, join.to_wire())
            .await
            .unwrap();
    }
    let honest = &nodes[..2];
    // Wait for gossip and a few syncs between the honest nodes to settle: the same held
    // set on both, twice in a row, 3 s apart (test sync runs every 2 s).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut previous = Vec::new();
    loop {
        let held = [
            held_of(&honest[0], &joins).await,
            held_of(&honest[1], &joins).await,
        ];
        if held[0] == held[1] && held[0] == previous {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the honest nodes did not settle"
        );
        previous = held[0].clone();
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let held = held_of(&honest[0], &joins).await;
    assert_eq!(held, held_of(&honest[1], &joins).await);
    let count = held.iter().filter(|h| **h).count();
    // Each honest node let in at most the quota at its edges; sync adds the other's.
    assert!(
        (DEFAULT_JOINS_PER_INTRODUCER_PER_DAY..=2 * DEFAULT_JOINS_PER_INTRODUCER_PER_DAY)
            .contains(&count),
        "{count} of {} flooded joins held",
        joins.len()
    );
    assert_eq!(
        honest[0].digest().await.unwrap(),
        honest[1].digest().await.unwrap()
    );
    // Over the quota is not a protocol fault: the flooder is ignored, not cut off.
    let flooder = nodes[2].node().client.peer_id();
    assert!(honest[0]
        .node()
        .client
        .peers()
        .await
        .unwrap()
        .contains(&flooder));
    // The API says why the next one waits.
    let extra = flood(&cluster, 2, 4 * DEFAULT_JOINS_PER_INTRODUCER_PER_DAY + 1)
        .pop()
        .unwrap();
    let (code, body) = honest[0].post(&extra.to_wire()).await.unwrap();
    assert_eq!(
        (code, body["error"].as_str()),
        (429, Some("introduction_quota"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stranger_peer_gets_none_of_its_flood_stored() {
    let cluster = Cluster::new(93, 20, 2);
    let (gatekeeper, stranger) = cluster
        .gatekeeper_and_stranger(Duration::from_secs(20))
        .await
        .unwrap();
    let gate_peer = gatekeeper.node().client.peer_id();
    wait_until(
        "the stranger to connect",
        Duration::from_secs(10),
        || async { Ok(stranger.node().client.peers().await?.contains(&gate_peer)) },
    )
    .await
    .unwrap();
    let before = gatekeeper.status().await.unwrap()["records"]
        .as_u64()
        .unwrap();
    let joins = flood(&cluster, 1, 100);
    // Over gossip (the stranger is kept out of every mesh) ...
    for join in &joins {
        // Publishing may fail for want of a mesh peer: that is the point.
        let _ = stranger
            .node()
            .client
            .publish(Family::Membership, join.to_wire())
            .await;
    }
    // ... and pushed directly during sync: a stranger may push only its announcement.
    let push = SyncRequest::PushRecords(joins.iter().map(Record::to_wire).collect());
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
    assert_eq!((stored, refused), (0, joins.len() as u32));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(held_of(&gatekeeper, &joins).await.iter().all(|h| !h));
    let after = gatekeeper.status().await.unwrap()["records"]
        .as_u64()
        .unwrap();
    assert_eq!(after, before);
}
