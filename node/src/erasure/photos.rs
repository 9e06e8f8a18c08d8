//! Deletes the photos of erased listings. The ingest task reports, for each erasure it
//! stores, the photos named by the listing bodies it dropped (`Engine::take_erased_photos`,
//! a channel of its own that never drops a report); this task deletes each of
//! them from the blob folder (with an erasure mark, see `blobs`) unless a listing whose
//! body is still held names it too. A listing stored later that names a marked photo lifts
//! the mark, so the photo can be fetched again for that listing.

use std::collections::HashSet;

use maillon_protocol::ids::BlobHash;
use maillon_protocol::{Body, Kind};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::ErasureError;
use crate::blobs::BlobStore;
use crate::engine::{Engine, StoredEvent};
use crate::store::{index::decode_stored, Store};

/// Deletes `candidates` from `blobs`, except those a held listing body still names.
/// Returns the photos deleted or marked. Reads every listing of the store once (on the
/// blocking pool): erasures are rare.
pub async fn erase_photos(
    engine: &Engine,
    blobs: &BlobStore,
    candidates: Vec<BlobHash>,
) -> Result<Vec<BlobHash>, ErasureError> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let reader = engine.clone();
    let wanted: HashSet<BlobHash> = candidates.iter().copied().collect();
    let still_named =
        tokio::task::spawn_blocking(move || named_by_held_listings(reader.store(), &wanted))
            .await
            .map_err(|e| ErasureError::Task(e.to_string()))??;
    let mut erased = Vec::new();
    for hash in candidates {
        if !still_named.contains(&hash) {
            blobs.erase(&hash).await?;
            erased.push(hash);
        }
    }
    Ok(erased)
}

/// The hashes of `wanted` that some listing whose body is held names.
pub fn named_by_held_listings<S: Store>(
    store: &S,
    wanted: &HashSet<BlobHash>,
) -> Result<HashSet<BlobHash>, ErasureError> {
    let mut named = HashSet::new();
    for id in store.by_kind(Kind::Listing, usize::MAX)? {
        let Some(bytes) = store.get(&id)? else {
            continue;
        };
        if let Some(Body::Listing(listing)) = decode_stored(&bytes)?.body() {
            named.extend(listing.photos.iter().filter(|h| wanted.contains(h)));
        }
    }
    Ok(named)
}

/// Lifts the erasure marks of photos a listing just stored names.
async fn unmark_named(blobs: &BlobStore, photos: &[BlobHash]) {
    for hash in photos.iter().filter(|h| blobs.is_erased(h)) {
        if let Err(error) = blobs.unmark(hash).await {
            tracing::error!(%error, "lifting the erasure mark of a photo failed");
        }
    }
}

/// Erases the photos each stored erasure reports, and lifts the marks of photos that new
/// listings name, until `shutdown` turns true. Takes the engine's [`crate::engine::ErasedPhotos`]
/// receiver. Stored events a lagging receiver misses only leave marks in place.
pub fn spawn(
    engine: Engine,
    blobs: BlobStore,
    mut events: broadcast::Receiver<StoredEvent>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let mut erasures = engine.take_erased_photos();
    if erasures.is_none() {
        tracing::error!("the erased photos are already taken: this task will not delete them");
    }
    tokio::spawn(async move {
        loop {
            let next = async {
                match erasures.as_mut() {
                    Some(receiver) => receiver.recv().await,
                    None => std::future::pending().await,
                }
            };
            let event = tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() { return; }
                    continue;
                }
                Some(erased) = next => {
                    let id = erased.erasure;
                    match erase_photos(&engine, &blobs, erased.photos).await {
                        Ok(done) => tracing::info!(%id, photos = done.len(), "erased photos"),
                        Err(error) => {
                            tracing::error!(%id, %error, "erasing the photos of an erasure failed")
                        }
                    }
                    continue;
                }
                event = events.recv() => event,
            };
            match event {
                Ok(event) => {
                    if let Some(Body::Listing(listing)) = event.record.body() {
                        unmark_named(&blobs, &listing.photos).await;
                    }
                }
                Err(RecvError::Lagged(missed)) => tracing::warn!(
                    missed,
                    "the photo eraser lagged; marks of photos new listings name may remain"
                ),
                Err(RecvError::Closed) => return,
            }
        }
    })
}
