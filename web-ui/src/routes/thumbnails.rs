//! Photos: served by hash, fetched from peers when this node lacks them, and smaller copies
//! ([`PhotoSize`], for pages' `srcset`) made once and kept in a bounded cache. A photo can be erased (its member erased their
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

/// The smaller copies of a photo that pages ask for, each named by its path segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PhotoSize {
    /// 256 px: result cards (shown 96 to 128 px wide).
    Small,
    /// 400 px, the thumbnail made at upload.
    Thumbnail,
    /// 800 px: the listing's gallery on a phone.
    Medium,
}

impl PhotoSize {
    /// Every size.
    pub const ALL: [PhotoSize; 3] = [PhotoSize::Small, PhotoSize::Thumbnail, PhotoSize::Medium];

    /// The last segment of the size's address.
    pub fn segment(self) -> &'static str {
        match self {
            PhotoSize::Small => "w256",
            PhotoSize::Thumbnail => "mini",
            PhotoSize::Medium => "w800",
        }
    }

    /// The longest side, in pixels.
    pub fn max_side(self) -> u32 {
        match self {
            PhotoSize::Small => 256,
            PhotoSize::Thumbnail => 400,
            PhotoSize::Medium => 800,
        }
    }

    /// The size a segment names.
    pub fn from_segment(segment: &str) -> Option<PhotoSize> {
        PhotoSize::ALL.into_iter().find(|s| s.segment() == segment)
    }

    /// The address of a photo at this size.
    pub fn url(self, hash: &BlobHash) -> String {
        format!("/photo/{}/{}", hash.to_hex(), self.segment())
    }
}

/// A photo's addresses for a page: `src`, and the `srcset` listing every size with its width.
#[derive(Clone, Debug)]
pub struct PhotoSources {
    /// The original, full size (1600 px at most).
    pub full: String,
    /// The default `src`.
    pub src: String,
    /// Every size, for `srcset`.
    pub srcset: String,
}

impl PhotoSources {
    /// The addresses of a photo, `src` being `default`.
    pub fn of(hash: &BlobHash, default: PhotoSize) -> PhotoSources {
        let full = format!("/photo/{}", hash.to_hex());
        let mut srcset: Vec<String> = PhotoSize::ALL
            .iter()
            .map(|size| format!("{} {}w", size.url(hash), size.max_side()))
            .collect();
        srcset.push(format!("{full} 1600w"));
        PhotoSources {
            src: default.url(hash),
            srcset: srcset.join(", "),
            full,
        }
    }
}

/// What the cache holds: a photo at one size.
type CacheKey = (BlobHash, PhotoSize);
/// The cache's contents: copies, their insertion order, and the bytes held.
type Entries = (HashMap<CacheKey, Vec<u8>>, VecDeque<CacheKey>, usize);

/// Smaller copies of photos by hash and size, evicted oldest first past a byte budget.
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

    /// A cached copy.
    pub fn get(&self, key: &CacheKey) -> Option<Vec<u8>> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.0.get(key).cloned()
    }

    /// Forgets a copy.
    pub fn remove(&self, key: &CacheKey) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order, used) = &mut *inner;
        if let Some(gone) = map.remove(key) {
            *used -= gone.len();
            order.retain(|k| k != key);
        }
    }

    /// Keeps a copy.
    pub fn insert(&self, key: CacheKey, bytes: Vec<u8>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order, used) = &mut *inner;
        if let Some(old) = map.insert(key, bytes) {
            *used -= old.len();
        } else {
            order.push_back(key);
        }
        *used += map.get(&key).map_or(0, Vec::len);
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

/// The entity tag of a photo (`variant` "" or "-" and a size's segment).
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

/// `/photo/{hash}/{size}`: a smaller copy ([`PhotoSize`]), made on first request. The cache
/// serves it only while the node holds the photo: once the photo is erased, its copies go too.
pub async fn sized<B: Backend>(
    State(state): State<Shared<B>>,
    Path((hash, size)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let Some(size) = PhotoSize::from_segment(&size) else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let variant = format!("-{}", size.segment());
    if let Ok(parsed) = BlobHash::from_hex(&hash) {
        let etag = etag_of(&parsed, &variant);
        if let Some(answer) = not_modified(&state, &headers, &parsed, &etag) {
            return Ok(answer);
        }
        match state.thumbnails.get(&(parsed, size)) {
            Some(bytes) if state.backend.holds_blob(&parsed) => return Ok(jpeg(bytes, &etag)),
            Some(_) => state.thumbnails.remove(&(parsed, size)),
            None => {}
        }
    }
    let Some((hash, bytes)) = original(&state, &hash).await? else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let limits = PhotoLimits::default();
    let made = super::blocking(move || photos::resized(&bytes, &limits, size.max_side())).await?;
    match made {
        Ok(copy) => {
            state.thumbnails.insert((hash, size), copy.clone());
            Ok(jpeg(copy, &etag_of(&hash, &variant)))
        }
        Err(_) => Ok(StatusCode::UNPROCESSABLE_ENTITY.into_response()),
    }
}
