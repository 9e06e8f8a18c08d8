//! The validation state a node keeps next to its store: what [`StateView`] needs, kept up to
//! date as records are stored, and rebuilt from the store at start-up.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use maillon_protocol::effects::known_authors;
use maillon_protocol::ids::{NetworkId, PublicKey, RecordId, Timestamp};
use maillon_protocol::kinds::{Body, Charter};
use maillon_protocol::membership::{BindingFact, Facts, Identities, Rules};
use maillon_protocol::{Record, StateView};

use crate::store::{index::decode_stored, Store, StoreError};

/// Known authors, identities and erasures, beside a store.
pub struct StoreState<S: Store> {
    store: Arc<S>,
    charter: Charter,
    network: NetworkId,
    known: HashSet<PublicKey>,
    bindings: Vec<BindingFact>,
    identities: Identities,
    erased: HashMap<PublicKey, Timestamp>,
}

impl<S: Store> StoreState<S> {
    /// Builds the state from every stored record.
    pub fn load(store: Arc<S>, charter: Charter) -> Result<StoreState<S>, StoreError> {
        let mut state = StoreState {
            store: Arc::clone(&store),
            network: charter.network_id(),
            known: known_authors(&charter, std::iter::empty()),
            charter,
            bindings: Vec::new(),
            identities: Identities::default(),
            erased: HashMap::new(),
        };
        let mut from = (Timestamp(0), RecordId([0; 32]));
        loop {
            let batch = store.sync_range(from, 1024)?;
            for (_, id) in &batch {
                if let Some(bytes) = store.get(id)? {
                    state.note(&decode_stored(&bytes)?);
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

    /// The keys of the identity `key` belongs to: the root and every bound key.
    pub fn keys_of_identity(&self, key: &PublicKey) -> Vec<PublicKey> {
        let root = self.identities.resolve(key);
        let mut keys = self.identities.aliases_of(&root);
        keys.push(root);
        keys
    }

    /// The store behind the state.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The charter this state validates against.
    pub fn charter_body(&self) -> &Charter {
        &self.charter
    }

    /// Updates the state with a record just stored.
    pub fn note(&mut self, record: &Record) {
        let h = record.header();
        self.known.extend(known_authors(&self.charter, [record]));
        let binding = match record.body() {
            Some(Body::KeyRotation(k)) => Some(BindingFact {
                old_key: h.author,
                new_key: k.new_key,
                created: h.created,
                id: record.id(),
            }),
            Some(Body::KeyRecovery(k)) => Some(BindingFact {
                old_key: k.old_key,
                new_key: h.author,
                created: h.created,
                id: record.id(),
            }),
            _ => None,
        };
        if let Some(binding) = binding {
            self.bindings.push(binding);
            let facts = Facts {
                bindings: self.bindings.clone(),
                ..Facts::default()
            };
            self.identities = Identities::from_facts(&Rules::of(&self.charter), &facts);
        }
        if let Some(Body::Erasure(_)) = record.body() {
            let identity = self.identities.resolve(&h.author);
            let at = self.erased.entry(identity).or_insert(h.created);
            *at = (*at).max(h.created);
        }
    }
}

impl<S: Store> StateView for StoreState<S> {
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
    fn identity(&self, key: &PublicKey) -> PublicKey {
        self.identities.resolve(key)
    }
    fn erased_at(&self, author: &PublicKey) -> Option<Timestamp> {
        self.erased.get(&self.identities.resolve(author)).copied()
    }
}
