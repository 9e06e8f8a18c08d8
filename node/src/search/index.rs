//! [`SearchIndex`], the cloneable read side of the listing index, and [`SearchWriter`], its
//! one writer. Searches see the index as of the last commit: the reader is reloaded by
//! [`SearchWriter::commit`] (manual reload policy), never per document.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use maillon_protocol::ids::{NetworkId, RecordId, Timestamp};
use tantivy::directory::MmapDirectory;
use tantivy::query::RangeQuery;
use tantivy::schema::Term;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError};

use super::doc::{BumpMark, ListingDoc};
use super::query::{self, SearchPage, SearchQuery};
use super::schema::{self, Fields, FRENCH, SCHEMA_VERSION};
use super::SearchError;

/// The smallest writer memory budget tantivy accepts per indexing thread.
pub const MIN_BUDGET_PER_THREAD: usize = 15_000_000;

/// New documents are committed once no record has arrived for this long: a lone new listing
/// is found by search about a second after it is stored. Each commit writes a segment of
/// several files and syncs them, and competes with the ingest path's flush for the disk and
/// the cores; while records flow, it waits (docs/PERFORMANCE.md, « Gossip regression »).
pub const COMMIT_QUIET: Duration = Duration::from_secs(1);

/// Commit at the latest this long after the first pending document, even while records
/// keep arriving.
pub const COMMIT_INTERVAL: Duration = Duration::from_secs(10);

/// Commit at the latest after this many pending operations.
pub const COMMIT_EVERY_OPS: usize = 5_000;

/// What the index's last commit reflects: which network, and how many of the store's
/// records. Kept in tantivy's commit payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexMarker {
    /// The network the listings belong to.
    pub network: NetworkId,
    /// Records of the store the index had taken into account (every kind counts).
    pub records: u64,
}

impl IndexMarker {
    fn to_payload(self) -> String {
        format!(
            "maillon-search/v{SCHEMA_VERSION} network={} records={}",
            self.network.to_hex(),
            self.records
        )
    }

    /// Reads a payload; `None` if it is missing, malformed or of another schema version.
    fn from_payload(payload: &str) -> Option<IndexMarker> {
        let mut parts = payload.split(' ');
        if parts.next()? != format!("maillon-search/v{SCHEMA_VERSION}") {
            return None;
        }
        let network = NetworkId::from_hex(parts.next()?.strip_prefix("network=")?).ok()?;
        let records = parts.next()?.strip_prefix("records=")?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(IndexMarker { network, records })
    }
}

struct Inner {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    threads: usize,
    budget: usize,
    writer_taken: AtomicBool,
}

/// The listing index's read side: cheap to clone, shared by every reader.
#[derive(Clone)]
pub struct SearchIndex {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("docs", &self.num_docs())
            .finish()
    }
}

impl SearchIndex {
    /// Opens the index in `dir`, creating the folder and the index if needed. An index of
    /// another schema, or one tantivy cannot read, is deleted and created anew: it is
    /// derived and will be rebuilt. The writer gets `memory_budget_bytes` (at least 15 MB
    /// per indexing thread; as many threads as cores and budget allow, at most 2).
    pub fn open(dir: &Path, memory_budget_bytes: usize) -> Result<SearchIndex, SearchError> {
        let io = |source| SearchError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let (schema, fields) = schema::build();
        let open = || -> Result<Index, SearchError> {
            let directory = MmapDirectory::open(dir)?;
            Ok(Index::open_or_create(directory, schema.clone())?)
        };
        let index = match open() {
            Ok(index) => index,
            Err(SearchError::Tantivy(
                TantivyError::SchemaError(_)
                | TantivyError::DataCorruption(_)
                | TantivyError::IncompatibleIndex(_),
            )) => {
                tracing::warn!(dir = %dir.display(), "search index unreadable; recreating it");
                std::fs::remove_dir_all(dir).map_err(io)?;
                std::fs::create_dir_all(dir).map_err(io)?;
                open()?
            }
            Err(other) => return Err(other),
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = cores
            .min(2)
            .min(memory_budget_bytes / MIN_BUDGET_PER_THREAD)
            .max(1);
        let budget = memory_budget_bytes.max(threads * MIN_BUDGET_PER_THREAD);
        SearchIndex::assemble(index, fields, threads, budget)
    }

    /// An index in memory, for tests and tools: one indexing thread, 20 MB.
    pub fn in_memory() -> Result<SearchIndex, SearchError> {
        let (schema, fields) = schema::build();
        SearchIndex::assemble(Index::create_in_ram(schema), fields, 1, 20_000_000)
    }

    fn assemble(
        index: Index,
        fields: Fields,
        threads: usize,
        budget: usize,
    ) -> Result<SearchIndex, SearchError> {
        index
            .tokenizers()
            .register(FRENCH, schema::french_analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            inner: Arc::new(Inner {
                index,
                reader,
                fields,
                threads,
                budget,
                writer_taken: AtomicBool::new(false),
            }),
        })
    }

