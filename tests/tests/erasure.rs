//! Erasure across nodes: the member's profile, listings, messages and photos leave every
//! node within 10 seconds, a node that was stopped applies the erasure when it catches up,
//! and the erased bodies are not taken back, whoever offers them.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use maillon_node::engine::Origin;
use maillon_node::erasure::export::export_identity;
use maillon_node::ingest::pipeline::IngestError;
use maillon_node::network::blob_fetch::{fetch_blob, fetch_blob_from_any};
use maillon_node::store::index::decode_stored;
use maillon_protocol::kinds::{Listing, TransactionAnswer, TransactionOpen};
use maillon_protocol::state::ApplyError;
use maillon_protocol::sync::{SyncRequest, SyncResponse};
use maillon_protocol::{testkit, BlobHash, Body, Invalid, Record, SecretKey, Timestamp};
use maillon_tests::{now, start_cluster, wait_for_peers, wait_until, Cluster, TestNode};

/// The erasure must reach every node within this time.
const ERASURE_DEADLINE: Duration = Duration::from_secs(10);

/// What one member publishes before erasing, and a neighbour's listing.
struct Story {
    member: SecretKey,
    own_photo: BlobHash,
    shared_photo: BlobHash,
    /// The member's records that the erasure strips.
    erased: Vec<Record>,
    /// The member's listing, with both photos.
    listing: Record,
    /// The neighbour's listing, with the shared photo, and their transaction on the
    /// member's listing: both keep their bodies.
    kept: Vec<Record>,
    /// A listing the member signed before the erasure and never published.
    unpublished: Record,
    erasure: Record,
}

fn listing_with(
    cluster: &Cluster,
    key: &SecretKey,
    title: &str,
    photos: Vec<BlobHash>,
    at: Timestamp,
) -> Record {
    let signer = &cluster.network.signer;
    let Some(Body::Listing(base)) = signer.listing(key, title, at).body().cloned() else {
        panic!()
    };
    let body = Listing { photos, ..base };
    signer.sign(key, body, at, Some(at.plus_ms(30 * testkit::DAY)))
}

fn story(cluster: &Cluster, seed: &str) -> Story {
    let signer = &cluster.network.signer;
    let member = cluster.network.keys[5].1.clone();
    let neighbour = &cluster.network.keys[6].1;
    let own_photo = BlobHash::of_blob(format!("\u{ff}\u{d8} armoire {seed}").as_bytes());
    let shared_photo = BlobHash::of_blob(format!("\u{ff}\u{d8} rue {seed}").as_bytes());
    let t = now().minus_ms(1_000);
    let profile = signer.profile(
        &member,
        "Jeanne Effacée",
        cluster.node_keys[0].public_key(),
        t,
    );
    let listing = listing_with(
        cluster,
        &member,
        "Armoire normande",
        vec![own_photo, shared_photo],
        t.plus_ms(1),
    );
    let neighbours = listing_with(
        cluster,
        neighbour,
        "Table de ferme",
        vec![shared_photo],
        t.plus_ms(2),
    );
    let open = signer.sign(
        neighbour,
        TransactionOpen {
            listing: listing.id(),
            message: "Est-elle toujours disponible ?".into(),
        },
        t.plus_ms(3),
        None,
    );
    let answer = signer.sign(
        &member,
        TransactionAnswer {
            transaction: open.id(),
            message: "Oui, passez samedi.".into(),
        },
        t.plus_ms(4),
        None,
    );
    let unpublished = listing_with(cluster, &member, "Commode", vec![], t.plus_ms(5));
    let erasure = signer.erase(&member, t.plus_ms(6));
    Story {
        own_photo,
        shared_photo,
        erased: vec![profile, listing.clone(), answer],
        listing,
        kept: vec![neighbours, open],
        unpublished,
        erasure,
        member,
    }
}

fn photo_bytes(story: &Story, seed: &str) -> [(BlobHash, Vec<u8>); 2] {
    [
        (
            story.own_photo,
            format!("\u{ff}\u{d8} armoire {seed}").into_bytes(),
        ),
        (
            story.shared_photo,
            format!("\u{ff}\u{d8} rue {seed}").into_bytes(),
        ),
    ]
}

