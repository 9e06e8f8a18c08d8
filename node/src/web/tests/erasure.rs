//! Exporting one's data, erasing one's account, and what the site no longer shows: erased
//! records, and records without effect.

use axum::http::StatusCode;

use super::{Site, PASSPHRASE};

#[tokio::test]
async fn a_member_exports_their_data_then_erases_their_account() {
    let site = Site::start(&["founder-1", "founder-2"]).await;
    let mut member = site.signed_in("founder-1").await;
    let created = member.publish("Machine à coudre Singer", "30", &[]).await;
    let link = created.published_listing();
    let mut other = site.signed_in("founder-2").await;
    assert_eq!(other.get(&link).await.status, StatusCode::OK);
    site.wait_for_search(&mut other, "q=machine+coudre", "Machine à coudre")
        .await;

    let csrf = member.get("/compte").await.csrf();
    let export = member.post_form("/compte/export", &[("csrf", &csrf)]).await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(export.content_type, "application/zip");
    assert!(export.bytes.starts_with(b"PK"), "a zip archive");
    let names = String::from_utf8_lossy(&export.bytes);
    assert!(names.contains("records.json") && names.contains("README.txt"));
    let forged = member
        .post_form("/compte/export", &[("csrf", "nope")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let page = member.get("/compte/effacer").await;
    assert_eq!(page.status, StatusCode::OK);
    let unticked = member
        .post_form(
            "/compte/effacer",
            &[("csrf", &page.csrf()), ("passphrase", PASSPHRASE)],
        )
        .await;
    assert_eq!(unticked.status, StatusCode::UNPROCESSABLE_ENTITY);
    let wrong = member
        .post_form(
            "/compte/effacer",
            &[
                ("csrf", &page.csrf()),
                ("passphrase", "pas la bonne"),
                ("confirm", "oui"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("Phrase de passe incorrecte"));
    let erased = member
        .post_form(
            "/compte/effacer",
            &[
                ("csrf", &page.csrf()),
                ("passphrase", PASSPHRASE),
                ("confirm", "oui"),
            ],
        )
        .await;
    assert_eq!(erased.status, StatusCode::SEE_OTHER, "{}", erased.body);
    assert_eq!(erased.location.as_deref(), Some("/?efface=1"));
    let mut after = site.visitor();
    assert!(after
        .get("/?efface=1")
        .await
        .body
        .contains("Votre compte a été effacé"));

    // The account is gone from this node, and the listing from every page.
    let mut again = site.visitor();
    let csrf = again.get("/connexion").await.csrf();
    let refused = again
        .post_form(
            "/connexion",
            &[
                ("csrf", &csrf),
                ("login", "founder-1"),
                ("passphrase", PASSPHRASE),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    // At once: the erasure is acknowledged only when no page shows what it erased.
    assert_eq!(other.get(&link).await.status, StatusCode::NOT_FOUND);
    for page in ["/", "/recherche?q=machine+coudre"] {
        let shown = other.get(page).await;
        assert!(
            !shown.body.contains("Machine à coudre"),
            "{page}: {}",
            shown.body
        );
    }
    // The profile is a clean stub: no town, no empty brackets.
    let profile = other
        .get(&format!("/membre/{}", super::key_of("founder-1").to_hex()))
        .await;
    assert_eq!(profile.status, StatusCode::OK);
    assert!(
        profile.body.contains("commune non publiée"),
        "{}",
        profile.body
    );
    assert!(!profile.body.contains("()"), "{}", profile.body);
}

/// Once a photo is erased, neither it nor its cached thumbnail is served, and a browser's
/// copy is no longer confirmed.
#[tokio::test]
async fn an_erased_photo_and_its_cached_thumbnail_stop_being_served_at_once() {
    use axum::http::{header, Request};
    use tower::ServiceExt;

    let site = Site::start(&["founder-1"]).await;
    let mut member = site.signed_in("founder-1").await;
    let created = member
        .publish("Vélo de ville", "30", &[("photos", super::png(320, 240))])
        .await;
    let page = member.get(&created.published_listing()).await;
    let start = page.body.find("href=\"/photo/").expect("photo link") + "href=\"".len();
    let photo = page.body[start..].split('"').next().unwrap().to_string();
    let thumbnail = format!("{photo}/mini");
    assert_eq!(member.get(&thumbnail).await.status, StatusCode::OK);
    let hash = photo.trim_start_matches("/photo/");
    let hash = maillon_protocol::BlobHash::from_hex(hash).expect("a hash");
    let blobs = crate::blobs::BlobStore::open(site.dir.path().join("blobs")).expect("blobs");
    assert!(blobs.erase(&hash).await.expect("erased"));

    for path in [&photo, &thumbnail] {
        assert_eq!(
            member.get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        let tag = if path.ends_with("/mini") {
            format!("\"{}-mini\"", hash.to_hex())
        } else {
            format!("\"{}\"", hash.to_hex())
        };
        let request = Request::get(path.as_str())
            .header(header::IF_NONE_MATCH, tag)
            .body(axum::body::Body::empty())
            .unwrap();
        let answer = member.router_clone().oneshot(request).await.unwrap();
        assert_eq!(
            answer.status(),
            StatusCode::NOT_FOUND,
            "{path}: no 304 once erased"
        );
    }
}

/// An identity with two keys: the site signs the member's erasure with the binding that
/// links them, so the erasure reaches the records of the other key too (docs/PROTOCOL.md
/// 8.5, 8.6).
#[tokio::test]
async fn an_erasure_from_the_site_reaches_every_key_of_the_identity() {
    use maillon_protocol::Body;
    let site = Site::start(&["member-3"]).await;
    let net = super::network();
    let member = super::secret("member-3");
    // An earlier key of the same person, with a listing, rotated to the account's key.
    let earlier = maillon_protocol::testkit::key("web-erasure-earlier-key");
    let t = site.now();
    let listing = net.signer.listing(&earlier, "Commode ancienne", t);
    for record in [
        net.signer.join(&earlier, t),
        listing.clone(),
        net.signer.rotate(&earlier, &member, t.plus_ms(1)),
    ] {
        site.engine()
            .submit_wire(&record.to_wire(), crate::engine::Origin::Fetched)
            .await
            .expect("accepted");
    }
    let mut browser = site.signed_in("member-3").await;
    let page = browser.get("/compte/effacer").await;
    let erased = browser
        .post_form(
            "/compte/effacer",
            &[
                ("csrf", &page.csrf()),
                ("passphrase", PASSPHRASE),
                ("confirm", "oui"),
            ],
        )
        .await;
    assert_eq!(erased.status, StatusCode::SEE_OTHER, "{}", erased.body);
    let store = site.engine().store();
    let erasure = store
        .by_author(&member.public_key(), 16)
        .unwrap()
        .into_iter()
        .filter_map(|id| store.get(&id).unwrap())
        .map(|wire| crate::store::index::decode_stored(&wire).unwrap())
        .find(|r| matches!(r.body(), Some(Body::Erasure(_))))
        .expect("the erasure is stored");
    assert_eq!(erasure.header().refs.len(), 1, "it names the rotation");
    let held =
        crate::store::index::decode_stored(&store.get(&listing.id()).unwrap().unwrap()).unwrap();
    assert!(held.body().is_none(), "the earlier key's listing is erased");
}

/// A transaction opened by a key that was not in good standing when it signed (here a
/// candidate's, as a key retired by a recovery would be) has no effect: the seller does not
/// see it, and it is not due (docs/PROTOCOL.md 9.2).
#[tokio::test]
async fn a_transaction_without_effect_is_not_shown_to_the_seller() {
    use maillon_protocol::kinds::TransactionOpen;
    let site = Site::start(&["founder-1"]).await;
    let net = super::network();
    let t = site.now();
    let listing = net
        .signer
        .listing(&super::secret("founder-1"), "Vélo de course", t);
    site.submit(&listing).await;
    let opener = maillon_protocol::testkit::key("web-candidate-opener");
    let open = net.signer.sign(
        &opener,
        TransactionOpen {
            listing: listing.id(),
            message: "Je le prends".into(),
        },
        t.plus_ms(1),
        None,
    );
    for record in [net.signer.join(&opener, t), open.clone()] {
        site.engine()
            .submit_wire(&record.to_wire(), crate::engine::Origin::Fetched)
            .await
            .expect("valid, though without effect");
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut seller = site.signed_in("founder-1").await;
    let mine = seller.get("/transactions").await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(!mine.body.contains("Je le prends"), "{}", mine.body);
    let one = seller
        .get(&format!("/transaction/{}", open.id().to_hex()))
        .await;
    assert_eq!(one.status, StatusCode::NOT_FOUND);
}
