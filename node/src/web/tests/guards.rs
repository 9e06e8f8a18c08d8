//! Bad input, injection, CSRF, access control, rate limiting and languages.

use axum::http::StatusCode;

use super::{key_of, Site};

#[tokio::test]
async fn every_page_renders_in_french_and_english() {
    let site = Site::start(&["founder-1"]).await;
    let mut visitor = site.visitor();
    for uri in [
        "/",
        "/recherche",
        "/charte",
        "/inscription",
        "/connexion",
        "/parrainer",
    ] {
        let page = visitor.get(uri).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}");
        assert!(page.body.contains("<html lang=\"fr\">"), "{uri}");
        assert!(page.content_type.starts_with("text/html"));
    }
    let switched = visitor.get("/langue/en").await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    visitor.lang = Some("en");
    let page = visitor.get("/recherche").await;
    assert!(page.body.contains("<html lang=\"en\">"));
    assert!(page.body.contains("Search the whole network"));
    let mut member = site.signed_in("founder-1").await;
    for uri in [
        "/compte",
        "/transactions",
        "/notifications",
        "/publier",
        "/candidature",
        "/signalements",
        "/moderation/journal",
    ] {
        assert_eq!(member.get(uri).await.status, StatusCode::OK, "{uri}");
    }
    let profile = member
        .get(&format!("/membre/{}", key_of("founder-1").to_hex()))
        .await;
    assert_eq!(profile.status, StatusCode::OK);
}

