//! Moderation across nodes, on loopback: a label signed on node A by a council-appointed
//! moderator is enforced on B and C; a label by a non-moderator, or by a moderator after
//! the council removed them, has no effect anywhere.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use maillon_protocol::kinds::{AppointmentAction, LabelAction, ModerationLabel};
use maillon_protocol::{Record, RecordId, SecretKey, Timestamp};
use maillon_tests::{now, start_cluster, wait_for_peers, wait_until, Cluster, TestNode};

/// How long a record may take to reach every node.
const SPREAD: Duration = Duration::from_secs(10);

fn key(cluster: &Cluster, label: &str) -> SecretKey {
    cluster
        .network
        .keys
        .iter()
        .find(|(l, _)| l == label)
        .map(|(_, k)| k.clone())
        .unwrap()
}

async fn post(node: &TestNode, record: &Record) {
    let (status, body) = node.post(&record.to_wire()).await.unwrap();
    assert!(status == 201 || status == 200, "{status}: {body}");
}

/// The HTTP status of a listing's page for a visitor who is not signed in.
async fn listing_status(node: &TestNode, series: &RecordId) -> u16 {
    reqwest::get(format!("{}/annonce/{}", node.base, series.to_hex()))
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

async fn wait_status(nodes: &[&TestNode], series: &RecordId, status: u16, what: &str) {
    for node in nodes {
        wait_until(what, SPREAD, || async {
            Ok(listing_status(node, series).await == status)
        })
        .await
        .unwrap();
    }
}

fn hide(cluster: &Cluster, by: &SecretKey, series: &RecordId, at: Timestamp) -> Record {
    let body = ModerationLabel {
        action: LabelAction::HideListing,
        target: series.0,
        reason: "Annonce frauduleuse.".into(),
        correction: String::new(),
        required_sponsors: None,
        complaint: None,
    };
    cluster.network.signer.sign(by, body, at, None)
}

fn appointment(
    cluster: &Cluster,
    moderator: &SecretKey,
    action: AppointmentAction,
    at: Timestamp,
) -> Record {
    cluster.network.signer.appoint(
        &key(cluster, "founder-1"),
        &[&key(cluster, "founder-2")],
        moderator.public_key(),
        action,
        at,
    )
}

/// Three nodes and two fresh listings by members, seen on every node.
async fn setup(seed: u64) -> (Cluster, Vec<TestNode>, Vec<RecordId>) {
    let cluster = Cluster::new(seed, 30, 3);
    let nodes = start_cluster(&cluster, 3).await.unwrap();
    wait_for_peers(&nodes, 1).await.unwrap();
    let mut series = Vec::new();
    for (i, author) in ["member-20", "member-21"].iter().enumerate() {
        let listing = cluster.network.signer.listing(
            &key(&cluster, author),
            &format!("Vélo n° {i}"),
            now().minus_ms(60_000),
        );
        post(&nodes[0], &listing).await;
        series.push(listing.id());
    }
    let all: Vec<&TestNode> = nodes.iter().collect();
    for s in &series {
        wait_status(&all, s, 200, "the listings on every node").await;
    }
    (cluster, nodes, series)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_label_signed_on_one_node_is_enforced_on_the_others() {
    let (cluster, nodes, series) = setup(41).await;
    let moderator = key(&cluster, "member-5");
    let at = now().minus_ms(30_000);
    post(
        &nodes[0],
        &appointment(&cluster, &moderator, AppointmentAction::Appoint, at),
    )
    .await;
    post(
        &nodes[0],
        &hide(&cluster, &moderator, &series[0], at.plus_ms(1_000)),
    )
    .await;
    wait_status(
        &[&nodes[1], &nodes[2]],
        &series[0],
        404,
        "the listing hidden on B and C",
    )
    .await;
    assert_eq!(listing_status(&nodes[0], &series[0]).await, 404);
    assert_eq!(
        listing_status(&nodes[2], &series[1]).await,
        200,
        "others stay"
    );
    for mut node in nodes {
        node.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn labels_signed_outside_office_have_no_effect_anywhere() {
    let (cluster, nodes, series) = setup(43).await;
    let outsider = key(&cluster, "member-6");
    let moderator = key(&cluster, "member-5");
    let t = now().minus_ms(30_000);
    // A member who was never appointed.
    let forged = hide(&cluster, &outsider, &series[0], t);
    post(&nodes[0], &forged).await;
    // A moderator appointed, then removed by the council, then labelling.
    post(
        &nodes[0],
        &appointment(&cluster, &moderator, AppointmentAction::Appoint, t),
    )
    .await;
    post(
        &nodes[0],
        &appointment(
            &cluster,
            &moderator,
            AppointmentAction::Remove,
            t.plus_ms(1_000),
        ),
    )
    .await;
    let late = hide(&cluster, &moderator, &series[1], t.plus_ms(2_000));
    post(&nodes[0], &late).await;
    for node in &nodes[1..] {
        for id in [forged.id(), late.id()] {
            wait_until("the labels reaching B and C", SPREAD, || async {
                node.has(&id).await
            })
            .await
            .unwrap();
        }
    }
    // Held everywhere, enforced nowhere.
    for node in &nodes {
        assert_eq!(listing_status(node, &series[0]).await, 200);
        assert_eq!(listing_status(node, &series[1]).await, 200);
    }
    for mut node in nodes {
        node.stop().await.unwrap();
    }
}
