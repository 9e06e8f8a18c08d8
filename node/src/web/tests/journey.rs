//! The member's journey through the site's routes.

use axum::http::StatusCode;

use super::{key_of, png, Site};

/// GETs `path` with `If-None-Match: tag`; the status and the answer's `ETag`.
async fn revalidate(browser: &super::Browser, path: &str, tag: &str) -> (StatusCode, String) {
    use tower::ServiceExt;
    let request = axum::http::Request::get(path)
        .header(axum::http::header::IF_NONE_MATCH, tag)
        .body(axum::body::Body::empty())
        .expect("request");
    let response = browser
        .router_clone()
        .oneshot(request)
        .await
        .expect("infallible");
    let etag = response
        .headers()
        .get(axum::http::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (response.status(), etag)
}

pub(super) async fn join(site: &Site, login: &str) -> super::Browser {
    let mut browser = site.visitor();
    let form = browser.get("/inscription").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("Rejoindre le réseau"));
    let csrf = form.csrf();
    let done = browser
        .post_form(
            "/inscription",
            &[
                ("csrf", &csrf),
                ("name", "Jeanne Martin"),
                ("place", "26000 Valence"),
                ("login", login),
                ("passphrase", "ma phrase secrète"),
                ("confirm", "ma phrase secrète"),
                ("accept", "oui"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/candidature"));
    browser
}

#[tokio::test]
async fn a_candidate_joins_is_sponsored_by_three_members_and_becomes_a_member() {
    let site = Site::start(&["founder-1", "founder-2", "founder-3"]).await;
    let mut candidate = join(&site, "jeanne").await;
    let page = candidate.get("/candidature").await;
    assert!(page.body.contains("0 parrainage sur 3"), "{}", page.body);
    let code_start = page.body.find("id=\"code\">").expect("code shown") + "id=\"code\">".len();
    let code = page.body[code_start..code_start + 9].to_string();

    // A sponsor types the code and lands on the candidate's sponsorship page.
    let mut sponsor = site.signed_in("founder-1").await;
    let found = sponsor
        .get(&format!("/parrainer?code={}", code.to_lowercase()))
        .await;
    assert_eq!(found.status, StatusCode::SEE_OTHER);
    let link = found.location.expect("redirect to the sponsorship page");
    for (index, label) in ["founder-1", "founder-2", "founder-3"].iter().enumerate() {
        let mut sponsor = site.signed_in(label).await;
        let form = sponsor.get(&link).await;
        assert!(
            form.body.contains("Jeanne Martin demande à rejoindre"),
            "{}",
            form.body
        );
        let signed = sponsor
            .post_form(
                &link,
                &[
                    ("csrf", &form.csrf()),
                    ("relation", "1"),
                    ("know", "oui"),
                    ("note", "Voisine depuis 10 ans"),
                ],
            )
            .await;
        assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
        assert!(signed.body.contains("Votre parrainage est signé"));
        let progress = candidate.get("/candidature").await;
        if index < 2 {
            let said = ["1 parrainage sur 3", "2 parrainages sur 3"][index];
            assert!(progress.body.contains(said), "{}", progress.body);
        } else {
            assert!(
                progress.body.contains("Vous êtes membre"),
                "{}",
                progress.body
            );
        }
    }
    // Sponsoring twice is refused by the page.
    let mut again = site.signed_in("founder-1").await;
    let page = again.get(&link).await;
    assert!(page.body.contains("déjà parrainé"));
    // The new member may now publish.
    let form = candidate.get("/publier").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
}

/// A join record can reach a site before the candidate's profile (two records, gossiped
/// apart): the code then says the application is still arriving, and leads to the form once
/// the profile is there.
#[tokio::test]
async fn a_code_whose_profile_has_not_arrived_says_so_then_leads_to_the_form() {
    let site = Site::start(&["founder-1"]).await;
    let signer = &super::network().signer;
    let candidate = maillon_protocol::testkit::key("late-profile");
    site.submit(&signer.join(&candidate, site.now())).await;
    let code = maillon_web_ui::keys::sponsor_code(&candidate.public_key());
    let mut sponsor = site.signed_in("founder-1").await;
    let early = sponsor.get(&format!("/parrainer?code={code}")).await;
    assert_eq!(early.status, StatusCode::NOT_FOUND);
    assert!(early.body.contains("pas encore complète"), "{}", early.body);
    let node = maillon_protocol::testkit::key(super::NODE_KEY_LABEL).public_key();
    site.submit(&signer.profile(&candidate, "Léa Tardy", node, site.now()))
        .await;
    let found = sponsor.get(&format!("/parrainer?code={code}")).await;
    assert_eq!(found.status, StatusCode::SEE_OTHER, "{}", found.body);
    let form = sponsor.get(&found.location.expect("a redirect")).await;
    assert!(form.body.contains("Léa Tardy"), "{}", form.body);
}

#[tokio::test]
async fn a_member_publishes_edits_and_withdraws_a_listing_with_a_photo() {
    let site = Site::start(&["founder-1"]).await;
    let mut author = site.signed_in("founder-1").await;
    let form = author.get("/publier").await;
    let csrf = form.csrf();
    let created = author
        .post_multipart(
            "/publier",
            &[
                ("csrf", &csrf),
                ("sens", "offre"),
                ("title", "Armoire ancienne en chêne"),
                ("category", "30"),
                ("description", "Belle armoire, à démonter."),
                ("price", "120,50"),
                ("place", "44000"),
            ],
            &[("photos", png(640, 480))],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let link = created.published_listing();
    let page = author.get(&link).await;
    assert!(page.body.contains("Armoire ancienne en chêne"));
    assert!(page.body.contains("120,50 €"));
    assert!(page.body.contains("Nantes"));
    // The photo is stored re-encoded as JPEG, kept by the browser only with a check.
    let photo_start = page.body.find("href=\"/photo/").expect("photo link") + "href=\"".len();
    let photo = page.body[photo_start..]
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let served = author.get(&photo).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.content_type, "image/jpeg");
    assert_eq!(served.cache_control, "private, no-cache");
    assert_eq!(&served.bytes[..2], &[0xFF, 0xD8]);
    let thumb = author.get(&format!("{photo}/mini")).await;
    assert_eq!(thumb.status, StatusCode::OK);
    assert_eq!(thumb.cache_control, "private, no-cache");
    assert!(thumb.bytes.len() < served.bytes.len());
    for path in [photo.clone(), format!("{photo}/mini")] {
        let (status, etag) = revalidate(&author, &path, "\"autre\"").await;
        assert_eq!(status, StatusCode::OK, "another tag gets the photo");
        let (status, _) = revalidate(&author, &path, &etag).await;
        assert_eq!(
            status,
            StatusCode::NOT_MODIFIED,
            "{path}: the browser's copy is confirmed"
        );
    }

    // French search with stemming and accent folding finds it near Nantes.
    let mut visitor = site.visitor();
    site.wait_for_search(
        &mut visitor,
        "q=armoires+chene&pres=44400&rayon=20",
        "Armoire ancienne en chêne",
    )
    .await;
    let far = visitor
        .get("/recherche?q=armoire+chene&pres=69001&rayon=20")
        .await;
    assert!(!far.body.contains("Armoire ancienne en chêne"));

    // Edit: a new version replaces the old one.
    let edit_link = format!("{link}/modifier");
    let form = author.get(&edit_link).await;
    assert!(form.body.contains("Armoire ancienne en chêne"));
    let edited = author
        .post_multipart(
            &edit_link,
            &[
                ("csrf", &form.csrf()),
                ("sens", "offre"),
                ("title", "Armoire en chêne massif"),
                ("category", "30"),
                ("price", "100"),
                ("place", "44000"),
            ],
            &[],
        )
        .await;
    assert_eq!(edited.published_listing(), link);
    let page = author.get(&link).await;
    assert!(page.body.contains("Armoire en chêne massif"));
    assert!(!page.body.contains("/photo/"), "the unticked photo is gone");

    // Withdraw.
    let withdrawn = author
        .post_form(&format!("{link}/retirer"), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(withdrawn.status, StatusCode::SEE_OTHER);
    let gone = site.visitor().get(&link).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_transaction_is_opened_answered_and_closed_with_reviews() {
    let site = Site::start(&["founder-1", "founder-2"]).await;
    let mut author = site.signed_in("founder-1").await;
    let created = author
        .publish("Garde d'enfants le mercredi", "20", &[])
        .await;
    let link = created.published_listing();
    let own = author.get(&link).await;
    assert!(
        !own.body.contains("Aucun chemin de confiance"),
        "no trust path to oneself: {}",
        own.body
    );

    let mut buyer = site.signed_in("founder-2").await;
    let page = buyer.get(&link).await;
    assert!(
        page.body.contains("class=\"path\""),
        "the trust path is shown: {}",
        page.body
    );
    assert!(page.body.contains("vous →"));
    assert!(page.body.contains("Vous êtes reliés "), "{}", page.body);
    assert!(!page.body.contains("(s)"), "plain words: {}", page.body);
    let opened = buyer
        .post_form(
            &format!("{link}/transaction"),
            &[
                ("csrf", &page.csrf()),
                ("message", "Bonjour, est-ce toujours possible ?"),
            ],
        )
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
    let transaction = opened.location.expect("transaction link");

    // The author is notified and has a deadline.
    let notes = author.get("/notifications").await;
    assert!(
        notes.body.contains("a ouvert une transaction"),
        "{}",
        notes.body
    );
    let mine = author.get("/transactions").await;
    assert!(mine.body.contains("à répondre avant le"));
    let page = author.get(&transaction).await;
    assert!(page.body.contains("Bonjour, est-ce toujours possible ?"));
    let answered = author
        .post_form(
            &format!("{transaction}/message"),
            &[("csrf", &page.csrf()), ("message", "Oui, avec plaisir.")],
        )
        .await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER);
    let notes = buyer.get("/notifications").await;
    assert!(notes.body.contains("a répondu"), "{}", notes.body);

    for (browser, review) in [
        (&mut buyer, "Très bon contact"),
        (&mut author, "Acheteuse ponctuelle"),
    ] {
        let page = browser.get(&transaction).await;
        let closed = browser
            .post_form(
                &format!("{transaction}/cloturer"),
                &[
                    ("csrf", &page.csrf()),
                    ("outcome", "conclue"),
                    ("rating", "5"),
                    ("review", review),
                ],
            )
            .await;
        assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.body);
    }
    let profile = site
        .visitor()
        .get(&format!("/membre/{}", key_of("founder-1").to_hex()))
        .await;
    assert!(
        profile.body.contains("Très bon contact"),
        "{}",
        profile.body
    );
    assert!(profile
        .body
        .contains("A répondu dans les délais à 1 transaction sur 1."));
    // The listing's page (one read of the node) shows the same, with the reviewer named.
    let listing = site.visitor().get(&link).await;
    assert!(
        listing
            .body
            .contains("★★★★★</span> « Très bon contact » — Membre sans profil"),
        "{}",
        listing.body
    );
    assert!(listing
        .body
        .contains("A répondu dans les délais à 1 transaction sur 1."));
}

#[tokio::test]
async fn saved_searches_notify_new_matches() {
    let site = Site::start(&["founder-1", "founder-2"]).await;
    let mut watcher = site.signed_in("founder-2").await;
    let search = watcher.get("/recherche?q=velo").await;
    let saved = watcher
        .post_form(
            "/recherches",
            &[("csrf", &search.csrf()), ("query", "q=velo")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let mut author = site.signed_in("founder-1").await;
    author.publish("Vélo de ville", "32", &[]).await;
    for _ in 0..100 {
        let notes = watcher.get("/notifications").await;
        if notes.body.contains("nouvelle annonce pour votre recherche") {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the saved search never notified");
}

/// After a key change (a rotation here; a recovery binds keys the same way), the member's
/// profile shows what the old key published.
#[tokio::test]
async fn after_a_key_change_the_profile_shows_the_old_keys_listings() {
    let site = Site::start(&["founder-1"]).await;
    let mut member = site.signed_in("founder-1").await;
    let created = member.publish("Table de ferme en noyer", "30", &[]).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let new_key = maillon_protocol::testkit::key("founder-1-nouvelle-cle");
    let rotation =
        super::network()
            .signer
            .rotate(&super::secret("founder-1"), &new_key, site.now());
    site.submit(&rotation).await;
    let profile = site
        .visitor()
        .get(&format!("/membre/{}", new_key.public_key().to_hex()))
        .await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.body);
    assert!(
        profile.body.contains("Table de ferme en noyer"),
        "{}",
        profile.body
    );
}
