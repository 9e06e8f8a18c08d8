//! The council's appointments, the operator's node policies, and key recovery by sponsors.

use axum::http::StatusCode;
use maillon_protocol::kinds::AppointmentAction;
use maillon_protocol::testkit::Signer;

use super::{key_of, network, secret, Browser, Page, Site};
use crate::engine::standing::{NodePolicyRefusal, LIMITED_NODE_RECORDS_PER_DAY};
use crate::ingest::pipeline::IngestError;

/// Posts the proposal of `link` with these co-signature codes.
async fn publish_codes(browser: &mut Browser, link: &str, csrf: &str, codes: &str) -> Page {
    let query = link.split_once('?').expect("a query").1;
    let mut fields: Vec<(&str, &str)> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .collect();
    fields.push(("csrf", csrf));
    fields.push(("codes", codes));
    browser.post_form("/conseil/proposition", &fields).await
}

/// The text of the proposal page's own signature code.
fn my_code(page: &Page) -> String {
    let marker = "id=\"mon-code\" readonly>";
    let start = page.body.find(marker).expect("a signature code") + marker.len();
    let end = start + page.body[start..].find('<').expect("the code's end");
    page.body[start..end].trim().to_string()
}

#[tokio::test]
async fn the_council_appoints_a_moderator_with_two_signatures() {
    let site = Site::start(&["founder-1", "founder-2", "member-1"]).await;
    let mut proposer = site.signed_in("founder-1").await;
    let mut cosigner = site.signed_in("founder-2").await;
    let mut candidate = site.signed_in("member-1").await;
    assert_eq!(
        candidate.get("/conseil").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        candidate.get("/moderation").await.status,
        StatusCode::FORBIDDEN
    );

    let council = proposer.get("/conseil").await;
    assert!(council.body.contains("Aucun pour le moment"));
    let profile = format!("http://example.org/membre/{}", key_of("member-1").to_hex());
    let bad = proposer
        .post_form(
            "/conseil",
            &[
                ("csrf", &council.csrf()),
                ("membre", "personne"),
                ("action", "nommer"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let proposed = proposer
        .post_form(
            "/conseil",
            &[
                ("csrf", &council.csrf()),
                ("membre", &profile),
                ("action", "nommer"),
            ],
        )
        .await;
    let link = proposed.location.expect("the proposal's page");
    assert!(link.starts_with("/conseil/proposition?membre="));
    let page = proposer.get(&link).await;
    let code = my_code(&cosigner.get(&link).await);
    assert_ne!(code, my_code(&page), "each member signs with their own key");

    let csrf = page.csrf();
    let none = publish_codes(&mut proposer, &link, &csrf, "").await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        none.body.contains("Il faut 1 code d&#39;autres membres"),
        "{}",
        none.body
    );
    let garbage = publish_codes(&mut proposer, &link, &csrf, "abcdef").await;
    assert!(garbage.body.contains("Code illisible"));
    let statement = maillon_protocol::kinds::appointment_message(
        &network().signer.network,
        &key_of("member-1"),
        AppointmentAction::Appoint,
        maillon_protocol::Timestamp(0),
    );
    let outsider = format!(
        "{}{}",
        key_of("member-2").to_hex(),
        secret("member-2").sign(&statement).to_hex()
    );
    let refused = publish_codes(&mut proposer, &link, &csrf, &outsider).await;
    assert!(
        refused.body.contains("un autre membre du conseil"),
        "{}",
        refused.body
    );
    let wrong_statement = format!(
        "{}{}",
        key_of("founder-2").to_hex(),
        secret("founder-2").sign(&statement).to_hex()
    );
    let mismatch = publish_codes(&mut proposer, &link, &csrf, &wrong_statement).await;
    assert!(
        mismatch.body.contains("ne correspond pas"),
        "{}",
        mismatch.body
    );
    let done = publish_codes(&mut proposer, &link, &csrf, &code).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(proposer
        .get("/conseil")
        .await
        .body
        .contains(&format!("/membre/{}", key_of("member-1").to_hex())));
    assert_eq!(candidate.get("/moderation").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_operator_limits_or_suspends_another_node_with_a_reason() {
    let site = Site::start(&["founder-1", "founder-2"]).await;
    let signer = Signer::new(network().signer.charter.clone());
    let this = maillon_protocol::testkit::key(super::NODE_KEY_LABEL);
    let other = maillon_protocol::testkit::key("neighbour-node");
    let at = site.now();
    site.submit(&signer.announce_node(&this, &secret("founder-1"), "Nœud de test", at))
        .await;
    site.submit(&signer.announce_node(&other, &secret("founder-2"), "Nœud voisin", at))
        .await;
    let mut stranger = site.signed_in("founder-2").await;
    assert_eq!(
        stranger.get("/operateur").await.status,
        StatusCode::FORBIDDEN
    );
    let mut operator = site.signed_in("founder-1").await;
    let page = operator.get("/operateur").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Nœud voisin"));
    assert!(
        page.body.contains(&format!(
            "Logiciel : Maillon {} (commit ",
            env!("CARGO_PKG_VERSION")
        )) && page.body.contains(&format!(
            "protocol 1, store format {})",
            crate::store::FORMAT_VERSION
        )),
        "the operator sees the software's versions"
    );
    assert!(
        page.body.contains("jamais"),
        "never synced: no network in this test"
    );
    assert!(operator.get("/").await.body.contains("href=\"/operateur\""));
    let target = other.public_key().to_hex();
    let post = |level: &'static str, reason: &'static str, node: String| {
        let csrf = page.csrf();
        let mut browser = operator.clone();
        async move {
            browser
                .post_form(
                    "/operateur/politique",
                    &[
                        ("csrf", &csrf),
                        ("node", &node),
                        ("level", level),
                        ("reason", reason),
                    ],
                )
                .await
        }
    };
    let no_reason = post("suspendue", " ", target.clone()).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = post("suspendue", "Spam", key_of("member-1").to_hex()).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let done = post("suspendue", "Relaie des annonces frauduleuses.", target).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let shown = operator.get("/operateur").await;
    assert!(shown.body.contains("suspendue"));
    assert!(shown.body.contains("Relaie des annonces frauduleuses."));
    let policies = site.engine().index().node_policies_of(&this.public_key());
    assert_eq!(policies.len(), 1);
    assert_eq!(
        policies[0].level,
        maillon_protocol::kinds::PolicyLevel::Suspend
    );
    assert_eq!(policies[0].target, other.public_key());
    // The suspended node's new records are refused where they enter; reconciliation still
    // fetches them, so that sync agrees.
    let later = signer.announce_node(&other, &secret("founder-2"), "Nœud voisin 2", site.now());
    let refused = site
        .engine()
        .submit_wire(&later.to_wire(), crate::engine::Origin::Gossip)
        .await;
    assert!(
        matches!(
            refused,
            Err(IngestError::NodePolicy(NodePolicyRefusal::Suspended(_)))
        ),
        "{refused:?}"
    );
    let fetched = site
        .engine()
        .submit_many(vec![later.to_wire()], crate::engine::Origin::Fetched)
        .await
        .expect("the engine runs");
    assert!(fetched[0].is_ok());

    // Limited instead: a few records a day, then refusals.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let shown = operator.get("/operateur").await;
    let csrf = shown.csrf();
    let limited = operator
        .post_form(
            "/operateur/politique",
            &[
                ("csrf", &csrf),
                ("node", &other.public_key().to_hex()),
                ("level", "limitee"),
                ("reason", "Trop de mises en avant."),
            ],
        )
        .await;
    assert_eq!(limited.status, StatusCode::SEE_OTHER, "{}", limited.body);
    // The policy takes effect when the membership index next refreshes (within a second).
    let level = site.engine().index().node_policies_of(&this.public_key())[0].level;
    assert_eq!(level, maillon_protocol::kinds::PolicyLevel::Limit);
    let mut outcomes = Vec::new();
    for n in 0..LIMITED_NODE_RECORDS_PER_DAY + 2 {
        let record = signer.announce_node(
            &other,
            &secret("founder-2"),
            &format!("Nœud voisin {}", n + 3),
            site.now().plus_ms(n as u64),
        );
        outcomes.push(
            site.engine()
                .submit_wire(&record.to_wire(), crate::engine::Origin::Gossip)
                .await,
        );
    }
    let refused = outcomes
        .iter()
        .filter(|o| {
            matches!(
                o,
                Err(IngestError::NodePolicy(NodePolicyRefusal::Limited(_)))
            )
        })
        .count();
    // Two announcements of the day are already stored (the first and the fetched one).
    assert_eq!(
        outcomes.len() - refused,
        LIMITED_NODE_RECORDS_PER_DAY - 2,
        "{outcomes:?}"
    );
}

/// A member with at least three current sponsors, all generated members: (member, sponsors).
async fn member_with_three_sponsors() -> (String, Vec<String>) {
    let probe = Site::start(&[]).await;
    let label_of = |key: &maillon_protocol::PublicKey| {
        network()
            .keys
            .iter()
            .find(|(_, k)| k.public_key() == *key)
            .map(|(l, _)| l.clone())
    };
    for (label, key) in &network().keys {
        let sponsors: Vec<String> = probe
            .engine()
            .index()
            .member(&key.public_key())
            .sponsors
            .iter()
            .filter_map(label_of)
            .collect();
        if label.starts_with("member-") && sponsors.len() >= 3 {
            return (label.clone(), sponsors.into_iter().take(3).collect());
        }
    }
    panic!("no member with three sponsors in the test network");
}

#[tokio::test]
async fn three_sponsors_give_a_member_a_new_key_bound_to_the_same_identity() {
    let (member, sponsors) = member_with_three_sponsors().await;
    let mut labels: Vec<&str> = vec![member.as_str(), "founder-3"];
    labels.extend(
        sponsors
            .iter()
            .map(String::as_str)
            .filter(|s| *s != "founder-3"),
    );
    let site = Site::start(&labels).await;
    let old_key = key_of(&member);
    let mut visitor = site.visitor();
    let form = visitor.get("/recuperation").await;
    let new_passphrase = "un tout nouveau départ";
    let started = visitor
        .post_form(
            "/recuperation",
            &[
                ("csrf", &form.csrf()),
                ("login", &member),
                ("passphrase", new_passphrase),
                ("confirm", new_passphrase),
            ],
        )
        .await;
    let follow = started.location.expect("the follow-up page");
    let page = visitor.get(&follow).await;
    let marker = "id=\"lien\" readonly value=\"";
    let start = page.body.find(marker).expect("a link for the sponsors") + marker.len();
    let link =
        page.body[start..start + page.body[start..].find('"').unwrap()].replace("&#38;", "&");
    let marker = "id=\"code-demande\" readonly>";
    let start = page.body.find(marker).expect("a request code") + marker.len();
    let request_code = page.body[start..start + 128].to_string();
    let mut by_code = site.signed_in(&sponsors[0]).await;
    let via_code = by_code
        .get(&format!("/recuperation/parrain?code={request_code}"))
        .await;
    assert_eq!(
        via_code.status,
        StatusCode::OK,
        "the code opens the same page"
    );
    assert!(via_code.body.contains("id=\"empreinte\""));
    let mut codes = Vec::new();
    for sponsor in &sponsors {
        let mut browser = site.signed_in(sponsor).await;
        let check = browser.get(&link).await;
        assert_eq!(check.status, StatusCode::OK, "{link}: {}", check.body);
        let (_, query) = link.split_once('?').unwrap();
        let mut fields: Vec<(&str, &str)> =
            query.split('&').filter_map(|p| p.split_once('=')).collect();
        let csrf = check.csrf();
        fields.push(("csrf", &csrf));
        let signed = browser.post_form("/recuperation/parrain", &fields).await;
        let marker = "id=\"code\" readonly>";
        let start = signed.body.find(marker).expect("a code") + marker.len();
        codes.push(signed.body[start..start + 192].to_string());
    }
    if !sponsors.iter().any(|s| s == "founder-3") {
        let mut outsider = site.signed_in("founder-3").await;
        assert_eq!(outsider.get(&link).await.status, StatusCode::FORBIDDEN);
    }
    let finish = |codes: String, passphrase: &'static str| {
        let mut browser = visitor.clone();
        let login = member.clone();
        async move {
            let csrf = browser.get("/recuperation").await.csrf();
            browser
                .post_form(
                    "/recuperation/suivi",
                    &[
                        ("csrf", &csrf),
                        ("login", &login),
                        ("passphrase", passphrase),
                        ("codes", &codes),
                    ],
                )
                .await
        }
    };
    let two = finish(codes[..2].join("\n"), new_passphrase).await;
    assert_eq!(two.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(two.body.contains("Il faut les codes de 3"), "{}", two.body);
    let wrong = finish(codes.join("\n"), "pas la bonne phrase").await;
    assert!(
        wrong.body.contains("Ce n&#39;est pas la nouvelle phrase")
            || wrong.body.contains("Ce n'est pas la nouvelle phrase")
    );
    let done = finish(codes.join("\n"), new_passphrase).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);

    // The new key holds the same identity, standing and trust paths.
    let account_key = {
        let files =
            crate::web::accounts::AccountFiles::open(site.dir.path().join("accounts")).unwrap();
        files.get(&member).expect("the account").key
    };
    assert_ne!(account_key, old_key);
    {
        let index = site.engine().index();
        let (old, new) = (index.member(&old_key), index.member(&account_key));
        assert_eq!(new.identity, old.identity);
        assert!(new.status.is_in_good_standing(), "{:?}", new.status);
        let founder = key_of("founder-1");
        assert_eq!(
            index.trust(&founder, &account_key).distance,
            index.trust(&founder, &old_key).distance
        );
    }
    // The new passphrase opens the account.
    let mut again = site.visitor();
    let csrf = again.get("/connexion").await.csrf();
    let signed_in = again
        .post_form(
            "/connexion",
            &[
                ("csrf", &csrf),
                ("login", &member),
                ("passphrase", new_passphrase),
            ],
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_in.location.as_deref(), Some("/"));
}

/// A flood of joins introduced by one node: at the edges (gossip) this node takes the
/// node's daily quota and refuses the rest for now, without penalty; sync is exempt. A
/// join whose introduction a stranger forged is refused for good.
#[tokio::test]
async fn a_flood_of_joins_from_one_node_stops_at_its_daily_quota() {
    use crate::engine::standing::DEFAULT_JOINS_PER_INTRODUCER_PER_DAY;
    use crate::engine::Origin;
    let site = Site::start(&[]).await;
    let net = network();
    let flooder = maillon_protocol::testkit::key("flooding-node");
    let announcement = net.signer.announce_node(
        &flooder,
        &secret("founder-2"),
        "Nœud inondant",
        site.now().minus_ms(10),
    );
    site.submit(&announcement).await;
    let at = site.now();
    // A stranger cannot introduce through a node it does not hold the key of.
    let forged = net.signer.join_through(
        &maillon_protocol::testkit::key("flood-stranger-candidate"),
        &maillon_protocol::testkit::key("a-stranger"),
        announcement.id(),
        at,
    );
    let refused = site
        .engine()
        .submit_wire(&forged.to_wire(), Origin::Gossip)
        .await;
    assert!(
        matches!(&refused, Err(IngestError::Refused(e)) if e.code() == "bad_cosignature"),
        "{refused:?}"
    );
    let joins: Vec<_> = (0..DEFAULT_JOINS_PER_INTRODUCER_PER_DAY + 20)
        .map(|i| {
            let candidate = maillon_protocol::testkit::key(&format!("flood-candidate-{i}"));
            net.signer
                .join_through(&candidate, &flooder, announcement.id(), at)
        })
        .collect();
    let outcomes = site
        .engine()
        .submit_many(joins.iter().map(|j| j.to_wire()).collect(), Origin::Gossip)
        .await
        .unwrap();
    let stored = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(crate::ingest::pipeline::Submitted::Stored { .. })))
        .count();
    let over = outcomes
        .iter()
        .filter(|o| {
            matches!(
                o,
                Err(IngestError::NodePolicy(
                    NodePolicyRefusal::IntroductionQuota(..)
                ))
            )
        })
        .count();
    assert_eq!(stored, DEFAULT_JOINS_PER_INTRODUCER_PER_DAY);
    assert_eq!(over, 20);
    // Sync converges on the protocol's rule: the same joins fetched are stored.
    let fetched = site
        .engine()
        .submit_many(joins.iter().map(|j| j.to_wire()).collect(), Origin::Fetched)
        .await
        .unwrap();
    assert!(fetched.iter().all(|o| o.is_ok()));
}
