//! The middleware that counts every HTTP answer by route pattern, method and status, with
//! the time to its head. Added with `Router::layer`, it runs after routing, so the route is
//! the matched pattern (`/annonces/{id}`), never the raw path: the series stay few.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::Metrics;

/// The route label of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// Counts the answer to `request`.
pub async fn count(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_string();
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.record_http(
        route,
        method.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// `router` with every answer counted.
pub fn counted(router: axum::Router, metrics: Metrics) -> axum::Router {
    router.layer(axum::middleware::from_fn_with_state(metrics, count))
}
