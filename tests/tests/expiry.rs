//! Expired candidacies across nodes (docs/PROTOCOL.md 9.1.9): a candidacy nobody took up
//! within 90 days is dropped on every node, sync does not bring it back, and the nodes
//! agree; a candidate admitted in time stays everywhere.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use maillon_protocol::membership::CANDIDACY_MS;
use maillon_protocol::{testkit, Record};
use maillon_tests::{now, start_cluster, wait_for_peers, wait_until, Cluster, TestNode};

async fn everywhere(nodes: &[TestNode], record: &Record) -> bool {
    for node in nodes {
        if !node.has(&record.id()).await.unwrap() {
            return false;
        }
    }
    true
}

async fn nowhere(nodes: &[TestNode], record: &Record) -> bool {
    for node in nodes {
        if node.has(&record.id()).await.unwrap() {
            return false;
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unsponsored_candidacy_is_dropped_on_every_node_and_stays_dropped() {
    let cluster = Cluster::new(95, 20, 3);
    let nodes = start_cluster(&cluster, 3).await.unwrap();
    wait_for_peers(&nodes, 2).await.unwrap();
    let signer = &cluster.network.signer;
    // Joined long enough ago that the window closes a few seconds from now.
    let joined = now().minus_ms(CANDIDACY_MS).plus_ms(6_000);
    let spam = testkit::key("expiry-flood-0");
    let spam_join = signer.join(&spam, joined);
    let spam_profile = signer.profile(
        &spam,
        "Bonnes affaires",
        cluster.node_keys[0].public_key(),
        joined.plus_ms(1),
    );
    let newcomer = testkit::key("expiry-newcomer");
    let mut admitted = vec![signer.join(&newcomer, joined)];
    for (i, (_, sponsor)) in cluster.network.keys.iter().take(3).enumerate() {
        admitted.push(signer.sponsor(sponsor, newcomer.public_key(), now().plus_ms(i as u64)));
    }
    for record in [&spam_join, &spam_profile].into_iter().chain(&admitted) {
        let (code, body) = nodes[0].post(&record.to_wire()).await.unwrap();
        assert_eq!(code, 201, "{body}");
    }
    wait_until(
        "every node to hold them",
        Duration::from_secs(20),
        || async {
            Ok(everywhere(&nodes, &spam_profile).await && everywhere(&nodes, &admitted[3]).await)
        },
    )
    .await
    .unwrap();
    // Let the window close, then each node makes its pass (a node makes it by itself once it
    // has caught up with sync; the test nodes loaded their genesis by sync a moment ago).
    let deadline = joined.plus_ms(CANDIDACY_MS);
    while now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for node in &nodes {
        let dropped = node.node().engine.drop_expired_candidacies().await.unwrap();
        assert!(dropped.ids.contains(&spam_join.id()));
        assert!(dropped.ids.contains(&spam_profile.id()));
    }
    assert!(nowhere(&nodes, &spam_join).await && nowhere(&nodes, &spam_profile).await);
    // Several syncs later nothing came back, the admitted newcomer is everywhere, and the
    // nodes agree.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(nowhere(&nodes, &spam_join).await && nowhere(&nodes, &spam_profile).await);
    for record in &admitted {
        assert!(everywhere(&nodes, record).await);
    }
    let digest = nodes[0].digest().await.unwrap();
    for node in &nodes[1..] {
        assert_eq!(node.digest().await.unwrap(), digest);
    }
    let (_, member) = nodes[2]
        .get_json(&format!(
            "/api/v1/members/{}",
            newcomer.public_key().to_hex()
        ))
        .await
        .unwrap();
    assert_eq!(member["status"], "member", "{member}");
}
