//! The JSON API (`/api/v1`), for the web UI, scripts and other implementations; see
//! docs/API.md.
//!
//! - [`error`]: [`AppError`], the one way errors become HTTP answers.
//! - [`records`]: posting and reading records.
//! - [`members`]: status, members and trust paths.
//! - [`ready`]: `GET /ready`, whether the node can serve (for probes and orchestrators).

pub mod error;
pub mod members;
pub mod ready;
pub mod records;

#[cfg(test)]
mod tests;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

pub use error::AppError;

use crate::engine::Engine;
use crate::network::Client;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The engine.
    pub engine: Engine,
    /// The network, if it runs (absent in tests of the API alone).
    pub network: Option<Client>,
    /// Whether the configuration names peers to sync with (bootstrap addresses): then the
    /// node is ready only once it has synced with one.
    pub peers_configured: bool,
}

/// The largest request body: a record is at most 20 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The API router, with the site's security headers.
pub fn router(state: ApiState) -> Router {
    let api = Router::new()
        .route("/api/v1/status", get(members::status))
        .route("/ready", get(ready::ready))
        .route("/api/v1/records", post(records::post_record))
        .route("/api/v1/records/{id}", get(records::get_record))
        .route("/api/v1/members/{key}", get(members::member))
        .route("/api/v1/trust", get(members::trust))
        .method_not_allowed_fallback(error::method_not_allowed)
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state);
    maillon_web_ui::security::with_security_headers(api)
}
