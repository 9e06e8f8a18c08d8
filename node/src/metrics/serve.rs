//! `GET /metrics` in Prometheus text (OpenMetrics): on its own listener (`[metrics] listen`,
//! loopback by default), and on the main port when `[metrics] on_site` is set, where it
//! answers only requests made on this machine without a proxy in between.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::snapshot;
use crate::api::AppError;
use crate::blobs::BlobStore;
use crate::engine::Engine;
use crate::network::Client;

/// The media type of the answer: prometheus-client writes OpenMetrics text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Headers a reverse proxy adds: a request carrying one came from outside through it.
const PROXY_HEADERS: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

/// Where the figures come from.
#[derive(Clone)]
pub struct Sources {
    /// The engine, which owns the metrics.
    pub engine: Engine,
    /// The network, if it runs.
    pub network: Option<Client>,
    /// The photos.
    pub blobs: BlobStore,
}

/// The metrics listener's router: `/metrics`, and a JSON 404 for anything else.
pub fn router(sources: Sources) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(crate::api::error::not_found)
        .with_state(sources)
}

/// `/metrics` for the main port: answered to direct requests from this machine only.
pub fn site_router(sources: Sources) -> Router {
    Router::new()
        .route("/metrics", get(metrics_on_site))
        .with_state(sources)
}

/// The figures now, in Prometheus text.
pub async fn metrics(State(sources): State<Sources>) -> Response {
    match snapshot::gather(&sources.engine, sources.network.as_ref(), &sources.blobs).await {
        Ok(snapshot) => (
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            sources.engine.metrics().encode(&snapshot),
        )
            .into_response(),
        Err(error) => AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            error.to_string(),
        )
        .into_response(),
    }
}

async fn metrics_on_site(State(sources): State<Sources>, request: Request) -> Response {
    let remote = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| *address);
    if !is_direct_local(remote, request.headers()) {
        return crate::api::error::not_found().await.into_response();
    }
    metrics(State(sources)).await
}

/// Whether a request comes from this machine with no proxy in between: from a loopback
/// address and without any proxy header.
pub fn is_direct_local(remote: Option<SocketAddr>, headers: &HeaderMap) -> bool {
    remote.is_some_and(|address| address.ip().is_loopback())
        && !PROXY_HEADERS.iter().any(|name| headers.contains_key(*name))
}
