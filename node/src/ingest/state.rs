//! The validation state a node keeps next to its store: what [`StateView`] needs, kept up to
//! date as records are stored, and rebuilt from the store at start-up.

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
}

impl<S: Store + ?Sized> StoreState<S> {
    /// Builds the state from every stored record.
    pub fn load(store: Arc<S>, charter: Charter) -> Result<StoreState<S>, StoreError> {
        let mut state = StoreState {
            store: Arc::clone(&store),
            network: charter.network_id(),
            known: known_authors(&charter, std::iter::empty()),
            charter,
            erased: HashMap::new(),
        };
        let mut from = (Timestamp(0), RecordId([0; 32]));
        loop {
            let batch = store.sync_range(from, 1024)?;
            for (_, id) in &batch {
                if let Some(bytes) = store.get(id)? {
                    state.note(&decode_stored(&bytes)?)?;
                }
            }
            match batch.last() {
                Some(&(created, id)) if batch.len() == 1024 => {
                    let mut next = id.0;
                    // The smallest id after this one, to resume after it.
                    for byte in next.iter_mut().rev() {
                        let (value, overflow) = byte.overflowing_add(1);
                        *byte = value;
                        if !overflow {
                            break;
                        }
                    }
                    from = (created, RecordId(next));
                }
                _ => break,
            }
        }
        Ok(state)
    }

    /// Builds the state again from the store, after records were removed from it.
    pub fn reload(&mut self) -> Result<(), StoreError> {
        *self = StoreState::load(Arc::clone(&self.store), self.charter.clone())?;
        Ok(())
    }

    /// The latest held erasure that covers `key`, if any.
    pub fn covering_erasure(&self, key: &PublicKey) -> Option<RecordId> {
        self.erased.get(key).map(|(_, id)| *id)
    }

    /// The store behind the state.
    pub fn store(&self) -> &S {
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
        self.store
            .get(id)
            .ok()
            .flatten()
            .and_then(|bytes| decode_stored(&bytes).ok())
    }
    fn is_known_author(&self, key: &PublicKey) -> bool {
        self.known.contains(key)
    }
    fn erased_at(&self, key: &PublicKey) -> Option<Timestamp> {
        self.erased.get(key).map(|(at, _)| *at)
    }
}
