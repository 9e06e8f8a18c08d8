//! What a node answers while it starts, before its site and API are ready: `/health` is
//! 200 (the process lives), and every other request a 503 with `Retry-After`: JSON with the
//! start's progress under `/api/` and `/ready`, a French page that reloads itself elsewhere.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use maillon_web_ui::page::group_thousands;
use maillon_web_ui::session::Lang;
use serde::Serialize;

use crate::engine::start_progress::{StartProgress, StartSnapshot, StartStep};

/// Seconds a client is asked to wait before trying again.
pub const RETRY_AFTER_SECONDS: u64 = 2;

/// The JSON answer while starting: the API's error shape, with the progress.
#[derive(Debug, Serialize)]
struct StartingBody {
    error: &'static str,
    message: String,
    starting: StartSnapshot,
}

/// The router served while the node starts.
pub fn router(progress: Arc<StartProgress>) -> Router {
    let site = Router::new()
        .route("/health", get(|| async { "ok" }))
        .fallback(answer)
        .with_state(progress);
    maillon_web_ui::security::with_security_headers(site)
}

async fn answer(State(progress): State<Arc<StartProgress>>, request: Request) -> Response {
    let path = request.uri().path();
    let snapshot = progress.snapshot();
    let mut response = if path.starts_with("/api/") || path == "/ready" {
        let body = StartingBody {
            error: "starting",
            message: format!("the node is starting: {}", in_english(&snapshot)),
            starting: snapshot,
        };
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Html(page(&snapshot))).into_response()
    };
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn in_english(snapshot: &StartSnapshot) -> String {
    match snapshot.step {
        StartStep::OpeningStore => "opening the store".into(),
        StartStep::ReadingRecords => format!(
            "reading its records ({} of {})",
            snapshot.records_read, snapshot.records_total
        ),
        StartStep::StartingServices => "starting the network and the site".into(),
    }
}

/// The page: what the node does, how far it is, and a reload every few seconds.
fn page(snapshot: &StartSnapshot) -> String {
    let detail = match snapshot.step {
        StartStep::ReadingRecords if snapshot.records_total > 0 => format!(
            " : {} fiches sur {} ({} %)",
            group_thousands(snapshot.records_read, Lang::Fr),
            group_thousands(snapshot.records_total, Lang::Fr),
            snapshot.records_read * 100 / snapshot.records_total
        ),
        _ => String::new(),
    };
    format!(
        "<!doctype html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"{RETRY_AFTER_SECONDS}\">\
         <title>Le site démarre – Maillon</title></head>\
         <body><main><h1>Le site démarre</h1>\
         <p>Le nœud vient de redémarrer et sera prêt dans un instant.</p>\
         <p>Étape en cours : {}{detail}.</p>\
         <p>Cette page se rechargera d'elle-même.</p></main></body></html>\n",
        snapshot.step.in_french()
    )
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use tower::ServiceExt;

    use super::*;

    async fn get(router: &Router, path: &str) -> (StatusCode, Option<String>, String) {
        let response = router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_string());
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, retry, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn while_starting_health_is_ok_and_the_rest_says_how_far_the_start_is() {
        let progress = Arc::new(StartProgress::new());
        let router = router(progress.clone());
        assert_eq!(get(&router, "/health").await.0, StatusCode::OK);

        progress.set_total(1_200);
        progress.enter(StartStep::ReadingRecords);
        for _ in 0..300 {
            progress.note_read();
        }
        let (status, retry, body) = get(&router, "/api/v1/status").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry.as_deref(), Some("2"));
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"], "starting");
        assert_eq!(json["starting"]["step"], "reading_records");
        assert_eq!(json["starting"]["records_read"], 300);
        assert_eq!(json["starting"]["records_total"], 1_200);
        assert_eq!(
            get(&router, "/ready").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );

        let (status, retry, page) = get(&router, "/annonces?q=velo").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry.as_deref(), Some("2"));
        assert!(page.contains("lang=\"fr\""), "{page}");
        assert!(page.contains("lecture des fiches"), "{page}");
        assert!(
            page.contains("300 fiches sur 1\u{202f}200 (25 %)"),
            "{page}"
        );
    }
}