/// Publishes the story on node 0 and waits until every node holds it, with its photos.
async fn publish(nodes: &[TestNode], story: &Story, seed: &str) {
    for node in nodes {
        for (hash, bytes) in photo_bytes(story, seed) {
            assert_eq!(node.node().blobs.put(bytes).await.unwrap(), hash);
        }
    }
    let mut records: Vec<&Record> = story.erased.iter().chain(&story.kept).collect();
    records.sort_by_key(|r| r.header().created);
    for record in records {
        let (code, body) = nodes[0].post(&record.to_wire()).await.unwrap();
        assert_eq!(code, 201, "{:?}: {body}", record.header().kind);
    }
    for node in nodes {
        for record in story.erased.iter().chain(&story.kept) {
            let id = record.id();
            wait_until(
                "the story to reach every node",
                Duration::from_secs(15),
                || async move { node.has(&id).await },
            )
            .await
            .unwrap();
        }
        let (code, _) = web_status(node, &story.listing).await;
        assert_eq!(code, 200, "the listing page is up before the erasure");
        assert!(profile_page(node, story).await.contains("Jeanne Effacée"));
    }
}

async fn web_status(node: &TestNode, listing: &Record) -> (u16, String) {
    let url = format!("{}/annonce/{}", node.base, listing.id().to_hex());
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn profile_page(node: &TestNode, story: &Story) -> String {
    let url = format!(
        "{}/membre/{}",
        node.base,
        story.member.public_key().to_hex()
    );
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

/// The node's export of the member: records.json and the names of the files.
async fn export(node: &TestNode, story: &Story) -> (serde_json::Value, Vec<String>) {
    let bytes = export_identity(
        &node.node().engine,
        &node.node().blobs,
        &story.member.public_key(),
    )
    .await
    .unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let names = archive.file_names().map(String::from).collect();
    let mut json = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("records.json").unwrap(), &mut json)
        .unwrap();
    (serde_json::from_str(&json).unwrap(), names)
}

fn exported<'a>(json: &'a serde_json::Value, record: &Record) -> &'a serde_json::Value {
    json["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == record.id().to_hex())
        .unwrap()
}

fn stored(node: &TestNode, record: &Record) -> Option<Record> {
    let bytes = node.node().engine.record(&record.id()).unwrap()?;
    Some(decode_stored(&bytes).unwrap())
}

/// Whether node holds the story as erased: every erasable record of the member is a bare
/// header, the kept records have their bodies, the member's own photo is gone and the
/// shared one stays, and the web pages no longer show the member's listing.
async fn erased_on(node: &TestNode, story: &Story) -> anyhow::Result<bool> {
    let engine = &node.node().engine;
    if !engine.store().contains(&story.erasure.id())? {
        return Ok(false);
    }
    for id in engine
        .store()
        .by_author(&story.member.public_key(), usize::MAX)?
    {
        let record = decode_stored(&engine.record(&id)?.unwrap())?;
        if record.header().kind.is_erasable() && record.body().is_some() {
            return Ok(false);
        }
    }
    for record in &story.erased {
        if stored(node, record).is_none_or(|r| r.body().is_some()) {
            return Ok(false);
        }
    }
    let blobs = &node.node().blobs;
    if blobs.contains(&story.own_photo) || !blobs.is_erased(&story.own_photo) {
        return Ok(false);
    }
    Ok(web_status(node, &story.listing).await.0 == 404
        && !profile_page(node, story).await.contains("Jeanne Effacée"))
}

/// The checks that must hold once erased, beyond [`erased_on`].
async fn assert_rest_is_kept(node: &TestNode, story: &Story) {
    for record in &story.kept {
        let held = stored(node, record).unwrap();
        assert!(
            held.body().is_some(),
            "{:?} lost its body",
            record.header().kind
        );
        held.verify().unwrap();
    }
    for record in &story.erased {
        // The bare header still verifies: sync agrees on the ids.
        stored(node, record).unwrap().verify().unwrap();
    }
    let blobs = &node.node().blobs;
    assert!(
        blobs.contains(&story.shared_photo),
        "a photo another listing names stays"
    );
    assert!(blobs.get(&story.own_photo).await.unwrap().is_none());
    let photo = format!("{}/photo/{}", node.base, story.own_photo.to_hex());
    assert_eq!(reqwest::get(photo).await.unwrap().status().as_u16(), 404);
    let (code, page) = web_status(node, &story.kept[0]).await;
    assert_eq!(code, 200);
    assert!(page.contains("Table de ferme"));
    let (code, page) = node
        .get_json(&format!(
            "/api/v1/members/{}",
            story.member.public_key().to_hex()
        ))
        .await
        .unwrap();
    assert_eq!(code, 200, "membership is not erased");
    assert_eq!(page["home_node"], serde_json::Value::Null, "{page}");
}

