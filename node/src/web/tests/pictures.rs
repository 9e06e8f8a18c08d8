//! The pictures of issue 15 §3: the trust paths drawn on profiles and listings, and the map
//! of listings in search.

use axum::http::StatusCode;

use super::{key_of, Site};

#[tokio::test]
async fn a_profile_draws_the_trust_paths_with_the_same_words_beside_them() {
    let site = Site::start(&["member-1", "member-30"]).await;
    let mut viewer = site.signed_in("member-1").await;
    let profile = viewer
        .get(&format!("/membre/{}", key_of("member-30").to_hex()))
        .await;
    assert_eq!(profile.status, StatusCode::OK);
    let links: u32 = profile
        .body
        .split("data-liens=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|n| n.parse().ok())
        .expect("a trust path");
    assert!(
        links >= 2,
        "members this far apart have people between them"
    );
    let start = profile
        .body
        .find("<svg class=\"trust-graph\"")
        .expect("the picture");
    let svg = &profile.body[start..start + profile.body[start..].find("</svg>").unwrap()];
    assert!(svg.contains("role=\"img\""));
    assert!(svg.contains("<title id=\"graphe-titre\">Comment vous êtes reliés</title>"));
    let desc = svg
        .split("<desc id=\"graphe-desc\">")
        .nth(1)
        .and_then(|d| d.split("</desc>").next())
        .expect("a description");
    assert!(desc.contains("vous → "), "{desc}");
    assert_eq!(
        desc.matches(" → ").count() as u32 % links,
        0,
        "each path has as many arrows as links: {desc}"
    );
    assert!(svg.matches("<circle").count() as u32 > links);

    // One's own profile draws nothing.
    let own = viewer
        .get(&format!("/membre/{}", key_of("member-1").to_hex()))
        .await;
    assert!(!own.body.contains("trust-graph\""));
}
