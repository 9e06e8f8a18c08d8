//! Deletes the photos nobody may see any more: those of erased listings and those of
//! withdrawn ones. The ingest task reports, for each erasure it stores, the photos named by
//! the listing bodies it dropped (`Engine::take_erased_photos`, a channel of its own that
//! never drops a report); a stored listing tombstone names its series, whose versions name
//! its photos. This task deletes each such photo from the blob folder (with an erasure
//! mark, see `blobs`) unless a live listing (body held, series not withdrawn) names it too.
//! A listing stored later that names a marked photo lifts the mark, so the photo can be
//! fetched again for that listing. At start, it finishes what a stop interrupted: every
//! photo written before the start that no live listing names is deleted.

use std::collections::HashSet;

use maillon_protocol::ids::{BlobHash, RecordId};
use maillon_protocol::kinds::Listing;
use maillon_protocol::{Body, Kind, Record};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::ErasureError;
use crate::blobs::BlobStore;
use crate::engine::{Engine, StoredEvent};
use crate::store::{index::decode_stored, Store};

/// Deletes `candidates` from `blobs`, except those a live listing still names. Returns the
/// photos deleted or marked. Reads every listing of the store once (on the blocking pool).
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
        tokio::task::spawn_blocking(move || named_by_live_listings(reader.store(), &wanted))
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

/// The series a listing version belongs to: its own id for a first version.
fn series_of(record: &Record) -> RecordId {
    match record.body() {
        Some(Body::Listing(listing)) => listing.series.unwrap_or_else(|| record.id()),
        _ => record.id(),
    }
}

/// The series withdrawn by a held tombstone (read from the header's refs, which a bare
/// header keeps).
fn withdrawn_series<S: Store + ?Sized>(store: &S) -> Result<HashSet<RecordId>, ErasureError> {
    let mut withdrawn = HashSet::new();
    for id in store.by_kind(Kind::ListingTombstone, usize::MAX)? {
        if let Some(bytes) = store.get(&id)? {
            withdrawn.extend(super::series_named_by(store, &decode_stored(&bytes)?)?);
        }
    }
    Ok(withdrawn)
}

/// Calls `visit` with every listing record of the store whose body is held.
fn for_each_held_listing<S: Store + ?Sized>(
    store: &S,
    mut visit: impl FnMut(&Record, &Listing),
) -> Result<(), ErasureError> {
    for id in store.by_kind(Kind::Listing, usize::MAX)? {
        let Some(bytes) = store.get(&id)? else {
            continue;
        };
        let record = decode_stored(&bytes)?;
        if let Some(Body::Listing(listing)) = record.body() {
            visit(&record, listing);
        }
    }
    Ok(())
}

/// The hashes of `wanted` that some live listing names: its body is held and its series is
/// not withdrawn.
pub fn named_by_live_listings<S: Store + ?Sized>(
    store: &S,
    wanted: &HashSet<BlobHash>,
) -> Result<HashSet<BlobHash>, ErasureError> {
    let withdrawn = withdrawn_series(store)?;
    let mut named = HashSet::new();
    for_each_held_listing(store, |record, listing| {
        if !withdrawn.contains(&series_of(record)) {
            named.extend(listing.photos.iter().filter(|h| wanted.contains(h)));
        }
    })?;
    Ok(named)
}

/// The photos the held versions of a series name.
fn photos_of_series<S: Store + ?Sized>(
    store: &S,
    series: &RecordId,
) -> Result<Vec<BlobHash>, ErasureError> {
    let mut photos = Vec::new();
    for_each_held_listing(store, |record, listing| {
        if series_of(record) == *series {
            photos.extend(listing.photos.iter().copied());
        }
    })?;
    photos.sort();
    photos.dedup();
    Ok(photos)
}

/// Deletes the photos of a withdrawn series that no live listing names.
async fn erase_withdrawn(
    engine: &Engine,
    blobs: &BlobStore,
    series: RecordId,
) -> Result<Vec<BlobHash>, ErasureError> {
    let reader = engine.clone();
    let candidates = tokio::task::spawn_blocking(move || photos_of_series(reader.store(), &series))
        .await
        .map_err(|e| ErasureError::Task(e.to_string()))??;
    erase_photos(engine, blobs, candidates).await
}

/// Deletes every photo written before `started` that no live listing names: what an
/// erasure or a withdrawal left on disk when the node stopped before deleting it.
pub async fn sweep(
    engine: &Engine,
    blobs: &BlobStore,
    started: std::time::SystemTime,
) -> Result<Vec<BlobHash>, ErasureError> {
    let held = blobs.held_before(started).await?;
    erase_photos(engine, blobs, held).await
}

/// How long before the start a photo must have been written for the start-up sweep.
pub const SWEEP_MARGIN: std::time::Duration = std::time::Duration::from_secs(1);

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
    // File times may lag the clock by a kernel tick: a photo uploaded just after the start
    // can carry an earlier time. Sweep only what was written a second before the start
    // (seen in CI: a fresh photo swept, then its listing lifted the mark).
    let started = std::time::SystemTime::now() - SWEEP_MARGIN;
    tokio::spawn(async move {
        match sweep(&engine, &blobs, started).await {
            Ok(done) if !done.is_empty() => {
                tracing::info!(photos = done.len(), "deleted photos no live listing names")
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "the start-up sweep of photos failed"),
        }
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
                Ok(event) => match event.record.body() {
                    Some(Body::Listing(listing)) => unmark_named(&blobs, &listing.photos).await,
                    Some(Body::ListingTombstone(tombstone)) => {
                        let series = tombstone.series;
                        match erase_withdrawn(&engine, &blobs, series).await {
                            Ok(done) => {
                                tracing::info!(%series, photos = done.len(), "withdrawn photos")
                            }
                            Err(error) => tracing::error!(
                                %series, %error, "deleting a withdrawn listing's photos failed"
                            ),
                        }
                    }
                    _ => {}
                },
                Err(RecvError::Lagged(missed)) => tracing::warn!(
                    missed,
                    "the photo eraser lagged; marks of photos new listings name may remain"
                ),
                Err(RecvError::Closed) => return,
            }
        }
    })
}
