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

#[tokio::test]
async fn search_offers_a_map_of_france_with_the_places_also_in_words() {
    let site = Site::start(&["member-1"]).await;
    let mut visitor = site.visitor();
    // The generated network's listings, once the search index has them.
    let listed = site
        .wait_for_search(&mut visitor, "", "class=\"card\"")
        .await;
    let map_link = listed
        .body
        .split("<a href=\"")
        .find(|part| part.contains("Voir sur la carte"))
        .and_then(|part| part.split('"').next())
        .expect("a link to the map")
        .replace("&amp;", "&");
    assert!(map_link.contains("vue=carte"), "{map_link}");

    let map = visitor.get(&map_link).await;
    assert_eq!(map.status, StatusCode::OK);
    let start = map.body.find("<svg class=\"france-map\"").expect("the map");
    let svg = &map.body[start..start + map.body[start..].find("</svg>").unwrap()];
    let image = svg
        .split("<image href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the outlines");
    let outlines = visitor.get(image).await;
    assert_eq!(outlines.status, StatusCode::OK);
    assert_eq!(outlines.content_type, "image/svg+xml");
    assert_eq!(outlines.body.matches("<path ").count(), 96);
    // Browsers that accept gzip get it: about a third of the size.
    let zipped = {
        use tower::ServiceExt;
        let request = axum::http::Request::get(image)
            .header(axum::http::header::ACCEPT_ENCODING, "gzip")
            .body(axum::body::Body::empty())
            .expect("request");
        visitor
            .router_clone()
            .oneshot(request)
            .await
            .expect("infallible")
    };
    assert_eq!(
        zipped.headers()[axum::http::header::CONTENT_ENCODING],
        "gzip"
    );
    let zipped = axum::body::to_bytes(zipped.into_body(), usize::MAX)
        .await
        .expect("body");
    assert!(
        zipped.len() * 2 < outlines.body.len(),
        "{} of {}",
        zipped.len(),
        outlines.body.len()
    );

    let places = map
        .body
        .split("<ul class=\"places\"")
        .nth(1)
        .and_then(|rest| rest.split("</ul>").next())
        .expect("the places in words");
    let listed_places = places.matches("<li>").count();
    assert!(listed_places >= 2, "{places}");
    assert_eq!(svg.matches("<circle").count(), listed_places);
    assert_eq!(places.matches("rayon=5").count(), listed_places);
    assert!(map.body.contains("CC BY 4.0"));
    assert!(map.body.contains("Voir en liste"));
    assert!(
        !map.body.contains("class=\"card\""),
        "the map replaces the cards"
    );
    // Every point is within the map's frame.
    for circle in svg.split("<circle cx=\"").skip(1) {
        let numbers: Vec<f64> = circle
            .split('"')
            .step_by(2)
            .take(2)
            .map(|n| n.parse().expect("a number"))
            .collect();
        assert!((0.0..613.0).contains(&numbers[0]) && (0.0..585.0).contains(&numbers[1]));
    }
}
