//! Bad input in the member's forms gets a sentence from the site that says what is wrong:
//! nothing is cut or refused silently by the browser.

use axum::http::StatusCode;

use super::{Browser, Site};

async fn publish_with(member: &mut Browser, fields: &[(&str, &str)]) -> super::Page {
    let csrf = member.get("/publier").await.csrf();
    let mut all = vec![("csrf", csrf.as_str()), ("category", "32")];
    all.extend_from_slice(fields);
    member.post_multipart("/publier", &all, &[]).await
}

#[tokio::test]
async fn the_publish_form_says_what_is_wrong_with_each_field() {
    let site = Site::start(&["founder-1"]).await;
    let mut member = site.signed_in("founder-1").await;
    let form = member.get("/publier").await;
    assert!(
        !form.body.contains("maxlength"),
        "the browser cuts nothing: {}",
        form.body
    );

    let long = "Armoire normande en chêne massif, ".repeat(4);
    let page = publish_with(
        &mut member,
        &[("title", &long), ("price", "15,555"), ("place", "")],
    )
    .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let excess = long.trim().len() - 120;
    assert!(
        page.body
            .contains(&format!("Le titre est trop long de {excess} signes")),
        "{}",
        page.body
    );
    assert!(page.body.contains("Deux chiffres au plus après la virgule"));
    assert!(page.body.contains("Indiquez la commune ou le code postal"));

    let page = publish_with(
        &mut member,
        &[
            ("title", "Vélo"),
            ("price", "douze"),
            ("place", "Atlantide"),
        ],
    )
    .await;
    assert!(
        page.body.contains("« douze » n&#39;est pas un prix"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Nous ne connaissons pas « Atlantide »"));
}

#[tokio::test]
async fn a_search_of_punctuation_only_says_so() {
    let site = Site::start(&[]).await;
    let mut visitor = site.visitor();
    let page = visitor.get("/recherche?q=%3F%21").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("« ?! » ne contient ni lettre ni chiffre"),
        "{}",
        page.body
    );
    let words = visitor.get("/recherche?q=v%C3%A9lo").await;
    assert!(!words.body.contains("ne contient ni lettre ni chiffre"));
}

#[tokio::test]
async fn an_empty_message_to_an_author_gets_the_sites_sentence() {
    let site = Site::start(&["founder-1", "founder-2"]).await;
    let mut author = site.signed_in("founder-1").await;
    let published = author.publish("Vélo de ville", "32", &[]).await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.body
    );
    let listing = published.published_listing();
    let mut buyer = site.signed_in("founder-2").await;
    let page = buyer.get(&listing).await;
    assert!(
        page.body.contains("id=\"message\" name=\"message\">"),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let refused = buyer
        .post_form(
            &format!("{listing}/transaction"),
            &[("csrf", &csrf), ("message", "   ")],
        )
        .await;
    assert!(
        refused
            .body
            .contains("Écrivez votre message avant de l&#39;envoyer."),
        "{}",
        refused.body
    );
}

#[tokio::test]
async fn no_answer_is_offered_to_the_opener_only_once_the_deadline_has_passed() {
    let site = Site::start(&["founder-1", "founder-2"]).await;
    let mut author = site.signed_in("founder-1").await;
    let listing = author
        .publish("Vélo de ville", "32", &[])
        .await
        .published_listing();
    let mut buyer = site.signed_in("founder-2").await;
    let csrf = buyer.get(&listing).await.csrf();
    let opened = buyer
        .post_form(
            &format!("{listing}/transaction"),
            &[("csrf", &csrf), ("message", "Bonjour, est-il encore là ?")],
        )
        .await;
    let transaction = opened.location.expect("the transaction's page");
    let early = buyer.get(&transaction).await;
    assert!(
        !early.body.contains("value=\"sans_reponse\""),
        "{}",
        early.body
    );
    let csrf = early.csrf();
    let fields = [("csrf", csrf.as_str()), ("outcome", "sans_reponse")];
    let refused = buyer
        .post_form(&format!("{transaction}/cloturer"), &fields)
        .await;
    assert!(
        refused
            .body
            .contains("ne vaut que si l&#39;auteur n&#39;a pas répondu"),
        "{}",
        refused.body
    );
    let as_author = author.get(&transaction).await;
    assert!(!as_author.body.contains("value=\"sans_reponse\""));

    site.advance(8 * 24 * 3600 * 1000);
    let late = buyer.get(&transaction).await;
    assert!(
        late.body.contains("value=\"sans_reponse\""),
        "{}",
        late.body
    );
    let csrf = late.csrf();
    let fields = [("csrf", csrf.as_str()), ("outcome", "sans_reponse")];
    let closed = buyer
        .post_form(&format!("{transaction}/cloturer"), &fields)
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.body);
}
