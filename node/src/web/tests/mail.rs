//! E-mail to members through a real SMTP server process (aiosmtpd): giving and verifying an
//! address, the reminder before the answer deadline, the one-click unsubscription, a refused
//! address shown in « Mon compte ». Skipped, with a message, when aiosmtpd is missing.

use axum::http::StatusCode;

use super::{Browser, Site};
use crate::mail::test_sink::{wait_for, Received, SmtpSink};

const SITE_URL: &str = "https://maillon.example.org";

/// The path of the first link of `mail` that starts with `prefix` (after the site's address).
fn link_in(mail: &Received, prefix: &str) -> String {
    let start = mail
        .body
        .find(&format!("{SITE_URL}{prefix}"))
        .unwrap_or_else(|| panic!("no link {prefix} in {}", mail.body))
        + SITE_URL.len();
    mail.body[start..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn to(sink: &SmtpSink, address: &str) -> Vec<Received> {
    sink.messages()
        .into_iter()
        .filter(|m| m.to == address)
        .collect()
}

/// Gives `address` in « Mon compte », opens the verification link, and checks the page says so.
async fn give_and_verify(site: &Site, sink: &SmtpSink, member: &mut Browser, address: &str) {
    let page = member.get("/compte").await;
    assert!(page.body.contains("Recevoir des e-mails"), "{}", page.body);
    let given = member
        .post_form(
            "/compte/courriel",
            &[("csrf", &page.csrf()), ("address", address)],
        )
        .await;
    assert_eq!(given.status, StatusCode::OK, "{}", given.body);
    assert!(
        given.body.contains("En attente de confirmation"),
        "{}",
        given.body
    );
    wait_for("the verification e-mail", || !to(sink, address).is_empty()).await;
    let mails = to(sink, address);
    let verification = &mails[0];
    assert!(
        !verification.headers.contains("List-Unsubscribe"),
        "a verification is not a subscription"
    );
    let link = link_in(verification, "/courriel/verifier/");
    let confirmed = site.visitor().get(&link).await;
    assert!(
        confirmed.body.contains("Adresse confirmée"),
        "{}",
        confirmed.body
    );
    let again = site.visitor().get(&link).await;
    assert!(again.body.contains("Lien expiré"), "the link works once");
    let account = member.get("/compte").await;
    assert!(
        account.body.contains("Adresse confirmée"),
        "{}",
        account.body
    );
}

#[tokio::test]
async fn a_reminder_reaches_the_author_before_the_deadline_and_unsubscribing_stops_email() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let site = Site::start_with_mail(&["founder-1", "founder-2"], Some(sink.settings(100))).await;
    let mut author = site.signed_in("founder-1").await;
    give_and_verify(&site, &sink, &mut author, "auteur@example.org").await;

    let created = author.publish("Tondeuse a pretter", "30", &[]).await;
    let link = created.published_listing();
    let mut buyer = site.signed_in("founder-2").await;
    let page = buyer.get(&link).await;
    let opened = buyer
        .post_form(
            &format!("{link}/transaction"),
            &[
                ("csrf", &page.csrf()),
                ("message", "Bonjour, possible samedi ?"),
            ],
        )
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
    let transaction = opened.location.expect("transaction");

    wait_for("the new transaction's e-mail", || {
        to(&sink, "auteur@example.org")
            .iter()
            .any(|m| m.body.contains("a ouvert une transaction"))
    })
    .await;
    let no_reminder = |sink: &SmtpSink| {
        !to(sink, "auteur@example.org")
            .iter()
            .any(|m| m.body.contains("Il vous reste moins d'un jour"))
    };
    assert!(no_reminder(&sink), "no reminder while the deadline is far");

    // Half a day before the deadline.
    let deadline_ms = site.engine().charter().answer_deadline_ms;
    site.advance(deadline_ms - 12 * 3600 * 1000);
    wait_for("the reminder", || !no_reminder(&sink)).await;
    let reminders: Vec<Received> = to(&sink, "auteur@example.org")
        .into_iter()
        .filter(|m| m.body.contains("Il vous reste moins d'un jour"))
        .collect();
    let reminder = &reminders[0];
    assert_eq!(link_in(reminder, "/transaction/"), transaction);
    assert!(reminder
        .headers
        .contains("List-Unsubscribe: <https://maillon.example.org/desabonnement/"));
    assert!(reminder
        .headers
        .contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    // Several ticks later the reminder is still one.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        to(&sink, "auteur@example.org")
            .iter()
            .filter(|m| m.body.contains("Il vous reste moins d'un jour"))
            .count(),
        1,
        "one reminder per deadline"
    );

    // One click, as a mail program does it: a POST without session or token.
    let unsubscribe = link_in(reminder, "/desabonnement/");
    let form = site.visitor().get(&unsubscribe).await;
    assert!(form.body.contains("Ne plus recevoir"), "a GET only asks");
    let done = site.visitor().post_form(&unsubscribe, &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Désabonnement fait"), "{}", done.body);
    let account = author.get("/compte").await;
    assert!(
        !account.body.contains("checked"),
        "every topic is off: {}",
        account.body
    );
    let before = to(&sink, "auteur@example.org").len();
    let page = buyer.get(&transaction).await;
    buyer
        .post_form(
            &format!("{transaction}/message"),
            &[("csrf", &page.csrf()), ("message", "Encore moi.")],
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(
        to(&sink, "auteur@example.org").len(),
        before,
        "nothing after unsubscribing"
    );
}

#[tokio::test]
async fn a_refused_address_is_shown_in_the_account_and_english_members_get_english() {
    let Some(sink) = SmtpSink::start(&["nobody@example.org"]) else {
        return;
    };
    let site = Site::start_with_mail(&["founder-1"], Some(sink.settings(100))).await;
    let mut member = site.signed_in("founder-1").await;
    let page = member.get("/compte").await;
    member
        .post_form(
            "/compte/courriel",
            &[("csrf", &page.csrf()), ("address", "nobody@example.org")],
        )
        .await;
    for _ in 0..200 {
        let account = member.get("/compte").await;
        if account.body.contains("a été refusée") {
            assert!(
                account.body.contains("nobody@example.org"),
                "{}",
                account.body
            );
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let account = member.get("/compte").await;
    assert!(account.body.contains("a été refusée"), "{}", account.body);
    assert!(sink.messages().is_empty());

    let bad = member
        .post_form(
            "/compte/courriel",
            &[("csrf", &account.csrf()), ("address", "pas une adresse")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    member.lang = Some("en");
    let page = member.get("/compte").await;
    member
        .post_form(
            "/compte/courriel",
            &[("csrf", &page.csrf()), ("address", "member@example.org")],
        )
        .await;
    wait_for("the English verification", || {
        !to(&sink, "member@example.org").is_empty()
    })
    .await;
    let mails = to(&sink, "member@example.org");
    let mail = &mails[0];
    assert!(
        mail.body.contains("To confirm it, open this link"),
        "{}",
        mail.body
    );
}

#[tokio::test]
async fn saved_searches_arrive_as_one_daily_digest() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let site = Site::start_with_mail(&["founder-1", "founder-2"], Some(sink.settings(100))).await;
    let mut watcher = site.signed_in("founder-2").await;
    give_and_verify(&site, &sink, &mut watcher, "veilleur@example.org").await;
    let page = watcher.get("/compte").await;
    let chosen = watcher
        .post_form(
            "/compte/courriel/choix",
            &[("csrf", &page.csrf()), ("resume", "1")],
        )
        .await;
    assert_eq!(chosen.status, StatusCode::OK, "{}", chosen.body);
    assert!(chosen.body.contains("name=\"resume\" value=\"1\" checked"));
    assert!(!chosen.body.contains("name=\"rappels\" value=\"1\" checked"));
    let search = watcher.get("/recherche?q=velo").await;
    watcher
        .post_form(
            "/recherches",
            &[("csrf", &search.csrf()), ("query", "q=velo")],
        )
        .await;
    let mut author = site.signed_in("founder-1").await;
    author.publish("Vélo de ville", "32", &[]).await;
    // The watcher does not open « Notifications », which would mark the match as seen (and
    // leave nothing new for the digest); the author's search shows when the index has it.
    site.wait_for_search(&mut author, "q=velo", "Vélo de ville")
        .await;
    let digests = |sink: &SmtpSink| {
        to(sink, "veilleur@example.org")
            .into_iter()
            .filter(|m| m.body.contains("Nouvelles annonces pour vos recherches"))
            .collect::<Vec<_>>()
    };
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(digests(&sink).is_empty(), "a digest waits for its day");
    site.advance(24 * 3600 * 1000 + 1000);
    wait_for("the daily digest", || !digests(&sink).is_empty()).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let sent = digests(&sink);
    assert_eq!(sent.len(), 1, "one digest a day");
    assert!(
        sent[0].body.contains("/recherche?q=velo"),
        "{}",
        sent[0].body
    );
}
