//! The server's limits ([`ServerLimits`]) and the layers that enforce those axum can see: the
//! URI length, the pause between two pieces of a body, and the whole request's deadline.

use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::api::AppError;

/// What the HTTP server allows a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// Connections served at once; more wait in the kernel's queue.
    pub max_connections: usize,
    /// The longest time for a request head to arrive whole, and the longest idle time between
    /// two requests on one connection.
    pub header_timeout: Duration,
    /// The longest pause between two pieces of a request body.
    pub body_timeout: Duration,
    /// The longest time a request may take, body and answer included.
    pub request_deadline: Duration,
    /// The largest request head (request line and headers), in bytes: larger gets `431`.
    pub max_head_bytes: usize,
    /// The longest URI, in bytes: longer gets `414`.
    pub max_uri_bytes: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: 512,
            header_timeout: Duration::from_secs(15),
            body_timeout: Duration::from_secs(30),
            request_deadline: Duration::from_secs(600),
            max_head_bytes: 32 * 1024,
            max_uri_bytes: 8 * 1024,
        }
    }
}

/// The automatic connection cap at most, whatever the descriptor limit (memory: each
/// connection may hold a 32 KiB head).
pub const MAX_AUTOMATIC_CONNECTIONS: usize = 4096;

/// Descriptors kept for everything but HTTP connections: the store's files, peers, photos.
pub const DESCRIPTORS_KEPT: u64 = 256;

impl ServerLimits {
    /// The connection cap that fits under the process's open-file limit: half of what is
    /// left once [`DESCRIPTORS_KEPT`] are set aside, from 16 to [`MAX_AUTOMATIC_CONNECTIONS`].
    pub fn connections_for_descriptor_limit(open_files: u64) -> usize {
        let usable = open_files.saturating_sub(DESCRIPTORS_KEPT) / 2;
        usize::try_from(usable.clamp(16, MAX_AUTOMATIC_CONNECTIONS as u64))
            .unwrap_or(MAX_AUTOMATIC_CONNECTIONS)
    }

    /// The process's soft open-file limit, if the system tells it.
    pub fn open_file_limit() -> Option<u64> {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
}

/// Wraps `app` in the limits that apply once a request head is parsed.
pub fn apply(app: Router, limits: &ServerLimits) -> Router {
    let limits = *limits;
    app.layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            guard(limits, request, next)
        }))
}

async fn guard(limits: ServerLimits, request: Request, next: Next) -> Response {
    let uri_bytes = request.uri().to_string().len();
    if uri_bytes > limits.max_uri_bytes {
        return AppError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!(
                "the address is {uri_bytes} bytes long; {} at most",
                limits.max_uri_bytes
            ),
        )
        .into_response();
    }
    match tokio::time::timeout(limits.request_deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => AppError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request took over {} seconds",
                limits.request_deadline.as_secs()
            ),
        )
        .into_response(),
    }
}
