//! The HTTP server: hyper's HTTP/1.1 connections with the limits a public site needs.
//!
//! `axum::serve` has no timeouts and no connection cap, so the node runs its own accept
//! loop over hyper:
//! - a **connection cap** below the process's descriptor limit: at the cap, new connections
//!   wait in the kernel's queue (logged once a minute) instead of failing with "Too many open
//!   files" ([`ServerLimits::max_connections`]);
//! - a **head timeout**: a request head (the request line and headers) must arrive whole
//!   within [`ServerLimits::header_timeout`]; the same timer closes a connection left idle
//!   between requests, and one that sends a header line every few seconds;
//! - a **body timeout** between two pieces of a body and a **request deadline** for the
//!   whole request ([`limits`]);
//! - a **head size** limit, and JSON bodies on hyper's own `400`/`414`/`431` answers
//!   ([`answers`]), as every other answer of the API has.
//!
//! Each connection's client address reaches the handlers as axum's `ConnectInfo`.

pub mod answers;
pub mod limits;
pub mod starting;
pub mod switch;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

pub use limits::ServerLimits;

/// How long open connections may finish their requests once the server is stopping.
const GRACE: Duration = Duration::from_secs(10);

/// How often, at most, the "connection cap reached" warning is logged.
const CAP_WARNING_SPACING: Duration = Duration::from_secs(60);

/// Serves `app` on `listener` until `signal` turns true, then lets open requests finish
/// (for [`GRACE`] at most).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    signal: watch::Receiver<bool>,
) {
    let app = limits::apply(app, &limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(limits.max_head_bytes)
        // One buffer per answer: hyper's automatic error answers are then recognised and
        // given their JSON body in one piece (see `answers`).
        .writev(false);
    let mut cap_warned: Option<Instant> = None;
    loop {
        let Some(permit) = take_slot(&slots, &limits, &mut cap_warned, signal.clone()).await else {
            break;
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped(signal.clone()) => break,
        };
        match accepted {
            Ok((stream, remote)) => {
                let connection = Connection {
                    builder: builder.clone(),
                    app: app.clone(),
                    remote,
                    signal: signal.clone(),
                    _permit: permit,
                };
                tokio::spawn(connection.run(stream));
            }
            Err(error) => accept_failed(error).await,
        }
    }
    // Every connection holds a slot: all slots back means every connection has ended.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(GRACE, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after the grace period are dropped");
    }
}

/// A free connection slot, waiting (and warning) at the cap; `None` once stopping.
async fn take_slot(
    slots: &Arc<Semaphore>,
    limits: &ServerLimits,
    cap_warned: &mut Option<Instant>,
    signal: watch::Receiver<bool>,
) -> Option<OwnedSemaphorePermit> {
    if let Ok(permit) = Arc::clone(slots).try_acquire_owned() {
        return Some(permit);
    }
    if cap_warned.is_none_or(|at| at.elapsed() >= CAP_WARNING_SPACING) {
        tracing::warn!(
            max_connections = limits.max_connections,
            "HTTP connection cap reached: new connections wait until one closes \
             (raise [http] max_connections and the descriptor limit if this is normal load)"
        );
        *cap_warned = Some(Instant::now());
    }
    tokio::select! {
        permit = Arc::clone(slots).acquire_owned() => permit.ok(),
        _ = stopped(signal) => None,
    }
}

/// An accept error: a connection that died in the queue is skipped; anything else (out of
/// descriptors, say) is logged and retried after a pause instead of spinning.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept an HTTP connection; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One accepted connection and what it needs.
struct Connection {
    builder: hyper::server::conn::http1::Builder,
    app: Router,
    remote: SocketAddr,
    signal: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    async fn run(self, stream: TcpStream) {
        let remote = self.remote;
        let service = self
            .app
            .map_request(move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(remote));
                request
            });
        let io = TokioIo::new(answers::JsonAutomaticAnswers::new(stream));
        let connection = self
            .builder
            .serve_connection(io, TowerToHyperService::new(service));
        tokio::pin!(connection);
        tokio::select! {
            result = connection.as_mut() => log_connection_end(result),
            _ = stopped(self.signal) => {
                connection.as_mut().graceful_shutdown();
                if let Ok(result) = tokio::time::timeout(GRACE, connection).await {
                    log_connection_end(result);
                }
            }
        }
    }
}

fn log_connection_end(result: Result<(), hyper::Error>) {
    if let Err(error) = result {
        // Timeouts, resets and malformed requests are the clients' business: debug only.
        tracing::debug!(%error, "HTTP connection ended with an error");
    }
}

/// Resolves once `signal` is true (or its sender is gone).
async fn stopped(mut signal: watch::Receiver<bool>) {
    while !*signal.borrow() {
        if signal.changed().await.is_err() {
            return;
        }
    }
}
