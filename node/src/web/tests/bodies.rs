//! Request bodies: a form is refused past its small limit while it is read, and a listing
//! form's photos are read only after the session and the CSRF token (its first field) are
//! checked. Each body here is a stream that counts what the site pulls from it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use bytes::Bytes;
use futures::StreamExt;

use super::Site;

const MIB: usize = 1024 * 1024;
const BOUNDARY: &str = "----maillonbodies";

/// A body of `head` then `filler_bytes` of filler (then `tail`), and the count of bytes the
/// server has pulled from it.
fn counted_body(head: Vec<u8>, filler_bytes: usize, tail: Vec<u8>) -> (Body, Arc<AtomicUsize>) {
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let chunk = 64 * 1024;
    let mut pieces = vec![Bytes::from(head)];
    pieces.extend((0..filler_bytes / chunk).map(|_| Bytes::from(vec![b'x'; chunk])));
    pieces.push(Bytes::from(tail));
    let stream = futures::stream::iter(pieces).map(move |piece| {
        counter.fetch_add(piece.len(), Ordering::SeqCst);
        Ok::<_, std::io::Error>(piece)
    });
    (Body::from_stream(stream), pulled)
}

fn part(name: &str, value: &str) -> String {
    format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
}

fn photo_head() -> String {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photos\"; \
         filename=\"big.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
}

fn listing_fields(csrf: &str) -> String {
    [
        part("csrf", csrf),
        part("title", "Armoire normande"),
        part("category", "30"),
        part("place", "26000"),
    ]
    .concat()
}

fn multipart_request(uri: &str) -> axum::http::request::Builder {
    Request::post(uri).header(
        header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={BOUNDARY}"),
    )
}

#[tokio::test]
async fn an_anonymous_oversized_form_is_refused_while_read() {
    let site = Site::start(&["founder-1"]).await;
    let mut visitor = site.visitor();
    let (body, pulled) = counted_body(b"login=a&passphrase=".to_vec(), 100 * MIB, Vec::new());
    let request = Request::post("/connexion")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let page = visitor.send(request, body).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.body.contains("Formulaire trop lourd"), "{}", page.body);
    let read = pulled.load(Ordering::SeqCst);
    assert!(
        read < MIB,
        "{read} bytes were read of a 100 MiB sign-in form"
    );
}

#[tokio::test]
async fn photos_are_not_read_without_a_session_or_a_good_token() {
    let site = Site::start(&["founder-1"]).await;
    let forged = |csrf: &str| {
        let head = [listing_fields(csrf), photo_head()].concat();
        counted_body(
            head.into_bytes(),
            50 * MIB,
            format!("\r\n--{BOUNDARY}--\r\n").into_bytes(),
        )
    };
    // Anonymous: sent to the sign-in page, the photos unread.
    let (body, pulled) = forged("whatever");
    let page = site
        .visitor()
        .send(multipart_request("/publier"), body)
        .await;
    assert_eq!(page.location.as_deref(), Some("/connexion"));
    assert!(pulled.load(Ordering::SeqCst) < MIB);
    // Signed in, wrong token: refused before the photos.
    let mut member = site.signed_in("founder-1").await;
    let (body, pulled) = forged("not-the-token");
    let page = member.send(multipart_request("/publier"), body).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Formulaire expiré"));
    let read = pulled.load(Ordering::SeqCst);
    assert!(read < MIB, "{read}");
    // Signed in, right token but not first: refused the same way.
    let csrf = member.get("/publier").await.csrf();
    let late = [part("title", "Armoire"), part("csrf", &csrf)].concat();
    let page = member
        .send(multipart_request("/publier"), Body::from(late))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_oversized_photo_is_named_and_nothing_is_published() {
    let site = Site::start(&["founder-1"]).await;
    let mut member = site.signed_in("founder-1").await;
    let csrf = member.get("/publier").await.csrf();
    let head = [listing_fields(&csrf), photo_head()].concat();
    let (body, _) = counted_body(
        head.into_bytes(),
        13 * MIB,
        format!("\r\n--{BOUNDARY}--\r\n").into_bytes(),
    );
    let page = member.send(multipart_request("/publier"), body).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body
            .contains("Photo 1 : le fichier est trop lourd (12 Mo au plus)"),
        "{}",
        page.body
    );
    assert!(!member.get("/").await.body.contains("Armoire normande"));
}

#[tokio::test]
async fn a_listing_form_over_the_upload_limit_is_refused() {
    let site = Site::start(&["founder-1"]).await;
    let mut member = site.signed_in("founder-1").await;
    let csrf = member.get("/publier").await.csrf();
    let head = [listing_fields(&csrf), photo_head()].concat();
    let (body, pulled) = counted_body(head.into_bytes(), 120 * MIB, Vec::new());
    let page = member.send(multipart_request("/publier"), body).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.body.contains("Formulaire trop lourd"), "{}", page.body);
    let read = pulled.load(Ordering::SeqCst);
    assert!(
        read < 110 * MIB,
        "{read} bytes were read past the 96 MiB limit"
    );
}

#[tokio::test]
async fn a_full_disk_is_said_in_french_and_pages_still_show() {
    let site = Site::start(&["founder-1"]).await;
    let mut member = site.signed_in("founder-1").await;
    let publish = |csrf: String| {
        let form = [listing_fields(&csrf), format!("--{BOUNDARY}--\r\n")].concat();
        (multipart_request("/publier"), Body::from(form))
    };
    // No volume has this much free: the store is "full".
    site.store.set_free_space_floor(u64::MAX);
    let (request, body) = publish(member.get("/publier").await.csrf());
    let page = member.send(request, body).await;
    assert_eq!(page.status, StatusCode::INSUFFICIENT_STORAGE);
    assert!(
        page.body.contains("Site momentanément plein"),
        "{}",
        page.body
    );
    assert_eq!(member.get("/").await.status, StatusCode::OK);
    assert_eq!(member.get("/compte").await.status, StatusCode::OK);
    // Space returns: the same form goes through.
    site.store.set_free_space_floor(0);
    let (request, body) = publish(member.get("/publier").await.csrf());
    let page = member.send(request, body).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}
