//! Security headers per route family: public pages, signed-in pages, static files, photos,
//! errors and form answers all carry the Content-Security-Policy, no framing, the referrer
//! policy and nosniff; signed-in pages are not kept by the browser.

use axum::http::{header, StatusCode};

use super::{Page, Site};
use maillon_web_ui::security::{CONTENT_SECURITY_POLICY, SIGNED_IN_CACHE_CONTROL};

fn assert_secured(page: &Page, what: &str) {
    let get = |name: header::HeaderName| {
        page.headers
            .get(&name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        get(header::CONTENT_SECURITY_POLICY),
        CONTENT_SECURITY_POLICY,
        "{what}"
    );
    assert!(
        get(header::CONTENT_SECURITY_POLICY).contains("frame-ancestors 'none'"),
        "{what}"
    );
    assert_eq!(get(header::X_FRAME_OPTIONS), "DENY", "{what}");
    assert_eq!(get(header::REFERRER_POLICY), "same-origin", "{what}");
    assert_eq!(get(header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{what}");
}

#[tokio::test]
async fn every_route_family_carries_the_security_headers() {
    let site = Site::start(&["founder-1"]).await;
    let mut visitor = site.visitor();
    let home = visitor.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert_secured(&home, "home page");
    assert!(
        !home.cache_control.contains("no-store"),
        "a public page may be cached: {}",
        home.cache_control
    );
    let style = visitor.get(maillon_web_ui::assets::css_url()).await;
    assert_eq!(style.status, StatusCode::OK);
    assert_secured(&style, "static file");
    let missing = visitor.get("/page-qui-n-existe-pas").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_secured(&missing, "not found");
    let photo = visitor.get(&format!("/photo/{}", "00".repeat(32))).await;
    assert_secured(&photo, "photo");
    let refused = visitor.post_form("/connexion", &[("csrf", "faux")]).await;
    assert_secured(&refused, "refused form");

    let mut member = site.signed_in("founder-1").await;
    for path in ["/notifications", "/transactions", "/candidature", "/compte"] {
        let page = member.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_secured(&page, path);
        assert!(
            page.cache_control.contains("no-store"),
            "{path}: {}",
            page.cache_control
        );
    }
    let page = member.get("/notifications").await;
    assert_eq!(page.cache_control, SIGNED_IN_CACHE_CONTROL);
}
