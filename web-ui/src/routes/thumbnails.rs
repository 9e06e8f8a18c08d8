//! Photos: served by hash, fetched from peers when this node lacks them, and thumbnails
//! made once and kept in a bounded cache. A photo can be erased (its member erased their
//! data, or its listing was withdrawn), so no response lets a browser or a proxy keep it:
//! each is `private, no-cache` with an `ETag`, and a browser's copy is confirmed (304) only
//! while this node still serves the photo.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
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

    /// Forgets a thumbnail.
    pub fn remove(&self, hash: &BlobHash) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order, used) = &mut *inner;
        if let Some(gone) = map.remove(hash) {
            *used -= gone.len();
            order.retain(|h| h != hash);
        }
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

/// The cache policy of every photo response: kept only by the browser, and checked with
/// this node before each use.
pub const PHOTO_CACHE_CONTROL: &str = "private, no-cache";

fn jpeg(bytes: Vec<u8>, etag: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, PHOTO_CACHE_CONTROL),
            (header::ETAG, etag),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        bytes,
    )
        .into_response()
}

/// The entity tag of a photo (`variant` "" or "-mini").
fn etag_of(hash: &BlobHash, variant: &str) -> String {
    format!("\"{}{variant}\"", hash.to_hex())
}

/// 304 when the browser's copy is this photo's and the node still serves the photo.
fn not_modified<B: Backend>(
    state: &Shared<B>,
    headers: &HeaderMap,
    hash: &BlobHash,
    etag: &str,
) -> Option<Response> {
    let asked = headers.get(header::IF_NONE_MATCH)?.to_str().ok()?;
    let matches = asked.split(',').any(|tag| tag.trim() == etag);
    (matches && state.backend.holds_blob(hash)).then(|| {
        (
            StatusCode::NOT_MODIFIED,
            [
                (header::CACHE_CONTROL, PHOTO_CACHE_CONTROL),
                (header::ETAG, etag),
            ],
        )
            .into_response()
    })
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
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Ok(parsed) = BlobHash::from_hex(&hash) {
        if let Some(answer) = not_modified(&state, &headers, &parsed, &etag_of(&parsed, "")) {
            return Ok(answer);
        }
    }
    match original(&state, &hash).await? {
        Some((hash, bytes)) => Ok(jpeg(bytes, &etag_of(&hash, ""))),
        None => Ok(StatusCode::NOT_FOUND.into_response()),
    }
}

/// `/photo/{hash}/mini`: a thumbnail, made on first request. The cache serves it only while
/// the node holds the photo: once the photo is erased, its thumbnail goes too.
pub async fn thumbnail<B: Backend>(
    State(state): State<Shared<B>>,
    Path(hash): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Ok(parsed) = BlobHash::from_hex(&hash) {
        let etag = etag_of(&parsed, "-mini");
        if let Some(answer) = not_modified(&state, &headers, &parsed, &etag) {
            return Ok(answer);
        }
        match state.thumbnails.get(&parsed) {
            Some(bytes) if state.backend.holds_blob(&parsed) => return Ok(jpeg(bytes, &etag)),
            Some(_) => state.thumbnails.remove(&parsed),
            None => {}
        }
    }
    let Some((hash, bytes)) = original(&state, &hash).await? else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let made = super::blocking(move || photos::process(&bytes, &PhotoLimits::default())).await?;
    match made {
        Ok(photo) => {
            state.thumbnails.insert(hash, photo.thumbnail.clone());
            Ok(jpeg(photo.thumbnail, &etag_of(&hash, "-mini")))
        }
        Err(_) => Ok(StatusCode::UNPROCESSABLE_ENTITY.into_response()),
    }
}
