//! What a node does for a member's erasure beyond the store: deleting the photos of their
//! erased listings, and of withdrawn ones ([`photos`]), and exporting everything of theirs
//! first ([`export`]).
//!
//! The store itself drops the erased bodies when it stores the erasure
//! (`ingest::pipeline`); the search and social indexes forget them from the same event.

pub mod export;
mod json;
#[cfg(test)]
mod photo_tests;
pub mod photos;
#[cfg(test)]
mod tests;

use maillon_protocol::links::erasure_covers;
use maillon_protocol::{PublicKey, Record};
use thiserror::Error;

use crate::blobs::BlobError;
use crate::store::{index::decode_stored, Store, StoreError};

/// The keys a stored erasure covers: its author and the keys linked to it by the bindings
/// it references (docs/PROTOCOL.md 8.5). The erasure was accepted with all its refs held.
pub fn covered_keys<S: Store + ?Sized>(
    store: &S,
    erasure: &Record,
) -> Result<Vec<PublicKey>, StoreError> {
    let mut bindings = Vec::new();
    for id in &erasure.header().refs {
        if let Some(bytes) = store.get(id)? {
            bindings.push(decode_stored(&bytes)?);
        }
    }
    Ok(erasure_covers(erasure, |id| {
        bindings.iter().find(|r| r.id() == *id).cloned()
    }))
}

/// The listing series a held listing version or tombstone names, read from its header so
/// that a bare header gives it too: the ref that is a held Listing (its other refs, if any,
/// are key bindings).
pub fn series_named_by<S: Store + ?Sized>(
    store: &S,
    record: &Record,
) -> Result<Option<maillon_protocol::RecordId>, StoreError> {
    for id in &record.header().refs {
        if let Some(bytes) = store.get(id)? {
            if decode_stored(&bytes)?.header().kind == maillon_protocol::Kind::Listing {
                return Ok(Some(*id));
            }
        }
    }
    Ok(None)
}

/// Why erasing photos failed.
#[derive(Debug, Error)]
pub enum ErasureError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blob folder failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// A blocking task panicked or was cancelled.
    #[error("a blocking task failed: {0}")]
    Task(String),
}
