//! Founding a network with a founding team. `maillon init … found` leaves a node without a
//! charter: a draft of the charter's numbers and rules and the hash of a founding code.
//! `maillon run` then serves the founding pages (`/fondation`, in `maillon_web_ui::founding`)
//! where each founder creates their key in a founder account, every founder approves the
//! draft, and one founder signs it. The node then writes the charter and switches to the
//! whole node in place, on the same HTTP listener.
//!
//! - [`draft`]: the draft file, the numbers' defaults, the founding code.
//! - [`plan`]: the team's plan from `maillon init`, checked and written as the draft.
//! - [`site`]: the founding pages' backend, which checks and writes the founding.
//! - [`switch`]: one HTTP server whose site is switched from the founding pages to the node.

pub mod draft;
pub mod plan;
pub mod site;

use std::path::Path;

use axum::response::IntoResponse;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::engine::{Clock, Engine, Origin};
use crate::http_server::switch::SwitchedHttp;
use crate::ingest::pipeline::IngestError;
use crate::node::{NodeError, NodeSettings, RunningNode};
use draft::{DRAFT_FILE, RECORDS_FILE};

/// Whether the node of `config` is waiting for its founders: a draft and no charter yet.
pub fn is_pending(config: &Config) -> bool {
    !config.charter_file.is_file() && config.data_dir.join(DRAFT_FILE).exists()
}

/// The founding pages being served.
pub struct Founding {
    http: SwitchedHttp,
    founded: watch::Receiver<bool>,
}

/// Serves the founding pages of the node of `config` on `listener`.
pub fn serve(
    config: &Config,
    listener: TcpListener,
    web: maillon_web_ui::WebConfig,
    clock: Clock,
) -> Result<Founding, NodeError> {
    let (founded, watch_founded) = watch::channel(false);
    let site = site::FoundingSite::open(config, clock, founded)?;
    let status = status_route(site.clone());
    let router = maillon_web_ui::founding::router(site, web).merge(status);
    let http =
        SwitchedHttp::serve(listener, router, config.site.server).map_err(NodeError::Http)?;
    Ok(Founding {
        http,
        founded: watch_founded,
    })
}

/// `GET /api/v1/status` while founding: what `maillon status` prints.
fn status_route(site: site::FoundingSite) -> axum::Router {
    use maillon_web_ui::founding::FoundingBackend;
    axum::Router::new().route(
        "/api/v1/status",
        axum::routing::get(move || {
            let view = site.view();
            async move {
                let Ok(view) = view else {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
                };
                axum::Json(serde_json::json!({
                    "state": if view.founded { "starting" } else { "founding" },
                    "network_name": view.charter.name,
                    "node_name": view.node_name,
                    "node_key": view.node_key.to_hex(),
                    "founders": view.founders.len(),
                    "expected_founders": view.expected_founders,
                    "approvals": view.founders.iter().filter(|f| f.approved).count(),
                    "problems": maillon_protocol::viability::check(&view.charter)
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>(),
                }))
                .into_response()
            }
        }),
    )
}

impl Founding {
    /// The address served.
    pub fn address(&self) -> std::net::SocketAddr {
        self.http.address
    }

    /// The site in force, as a router (what the server serves).
    pub fn router(&self) -> axum::Router {
        self.http.switch.router()
    }

    /// Waits until the charter is signed.
    pub async fn founded(&mut self) {
        // The sender lives as long as the founding pages; if they are gone, so is the wait.
        let _ = self.founded.wait_for(|founded| *founded).await;
    }

    /// Starts the node behind the same HTTP server, once founded.
    pub async fn start_node(self, settings: NodeSettings) -> Result<RunningNode, NodeError> {
        crate::node::start_behind(settings, self.http).await
    }

    /// Stops serving the founding pages.
    pub async fn stop(self) {
        self.http.stop().await;
    }
}

/// Submits the founders' profiles signed during the founding, then removes their file.
pub async fn submit_founders_profiles(engine: &Engine, data_dir: &Path) -> Result<(), NodeError> {
    let path = data_dir.join(RECORDS_FILE);
    if !path.exists() {
        return Ok(());
    }
    let read_error = |source| NodeError::Read {
        path: path.clone(),
        source,
    };
    let bytes = std::fs::read(&path).map_err(read_error)?;
    let records = crate::records_file::read_records(&mut bytes.as_slice()).map_err(read_error)?;
    for wire in records {
        match engine.submit_wire(&wire, Origin::Local).await {
            Ok(_) => {}
            // Kept for the next start: nothing was acknowledged.
            Err(IngestError::Store(error)) => return Err(NodeError::Store(error)),
            // A profile the network refuses must not keep the node from starting; it is
            // logged, and that founder shows without a profile (under their login).
            Err(refused) => {
                tracing::warn!(%refused, file = %path.display(), "a founder's profile was refused")
            }
        }
    }
    std::fs::remove_file(&path).map_err(read_error)
}
