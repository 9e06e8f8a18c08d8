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
    created.published_listing()
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
    super::assert_headings_in_order(&queue);
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
    super::assert_headings_in_order(&mine);
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
    // The context first, then one chooser: a single form, after the people involved.
    assert_eq!(
        case.body
            .matches(&format!(
                "<form action=\"/moderation/signalement/{complaint}\""
            ))
            .count(),
        1
    );
    let chooser = case.body.find("Que décidez-vous").expect("the chooser");
    assert!(case.body.find("Les personnes").expect("the people") < chooser);
    assert_eq!(
        case.body[chooser..]
            .matches("type=\"radio\" name=\"action\"")
            .count(),
        7,
        "take up, hide, correct, warn, require sponsors, expel, close"
    );
    // No choice: a sentence, and the reason typed is kept.
    let unchosen = moderator
        .post_form(
            &format!("/moderation/signalement/{complaint}"),
            &[("csrf", &case.csrf()), ("reason", "Je regarde.")],
        )
        .await;
    assert_eq!(unchosen.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unchosen.body.contains("Choisissez une action."));
    assert!(unchosen.body.contains("value=\"Je regarde.\""));
    // The form sends the action alone: the complaint names its target.
    let taken_by_form = moderator
        .post_form(
            &format!("/moderation/signalement/{complaint}"),
            &[
                ("csrf", &case.csrf()),
                ("action", &(LabelAction::TakeUpComplaint as u8).to_string()),
                ("reason", "Je m'en occupe."),
            ],
        )
        .await;
    assert_eq!(
        taken_by_form.status,
        StatusCode::SEE_OTHER,
        "{}",
        taken_by_form.body
    );
    assert!(moderator
        .get(&format!("/moderation/signalement/{complaint}"))
        .await
        .body
        .contains("En cours"));
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
    super::assert_headings_in_order(&journal);
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

/// Labels of (expelled member, one of their sponsors, a sponsee who would lack sponsors).
async fn expulsion_cast() -> (String, String, String) {
    let probe = Site::start(&[]).await;
    let label_of = |key: &maillon_protocol::PublicKey| {
        network()
            .keys
            .iter()
            .find(|(_, k)| k.public_key() == *key)
            .map(|(l, _)| l.clone())
    };
    let index = probe.engine().index();
    let required = index.charter().sponsors_required as usize;
    for (label, key) in network().keys.iter().skip(3) {
        let member = index.member(&key.public_key());
        let short = member
            .sponsees
            .iter()
            .find(|s| index.member(s).sponsors.len() <= required)
            .and_then(label_of);
        let sponsor = member.sponsors.first().and_then(label_of);
        if let (Some(sponsee), Some(sponsor)) = (short, sponsor) {
            if sponsee != sponsor {
                return (label.clone(), sponsor, sponsee);
            }
        }
    }
    panic!("no member whose sponsee has just enough sponsors");
}

#[tokio::test]
async fn an_expulsion_notifies_the_sponsors_and_puts_the_sponsees_on_probation() {
    let (expelled, sponsor, sponsee) = expulsion_cast().await;
    let moderator_label = ["member-1", "member-2", "member-3"]
        .into_iter()
        .find(|l| ![&expelled, &sponsor, &sponsee].contains(&&l.to_string()))
        .unwrap();
    let site = Site::start(&[&sponsor, &sponsee, moderator_label]).await;
    appoint(&site, moderator_label, AppointmentAction::Appoint).await;
    let signer = Signer::new(network().signer.charter.clone());
    site.submit(&signer.member_label(
        &secret(moderator_label),
        LabelAction::ExpelMember,
        key_of(&expelled),
        None,
        site.now(),
    ))
    .await;
    let mut on_probation = site.signed_in(&sponsee).await;
    let page = on_probation.get("/candidature").await;
    assert!(page.body.contains("Période probatoire"), "{}", page.body);
    assert!(
        page.body.contains("id=\"code\""),
        "the code to gather new sponsors"
    );
    let notices = on_probation.get("/notifications").await;
    assert!(
        notices.body.contains("a été exclu du réseau"),
        "{}",
        notices.body
    );
    let mut struck = site.signed_in(&sponsor).await;
    let notices = struck.get("/notifications").await;
    assert!(
        notices
            .body
            .contains("que vous avez parrainé(e), a été exclu(e)"),
        "{}",
        notices.body
    );
    let profile = struck
        .get(&format!("/membre/{}", key_of(&sponsor).to_hex()))
        .await;
    assert_eq!(profile.status, StatusCode::OK);
    assert!(site.engine().index().member(&key_of(&sponsor)).strikes >= 1);
}
