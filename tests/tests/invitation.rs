//! Inviting another association's node: node A signs an invitation, node B is created from
//! it with `init join`, a member vouches for B, B signs its announcement with `announce`,
//! and A keeps B as a peer. A node vouched for by a non-member stays a stranger and is
//! dropped.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use maillon_node::engine::system_clock;
use maillon_node::network::gating::peer_id_of;
use maillon_node::network::NetworkSettings;
use maillon_node::node::{self, NodeOptions, RunningNode};
use maillon_protocol::kinds::node_operator_message;
use maillon_protocol::{testkit, SecretKey, Timestamp};
use maillon_tests::{now, wait_until, Cluster};

/// Creates a node from the invitation file, has `operator` vouch for it, and starts it.
async fn invited_node(
    dir: &Path,
    invitation: &Path,
    operator: &SecretKey,
    network: &maillon_protocol::NetworkId,
) -> RunningNode {
    let argument = invitation.to_string_lossy();
    let joined =
        maillon_node::invitation::join(dir, "Association invitée", &argument, false, now())
            .unwrap();
    let (report, probes) = (joined.report, joined.probes);
    assert!(probes.iter().all(|p| p.outcome.is_ok()), "{probes:?}");
    let mut config = maillon_node::config::RawConfig::load(&report.config_file)
        .unwrap()
        .validate(dir)
        .unwrap();
    // `init` writes the default metrics address; nodes of one test process share it.
    assert!(config.metrics.listen.is_some_and(|a| a.ip().is_loopback()));
    config.metrics = maillon_node::metrics::settings::MetricsSettings::OFF;
    // What "Héberger un site" gives the member: their key and their signature.
    let statement = node_operator_message(network, &report.node_key);
    let code =
        maillon_web_ui::page::signature_code(&operator.public_key(), &operator.sign(&statement));
    maillon_node::announce::announce(&config, &code, "69001", now()).unwrap();
    let bootstrap = config
        .bootstrap
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    node::start(NodeOptions {
        config,
        http: tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        network: Cluster::settings(bootstrap),
        clock: system_clock(),
        web: maillon_web_ui::WebConfig {
            kdf: maillon_web_ui::keys::KdfParams::FOR_TESTS,
            ..maillon_web_ui::WebConfig::default()
        },
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_created_from_an_invitation_and_vouched_by_a_member_becomes_a_peer() {
    let cluster = Cluster::new(83, 30, 1);
    let network = cluster.network.signer.network;
    let inviter = cluster
        .start(
            0,
            NetworkSettings {
                gating_grace: Duration::from_secs(5),
                ..Cluster::settings(Vec::new())
            },
            true,
        )
        .await
        .unwrap();
    let invitation = maillon_node::invitation::make(
        &inviter.node().engine,
        &cluster.node_keys[0],
        &[inviter.address().to_string()],
        now(),
        now().plus_ms(Timestamp::DAY_MS),
    )
    .unwrap();
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("invitation-maillon.txt");
    std::fs::write(&file, invitation.to_text()).unwrap();

    let member = cluster.network.keys[1].1.clone();
    let welcome = invited_node(&root.path().join("b"), &file, &member, &network).await;
    let welcome_key = welcome.engine.node_key();
    let welcome_peer = peer_id_of(&welcome_key).unwrap();
    let outsider = testkit::key("not-a-member");
    let stranger = invited_node(&root.path().join("c"), &file, &outsider, &network).await;
    let stranger_key = stranger.engine.node_key();
    let stranger_peer = peer_id_of(&stranger_key).unwrap();
    let client = inviter.node().client.clone();

    let engine = inviter.node().engine.clone();
    wait_until(
        "B to be announced on A",
        Duration::from_secs(30),
        || async { Ok(engine.index().announced_nodes().contains_key(&welcome_key)) },
    )
    .await
    .unwrap();
    let stranger_client = stranger.client.clone();
    wait_until(
        "C to be dropped by A after its grace",
        Duration::from_secs(30),
        || async { Ok(stranger_client.peers().await?.is_empty()) },
    )
    .await
    .unwrap();
    // Past every grace period, B is still A's peer, and C is not an announced node.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(client.peers().await.unwrap().contains(&welcome_peer));
    assert!(!client.peers().await.unwrap().contains(&stranger_peer));
    assert!(!engine.index().announced_nodes().contains_key(&stranger_key));
    // C was served nothing: it holds its charter and its own announcement only.
    assert!(stranger.engine.sync_set().len() <= 2);
    // B synced the network from A.
    let held = inviter.node().engine.sync_set().len();
    let welcome_engine = welcome.engine.clone();
    wait_until("B to hold A's records", Duration::from_secs(30), || async {
        Ok(welcome_engine.sync_set().len() >= held)
    })
    .await
    .unwrap();
    wait_until(
        "B to see itself announced",
        Duration::from_secs(30),
        || async { Ok(welcome_engine.status(None, 0)?.announced) },
    )
    .await
    .unwrap();
    assert!(
        !stranger.engine.status(None, 0).unwrap().announced,
        "C's operator is not a member"
    );
    welcome.shutdown().await.unwrap();
    stranger.shutdown().await.unwrap();
}
