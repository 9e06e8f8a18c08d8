//! The validation state a node keeps next to its store: what [`StateView`] needs, kept up to
//! date as records are stored, and rebuilt from the store at start-up. Records staged by the
//! writer wait here (`pending`) until [`StoreState::write_pending`] puts them in the store in
//! one write; reads through the state see them as stored.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use maillon_protocol::effects::known_authors;
use maillon_protocol::ids::{NetworkId, PublicKey, RecordId, Timestamp};
use maillon_protocol::kinds::{Body, Charter};
use maillon_protocol::{Record, StateView};

use crate::erasure::covered_keys;
use crate::store::{index::decode_stored, Store, StoreError};

/// Known authors and erasure times by key, beside a store.
pub struct StoreState<S: Store + ?Sized> {
    store: Arc<S>,
    charter: Charter,
    network: NetworkId,
    known: HashSet<PublicKey>,
    /// For each covered key, the latest covering erasure's time and id.
    erased: HashMap<PublicKey, (Timestamp, RecordId)>,
    /// Records validated since the last write, in the order they were staged.
    pending: Vec<Record>,
    /// Where each pending record is in `pending`.
    pending_ids: HashMap<RecordId, usize>,
    /// The creation times of the pending records, by author (the per-author rate).
    pending_times: HashMap<PublicKey, Vec<Timestamp>>,
}

impl<S: Store + ?Sized> StoreState<S> {
    /// The state of a store before any record is noted: the caller notes every stored record
    /// (the engine does it in its one start-up pass over the store).
    pub fn empty(store: Arc<S>, charter: Charter) -> StoreState<S> {
        StoreState {
            store,
            network: charter.network_id(),
            known: known_authors(&charter, std::iter::empty()),
            charter,
            erased: HashMap::new(),
            pending: Vec::new(),
            pending_ids: HashMap::new(),
            pending_times: HashMap::new(),
        }
    }

    /// Builds the state from every stored record.
    pub fn load(store: Arc<S>, charter: Charter) -> Result<StoreState<S>, StoreError> {
        let mut state = StoreState::empty(Arc::clone(&store), charter);
        crate::store::walk(&*store, |_, _, record| state.note(&record))?;
        Ok(state)
    }

    /// Takes a validated record that is not an erasure: noted at once, written to the store
    /// by the next [`StoreState::write_pending`]. Refused with `NoSpace` when the store
    /// would refuse it.
    pub fn stage(&mut self, record: Record) -> Result<(), StoreError> {
        self.store.check_writable()?;
        self.note(&record)?;
        self.pending_ids.insert(record.id(), self.pending.len());
        let header = record.header();
        self.pending_times
            .entry(header.author)
            .or_default()
            .push(header.created);
        self.pending.push(record);
        Ok(())
    }

    /// Whether a record is staged and not yet written.
    pub fn is_pending(&self, id: &RecordId) -> bool {
        self.pending_ids.contains_key(id)
    }

    /// Writes the staged records to the store in one atomic write (not yet durable). On
    /// failure none is written, and they are dropped: none was acknowledged.
    pub fn write_pending(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.pending_ids.clear();
        self.pending_times.clear();
        let pending = std::mem::take(&mut self.pending);
        self.store.put_many(&pending)?;
        Ok(())
    }

    /// A record stored or pending, decoded; storage errors are returned.
    pub fn read(&self, id: &RecordId) -> Result<Option<Record>, StoreError> {
        if let Some(&at) = self.pending_ids.get(id) {
            return Ok(Some(self.pending[at].clone()));
        }
        match self.store.get(id)? {
            Some(bytes) => Ok(Some(decode_stored(&bytes)?)),
            None => Ok(None),
        }
    }

    /// How many pending records `author` signed at or after `since`.
    pub fn pending_by(&self, author: &PublicKey, since: Timestamp) -> usize {
        self.pending_times
            .get(author)
            .map_or(0, |times| times.iter().filter(|t| **t >= since).count())
    }

    /// The latest held erasure that covers `key`, if any.
    pub fn covering_erasure(&self, key: &PublicKey) -> Option<RecordId> {
        self.erased.get(key).map(|(_, id)| *id)
    }

    /// The store behind the state.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The shared handle on the store behind the state.
    pub fn store_arc(&self) -> &Arc<S> {
        &self.store
    }

    /// The charter this state validates against.
    pub fn charter_body(&self) -> &Charter {
        &self.charter
    }

    /// Updates the state with a record just stored: its author may now be known, and an
    /// erasure covers its keys up to its time.
    pub fn note(&mut self, record: &Record) -> Result<(), StoreError> {
        self.known.extend(known_authors(&self.charter, [record]));
        if let Some(Body::Erasure(_)) = record.body() {
            let latest = (record.header().created, record.id());
            for key in covered_keys(self.store.as_ref(), record)? {
                let entry = self.erased.entry(key).or_insert(latest);
                *entry = (*entry).max(latest);
            }
        }
        Ok(())
    }
}

impl<S: Store + ?Sized> StateView for StoreState<S> {
    fn charter(&self) -> &Charter {
        &self.charter
    }
    fn network(&self) -> NetworkId {
        self.network
    }
    fn record(&self, id: &RecordId) -> Option<Record> {
        // The pipeline reads every ref through the store first and stops on any storage
        // error, so what validation asks for here has just been read successfully.
        self.read(id).ok().flatten()
    }
    fn is_known_author(&self, key: &PublicKey) -> bool {
        self.known.contains(key)
    }
    fn erased_at(&self, key: &PublicKey) -> Option<Timestamp> {
        self.erased.get(key).map(|(at, _)| *at)
    }
}
