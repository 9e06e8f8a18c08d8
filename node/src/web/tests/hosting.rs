//! Inviting another association's node from the operator page, and "Héberger un site": a
//! member vouches for a new node with their passphrase.

use axum::http::StatusCode;
use maillon_protocol::invitation::SignedInvitation;
use maillon_protocol::kinds::{node_operator_message, NodeAnnouncement};
use maillon_protocol::signature::verify;
use maillon_protocol::testkit::{self, Signer};
use maillon_web_ui::page::{fingerprint, parse_signature_code};

use super::{key_of, network, secret, Browser, Page, Site, NODE_KEY_LABEL, PASSPHRASE};
use crate::network::gating::peer_id_of;

/// The text of the page's `<textarea id="…">`, unescaped enough for codes.
fn textarea(page: &Page, id: &str) -> String {
    let marker = format!("<textarea id=\"{id}\"");
    let start = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no textarea {id} in {}", page.body));
    let open = start + page.body[start..].find('>').expect("tag end") + 1;
    let close = open + page.body[open..].find("</textarea>").expect("closed");
    page.body[open..close].to_string()
}

/// A site whose node is announced with founder-1 as its operator.
async fn announced_site() -> Site {
    let site = Site::start(&["founder-1", "founder-2"]).await;
    let signer = Signer::new(network().signer.charter.clone());
    let this = testkit::key(NODE_KEY_LABEL);
    site.submit(&signer.announce_node(&this, &secret("founder-1"), "Nœud de test", site.now()))
        .await;
    site
}

async fn post_invitation(browser: &mut Browser, addresses: &str, days: &str, action: &str) -> Page {
    let csrf = browser.get("/operateur").await.csrf();
    browser
        .post_form(
            "/operateur/invitation",
            &[
                ("csrf", &csrf),
                ("addresses", addresses),
                ("days", days),
                ("action", action),
            ],
        )
        .await
}

#[tokio::test]
async fn the_operator_creates_an_invitation_that_a_new_node_can_read() {
    let site = announced_site().await;
    let node = testkit::key(NODE_KEY_LABEL).public_key();
    let peer = peer_id_of(&node).expect("peer id");
    let mut operator = site.signed_in("founder-1").await;
    let page = operator.get("/operateur").await;
    assert!(
        page.body.contains("Inviter une association"),
        "{}",
        page.body
    );
    let title = page.body.split("<title>").nth(1).unwrap_or("");
    let title = title.split("</title>").next().unwrap_or("");
    assert!(!title.contains('<'), "the title holds only text: {title}");
    assert_eq!(page.body.matches("id=\"inviter\"").count(), 1);

    let shown = post_invitation(
        &mut operator,
        "/ip4/192.0.2.7/tcp/4001\n/dns4/noeud.paroisse.fr/tcp/4001",
        "7",
        "afficher",
    )
    .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    let code = textarea(&shown, "code");
    let read = SignedInvitation::from_text(&code, site.now()).expect("a valid invitation");
    let invitation = read.invitation();
    assert_eq!(invitation.network(), network().signer.network);
    assert_eq!(invitation.inviter_key(), node);
    assert_eq!(
        invitation.addresses,
        vec![
            format!("/ip4/192.0.2.7/tcp/4001/p2p/{peer}"),
            format!("/dns4/noeud.paroisse.fr/tcp/4001/p2p/{peer}"),
        ]
    );
    let days = (invitation.expires.0 - invitation.created.0) / maillon_protocol::Timestamp::DAY_MS;
    assert_eq!(days, 7);

    let file = post_invitation(&mut operator, "/ip4/192.0.2.7/tcp/4001", "2", "telecharger").await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(file.content_type.starts_with("text/plain"));
    let from_file = SignedInvitation::from_text(&file.body, site.now()).expect("the file reads");
    assert_eq!(from_file.invitation().addresses.len(), 1);
}

