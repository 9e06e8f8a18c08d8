//! Sponsor accountability across nodes: an expulsion signed by a council-appointed
//! moderator gives the expelled member's sponsors a strike and a lower quota, and puts the
//! members they sponsored who lack sponsors on probation, on every node.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use maillon_protocol::kinds::{AppointmentAction, LabelAction};
use maillon_protocol::PublicKey;
use maillon_tests::{now, start_cluster, wait_for_peers, wait_until, Cluster, TestNode};
use serde_json::Value;

async fn member(node: &TestNode, key: &PublicKey) -> Value {
    let (code, body) = node
        .get_json(&format!("/api/v1/members/{}", key.to_hex()))
        .await
        .unwrap();
    assert_eq!(code, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expulsion_strikes_the_sponsors_and_puts_the_sponsees_on_probation_everywhere() {
    let cluster = Cluster::new(89, 30, 3);
    let nodes = start_cluster(&cluster, 3).await.unwrap();
    wait_for_peers(&nodes, 1).await.unwrap();
    let keys = &cluster.network.keys;
    // A member (not a founder) who sponsors someone whose support would fall short
    // without them.
    let (expelled, sponsees) = {
        let index = nodes[0].node().engine.index();
        let required = index.charter().sponsors_required as usize;
        keys[3..]
            .iter()
            .map(|(_, k)| k.public_key())
            .find_map(|key| {
                let short: Vec<PublicKey> = index
                    .member(&key)
                    .sponsees
                    .into_iter()
                    .filter(|s| index.member(s).sponsors.len() <= required)
                    .collect();
                (!short.is_empty()).then_some((key, short))
            })
            .expect("a member whose sponsee has just enough sponsors")
    };
    let sponsors: Vec<PublicKey> = member(&nodes[0], &expelled).await["sponsors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| PublicKey::from_hex(v.as_str().unwrap()).unwrap())
        .collect();
    assert!(!sponsors.is_empty());
    let mut quota_before = Vec::new();
    for sponsor in &sponsors {
        let view = member(&nodes[2], sponsor).await;
        quota_before.push((
            view["strikes"].as_u64().unwrap(),
            view["quota"].as_u64().unwrap(),
        ));
    }

    // The council (founders, 2 of 3) appoints a moderator, who expels the member.
    let signer = &cluster.network.signer;
    let moderator = &keys[10].1;
    let t = now();
    let appointment = signer.appoint(
        &keys[0].1,
        &[&keys[1].1],
        moderator.public_key(),
        AppointmentAction::Appoint,
        t.minus_ms(2_000),
    );
    let label = signer.member_label(
        moderator,
        LabelAction::ExpelMember,
        expelled,
        None,
        t.minus_ms(1_000),
    );
    for record in [&appointment, &label] {
        let (code, body) = nodes[0].post(&record.to_wire()).await.unwrap();
        assert_eq!(code, 201, "{body}");
    }
    let penalty = cluster.network.signer.charter.strike_penalty;
    for node in &nodes {
        wait_until(
            "the expulsion to take effect",
            Duration::from_secs(15),
            || async { Ok(member(node, &expelled).await["status"] == "expelled") },
        )
        .await
        .unwrap();
        for (sponsor, (strikes, quota)) in sponsors.iter().zip(&quota_before) {
            let view = member(node, sponsor).await;
            assert_eq!(view["strikes"].as_u64().unwrap(), strikes + 1, "{view}");
            assert_eq!(
                view["quota"].as_u64().unwrap(),
                quota.saturating_sub(penalty),
                "{view}"
            );
        }
        for sponsee in &sponsees {
            let view = member(node, sponsee).await;
            assert_eq!(view["status"], "probation", "{view}");
            assert!(
                !view["sponsors"]
                    .as_array()
                    .unwrap()
                    .contains(&Value::from(expelled.to_hex())),
                "{view}"
            );
        }
    }
}