#[tokio::test]
async fn pages_for_members_send_visitors_to_sign_in() {
    let site = Site::start(&[]).await;
    let mut visitor = site.visitor();
    for uri in [
        "/compte",
        "/transactions",
        "/notifications",
        "/publier",
        "/candidature",
        "/signalements",
        "/signaler",
        "/moderation",
        "/moderation/journal",
    ] {
        let page = visitor.get(uri).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{uri}");
        assert_eq!(page.location.as_deref(), Some("/connexion"));
    }
    assert_eq!(
        visitor.get("/membre/zz").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        visitor
            .get(&format!("/annonce/{}", "00".repeat(32)))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        visitor.get("/photo/nothex").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused() {
    let site = Site::start(&["founder-1"]).await;
    let mut visitor = site.visitor();
    visitor.get("/connexion").await;
    let refused = visitor
        .post_form(
            "/connexion",
            &[
                ("csrf", "forged"),
                ("login", "founder-1"),
                ("passphrase", super::PASSPHRASE),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let mut member = site.signed_in("founder-1").await;
    let refused = member
        .post_form(
            "/compte/phrase",
            &[
                ("current", super::PASSPHRASE),
                ("new", "nouvelle phrase longue"),
                ("confirm", "nouvelle phrase longue"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // The passphrase did not change.
    site.signed_in("founder-1").await;
}

#[tokio::test]
async fn bad_join_input_gets_messages_by_the_fields_and_creates_nothing() {
    let site = Site::start(&[]).await;
    let mut visitor = site.visitor();
    let csrf = visitor.get("/inscription").await.csrf();
    let page = visitor
        .post_form(
            "/inscription",
            &[
                ("csrf", &csrf),
                ("name", "<script>alert(1)</script>"),
                ("place", "00000"),
                ("login", "A"),
                ("passphrase", "court"),
                ("confirm", "autre"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("Nous ne connaissons pas « 00000 »"));
    assert!(page.body.contains("Choisissez un identifiant"));
    assert!(page.body.contains("au moins 10 caractères"));
    assert!(page.body.contains("accepter sa charte"));
    assert!(
        !page.body.contains("<script>alert(1)</script>"),
        "typed text is escaped"
    );
    assert!(page.body.contains("&#60;script&#62;") || page.body.contains("&lt;script&gt;"));
    assert!(
        std::fs::read_dir(site.dir.path().join("accounts"))
            .unwrap()
            .next()
            .is_none(),
        "no account was written"
    );
}

#[tokio::test]
async fn typed_html_is_escaped_everywhere_it_is_shown() {
    let site = Site::start(&["founder-1"]).await;
    let mut author = site.signed_in("founder-1").await;
    let form = author.get("/publier").await;
    let created = author
        .post_multipart(
            "/publier",
            &[
                ("csrf", &form.csrf()),
                ("title", "<img src=x onerror=alert(1)>"),
                ("description", "<script>document.cookie</script>"),
                ("category", "30"),
                ("place", "26000"),
            ],
            &[],
        )
        .await;
    let link = created.published_listing();
    let page = site.visitor().get(&link).await;
    assert!(!page.body.contains("<img src=x"));
    assert!(!page.body.contains("<script>document.cookie"));
    let search = site.visitor().get("/recherche?q=%3Cscript%3E").await;
    assert!(!search.body.contains("value=\"<script>"));
}

#[tokio::test]
async fn candidates_cannot_publish_and_members_cannot_edit_others_listings() {
    let site = Site::start(&["founder-1", "founder-2"]).await;
    let mut candidate = site.visitor();
    let csrf = candidate.get("/inscription").await.csrf();
    candidate
        .post_form(
            "/inscription",
            &[
                ("csrf", &csrf),
                ("name", "Paul Durand"),
                ("place", "69001"),
                ("login", "paul"),
                ("passphrase", "une longue phrase"),
                ("confirm", "une longue phrase"),
                ("accept", "oui"),
            ],
        )
        .await;
    assert_eq!(
        candidate.get("/publier").await.status,
        StatusCode::FORBIDDEN
    );
    // The menu offers a candidate their application, not publishing.
    let home = candidate.get("/").await;
    assert!(home.body.contains("href=\"/candidature\">Ma candidature"));
    assert!(!home.body.contains("href=\"/publier\""));
    let mut author = site.signed_in("founder-1").await;
    let form = author.get("/publier").await;
    assert!(author.get("/").await.body.contains("href=\"/publier\""));
    let created = author
        .post_multipart(
            "/publier",
            &[
                ("csrf", &form.csrf()),
                ("title", "Table basse"),
                ("category", "30"),
                ("place", "26000"),
            ],
            &[],
        )
        .await;
    let link = created.published_listing();
    let mut other = site.signed_in("founder-2").await;
    assert_eq!(
        other.get(&format!("{link}/modifier")).await.status,
        StatusCode::FORBIDDEN
    );
    let csrf = other.get("/compte").await.csrf();
    assert_eq!(
        other
            .post_form(&format!("{link}/retirer"), &[("csrf", &csrf)])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // A candidate cannot open a transaction either.
    let page = candidate.get(&link).await;
    assert!(page
        .body
        .contains("Seuls les membres peuvent ouvrir une transaction"));
}

#[tokio::test]
async fn bad_photos_get_a_clear_error_and_nothing_is_published() {
    let site = Site::start(&["founder-1"]).await;
    let mut author = site.signed_in("founder-1").await;
    let page = author
        .publish(
            "Chaise",
            "30",
            &[("photos", b"<svg onload=alert(1)>".to_vec())],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body
            .contains("Photo 1 : ce n&#39;est pas une photo JPEG, PNG ou WebP"),
        "{}",
        page.body
    );
    let mine = author
        .get(&format!("/membre/{}", key_of("founder-1").to_hex()))
        .await;
    assert!(!mine.body.contains(">Chaise<"));
}

#[tokio::test]
async fn sign_in_is_rate_limited_and_wrong_passphrases_are_refused() {
    let site = Site::start(&["founder-1"]).await;
    let mut visitor = site.visitor();
    for _ in 0..5 {
        let csrf = visitor.get("/connexion").await.csrf();
        let page = visitor
            .post_form(
                "/connexion",
                &[
                    ("csrf", &csrf),
                    ("login", "founder-1"),
                    ("passphrase", "mauvaise phrase"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page
            .body
            .contains("Identifiant ou phrase de passe incorrect"));
    }
    let csrf = visitor.get("/connexion").await.csrf();
    let page = visitor
        .post_form(
            "/connexion",
            &[
                ("csrf", &csrf),
                ("login", "founder-1"),
                ("passphrase", super::PASSPHRASE),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
}

/// Tries to sign in as `login` from the browser's address; the page answered.
async fn try_sign_in(browser: &mut super::Browser, login: &str, passphrase: &str) -> super::Page {
    let csrf = browser.get("/connexion").await.csrf();
    browser
        .post_form(
            "/connexion",
            &[
                ("csrf", &csrf),
                ("login", login),
                ("passphrase", passphrase),
            ],
        )
        .await
}

fn from(site: &Site, address: &str) -> super::Browser {
    let mut browser = site.visitor();
    browser.address = Some(format!("{address}:40000").parse().unwrap());
    browser
}

#[tokio::test]
async fn a_guesser_is_slowed_but_cannot_lock_the_member_out() {
    use maillon_web_ui::signin_limits::SPACING;
    let site = Site::start(&["founder-1"]).await;
    let mut guesser = from(&site, "203.0.113.66");
    for _ in 0..5 {
        let page = try_sign_in(&mut guesser, "founder-1", "mauvaise phrase").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    // The guesser's address is done with this login, even with the right passphrase.
    let page = try_sign_in(&mut guesser, "founder-1", super::PASSPHRASE).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    // The member, elsewhere, is only asked to wait a moment, then gets in.
    let mut member = from(&site, "198.51.100.7");
    let page = try_sign_in(&mut member, "founder-1", super::PASSPHRASE).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.body.contains("Patientez quelques secondes"),
        "{}",
        page.body
    );
    tokio::time::sleep(SPACING).await;
    let page = try_sign_in(&mut member, "founder-1", super::PASSPHRASE).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

#[tokio::test]
async fn one_address_gets_thirty_failures_whatever_the_logins() {
    let site = Site::start(&["founder-1"]).await;
    let mut guesser = from(&site, "203.0.113.99");
    // 4 tries on each of many logins, unknown ones included: 30 failures in all.
    for i in 0..30 {
        let login = format!("membre-{}", i / 4);
        let page = try_sign_in(&mut guesser, &login, "mauvaise phrase").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "try {i}");
    }
    let page = try_sign_in(&mut guesser, "founder-1", super::PASSPHRASE).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.body.contains("essais de connexion"), "{}", page.body);
    // Another address is not concerned.
    let mut member = from(&site, "198.51.100.8");
    let page = try_sign_in(&mut member, "founder-1", super::PASSPHRASE).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site() {
    let site = Site::start(&[]).await;
    let response = tower::ServiceExt::oneshot(
        site_router(&site),
        axum::http::Request::get("/")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    let cookie = response
        .headers()
        .get(axum::http::header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
}

fn site_router(site: &Site) -> axum::Router {
    site.visitor().router_clone()
}