    /// The index's one writer. A second call fails with [`SearchError::WriterTaken`].
    pub fn writer(&self) -> Result<SearchWriter, SearchError> {
        if self.inner.writer_taken.swap(true, Ordering::SeqCst) {
            return Err(SearchError::WriterTaken);
        }
        let writer = self
            .inner
            .index
            .writer_with_num_threads(self.inner.threads, self.inner.budget);
        match writer {
            Ok(writer) => Ok(SearchWriter {
                writer: Some(writer),
                index: self.clone(),
                pending: 0,
                last_commit: Instant::now(),
                added_since_commit: HashSet::new(),
                deletes: 0,
            }),
            Err(error) => {
                self.inner.writer_taken.store(false, Ordering::SeqCst);
                Err(error.into())
            }
        }
    }

    /// What the last commit reflects, if it carries a marker of this schema version.
    pub fn marker(&self) -> Result<Option<IndexMarker>, SearchError> {
        let metas = self.inner.index.load_metas()?;
        Ok(metas.payload.as_deref().and_then(IndexMarker::from_payload))
    }

    /// Documents visible to searches (as of the last commit), expired ones included.
    pub fn num_docs(&self) -> u64 {
        self.inner.reader.searcher().num_docs()
    }

    /// Runs a query against the last commit, at time `now`.
    pub fn search(&self, query: &SearchQuery, now: Timestamp) -> Result<SearchPage, SearchError> {
        let searcher = self.inner.reader.searcher();
        query::execute(&searcher, &self.inner.fields, query, now)
    }

    /// The fields.
    pub fn fields(&self) -> &Fields {
        &self.inner.fields
    }

    /// The tantivy index, for tools and benchmarks.
    pub fn tantivy(&self) -> &Index {
        &self.inner.index
    }
}

/// The one writer of a [`SearchIndex`]. Changes become visible at [`SearchWriter::commit`].
pub struct SearchWriter {
    /// Always `Some` but during [`SearchWriter::finish`].
    writer: Option<IndexWriter<TantivyDocument>>,
    index: SearchIndex,
    pending: usize,
    last_commit: Instant,
    /// Series added since the last commit, which the committed index cannot show yet.
    added_since_commit: HashSet<RecordId>,
    /// Deletes of a series issued so far, for tests.
    deletes: u64,
}

impl Drop for SearchWriter {
    fn drop(&mut self) {
        // tantivy's writer releases the folder's lock when dropped, so another may be taken.
        drop(self.writer.take());
        self.index.inner.writer_taken.store(false, Ordering::SeqCst);
    }
}

impl SearchWriter {
    fn w(&mut self) -> Result<&mut IndexWriter<TantivyDocument>, SearchError> {
        self.writer.as_mut().ok_or(SearchError::WriterTaken)
    }

    /// Adds a listing, replacing any document of the same series. The delete is issued only
    /// if a document of the series may exist: tantivy keeps every delete, with its query
    /// compiled, until each segment has seen it, and a new node's catch-up adds hundreds of
    /// thousands of listings no index ever held (docs/PERFORMANCE.md, "Where a new node's
    /// memory goes").
    pub fn upsert(&mut self, doc: &ListingDoc) -> Result<(), SearchError> {
        if self.may_hold(&doc.series)? {
            self.delete_series(&doc.series)?;
        }
        self.add_new(doc)
    }

