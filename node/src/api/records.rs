//! `POST /api/v1/records` and `GET /api/v1/records/{id}`.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use maillon_protocol::ids::RecordId;
use serde::Serialize;

use super::{ApiState, AppError};
use crate::engine::Origin;
use crate::ingest::pipeline::Submitted;

/// The media type of record wire bytes.
pub const CBOR: &str = "application/cbor";

/// The answer to a post.
#[derive(Debug, Serialize)]
pub struct PostAnswer {
    /// The record id, hex.
    pub id: String,
    /// `stored`, `duplicate` or `parked`.
    pub status: &'static str,
    /// Ids of parked records this one released (stored).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub released: Vec<String>,
    /// Ids the record waits for (parked).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

fn hexes(ids: &[RecordId]) -> Vec<String> {
    ids.iter().map(RecordId::to_hex).collect()
}

/// Takes a record's wire bytes: 201 once durable, 200 if known, 202 if parked.
pub async fn post_record(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, AppError> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // Media types are case-insensitive (RFC 9110, 8.3.1); parameters are ignored.
    let essence = media.split(';').next().map(str::trim).unwrap_or("");
    if !essence.eq_ignore_ascii_case(CBOR) {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the record's wire bytes as application/cbor",
        ));
    }
    let body = body.map_err(|rejection| {
        AppError::new(rejection.status(), "body_rejected", rejection.body_text())
    })?;
    let submitted = state.engine.submit_wire(&body, Origin::Local).await?;
    let class = submitted.class();
    let (id, released, missing) = match submitted {
        Submitted::Stored { id, released } => (id, released, Vec::new()),
        Submitted::Duplicate(id) => (id, Vec::new(), Vec::new()),
        Submitted::Parked { id, missing } => (id, Vec::new(), missing),
    };
    let answer = PostAnswer {
        id: id.to_hex(),
        status: class.code,
        released: hexes(&released),
        missing: hexes(&missing),
    };
    Ok((class.status, Json(answer)).into_response())
}

/// Parses a 64-hex-digit id.
pub fn parse_id(text: &str) -> Result<RecordId, AppError> {
    RecordId::from_hex(text)
        .map_err(|_| AppError::bad_request("bad_id", "a record id is 64 hexadecimal digits"))
}

/// A record's wire bytes.
pub async fn get_record(
    State(state): State<ApiState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let Path(id) = path?;
    let id = parse_id(&id)?;
    match state.engine.record(&id)? {
        Some(wire) => Ok(([(header::CONTENT_TYPE, CBOR)], wire).into_response()),
        None => Err(AppError::not_found(
            "unknown_record",
            format!("no record {id}"),
        )),
    }
}
