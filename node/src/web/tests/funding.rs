//! Funding the site (issue 15 §4): the operator's donation page, the yearly reminder a
//! member can set aside, and feature requests granted by a Bump the node signs, within the
//! charter's daily limit, shown in results and to the author with its end.

use axum::http::StatusCode;

use super::{Browser, Site};

const DAY: u64 = 24 * 3600 * 1000;

async fn set_donation(operator: &mut Browser, text: &str, url: &str, iban: &str) -> super::Page {
    let csrf = operator.get("/operateur/financement").await.csrf();
    operator
        .post_form(
            "/operateur/dons",
            &[
                ("csrf", &csrf),
                ("text", text),
                ("payment_url", url),
                ("iban", iban),
            ],
        )
        .await
}

#[tokio::test]
async fn the_operator_sets_a_donation_page_and_members_are_reminded_once_a_year() {
    let site = Site::start(&["founder-1", "member-1"]).await;
    let mut member = site.signed_in("member-1").await;
    assert_eq!(member.get("/dons").await.status, StatusCode::NOT_FOUND);
    assert!(!member.get("/").await.body.contains("href=\"/dons\""));
    assert_eq!(
        member.get("/operateur/financement").await.status,
        StatusCode::FORBIDDEN
    );

    // Each wrong field gets its sentence, and nothing is kept.
    let mut operator = site.signed_in("founder-1").await;
    let wrong = set_donation(&mut operator, "Merci", "http://asso.fr", "FR76 1234").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("doit commencer par https://"));
    assert!(
        wrong.body.contains("IBAN n&#39;est pas valable")
            || wrong.body.contains("IBAN n'est pas valable")
    );
    assert!(
        wrong.body.contains("value=\"FR76 1234\""),
        "the typed value is kept"
    );
    assert_eq!(member.get("/dons").await.status, StatusCode::NOT_FOUND);

    let saved = set_donation(
        &mut operator,
        "Les dons paient le serveur et l'électricité.",
        "https://www.helloasso.com/associations/asso-test/formulaires/1",
        "fr76 3000 6000 0112 3456 7890 189",
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(saved.body.contains("La page de dons est enregistrée."));
    let donation = member.get("/dons").await;
    assert_eq!(donation.status, StatusCode::OK);
    assert!(donation.body.contains("Les dons paient le serveur"));
    assert!(donation
        .body
        .contains("href=\"https://www.helloasso.com/associations/asso-test/formulaires/1\""));
    assert!(donation.body.contains("FR76 3000 6000 0112 3456 7890 189"));

    // The footer links to it; the home page reminds the member until set aside.
    let home = member.get("/").await;
    assert!(home.body.contains("href=\"/dons\">Soutenir ce site"));
    assert!(home.body.contains("id=\"rappel-dons\""));
    let dismissed = member
        .post_form("/dons/rappel", &[("csrf", &home.csrf())])
        .await;
    assert_eq!(dismissed.location.as_deref(), Some("/"));
    assert!(!member.get("/").await.body.contains("id=\"rappel-dons\""));
    site.advance(364 * DAY);
    assert!(!member.get("/").await.body.contains("id=\"rappel-dons\""));
    site.advance(2 * DAY);
    assert!(
        member.get("/").await.body.contains("id=\"rappel-dons\""),
        "a year later, once more"
    );

    // All fields empty: no donation page any more.
    let removed = set_donation(&mut operator, "", "", "").await;
    assert_eq!(removed.status, StatusCode::OK);
    assert_eq!(member.get("/dons").await.status, StatusCode::NOT_FOUND);
}

/// Asks to feature the listing at `link`.
async fn ask(author: &mut Browser, link: &str, message: &str) -> super::Page {
    let csrf = author.get(link).await.csrf();
    author
        .post_form(
            &format!("{link}/une"),
            &[("csrf", &csrf), ("message", message)],
        )
        .await
}

/// The numbers of the waiting requests on the operator's page, in page order.
async fn waiting(operator: &mut Browser) -> Vec<String> {
    let page = operator.get("/operateur/financement").await;
    page.body
        .match_indices("<form action=\"/operateur/une/")
        .map(|(at, marker)| {
            let rest = &page.body[at + marker.len()..];
            rest[..rest.find('"').expect("end")].to_string()
        })
        .collect()
}

async fn decide(operator: &mut Browser, number: &str, decision: &str, days: &str) -> super::Page {
    let csrf = operator.get("/operateur/financement").await.csrf();
    operator
        .post_form(
            &format!("/operateur/une/{number}"),
            &[("csrf", &csrf), ("decision", decision), ("days", days)],
        )
        .await
}