    /// Adds a listing known not to be indexed yet (after [`SearchWriter::clear`]): no
    /// delete of its series first.
    pub fn add_new(&mut self, doc: &ListingDoc) -> Result<(), SearchError> {
        let f = self.index.inner.fields;
        self.w()?.add_document(doc.to_document(&f))?;
        self.added_since_commit.insert(doc.series);
        self.pending += 1;
        Ok(())
    }

    /// Whether a document of `series` may be in the index: added since the last commit,
    /// or found by the committed index's terms (which still count deleted documents until
    /// a merge drops them: a false "maybe" only costs a delete).
    fn may_hold(&self, series: &RecordId) -> Result<bool, SearchError> {
        if self.added_since_commit.contains(series) {
            return Ok(true);
        }
        let term = Term::from_field_bytes(self.index.inner.fields.series, &series.0);
        Ok(self.index.inner.reader.searcher().doc_freq(&term)? > 0)
    }

    fn delete_series(&mut self, series: &RecordId) -> Result<(), SearchError> {
        let f = self.index.inner.fields;
        self.w()?
            .delete_term(Term::from_field_bytes(f.series, &series.0));
        self.deletes += 1;
        Ok(())
    }

    /// Deletes of a series issued by this writer so far.
    pub fn deletes_issued(&self) -> u64 {
        self.deletes
    }

    /// Adds a listing with a bump: the feeder supplies the full document.
    pub fn set_bumped(&mut self, doc: ListingDoc, bump: BumpMark) -> Result<(), SearchError> {
        self.upsert(&doc.with_bump(Some(bump)))
    }

    /// Removes the document of a series, if any.
    pub fn remove(&mut self, series: &RecordId) -> Result<(), SearchError> {
        if self.may_hold(series)? {
            self.delete_series(series)?;
            self.pending += 1;
        }
        Ok(())
    }

    /// Removes every document whose version expired at or before `now`.
    pub fn remove_expired(&mut self, now: Timestamp) -> Result<(), SearchError> {
        let f = self.index.inner.fields;
        let query = RangeQuery::new(
            std::ops::Bound::Unbounded,
            std::ops::Bound::Included(Term::from_field_u64(f.expires, now.0)),
        );
        self.w()?.delete_query(Box::new(query))?;
        self.pending += 1;
        Ok(())
    }

    /// Removes every document.
    pub fn clear(&mut self) -> Result<(), SearchError> {
        self.w()?.delete_all_documents()?;
        self.pending += 1;
        Ok(())
    }

    /// Operations since the last commit.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Whether a batch is due: operations pending for [`COMMIT_INTERVAL`], or
    /// [`COMMIT_EVERY_OPS`] of them.
    pub fn commit_due(&self) -> bool {
        self.pending >= COMMIT_EVERY_OPS
            || (self.pending > 0 && self.last_commit.elapsed() >= COMMIT_INTERVAL)
    }

    /// Makes every change so far durable and visible to searches, with `marker` in the
    /// commit payload (none: the payload is cleared, so the next start rebuilds).
    pub fn commit(&mut self, marker: Option<IndexMarker>) -> Result<(), SearchError> {
        let mut prepared = self.w()?.prepare_commit()?;
        prepared.set_payload(&marker.map(IndexMarker::to_payload).unwrap_or_default());
        prepared.commit()?;
        self.index.inner.reader.reload()?;
        self.added_since_commit.clear();
        self.pending = 0;
        self.last_commit = Instant::now();
        Ok(())
    }

    /// The index this writer writes.
    pub fn index(&self) -> &SearchIndex {
        &self.index
    }

    /// Waits for background merges, then releases the writer.
    pub fn finish(mut self) -> Result<(), SearchError> {
        if let Some(writer) = self.writer.take() {
            writer.wait_merging_threads()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod marker_tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_refuse_other_versions() {
        let marker = IndexMarker {
            network: NetworkId([7; 32]),
            records: 1234,
        };
        assert_eq!(
            IndexMarker::from_payload(&marker.to_payload()),
            Some(marker)
        );
        assert_eq!(IndexMarker::from_payload(""), None);
        let other = marker.to_payload().replace("/v1 ", "/v0 ");
        assert_eq!(IndexMarker::from_payload(&other), None);
    }
}
