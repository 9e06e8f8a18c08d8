//! Key recovery across nodes: three sponsors bind a member's identity to a new key on one
//! node; the others agree on the new key's standing, identity and trust paths, and the
//! member's past records still verify.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use maillon_node::store::index::decode_stored;
use maillon_protocol::{testkit, Body, Kind, PublicKey, Record, RecordId, SecretKey};
use maillon_tests::{now, start_cluster, wait_for_peers, wait_until, Cluster, TestNode};
use serde_json::Value;

/// The sponsorships of `candidate` in the generated network: (sponsor key, sponsorship id).
fn sponsorships_of(cluster: &Cluster, candidate: &PublicKey) -> Vec<(SecretKey, RecordId)> {
    cluster
        .network
        .records
        .iter()
        .filter_map(|r| match r.body() {
            Some(Body::Sponsorship(s)) if s.candidate == *candidate => {
                let sponsor = cluster
                    .network
                    .keys
                    .iter()
                    .find(|(_, k)| k.public_key() == r.header().author)?;
                Some((sponsor.1.clone(), r.id()))
            }
            _ => None,
        })
        .collect()
}

async fn member(node: &TestNode, key: &PublicKey) -> Value {
    let (code, body) = node
        .get_json(&format!("/api/v1/members/{}", key.to_hex()))
        .await
        .unwrap();
    assert_eq!(code, 200, "{body}");
    body
}

async fn trust(node: &TestNode, from: &PublicKey, to: &PublicKey) -> Value {
    let (code, body) = node
        .get_json(&format!(
            "/api/v1/trust?from={}&to={}",
            from.to_hex(),
            to.to_hex()
        ))
        .await
        .unwrap();
    assert_eq!(code, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_recovery_posted_on_one_node_holds_on_every_node() {
    let cluster = Cluster::new(83, 20, 3);
    let nodes = start_cluster(&cluster, 3).await.unwrap();
    wait_for_peers(&nodes, 1).await.unwrap();
    let signer = &cluster.network.signer;
    let lost = cluster.network.keys[8].1.public_key();
    let new = testkit::key("recovery-83-new-key");
    let sponsorships = sponsorships_of(&cluster, &lost);
    assert!(sponsorships.len() >= 3, "the member has three sponsors");
    let (sponsors, ids): (Vec<SecretKey>, Vec<RecordId>) = sponsorships.into_iter().take(3).unzip();
    let past: Vec<Record> = cluster
        .network
        .records
        .iter()
        .filter(|r| r.header().author == lost)
        .cloned()
        .collect();
    assert!(past.iter().any(|r| r.header().kind == Kind::Listing));
    // Before: everything as seen from a few members on node C.
    let others: Vec<PublicKey> = [0, 4, 12, 19]
        .iter()
        .map(|&i| cluster.network.keys[i].1.public_key())
        .collect();
    let before = member(&nodes[2], &lost).await;
    let mut trust_before = Vec::new();
    for other in &others {
        trust_before.push(trust(&nodes[2], other, &lost).await);
    }
    assert_eq!(before["status"], "member");
    assert!(
        trust_before
            .iter()
            .all(|t| t["distance"].as_u64().is_some()),
        "{trust_before:?}"
    );

    let sponsor_refs: Vec<&SecretKey> = sponsors.iter().collect();
    let recovery = signer.recover(lost, &new, &sponsor_refs, &ids, now());
    let (code, body) = nodes[0].post(&recovery.to_wire()).await.unwrap();
    assert_eq!(code, 201, "{body}");
    for node in &nodes[1..] {
        let id = recovery.id();
        wait_until(
            "the recovery to propagate",
            Duration::from_secs(15),
            || async move { node.has(&id).await },
        )
        .await
        .unwrap();
    }
    for node in &nodes {
        // The new key belongs to the same identity, with the same standing.
        let after = member(node, &new.public_key()).await;
        assert_eq!(after["identity"], lost.to_hex(), "{after}");
        for field in [
            "status",
            "admitted_at",
            "sponsors",
            "sponsees",
            "strikes",
            "quota",
        ] {
            assert_eq!(after[field], before[field], "{field}");
        }
        {
            let index = node.node().engine.index();
            assert_eq!(index.member(&new.public_key()).identity, lost);
            assert!(index.member(&new.public_key()).status.is_in_good_standing());
            let mut keys = vec![lost, new.public_key()];
            keys[1..].sort();
            assert_eq!(index.keys_of_identity(&new.public_key()), keys);
            assert_eq!(index.keys_of_identity(&lost), keys);
        }
        // Trust paths to the new key are those to the old one.
        for (other, expected) in others.iter().zip(&trust_before) {
            assert_eq!(&trust(node, other, &new.public_key()).await, expected);
            assert_eq!(&trust(node, other, &lost).await, expected);
        }
        // Past records stay and still verify.
        for record in &past {
            let bytes = node.node().engine.record(&record.id()).unwrap().unwrap();
            let held = decode_stored(&bytes).unwrap();
            assert!(held.body().is_some());
            held.verify().unwrap();
        }
    }
    // The new key publishes on node C and its listing reaches node B.
    let listing = signer.listing(&new, "Bibliothèque en pin", now());
    let (code, body) = nodes[2].post(&listing.to_wire()).await.unwrap();
    assert_eq!(code, 201, "{body}");
    let id = listing.id();
    wait_until(
        "the new key's listing to propagate",
        Duration::from_secs(15),
        || async { nodes[1].has(&id).await },
    )
    .await
    .unwrap();
    // From the recovery on, the old key's new records have no effect (PROTOCOL.md 9.1.2):
    // a node refuses them where they enter...
    let old_key = &cluster.network.keys[8].1;
    let late = signer.listing(old_key, "Signée par l'ancienne clé", now());
    let (code, body) = nodes[1].post(&late.to_wire()).await.unwrap();
    assert_eq!(code, 403, "{body}");
    assert_eq!(body["error"], "author_not_in_good_standing", "{body}");
    for node in &nodes {
        let retired = node.node().engine.index().table().retired_at(&lost);
        assert_eq!(retired, Some(recovery.header().created));
    }
    // ...and one that entered a node without the check (as sync does) is stored and
    // relayed everywhere but shown nowhere, while the new key's listing is.
    let stolen = signer.listing(old_key, "Vendue par le voleur", now());
    nodes[0]
        .node()
        .engine
        .submit_wire(&stolen.to_wire(), maillon_node::engine::Origin::Fetched)
        .await
        .unwrap();
    for node in &nodes {
        let id = stolen.id();
        wait_until(
            "the old key's listing to be synced",
            Duration::from_secs(30),
            || async move { node.has(&id).await },
        )
        .await
        .unwrap();
        let page = reqwest::get(format!("{}/annonce/{}", node.base, stolen.id().to_hex()))
            .await
            .unwrap();
        assert_eq!(page.status().as_u16(), 404, "no effect, not shown");
        let page = reqwest::get(format!("{}/annonce/{}", node.base, listing.id().to_hex()))
            .await
            .unwrap();
        assert_eq!(
            page.status().as_u16(),
            200,
            "the new key's listing is shown"
        );
        let search = reqwest::get(format!("{}/recherche?q=voleur", node.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!search.contains("Vendue par le voleur"), "not in search");
    }
    assert_eq!(member(&nodes[1], &lost).await["identity"], lost.to_hex());
}
