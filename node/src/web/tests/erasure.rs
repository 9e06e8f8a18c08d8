//! Exporting one's data, then erasing one's account.

use axum::http::StatusCode;

use super::{Site, PASSPHRASE};

#[tokio::test]
async fn a_member_exports_their_data_then_erases_their_account() {
    let site = Site::start(&["founder-1", "founder-2"]).await;
    let mut member = site.signed_in("founder-1").await;
    let form = member.get("/publier").await;
    let created = member
        .post_multipart(
            "/publier",
            &[
                ("csrf", &form.csrf()),
                ("title", "Machine à coudre Singer"),
                ("category", "30"),
                ("place", "26000"),
            ],
            &[],
        )
        .await;
    let link = created.location.expect("the listing");
    let mut other = site.signed_in("founder-2").await;
    assert_eq!(other.get(&link).await.status, StatusCode::OK);

    let csrf = member.get("/compte").await.csrf();
    let export = member.post_form("/compte/export", &[("csrf", &csrf)]).await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(export.content_type, "application/zip");
    assert!(export.bytes.starts_with(b"PK"), "a zip archive");
    let names = String::from_utf8_lossy(&export.bytes);
    assert!(names.contains("records.json") && names.contains("README.txt"));
    let forged = member
        .post_form("/compte/export", &[("csrf", "nope")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let page = member.get("/compte/effacer").await;
    assert_eq!(page.status, StatusCode::OK);
    let unticked = member
        .post_form(
            "/compte/effacer",
            &[("csrf", &page.csrf()), ("passphrase", PASSPHRASE)],
        )
        .await;
    assert_eq!(unticked.status, StatusCode::UNPROCESSABLE_ENTITY);
    let wrong = member
        .post_form(
            "/compte/effacer",
            &[
                ("csrf", &page.csrf()),
                ("passphrase", "pas la bonne"),
                ("confirm", "oui"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("Phrase de passe incorrecte"));
    let erased = member
        .post_form(
            "/compte/effacer",
            &[
                ("csrf", &page.csrf()),
                ("passphrase", PASSPHRASE),
                ("confirm", "oui"),
            ],
        )
        .await;
    assert_eq!(erased.status, StatusCode::SEE_OTHER, "{}", erased.body);
    assert_eq!(erased.location.as_deref(), Some("/?efface=1"));
    let mut after = site.visitor();
    assert!(after
        .get("/?efface=1")
        .await
        .body
        .contains("Votre compte a été effacé"));

    // The account is gone from this node, and the listing from every page.
    let mut again = site.visitor();
    let csrf = again.get("/connexion").await.csrf();
    let refused = again
        .post_form(
            "/connexion",
            &[
                ("csrf", &csrf),
                ("login", "founder-1"),
                ("passphrase", PASSPHRASE),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let mut gone = false;
    for _ in 0..100 {
        if other.get(&link).await.status == StatusCode::NOT_FOUND {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(gone, "the erased listing is no longer shown");
}