#[tokio::test]
async fn bad_invitation_forms_are_refused_in_french_and_strangers_cannot_invite() {
    let site = announced_site().await;
    let mut operator = site.signed_in("founder-1").await;
    let unspecified =
        post_invitation(&mut operator, "/ip4/0.0.0.0/tcp/4001", "7", "afficher").await;
    assert_eq!(unspecified.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unspecified.body.contains("Adresse illisible"),
        "{}",
        unspecified.body
    );
    assert!(!unspecified.body.contains("MAILLON1"));
    let other = peer_id_of(&testkit::key("ailleurs").public_key()).expect("peer");
    let foreign = format!("/ip4/192.0.2.7/tcp/4001/p2p/{other}");
    let foreign = post_invitation(&mut operator, &foreign, "7", "afficher").await;
    assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY);
    let long = post_invitation(&mut operator, "/ip4/192.0.2.7/tcp/4001", "31", "afficher").await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(long.body.contains("de 1 à 30"), "{}", long.body);
    assert!(
        long.body.contains("/ip4/192.0.2.7/tcp/4001"),
        "what was typed is kept"
    );
    let empty = post_invitation(&mut operator, "  \n ", "7", "afficher").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);

    let mut stranger = site.signed_in("founder-2").await;
    let csrf = stranger.get("/compte").await.csrf();
    let refused = stranger
        .post_form(
            "/operateur/invitation",
            &[
                ("csrf", &csrf),
                ("addresses", "/ip4/192.0.2.7/tcp/4001"),
                ("days", "7"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

async fn sign_for(browser: &mut Browser, node: &str, passphrase: &str) -> Page {
    let csrf = browser.get("/compte").await.csrf();
    browser
        .post_form(
            "/heberger",
            &[("csrf", &csrf), ("noeud", node), ("passphrase", passphrase)],
        )
        .await
}

#[tokio::test]
async fn a_member_vouches_for_a_new_node_which_then_becomes_announced() {
    let site = Site::start(&["founder-1", "member-1"]).await;
    let new_node = testkit::key("new-association-node");
    let hex = new_node.public_key().to_hex();
    let mut member = site.signed_in("member-1").await;
    assert!(member.get("/").await.body.contains("href=\"/heberger\""));
    let check = member.get(&format!("/heberger?noeud={hex}")).await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.body);
    assert!(check.body.contains(&fingerprint(&new_node.public_key())));

    let wrong = sign_for(&mut member, &hex, "pas la bonne phrase").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.body.contains("Phrase de passe incorrecte"),
        "{}",
        wrong.body
    );
    assert!(!wrong.body.contains("id=\"code\""));

    let unreadable = sign_for(&mut member, "1234", PASSPHRASE).await;
    assert_eq!(unreadable.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unreadable.body.contains("Clé de nœud illisible"));
    let own_key = key_of("founder-1").to_hex();
    let a_member = sign_for(&mut member, &own_key, PASSPHRASE).await;
    assert_eq!(a_member.status, StatusCode::UNPROCESSABLE_ENTITY);

    let signed = sign_for(&mut member, &hex, PASSPHRASE).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    let (operator, signature) =
        parse_signature_code(&textarea(&signed, "code")).expect("a signature code");
    assert_eq!(operator, key_of("member-1"));
    let network_id = network().signer.network;
    let statement = node_operator_message(&network_id, &new_node.public_key());
    verify(&operator, &statement, &signature).expect("the vouch verifies");

    // The new node signs its announcement around the vouch: it is then an announced node.
    let body = NodeAnnouncement {
        name: "Association de Lyon".into(),
        region: String::new(),
        postcode: "69001".into(),
        addresses: vec![],
        operator,
        operator_signature: signature,
    };
    let signer = Signer::new(network().signer.charter.clone());
    site.submit(&signer.sign(&new_node, body, site.now(), None))
        .await;
    let index = site.engine().index();
    let announced = index.announced_nodes().get(&new_node.public_key()).cloned();
    assert_eq!(announced.map(|a| a.operator), Some(key_of("member-1")));
}

#[tokio::test]
async fn candidates_cannot_vouch_for_a_node() {
    let site = Site::start(&["founder-1"]).await;
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
    assert!(!candidate.get("/").await.body.contains("href=\"/heberger\""));
    let hex = testkit::key("new-association-node").public_key().to_hex();
    let page = candidate.get(&format!("/heberger?noeud={hex}")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Seuls les membres"), "{}", page.body);
    let csrf = candidate.get("/compte").await.csrf();
    let refused = candidate
        .post_form(
            "/heberger",
            &[
                ("csrf", &csrf),
                ("noeud", &hex),
                ("passphrase", "une longue phrase"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.body.contains("id=\"code\""));
}

/// The `value` of the page's `<input id="…">`.
fn input_value(page: &Page, id: &str) -> String {
    let marker = format!("<input id=\"{id}\" readonly value=\"");
    let start = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no input {id} in {}", page.body))
        + marker.len();
    let end = start + page.body[start..].find('"').expect("value end");
    page.body[start..end].to_string()
}

/// Reads an invitation argument as `init join` does, off the async runtime.
async fn read_argument(
    argument: String,
    now: maillon_protocol::Timestamp,
) -> Result<SignedInvitation, crate::invitation::InvitationFailure> {
    tokio::task::spawn_blocking(move || crate::invitation::read(&argument, now))
        .await
        .expect("the read ran")
}

#[tokio::test]
async fn an_invitation_is_served_at_its_link_and_read_only_if_it_matches_its_short_code() {
    use crate::invitation::InvitationFailure;
    use maillon_protocol::invitation::InvitationError;

    let site = announced_site().await;
    let mut operator = site.signed_in("founder-1").await;
    let shown = post_invitation(&mut operator, "/ip4/192.0.2.7/tcp/4001", "7", "afficher").await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    let made = SignedInvitation::from_text(&textarea(&shown, "code"), site.now()).expect("valid");
    let short_code = made.short_code().to_string();
    assert!(shown.body.contains(&short_code), "{}", shown.body);
    let link = input_value(&shown, "lien");
    assert!(
        link.ends_with(&format!("/invitation/{short_code}")),
        "{link}"
    );

    // Served over HTTP, the way `init join --invitation LINK` fetches it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = site.visitor().router_clone();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let now = site.now();
    let fetched = read_argument(format!("{base}/invitation/{short_code}"), now).await;
    assert_eq!(fetched.expect("the link reads"), made);
    let lower = short_code.to_lowercase().replace('-', "");
    let typed = read_argument(format!("  {base}/invitation/{lower}/ "), now).await;
    assert_eq!(typed.expect("case and dashes do not matter"), made);

    // A code the site never made, a link without a code, a site that is down.
    let unknown = maillon_protocol::invitation::ShortCode::of_bytes(b"autre chose");
    let missing = read_argument(format!("{base}/invitation/{unknown}"), now).await;
    assert!(
        matches!(missing, Err(InvitationFailure::LinkNotFound(_))),
        "{missing:?}"
    );
    let bad = read_argument(format!("{base}/operateur"), now).await;
    assert!(matches!(bad, Err(InvitationFailure::BadLink(_))), "{bad:?}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!(
        "http://{}/invitation/{short_code}",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let down = read_argument(down, now).await;
    assert!(
        matches!(down, Err(InvitationFailure::LinkUnreachable { .. })),
        "{down:?}"
    );

    // A site that serves another invitation under the code is caught.
    let second = post_invitation(&mut operator, "/ip4/192.0.2.8/tcp/4001", "3", "afficher").await;
    let other = textarea(&second, "code");
    std::fs::write(
        site.dir
            .path()
            .join(format!("invitations/{short_code}.txt")),
        &other,
    )
    .unwrap();
    let swapped = read_argument(format!("{base}/invitation/{short_code}"), now).await;
    assert!(
        matches!(
            swapped,
            Err(InvitationFailure::Invalid(InvitationError::CodeMismatch))
        ),
        "{swapped:?}"
    );
    let page = site.visitor().get(&format!("/invitation/{unknown}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    server.abort();
}
