//! `GET /ready`: whether the node can serve. Ready when its store answers, it has synced
//! with at least one peer (or its configuration names none), and its disk is above the
//! free-space floor. A disk running low is a warning, not a refusal. `GET /health` (the
//! process answers) is the site's.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::ApiState;
use crate::engine::status::StorageStatus;
use crate::store::space::SpaceState;

/// The answer of `GET /ready`.
#[derive(Debug, Serialize)]
pub struct ReadyAnswer {
    /// Whether the node can serve: the status is 200 then, else 503.
    pub ready: bool,
    /// Whether the store answered a read.
    pub store_open: bool,
    /// Whether a sync with a peer has gone to its end since the start (`null` when no peer
    /// is configured).
    pub synced: Option<bool>,
    /// Free space on the data folder's volume.
    pub storage: StorageStatus,
    /// Why the node is not ready, or what the operator should see to soon: in English.
    pub problems: Vec<String>,
}

/// `GET /ready`.
pub async fn ready(State(state): State<ApiState>) -> Response {
    let engine = &state.engine;
    let mut problems = Vec::new();
    let store_open = match engine.store().len() {
        Ok(_) => true,
        Err(error) => {
            problems.push(format!("the store does not answer: {error}"));
            false
        }
    };
    let synced = state.peers_configured.then(|| {
        state
            .network
            .as_ref()
            .is_some_and(|client| client.sync_log().last_success().is_some())
    });
    if synced == Some(false) {
        problems.push("no sync with a peer has completed yet".into());
    }
    let space = engine.store().free_space();
    match space.state {
        SpaceState::Full => problems.push(
            "the data folder's disk is at its free-space floor: new records are refused".into(),
        ),
        SpaceState::Low => problems
            .push("warning: the data folder's disk is nearly full (under twice the floor)".into()),
        SpaceState::Ample => {}
    }
    let ready = store_open && synced != Some(false) && space.state != SpaceState::Full;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let answer = ReadyAnswer {
        ready,
        store_open,
        synced,
        storage: space.into(),
        problems,
    };
    (status, Json(answer)).into_response()
}
