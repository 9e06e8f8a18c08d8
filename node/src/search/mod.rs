//! Full-text, geographic and trust-filtered search over every listing of the network, with
//! tantivy.
//!
//! The index holds one document per listing series: its current version, unless withdrawn
//! by a tombstone or erased. Like every index of the node it is derived from the records
//! and can be rebuilt from the store at any time; a marker in the index's commit payload
//! (network, schema version, records reflected) tells at start-up whether it must be.
//!
//! - [`schema`]: the fields and the French analyzer.
//! - [`doc`]: [`ListingDoc`], what the index keeps of one listing.
//! - [`index`]: [`SearchIndex`] (cloneable, for readers) and [`SearchWriter`] (the one writer).
//! - [`query`]: how the web UI's `SearchQuery` becomes a tantivy query; [`SearchPage`].
//! - [`collector`]: the collector that filters on fast fields and keeps one page in order.
//! - [`geo`]: great-circle distances and bounding boxes.
//! - [`feed`]: [`feed::Feed`], how each stored record changes the index (synchronous).
//! - [`feeder`]: [`spawn_feeder`], which keeps the index fresh from the engine's stored
//!   records, committing in batches, and rebuilds it when needed.

pub mod collector;
pub mod doc;
pub mod feed;
pub mod feeder;
pub mod geo;
pub mod index;
pub mod query;
pub mod schema;
#[cfg(test)]
mod tests;

pub use doc::{BumpMark, ListingDoc};
pub use feeder::{spawn_feeder, FeederOptions};
pub use index::{IndexMarker, SearchIndex, SearchWriter};
pub use query::{SearchHit, SearchPage};

use thiserror::Error;

use crate::store::StoreError;

/// Why the search index failed.
#[derive(Debug, Error)]
pub enum SearchError {
    /// tantivy failed.
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// The index folder could not be opened.
    #[error("search index folder: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
    /// A file system operation on the index folder failed.
    #[error("search index folder {path}: {source}")]
    Io {
        /// The folder.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The store failed while the index was fed or rebuilt.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored document lacks a field or holds a malformed one.
    #[error("search index document is malformed: {0}")]
    Malformed(&'static str),
    /// The index's one writer has already been taken.
    #[error("the search index already has a writer")]
    WriterTaken,
    /// A blocking task failed (panicked or was cancelled).
    #[error("a search indexing task failed")]
    TaskFailed,
}
