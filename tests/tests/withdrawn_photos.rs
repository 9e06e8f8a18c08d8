//! A withdrawn listing's photo across nodes (issue 12 §4): every node that holds the photo
//! serves it and its thumbnail with caching headers fit for erasure while the listing is
//! live, and stops serving both, and deletes the file, once the withdrawal arrives.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use maillon_protocol::ids::BlobHash;
use maillon_protocol::kinds::{Body, Listing, ListingTombstone};
use maillon_protocol::testkit;
use maillon_tests::{now, start_cluster, wait_for_peers, wait_until, Cluster, TestNode};

/// A small PNG, different for each seed.
fn png(seed: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(200, 150, |x, y| {
        image::Rgb([seed, (x % 256) as u8, (y % 256) as u8])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

/// The status and the cache-control header of `path` on `node`.
async fn fetch(node: &TestNode, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("{}{path}", node.base)).await.unwrap();
    let cache = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (response.status().as_u16(), cache)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_withdrawn_listings_photo_and_thumbnail_leave_every_node() {
    let cluster = Cluster::new(97, 20, 3);
    let nodes = start_cluster(&cluster, 3).await.unwrap();
    wait_for_peers(&nodes, 1).await.unwrap();
    let bytes = png(7);
    let photo = BlobHash::of_blob(&bytes);
    // Every node holds the photo, as if each had received it with the listing.
    for node in &nodes {
        assert_eq!(node.node().blobs.put(bytes.clone()).await.unwrap(), photo);
    }
    let signer = &cluster.network.signer;
    let member = &cluster.network.keys[5].1;
    let at = now().minus_ms(1_000);
    let Some(Body::Listing(base)) = signer.listing(member, "Vaisselier", at).body().cloned() else {
        panic!()
    };
    let listing = signer.sign(
        member,
        Listing {
            photos: vec![photo],
            ..base
        },
        at,
        Some(at.plus_ms(30 * testkit::DAY)),
    );
    let (code, body) = nodes[0].post(&listing.to_wire()).await.unwrap();
    assert_eq!(code, 201, "{body}");
    let full = format!("/photo/{}", photo.to_hex());
    let mini = format!("{full}/mini");
    for node in &nodes {
        let id = listing.id();
        wait_until(
            "the listing everywhere",
            Duration::from_secs(15),
            || async move { node.has(&id).await },
        )
        .await
        .unwrap();
        for path in [&full, &mini] {
            let (status, cache) = fetch(node, path).await;
            assert_eq!(status, 200, "{path}");
            // No year-long, shared or immutable copy of a photo that may be erased.
            assert_eq!(cache, "private, no-cache", "{path}");
        }
    }
    let tombstone = signer.sign(
        member,
        ListingTombstone {
            series: listing.id(),
            reason: "Vendu".into(),
        },
        at.plus_ms(10),
        None,
    );
    let (code, body) = nodes[1].post(&tombstone.to_wire()).await.unwrap();
    assert_eq!(code, 201, "{body}");
    for node in &nodes {
        let (full, mini) = (&full, &mini);
        wait_until(
            "the photo and its thumbnail to go",
            Duration::from_secs(15),
            || async move {
                Ok(fetch(node, full).await.0 == 404
                    && fetch(node, mini).await.0 == 404
                    && !node.node().blobs.contains(&photo))
            },
        )
        .await
        .unwrap();
        assert!(node.node().blobs.is_erased(&photo), "not fetched again");
    }
}