#[tokio::test]
async fn a_member_asks_to_feature_a_listing_and_the_operator_signs_the_bump() {
    let site = Site::start(&["founder-1", "member-1", "member-2"]).await;
    let mut author = site.signed_in("member-1").await;
    let link = author
        .publish("Cours de guitare", "11", &[])
        .await
        .published_listing();
    let page = author.get(&link).await;
    assert!(page.body.contains("Demander la mise à la une"));

    // Only the author may ask.
    let mut other = site.signed_in("member-2").await;
    assert_eq!(
        ask(&mut other, &link, "").await.status,
        StatusCode::FORBIDDEN
    );
    let asked = ask(&mut author, &link, "Réglé par chèque à la permanence.").await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    let page = author.get(&link).await;
    assert!(
        page.body.contains("attend la réponse de l&#39;association")
            || page.body.contains("attend la réponse de l'association")
    );
    assert!(!page.body.contains("Demander la mise à la une"));

    let mut operator = site.signed_in("founder-1").await;
    let numbers = waiting(&mut operator).await;
    assert_eq!(numbers.len(), 1);
    let listed = operator.get("/operateur/financement").await;
    assert!(listed.body.contains("Cours de guitare"));
    assert!(listed.body.contains("Réglé par chèque à la permanence."));
    assert!(listed.body.contains("0 sur 20 mises à la une possibles"));

    let bad = decide(&mut operator, &numbers[0], "accorder", "9").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("de 1 à 7 jours"));
    let granted = decide(&mut operator, &numbers[0], "accorder", "3").await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER, "{}", granted.body);
    let again = decide(&mut operator, &numbers[0], "accorder", "3").await;
    assert!(again.body.contains("déjà reçu une réponse"));
    let listed = operator.get("/operateur/financement").await;
    assert!(listed.body.contains("Accordée le"));
    assert!(listed.body.contains("1 sur 20 mises à la une possibles"));

    // The author sees when it ends; results mark it and put it first.
    let page = author.get(&link).await;
    assert!(
        page.body
            .contains("Votre annonce est à la une jusqu&#39;au")
            || page.body.contains("Votre annonce est à la une jusqu'au")
    );
    assert!(page.body.contains("class=\"featured\""));
    site.wait_for_search(&mut other, "tri=une", "Cours de guitare")
        .await;
    let results = other.get("/recherche?tri=une").await;
    let first = results.body.find("<li class=\"card\">").expect("a card");
    let card = &results.body[first..results.body[first..].find("</li>").unwrap() + first];
    assert!(card.contains("Cours de guitare"), "featured first: {card}");
    assert!(card.contains("<strong>À la une</strong>"));

    // Three days later it has ended, and the author may ask again.
    site.advance(3 * DAY + 1000);
    let page = author.get(&link).await;
    assert!(
        page.body.contains("a été à la une jusqu&#39;au")
            || page.body.contains("a été à la une jusqu'au")
    );
    assert!(!page.body.contains("class=\"featured\""));
    assert!(page.body.contains("Demander la mise à la une"));
    let results = other.get("/recherche?tri=une").await;
    assert!(!results.body.contains("<strong>À la une</strong>"));

    // A declined request says so.
    ask(&mut author, &link, "").await;
    let numbers = waiting(&mut operator).await;
    let declined = decide(&mut operator, &numbers[0], "refuser", "").await;
    assert_eq!(declined.status, StatusCode::SEE_OTHER);
    assert!(author
        .get(&link)
        .await
        .body
        .contains("n&#39;a pas donné suite"));
}

#[tokio::test]
async fn the_operator_cannot_grant_more_bumps_a_day_than_the_charter_lets_take_effect() {
    let site = Site::start(&["founder-1", "member-1"]).await;
    let mut author = site.signed_in("member-1").await;
    for n in 0..21 {
        let link = author
            .publish(&format!("Objet numéro {n}"), "32", &[])
            .await
            .published_listing();
        ask(&mut author, &link, "").await;
    }
    let mut operator = site.signed_in("founder-1").await;
    let numbers = waiting(&mut operator).await;
    assert_eq!(numbers.len(), 21);
    for number in &numbers[..20] {
        let granted = decide(&mut operator, number, "accorder", "1").await;
        assert_eq!(granted.status, StatusCode::SEE_OTHER, "{}", granted.body);
    }
    let refused = decide(&mut operator, &numbers[20], "accorder", "1").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused
        .body
        .contains("a déjà signé 20 mises à la une ces dernières 24 heures"));
    site.advance(DAY);
    let next_day = decide(&mut operator, &numbers[20], "accorder", "1").await;
    assert_eq!(next_day.status, StatusCode::SEE_OTHER, "{}", next_day.body);
}
