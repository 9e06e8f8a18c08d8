//! Sponsoring from any site: the menu entry, the message a candidate sends, and a visitor of
//! another site sent to their own site with the code filled in.

use axum::http::StatusCode;
use maillon_protocol::testkit;
use maillon_protocol::Record;

use super::journey::join;
use super::{network, secret, Browser, Site, NODE_KEY_LABEL, PASSPHRASE};

/// An announcement of another node, vouched for by founder-2, naming `website`.
fn other_site(website: &str) -> Record {
    let net = network();
    let site = maillon_protocol::kinds::SiteAddress::from_url(website).expect("a website");
    net.signer.announce_node_with(
        &testkit::key("another-site"),
        &secret("founder-2"),
        "Paroisse Saint-Jean",
        vec!["/ip4/192.0.2.1/tcp/4001".into(), site.address()],
        net.now,
    )
}

/// The candidate's code (from their page) and key (where the code leads).
async fn code_and_key(candidate: &mut Browser) -> (String, String) {
    let page = candidate.get("/candidature").await;
    let start = page.body.find("id=\"code\">").expect("code shown") + "id=\"code\">".len();
    let code = page.body[start..start + 9].to_string();
    let found = candidate.get(&format!("/parrainer?code={code}")).await;
    let location = found.location.expect("the code leads to the page");
    let key = location
        .strip_prefix("/parrainage/")
        .expect("a sponsorship page")
        .to_string();
    (code, key)
}

#[tokio::test]
async fn a_visitor_from_another_site_is_sent_to_their_own_site_with_the_code() {
    let site = Site::start(&["founder-1", "founder-2"]).await;
    let mut candidate = join(&site, "jeanne").await;
    let (code, key) = code_and_key(&mut candidate).await;
    let page = format!("/parrainage/{key}");

    let mut visitor = site.visitor();
    let before = visitor.get(&page).await;
    assert_eq!(before.status, StatusCode::OK);
    assert!(
        !before.body.contains("Inscrit sur un autre site"),
        "no other site publishes a website yet: {}",
        before.body
    );
    site.submit(&other_site("https://saint-jean.example")).await;

    let shown = visitor.get(&page).await;
    let there = format!("href=\"https://saint-jean.example/parrainer?code={code}\"");
    assert!(shown.body.contains("Inscrit sur un autre site du réseau ?"));
    assert!(shown.body.contains(&there), "{}", shown.body);
    assert!(shown.body.contains("Paroisse Saint-Jean"));
    let here = format!("href=\"/connexion?suite=/parrainage/{key}\"");
    assert!(shown.body.contains(&here), "{}", shown.body);

    let mut member = site.signed_in("founder-1").await;
    let signed_in = member.get(&page).await;
    assert!(signed_in.body.contains("Signer le parrainage"));
    assert!(
        !signed_in.body.contains(&there),
        "a member signed in here sponsors here"
    );
}

#[tokio::test]
async fn signing_in_returns_to_the_page_asked_for_and_never_to_another_site() {
    let site = Site::start(&["founder-1"]).await;
    site.submit(&other_site("https://saint-jean.example")).await;
    let sign_in = |suite: &'static str, passphrase: &'static str| {
        let mut browser = site.visitor();
        async move {
            let form = browser.get(&format!("/connexion?suite={suite}")).await;
            let csrf = form.csrf();
            let fields = [
                ("csrf", csrf.as_str()),
                ("login", "founder-1"),
                ("passphrase", passphrase),
                ("suite", suite),
            ];
            (form, browser.post_form("/connexion", &fields).await)
        }
    };
    let (form, back) = sign_in("/parrainage/abcd", PASSPHRASE).await;
    assert!(
        form.body
            .contains("name=\"suite\" value=\"/parrainage/abcd\""),
        "{}",
        form.body
    );
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(back.location.as_deref(), Some("/parrainage/abcd"));

    for elsewhere in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let (form, back) = sign_in(elsewhere, PASSPHRASE).await;
        assert!(!form.body.contains("evil.example"), "{}", form.body);
        assert_eq!(back.location.as_deref(), Some("/"), "{elsewhere}");
    }

    let (_, failed) = sign_in("/", "pas la bonne phrase").await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    assert!(failed
        .body
        .contains("Identifiant ou phrase de passe incorrect."));
    assert!(
        failed
            .body
            .contains("href=\"https://saint-jean.example/connexion\""),
        "a failed sign-in names the other sites: {}",
        failed.body
    );
}

#[tokio::test]
async fn the_candidacy_page_gives_the_message_to_send_with_this_sites_link() {
    let site = Site::start(&["founder-1"]).await;
    let mut candidate = join(&site, "jeanne").await;
    let page = candidate.get("/candidature").await;
    assert!(page.body.contains("0 parrainage sur 3"), "{}", page.body);
    assert!(
        !page.body.contains("parrainage(s)"),
        "the progress is said once, in words"
    );
    let (code, _) = code_and_key(&mut candidate).await;
    // No website announced for this node: the address the browser used.
    let link = format!("http://localhost/parrainer?code={code}");
    assert!(
        page.body.contains(&format!("value=\"{link}\"")),
        "{}",
        page.body
    );
    assert!(page.body.contains("data-share=\"message-parrainage\""));
    assert!(
        page.body.contains("je demande à rejoindre"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!("tapez mon code : {code}")));

    // Once the node announces its website, the link names it.
    let net = network();
    let node = testkit::key(NODE_KEY_LABEL);
    let website = maillon_protocol::kinds::SiteAddress::from_url("https://valence.example")
        .expect("a website");
    let announced = net.signer.announce_node_with(
        &node,
        &secret("founder-1"),
        "Maillon Test",
        vec![website.address()],
        site.now(),
    );
    site.submit(&announced).await;
    let page = candidate.get("/candidature").await;
    let link = format!("https://valence.example/parrainer?code={code}");
    assert!(
        page.body.contains(&format!("value=\"{link}\"")),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn members_find_sponsoring_in_the_menu_and_candidates_do_not() {
    let site = Site::start(&["founder-1"]).await;
    let mut member = site.signed_in("founder-1").await;
    let home = member.get("/").await;
    assert!(home.body.contains("<a href=\"/parrainer\">Parrainer</a>"));
    let mut candidate = join(&site, "jeanne").await;
    let page = candidate.get("/candidature").await;
    assert!(!page.body.contains("<a href=\"/parrainer\">Parrainer</a>"));
    let form = member.get("/parrainer").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<title>Parrainer ·"), "{}", form.body);
}
