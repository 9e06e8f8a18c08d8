//! Photos: served by hash with year-long cache headers, fetched from peers when this node
//! lacks them, and thumbnails made once and kept in a bounded cache.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use maillon_protocol::BlobHash;

use crate::backend::Backend;
use crate::error::AppError;
use crate::photos::{self, PhotoLimits};
use crate::Shared;

/// The cache's contents: thumbnails, their insertion order, and the bytes held.
type Entries = (HashMap<BlobHash, Vec<u8>>, VecDeque<BlobHash>, usize);

/// Thumbnails by photo hash, evicted oldest first past a byte budget.
pub struct ThumbnailCache {
    inner: Mutex<Entries>,
    budget: usize,
}

impl ThumbnailCache {
    /// A cache of at most `budget` bytes.
    pub fn new(budget: usize) -> ThumbnailCache {
        ThumbnailCache {
            inner: Mutex::new((HashMap::new(), VecDeque::new(), 0)),
            budget,
        }
    }

    /// A cached thumbnail.
    pub fn get(&self, hash: &BlobHash) -> Option<Vec<u8>> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.0.get(hash).cloned()
    }

    /// Keeps a thumbnail.
    pub fn insert(&self, hash: BlobHash, bytes: Vec<u8>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order, used) = &mut *inner;
        if let Some(old) = map.insert(hash, bytes) {
            *used -= old.len();
        } else {
            order.push_back(hash);
        }
        *used += map.get(&hash).map_or(0, Vec::len);
        while *used > self.budget {
            let Some(oldest) = order.pop_front() else {
                break;
            };
            if let Some(gone) = map.remove(&oldest) {
                *used -= gone.len();
            }
        }
    }
}

fn jpeg(bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        bytes,
    )
        .into_response()
}

async fn original<B: Backend>(
    state: &Shared<B>,
    hash: &str,
) -> Result<Option<(BlobHash, Vec<u8>)>, AppError> {
    let Ok(hash) = BlobHash::from_hex(hash) else {
        return Ok(None);
    };
    Ok(state.backend.blob(&hash).await?.map(|bytes| (hash, bytes)))
}

/// `/photo/{hash}`: the photo as published (already re-encoded by its author's node).
pub async fn photo<B: Backend>(
    State(state): State<Shared<B>>,
    Path(hash): Path<String>,
) -> Result<Response, AppError> {
    match original(&state, &hash).await? {
        Some((_, bytes)) => Ok(jpeg(bytes)),
        None => Ok(StatusCode::NOT_FOUND.into_response()),
    }
}

/// `/photo/{hash}/mini`: a thumbnail, made on first request.
pub async fn thumbnail<B: Backend>(
    State(state): State<Shared<B>>,
    Path(hash): Path<String>,
) -> Result<Response, AppError> {
    if let Ok(parsed) = BlobHash::from_hex(&hash) {
        if let Some(bytes) = state.thumbnails.get(&parsed) {
            return Ok(jpeg(bytes));
        }
    }
    let Some((hash, bytes)) = original(&state, &hash).await? else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let made = super::blocking(move || photos::process(&bytes, &PhotoLimits::default())).await?;
    match made {
        Ok(photo) => {
            state.thumbnails.insert(hash, photo.thumbnail.clone());
            Ok(jpeg(photo.thumbnail))
        }
        Err(_) => Ok(StatusCode::UNPROCESSABLE_ENTITY.into_response()),
    }
}
