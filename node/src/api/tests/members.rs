//! Members, trust paths, and unknown paths and methods.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use maillon_protocol::ids::PublicKey;
use maillon_protocol::kinds::Body as RecordBody;
use maillon_protocol::testkit::{self};
use maillon_protocol::trust::{trust_paths, TrustQuery};
use serde_json::{json, Value};

use super::*;

#[tokio::test]
async fn members_are_reported_as_the_generator_built_them() {
    let net = network();
    let node = TestNode::loaded("n").await;
    let table = protocol_table();
    let sponsorships: Vec<(PublicKey, PublicKey)> = net
        .records
        .iter()
        .filter_map(|r| match r.body() {
            Some(RecordBody::Sponsorship(s)) => Some((r.header().author, s.candidate)),
            _ => None,
        })
        .collect();
    let homes: BTreeMap<PublicKey, PublicKey> = net
        .records
        .iter()
        .filter_map(|r| match r.body() {
            Some(RecordBody::Profile(p)) => Some((r.header().author, p.home_node)),
            _ => None,
        })
        .collect();
    for (label, key) in &net.keys {
        let key = key.public_key();
        let (code, body) = node.get(&format!("/api/v1/members/{}", key.to_hex())).await;
        assert_eq!(code, StatusCode::OK, "{label}: {body}");
        let mut sponsors: Vec<PublicKey> = sponsorships
            .iter()
            .filter(|(_, c)| *c == key)
            .map(|(s, _)| *s)
            .collect();
        sponsors.sort();
        let mut sponsees: Vec<PublicKey> = sponsorships
            .iter()
            .filter(|(s, _)| *s == key)
            .map(|(_, c)| *c)
            .collect();
        sponsees.sort();
        let founder = label.starts_with("founder-");
        assert_eq!(
            body,
            json!({
                "key": key.to_hex(),
                "identity": key.to_hex(),
                "status": if founder { "founder" } else { "member" },
                "admitted_at": table.admitted_at(&key).map(|t| t.0),
                "sponsors": hexes(&sponsors),
                "sponsees": hexes(&sponsees),
                "home_node": homes.get(&key).map(PublicKey::to_hex),
                "strikes": 0,
                "quota": 20,
            }),
            "{label}"
        );
        if founder {
            assert!(
                sponsors.is_empty() && body["home_node"].is_null(),
                "{label}"
            );
            assert_eq!(body["admitted_at"], 0, "founders are admitted at time 0");
        } else {
            assert_eq!(sponsors.len(), 3, "{label}");
            assert!(body["home_node"].is_string(), "{label} has a profile");
            assert!(body["admitted_at"].is_u64(), "{label} was admitted");
        }
    }
    // Upper-case hex names the same member.
    let (code, body) = node
        .get(&format!(
            "/api/v1/members/{}",
            public("member-0").to_hex().to_uppercase()
        ))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["key"], public("member-0").to_hex());

    // A joined key without sponsors is a candidate.
    let candidate = testkit::key("api-test-candidate");
    let (code, _) = node
        .post(
            net.signer
                .join(&candidate, net.now.minus_ms(1_000))
                .to_wire(),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED);
    let (code, body) = node
        .get(&format!(
            "/api/v1/members/{}",
            candidate.public_key().to_hex()
        ))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["status"], "candidate");
    assert_eq!(body["admitted_at"], Value::Null);
    assert_eq!(body["sponsors"], json!([]));
    assert_eq!(body["home_node"], Value::Null);

    let unknown = testkit::key("api-test-nobody").public_key();
    let answer = node
        .get(&format!("/api/v1/members/{}", unknown.to_hex()))
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "unknown_member");
    for bad in ["abc", &"0".repeat(63), &"z".repeat(64)] {
        let answer = node.get(&format!("/api/v1/members/{bad}")).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "bad_key");
    }
}

