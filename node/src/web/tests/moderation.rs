//! Complaints, the moderators' actions and their effects on pages, the public log, and who
//! may moderate.

use axum::http::StatusCode;
use maillon_protocol::kinds::{AppointmentAction, LabelAction};
use maillon_protocol::testkit::Signer;
use maillon_protocol::RecordId;

use super::{key_of, network, secret, Browser, Page, Site};

/// Appoints (or removes) `label` as moderator: founder-1 signs, founder-2 co-signs.
async fn appoint(site: &Site, label: &str, action: AppointmentAction) {
    let signer = Signer::new(network().signer.charter.clone());
    let record = signer.appoint(
        &secret("founder-1"),
        &[&secret("founder-2")],
        key_of(label),
        action,
        site.now(),
    );
    site.submit(&record).await;
}

/// Publishes a listing as `author`; returns its address.
async fn publish(author: &mut Browser, title: &str) -> String {
    let form = author.get("/publier").await;
    let created = author
        .post_multipart(
            "/publier",
            &[
                ("csrf", &form.csrf()),
                ("title", title),
                ("category", "30"),
                ("place", "26000"),
                ("description", "Bon état, à venir chercher."),
            ],
            &[],
        )
        .await;
    created.location.expect("the listing's address")
}

/// Files a complaint about `subject` (`annonce=…`, `transaction=…` or `membre=…`).
async fn complain(browser: &mut Browser, subject: &str, text: &str) -> Page {
    let form = browser.get(&format!("/signaler?{subject}")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let (name, value) = subject.split_once('=').expect("name=value");
    browser
        .post_form(
            "/signaler",
            &[
                ("csrf", &form.csrf()),
                (name, value),
                ("reason", "0"),
                ("text", text),
            ],
        )
        .await
}

/// The id of the first complaint in the moderators' queue.
async fn first_in_queue(moderator: &mut Browser) -> String {
    let queue = moderator.get("/moderation").await;
    assert_eq!(queue.status, StatusCode::OK);
    let marker = "/moderation/signalement/";
    let start = queue.body.find(marker).expect("a complaint in the queue") + marker.len();
    queue.body[start..start + 64].to_string()
}

async fn act(
    moderator: &mut Browser,
    complaint: &str,
    action: LabelAction,
    target: &str,
    reason: &str,
) -> Page {
    let case = moderator
        .get(&format!("/moderation/signalement/{complaint}"))
        .await;
    let code = (action as u8).to_string();
    moderator
        .post_form(
            &format!("/moderation/signalement/{complaint}"),
            &[
                ("csrf", &case.csrf()),
                ("action", &code),
                ("target", target),
                ("reason", reason),
            ],
        )
        .await
}

#[tokio::test]
async fn a_complaint_is_taken_up_acted_on_and_its_outcome_shown_to_the_complainant() {
    let site = Site::start(&["founder-1", "founder-2", "member-1"]).await;
    appoint(&site, "member-1", AppointmentAction::Appoint).await;
    let mut author = site.signed_in("founder-1").await;
    let mut complainant = site.signed_in("founder-2").await;
    let mut moderator = site.signed_in("member-1").await;
    let link = publish(&mut author, "Montre en or massif").await;
    let series = link.trim_start_matches("/annonce/").to_string();

    let filed = complain(
        &mut complainant,
        &format!("annonce={series}"),
        "Il veut un virement d'avance.",
    )
    .await;
    assert_eq!(filed.location.as_deref(), Some("/signalements"));
    let mine = complainant.get("/signalements").await;
    assert!(mine.body.contains("Montre en or massif"));
    assert!(mine.body.contains("Reçu"), "{}", mine.body);
    assert_eq!(
        complainant.get("/moderation").await.status,
        StatusCode::FORBIDDEN
    );
    assert!(moderator
        .get("/")
        .await
        .body
        .contains("href=\"/moderation\""));

    let complaint = first_in_queue(&mut moderator).await;
    let case = moderator
        .get(&format!("/moderation/signalement/{complaint}"))
        .await;
    assert!(
        case.body.contains("Il veut un virement d&#39;avance.")
            || case.body.contains("Il veut un virement d'avance.")
    );
    assert!(
        case.body.contains("auteur de l&#39;annonce") || case.body.contains("auteur de l'annonce")
    );
    let taken = act(
        &mut moderator,
        &complaint,
        LabelAction::TakeUpComplaint,
        &complaint,
        "Je regarde.",
    )
    .await;
    assert_eq!(taken.status, StatusCode::SEE_OTHER, "{}", taken.body);
    assert!(complainant
        .get("/signalements")
        .await
        .body
        .contains("En cours"));

    let hidden = act(
        &mut moderator,
        &complaint,
        LabelAction::HideListing,
        &series,
        "Arnaque avérée",
    )
    .await;
    assert_eq!(hidden.status, StatusCode::SEE_OTHER, "{}", hidden.body);
    let mine = complainant.get("/signalements").await;
    assert!(mine.body.contains("Traité le"), "{}", mine.body);
    assert!(mine.body.contains("Annonce masquée — Arnaque avérée"));
    assert_eq!(complainant.get(&link).await.status, StatusCode::NOT_FOUND);
    let own = author.get(&link).await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(own.body.contains("Annonce masquée par la modération"));
    assert!(complainant
        .get("/notifications")
        .await
        .body
        .contains("Votre signalement a avancé"));
    let journal = complainant.get("/moderation/journal").await;
    assert!(journal.body.contains("Arnaque avérée"));
    assert!(
        !journal.body.contains("/moderation/annuler"),
        "members cannot retract"
    );

    // The moderator retracts the decision: the listing is back.
    let log = moderator.get("/moderation/journal").await;
    let marker = "name=\"label\" value=\"";
    let start = log.body.find(marker).expect("a retract form") + marker.len();
    let label = log.body[start..start + 64].to_string();
    let undone = moderator
        .post_form(
            "/moderation/annuler",
            &[
                ("csrf", &log.csrf()),
                ("label", &label),
                ("reason", "Erreur de ma part."),
            ],
        )
        .await;
    assert_eq!(undone.status, StatusCode::SEE_OTHER, "{}", undone.body);
    assert_eq!(complainant.get(&link).await.status, StatusCode::OK);
    assert!(complainant
        .get("/moderation/journal")
        .await
        .body
        .contains("Erreur de ma part."));
}

#[tokio::test]
async fn only_moderators_in_office_act_and_bad_actions_are_refused() {
    let site = Site::start(&["founder-1", "founder-2", "member-1"]).await;
    appoint(&site, "member-1", AppointmentAction::Appoint).await;
    let mut complainant = site.signed_in("founder-2").await;
    let mut moderator = site.signed_in("member-1").await;
    let target = key_of("founder-1").to_hex();
    complain(
        &mut complainant,
        &format!("membre={target}"),
        "Propos insultants.",
    )
    .await;
    let complaint = first_in_queue(&mut moderator).await;

    // A member who is not a moderator cannot act, even with a valid form.
    let case = moderator
        .get(&format!("/moderation/signalement/{complaint}"))
        .await;
    let own_csrf = complainant.get("/compte").await.csrf();
    let forged = complainant
        .post_form(
            &format!("/moderation/signalement/{complaint}"),
            &[
                ("csrf", &own_csrf),
                ("action", "3"),
                ("target", &target),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // No reason, a target the complaint is not about, an unknown action.
    let no_reason = moderator
        .post_form(
            &format!("/moderation/signalement/{complaint}"),
            &[
                ("csrf", &case.csrf()),
                ("action", "3"),
                ("target", &target),
                ("reason", " "),
            ],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_reason.body.contains("Donnez la raison"));
    let elsewhere = act(
        &mut moderator,
        &complaint,
        LabelAction::WarnMember,
        &key_of("founder-3").to_hex(),
        "Non.",
    )
    .await;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST);
    let unknown = moderator
        .post_form(
            &format!("/moderation/signalement/{complaint}"),
            &[
                ("csrf", &case.csrf()),
                ("action", "9"),
                ("target", &target),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A label signed by a non-moderator has no effect; the moderator's warning shows.
    let signer = Signer::new(network().signer.charter.clone());
    site.submit(&signer.member_label(
        &secret("founder-2"),
        LabelAction::WarnMember,
        key_of("founder-1"),
        None,
        site.now(),
    ))
    .await;
    let profile = format!("/membre/{target}");
    assert!(!complainant
        .get(&profile)
        .await
        .body
        .contains("Averti par la modération"));
    let warned = act(
        &mut moderator,
        &complaint,
        LabelAction::WarnMember,
        &target,
        "Restez courtois.",
    )
    .await;
    assert_eq!(warned.status, StatusCode::SEE_OTHER, "{}", warned.body);
    assert!(complainant
        .get(&profile)
        .await
        .body
        .contains("Restez courtois."));

    // Once removed by the council, the moderator's page is closed and new labels do nothing.
    appoint(&site, "member-1", AppointmentAction::Remove).await;
    assert_eq!(
        moderator.get("/moderation").await.status,
        StatusCode::FORBIDDEN
    );
    site.submit(&signer.member_label(
        &secret("member-1"),
        LabelAction::WarnMember,
        key_of("founder-3"),
        None,
        site.now(),
    ))
    .await;
    let third = complainant
        .get(&format!("/membre/{}", key_of("founder-3").to_hex()))
        .await;
    assert!(!third.body.contains("Averti par la modération"));
    assert!(
        complainant
            .get(&profile)
            .await
            .body
            .contains("Restez courtois."),
        "earlier labels stay"
    );
}

#[tokio::test]
async fn a_cancelled_transaction_takes_no_more_messages() {
    let site = Site::start(&["founder-1", "founder-2", "member-1"]).await;
    appoint(&site, "member-1", AppointmentAction::Appoint).await;
    let mut author = site.signed_in("founder-1").await;
    let mut buyer = site.signed_in("founder-2").await;
    let mut moderator = site.signed_in("member-1").await;
    let link = publish(&mut author, "Perceuse sans fil").await;
    let page = buyer.get(&link).await;
    let opened = buyer
        .post_form(
            &format!("{link}/transaction"),
            &[("csrf", &page.csrf()), ("message", "Toujours disponible ?")],
        )
        .await;
    let transaction = opened.location.expect("the transaction's address");
    let id = transaction.trim_start_matches("/transaction/").to_string();
    assert!(RecordId::from_hex(&id).is_ok());
    complain(
        &mut buyer,
        &format!("transaction={id}"),
        "Il ne répond jamais.",
    )
    .await;
    // Someone outside the transaction cannot report it.
    assert_eq!(
        moderator
            .get(&format!("/signaler?transaction={id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let complaint = first_in_queue(&mut moderator).await;
    let case = moderator
        .get(&format!("/moderation/signalement/{complaint}"))
        .await;
    assert!(
        case.body.contains("Toujours disponible ?"),
        "the messages are shown"
    );
    let cancelled = act(
        &mut moderator,
        &complaint,
        LabelAction::CancelTransaction,
        &id,
        "Vente interdite.",
    )
    .await;
    assert_eq!(
        cancelled.status,
        StatusCode::SEE_OTHER,
        "{}",
        cancelled.body
    );
    let shown = buyer.get(&transaction).await;
    assert!(shown.body.contains("Transaction annulée par la modération"));
    assert!(!shown.body.contains("/message\" method=\"post\""));
    let csrf = buyer.get("/compte").await.csrf();
    let refused = buyer
        .post_form(
            &format!("{transaction}/message"),
            &[("csrf", &csrf), ("message", "Alors ?")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

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
    assert!(none.body.contains("Il faut 1 code(s)"), "{}", none.body);
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
            Err(crate::ingest::pipeline::IngestError::SuspendedNode(_))
        ),
        "{refused:?}"
    );
    let fetched = site
        .engine()
        .submit_many(vec![later.to_wire()], crate::engine::Origin::Fetched)
        .await
        .expect("the engine runs");
    assert!(fetched[0].is_ok());
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
