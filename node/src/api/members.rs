//! `GET /api/v1/status`, `/api/v1/members/{key}` and `/api/v1/trust`.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use maillon_protocol::ids::PublicKey;
use maillon_protocol::membership::Status;
use serde::{Deserialize, Serialize};

use super::{ApiState, AppError};
use crate::engine::status::NodeStatus;
use crate::network::sync_progress::ProgressReport;
use crate::network::LinkReport;

/// The node's status, with how it reaches its peers.
#[derive(Debug, Serialize)]
pub struct StatusAnswer {
    /// The engine's status.
    #[serde(flatten)]
    pub node: NodeStatus,
    /// Whether this node can be dialled from outside (`public`, `private`, `unknown`), the
    /// relays it listens through, and each connected peer's link (`direct`, `relayed`,
    /// `hole_punched`); absent when the network is not running.
    pub links: Option<LinkReport>,
    /// The catch-up under way (sync fetching at least 1,000 records): records taken and to
    /// take, rate, time left; null otherwise.
    pub sync_progress: Option<ProgressReport>,
}

/// The node's status.
pub async fn status(State(state): State<ApiState>) -> Result<Json<StatusAnswer>, AppError> {
    let (peer_id, links) = match &state.network {
        Some(client) => (
            Some(client.peer_id().to_string()),
            client.links().await.ok(),
        ),
        None => (None, None),
    };
    let peers = links.as_ref().map_or(0, |l| l.peers.len() as u64);
    Ok(Json(StatusAnswer {
        node: state.engine.status(peer_id, peers)?,
        links,
        sync_progress: state
            .network
            .as_ref()
            .and_then(|client| client.sync_progress().report()),
    }))
}

/// A member as the API reports them.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MemberAnswer {
    /// The key asked about, hex.
    pub key: String,
    /// The identity the key belongs to, hex.
    pub identity: String,
    /// `founder`, `member`, `probation`, `lapsed`, `candidate`, `expelled`.
    pub status: String,
    /// When admitted, in ms since 1970.
    pub admitted_at: Option<u64>,
    /// Sponsors whose sponsorship supports this member, hex.
    pub sponsors: Vec<String>,
    /// Members this one supports, hex.
    pub sponsees: Vec<String>,
    /// The member's home node key, hex, from their newest profile.
    pub home_node: Option<String>,
    /// Expelled sponsees.
    pub strikes: u32,
    /// Sponsorships that count at once.
    pub quota: u64,
}

/// Parses a 64-hex-digit key.
pub fn parse_key(text: &str, what: &str) -> Result<PublicKey, AppError> {
    PublicKey::from_hex(text).map_err(|_| {
        AppError::bad_request(
            "bad_key",
            format!("`{what}` must be a key of 64 hexadecimal digits"),
        )
    })
}

fn hexes(keys: &[PublicKey]) -> Vec<String> {
    keys.iter().map(PublicKey::to_hex).collect()
}

/// A member's status, sponsors, sponsees and home node.
pub async fn member(
    State(state): State<ApiState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<MemberAnswer>, AppError> {
    let Path(key) = path?;
    let key = parse_key(&key, "key")?;
    let index = state.engine.index();
    let summary = index.member(&key);
    if summary.status == Status::Unknown {
        return Err(AppError::not_found(
            "unknown_member",
            format!("no member with key {key}"),
        ));
    }
    Ok(Json(MemberAnswer {
        key: key.to_hex(),
        identity: summary.identity.to_hex(),
        status: summary.status.name().to_string(),
        admitted_at: summary.admitted_at.map(|t| t.0),
        sponsors: hexes(&summary.sponsors),
        sponsees: hexes(&summary.sponsees),
        home_node: summary.home_node.map(|k| k.to_hex()),
        strikes: summary.strikes,
        quota: summary.quota,
    }))
}

/// The query of a trust request.
#[derive(Debug, Deserialize)]
pub struct TrustParams {
    from: Option<String>,
    to: Option<String>,
}

/// The answer to a trust request.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TrustAnswer {
    /// Hops on the shortest path, if connected within the search bounds.
    pub distance: Option<u32>,
    /// The first shortest paths, each from `from` to `to`, hex keys.
    pub paths: Vec<Vec<String>>,
    /// Vertex-disjoint paths found (capped).
    pub independent_paths: u32,
    /// Whether the search hit a bound.
    pub truncated: bool,
}

/// Distance, shortest paths and independent paths between two members.
pub async fn trust(
    State(state): State<ApiState>,
    query: Result<Query<TrustParams>, QueryRejection>,
) -> Result<Json<TrustAnswer>, AppError> {
    let Query(params) = query?;
    let missing = || AppError::bad_request("missing_parameter", "give both `from` and `to`");
    let from = parse_key(params.from.as_deref().ok_or_else(missing)?, "from")?;
    let to = parse_key(params.to.as_deref().ok_or_else(missing)?, "to")?;
    let report = state.engine.index().trust(&from, &to);
    Ok(Json(TrustAnswer {
        distance: report.distance,
        paths: report.paths.iter().map(|p| hexes(p)).collect(),
        independent_paths: report.independent_paths,
        truncated: report.truncated,
    }))
}
