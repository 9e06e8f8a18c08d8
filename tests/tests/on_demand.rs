//! A page that needs a record this node does not hold yet asks its peers for it, rather
//! than answering « Page introuvable » for something that exists in the network.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use maillon_node::engine::Origin;
use maillon_tests::{now, wait_for_peers, Cluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_listing_page_fetches_a_listing_this_node_lacks_from_its_peers() {
    let cluster = Cluster::new(41, 20, 2);
    // Sync at the production interval: only the page can bring the listing in time.
    let slow_sync = |bootstrap| maillon_node::network::NetworkSettings {
        sync_interval: Duration::from_secs(300),
        ..Cluster::settings(bootstrap)
    };
    let a = cluster.start(0, slow_sync(Vec::new()), true).await.unwrap();
    let b = cluster
        .start(1, slow_sync(vec![a.address()]), true)
        .await
        .unwrap();
    let nodes = [a, b];
    wait_for_peers(&nodes, 1).await.unwrap();
    let member = &cluster.network.keys[5].1;
    let listing = cluster
        .network
        .signer
        .listing(member, "Poussette presque neuve", now());
    // Stored on A as if fetched there: A does not gossip it, so B lacks it.
    nodes[0]
        .node()
        .engine
        .submit_wire(&listing.to_wire(), Origin::Fetched)
        .await
        .unwrap();
    assert!(!nodes[1].has(&listing.id()).await.unwrap());

    let http = reqwest::Client::new();
    let page = |id: String| {
        let (http, base) = (http.clone(), nodes[1].base.clone());
        async move {
            let answer = http
                .get(format!("{base}/annonce/{id}"))
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    let (status, body) = page(listing.id().to_hex()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Poussette presque neuve"), "{body}");
    assert!(nodes[1].has(&listing.id()).await.unwrap(), "B keeps it");
    // What no peer holds is not found.
    let (status, body) = page("ab".repeat(32)).await;
    assert_eq!(status, 404);
    assert!(body.contains("Page introuvable"), "{body}");
    for mut node in nodes {
        node.stop().await.unwrap();
    }
}

/// A member page and a candidate's sponsor code name a key, not a record id: a node that
/// does not know the key yet reconciles with its peers before answering « introuvable ».
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_page_and_a_sponsor_code_catch_up_with_the_peers() {
    let cluster = Cluster::new(42, 20, 2);
    let slow_sync = |bootstrap| maillon_node::network::NetworkSettings {
        sync_interval: Duration::from_secs(300),
        ..Cluster::settings(bootstrap)
    };
    let a = cluster.start(0, slow_sync(Vec::new()), true).await.unwrap();
    let b = cluster
        .start(1, slow_sync(vec![a.address()]), true)
        .await
        .unwrap();
    let nodes = [a, b];
    wait_for_peers(&nodes, 1).await.unwrap();
    // Let the sessions on connection finish, so that only a page can bring what follows.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let signer = &cluster.network.signer;
    let candidate = maillon_protocol::testkit::key("on-demand-candidate");
    let home = nodes[0].node().engine.node_key();
    for record in [
        signer.join(&candidate, now()),
        signer.profile(&candidate, "Capucine", home, now()),
    ] {
        nodes[0]
            .node()
            .engine
            .submit_wire(&record.to_wire(), Origin::Fetched)
            .await
            .unwrap();
    }
    let key = candidate.public_key().to_hex();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = nodes[1].base.clone();
    let member_page = http
        .get(format!("{base}/membre/{key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(member_page.status().as_u16(), 200);
    let text = member_page.text().await.unwrap();
    assert!(text.contains("Capucine"), "{text}");

    // A second candidate, for the code.
    let other = maillon_protocol::testkit::key("on-demand-candidate-2");
    for record in [
        signer.join(&other, now()),
        signer.profile(&other, "Basile", home, now()),
    ] {
        nodes[0]
            .node()
            .engine
            .submit_wire(&record.to_wire(), Origin::Fetched)
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let code = maillon_web_ui::keys::sponsor_code(&other.public_key());
    let by_code = http
        .get(format!("{base}/parrainer?code={code}"))
        .send()
        .await
        .unwrap();
    let status = by_code.status().as_u16();
    let location = by_code
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    assert_eq!(status, 303, "{:?}", by_code.text().await);
    assert_eq!(
        location.as_deref(),
        Some(format!("/parrainage/{}", other.public_key().to_hex()).as_str())
    );
    // An unknown key is still not found.
    let unknown = http
        .get(format!("{base}/membre/{}", "cd".repeat(32)))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    for mut node in nodes {
        node.stop().await.unwrap();
    }
}