async fn wait_erased(node: &TestNode, story: &Story, what: &str) {
    wait_until(what, ERASURE_DEADLINE, || erased_on(node, story))
        .await
        .unwrap();
    assert_rest_is_kept(node, story).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_erasure_removes_the_members_data_from_every_node_within_ten_seconds() {
    let cluster = Cluster::new(71, 20, 3);
    let nodes = start_cluster(&cluster, 3).await.unwrap();
    wait_for_peers(&nodes, 1).await.unwrap();
    let story = story(&cluster, "a");
    publish(&nodes, &story, "a").await;
    // The member exports first: their listing and its photo are in the archive.
    let (json, files) = export(&nodes[1], &story).await;
    assert_eq!(
        exported(&json, &story.listing)["body"]["title"],
        "Armoire normande"
    );
    assert!(files.contains(&format!("photos/{}.jpg", story.own_photo.to_hex())));
    let started = Instant::now();
    let (code, body) = nodes[1].post(&story.erasure.to_wire()).await.unwrap();
    assert_eq!(code, 201, "{body}");
    for node in &nodes {
        wait_erased(node, &story, "the erasure to apply on every node").await;
    }
    assert!(started.elapsed() < ERASURE_DEADLINE);
    // An export now holds only the bare headers, and no photo.
    let (json, files) = export(&nodes[1], &story).await;
    assert_eq!(exported(&json, &story.listing)["body_erased"], true);
    assert!(!files.iter().any(|f| f.starts_with("photos/")), "{files:?}");
    // A restarted node rebuilds its indexes from the store: the bodies stay forgotten.
    let mut nodes = nodes;
    nodes[2].stop().await.unwrap();
    let bootstrap = vec![nodes[0].address()];
    nodes[2] = cluster
        .start(2, Cluster::settings(bootstrap), false)
        .await
        .unwrap();
    assert!(erased_on(&nodes[2], &story).await.unwrap());
    assert_rest_is_kept(&nodes[2], &story).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_that_was_stopped_applies_the_erasure_when_it_catches_up() {
    let cluster = Cluster::new(73, 20, 3);
    let mut nodes = start_cluster(&cluster, 3).await.unwrap();
    wait_for_peers(&nodes, 1).await.unwrap();
    let story = story(&cluster, "b");
    publish(&nodes, &story, "b").await;
    nodes[2].stop().await.unwrap();
    let (code, body) = nodes[0].post(&story.erasure.to_wire()).await.unwrap();
    assert_eq!(code, 201, "{body}");
    for node in &nodes[..2] {
        wait_erased(node, &story, "the erasure to apply on the running nodes").await;
    }
    // Back from the same folder, with the bodies and photos it held before.
    let hex = story.own_photo.to_hex();
    let file = cluster.dir(2).join("blobs").join(&hex[..2]).join(&hex);
    assert!(file.exists(), "the stopped node holds the photo");
    let bootstrap = vec![nodes[0].address()];
    nodes[2] = cluster
        .start(2, Cluster::settings(bootstrap), false)
        .await
        .unwrap();
    let back = &nodes[2];
    wait_erased(back, &story, "the restarted node to apply the erasure").await;
    assert!(!file.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn erased_bodies_offered_again_are_refused_everywhere() {
    let cluster = Cluster::new(79, 20, 3);
    let nodes = start_cluster(&cluster, 3).await.unwrap();
    wait_for_peers(&nodes, 1).await.unwrap();
    let story = story(&cluster, "c");
    publish(&nodes, &story, "c").await;
    let (code, _) = nodes[0].post(&story.erasure.to_wire()).await.unwrap();
    assert_eq!(code, 201);
    for node in &nodes {
        wait_erased(node, &story, "the erasure to apply").await;
    }
    for node in &nodes {
        // The full record of an erased body the node once held (it keeps the bare header):
        // refused as erased (PROTOCOL.md 8.7), and the store keeps the bare header.
        for record in &story.erased {
            let (code, body) = node.post(&record.to_wire()).await.unwrap();
            assert_eq!(
                (code, body["error"].as_str()),
                (422, Some("erased_body")),
                "{body}"
            );
            assert!(stored(node, record).unwrap().body().is_none());
            let (code, body) = node.post(&record.without_body().to_wire()).await.unwrap();
            assert_eq!((code, body["status"].as_str()), (200, Some("duplicate")));
        }
        // A body the erasure covers that the node never held: refused for good.
        let (code, body) = node.post(&story.unpublished.to_wire()).await.unwrap();
        assert_eq!(
            (code, body["error"].as_str()),
            (422, Some("erased_body")),
            "{body}"
        );
        for origin in [Origin::Gossip, Origin::Pushed, Origin::Fetched] {
            let outcome = node
                .node()
                .engine
                .submit_wire(&story.unpublished.to_wire(), origin)
                .await;
            assert!(
                matches!(
                    outcome,
                    Err(IngestError::Refused(ApplyError::Invalid(
                        Invalid::ErasedBody
                    )))
                ),
                "{origin:?}: {outcome:?}"
            );
        }
    }
    // Offered by a peer over sync: every erased body is refused.
    let offer: Vec<Vec<u8>> = std::iter::once(&story.unpublished)
        .chain(&story.erased)
        .map(Record::to_wire)
        .collect();
    for target in &nodes[1..] {
        let answer = nodes[0]
            .node()
            .client
            .request(
                target.node().client.peer_id(),
                &SyncRequest::PushRecords(offer.clone()),
            )
            .await
            .unwrap();
        let SyncResponse::PushAck {
            stored,
            duplicate,
            refused,
            parked,
        } = answer
        else {
            panic!("{answer:?}")
        };
        assert_eq!((stored, duplicate, parked, refused), (0, 0, 0, 4));
    }
    // An erased photo is not served, and not fetched again from a peer that still has it
    // (node 0 gets it back, as a member's own upload would).
    let [(own, own_bytes), _] = photo_bytes(&story, "c");
    let answer = nodes[0]
        .node()
        .client
        .request(
            nodes[1].node().client.peer_id(),
            &SyncRequest::FetchBlob(own),
        )
        .await
        .unwrap();
    assert_eq!(answer, SyncResponse::Blob(None));
    nodes[0].node().blobs.put(own_bytes).await.unwrap();
    let (blobs, client) = (&nodes[1].node().blobs, &nodes[1].node().client);
    let fetched = fetch_blob(blobs, client, nodes[0].node().client.peer_id(), &own).await;
    assert!(matches!(fetched, Ok(None)), "{fetched:?}");
    assert!(fetch_blob_from_any(blobs, client, &own)
        .await
        .unwrap()
        .is_none());
    assert!(!blobs.contains(&own) && blobs.is_erased(&own));
    // Another member's new listing that names the same photo lifts the mark: the photo
    // may then be fetched for it.
    let neighbour = &cluster.network.keys[7].1;
    let reuse = listing_with(&cluster, neighbour, "Même photo", vec![own], now());
    let (code, body) = nodes[0].post(&reuse.to_wire()).await.unwrap();
    assert_eq!(code, 201, "{body}");
    wait_until("the mark to be lifted", Duration::from_secs(10), || async {
        Ok(!blobs.is_erased(&own))
    })
    .await
    .unwrap();
    assert!(fetch_blob_from_any(blobs, client, &own)
        .await
        .unwrap()
        .is_some());
    assert!(blobs.contains(&own));
    for node in &nodes {
        node.node().blobs.erase(&own).await.unwrap();
    }
    // Offered by a peer over gossip: nobody stores it.
    for record in std::iter::once(&story.unpublished).chain(&story.erased) {
        nodes[2]
            .node()
            .client
            .publish(record.header().kind.family(), record.to_wire())
            .await
            .ok();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for node in &nodes {
        assert!(!node.has(&story.unpublished.id()).await.unwrap());
        for record in &story.erased {
            assert!(stored(node, record).unwrap().body().is_none());
        }
        assert!(!node.node().blobs.contains(&story.own_photo));
    }
}
