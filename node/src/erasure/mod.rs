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

use thiserror::Error;

use crate::blobs::BlobError;
use crate::store::StoreError;

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