#[tokio::test]
async fn trust_answers_equal_the_protocol() {
    let node = TestNode::loaded("n").await;
    let table = protocol_table();
    let pairs = [
        ("founder-1", "member-29"),
        ("member-0", "member-29"),
        ("member-3", "member-17"),
        ("member-21", "founder-3"),
        ("member-8", "member-8"),
    ];
    let mut far = false;
    for (from, to) in pairs {
        let (a, b) = (public(from), public(to));
        let (code, body) = node
            .get(&format!(
                "/api/v1/trust?from={}&to={}",
                a.to_hex(),
                b.to_hex()
            ))
            .await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let report = trust_paths(&table, &a, &b, TrustQuery::default());
        let paths: Vec<Vec<String>> = report.paths.iter().map(|p| hexes(p)).collect();
        assert_eq!(
            body,
            json!({
                "distance": report.distance,
                "paths": paths,
                "independent_paths": report.independent_paths,
                "truncated": report.truncated,
            }),
            "{from} to {to}"
        );
        if let (Some(distance), Some(first)) = (report.distance, report.paths.first()) {
            assert_eq!(first.first(), Some(&a));
            assert_eq!(first.last(), Some(&b));
            assert_eq!(first.len() as u32, distance + 1);
            far |= distance >= 2 && report.independent_paths >= 1;
        }
    }
    assert!(far, "at least one pair is two hops or more apart");

    // A key the network does not know has no path.
    let nobody = testkit::key("api-test-nobody").public_key();
    let (code, body) = node
        .get(&format!(
            "/api/v1/trust?from={}&to={}",
            public("founder-1").to_hex(),
            nobody.to_hex()
        ))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        body,
        json!({"distance": null, "paths": [], "independent_paths": 0, "truncated": false})
    );

    let key = public("member-1").to_hex();
    for query in [
        String::new(),
        "?".into(),
        format!("?from={key}"),
        format!("?to={key}"),
        format!("?other=1&to={key}"),
    ] {
        let answer = node.get(&format!("/api/v1/trust{query}")).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "missing_parameter");
    }
    for query in [
        format!("?from=xyz&to={key}"),
        format!("?from={key}&to=12"),
        format!("?from=&to={key}"),
    ] {
        let answer = node.get(&format!("/api/v1/trust{query}")).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "bad_key");
    }
    // A repeated parameter is a malformed query, answered in JSON like every error.
    let answer = node
        .get(&format!("/api/v1/trust?from={key}&from={key}&to={key}"))
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "bad_query");
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_json() {
    let node = TestNode::empty("n").await;
    for uri in [
        "/",
        "/api/v1",
        "/api/v1/nothing",
        "/api/v2/status",
        "/api/v1/status/extra",
    ] {
        let answer = node.get(uri).await;
        assert_error(&answer, StatusCode::NOT_FOUND, "not_found");
    }
    let status = Request::get("/api/v1/status").body(Body::empty()).unwrap();
    let (code, headers, _) = node.call(status).await;
    assert_eq!(code, StatusCode::OK);
    for (name, value) in maillon_web_ui::security::HEADERS {
        assert_eq!(headers[&name], value, "{name} on the status");
    }
    for (method, uri, allow) in [
        (Method::POST, "/api/v1/status", "GET,HEAD"),
        (Method::GET, "/api/v1/records", "POST"),
        (
            Method::DELETE,
            &*format!("/api/v1/records/{}", "0".repeat(64)),
            "GET,HEAD",
        ),
    ] {
        let request = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/cbor")
            .body(Body::empty())
            .unwrap();
        let (code, headers, body) = node.call(request).await;
        assert_eq!(headers[header::ALLOW], allow, "{method} {uri}");
        // The API's answers, errors included, carry the site's security headers.
        for (name, value) in maillon_web_ui::security::HEADERS {
            assert_eq!(headers[&name], value, "{name} on {method} {uri}");
        }
        assert_error(
            &(code, as_json(&headers, &body)),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        );
    }
}

#[tokio::test]
async fn the_media_type_is_matched_without_regard_to_case() {
    let node = TestNode::loaded("n").await;
    let listing = fresh_listing("Tapis berbère");
    let (code, body) = node
        .post_as(Some("Application/CBOR"), listing.to_wire())
        .await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
}
