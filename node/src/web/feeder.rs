//! Feeds the social index: a full load from the store at start, then every stored record
//! from the engine's events; a lagging subscriber reloads everything rather than miss one.

use std::sync::{Arc, RwLock};

use maillon_protocol::{Body, Record};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::social::{SocialIndex, KINDS};
use crate::engine::Engine;
use crate::store::{Store, StoreError};

/// Loads every record the social index reads, oldest first.
pub fn load(engine: &Engine) -> Result<SocialIndex, StoreError> {
    let store = engine.store();
    let network = engine.network();
    let mut records = Vec::new();
    for kind in KINDS {
        for id in store.by_kind(*kind, usize::MAX)? {
            let Some(wire) = store.get(&id)? else {
                continue;
            };
            match Record::decode(&wire, &network) {
                Ok(record) => records.push(record),
                Err(error) => tracing::error!(%id, %error, "a stored record does not decode"),
            }
        }
    }
    records.sort_by_key(|r| (r.header().created, r.id()));
    let mut index = SocialIndex::new(engine.charter().answer_deadline_ms);
    for record in &records {
        index.apply(record);
    }
    Ok(index)
}

/// Applies one stored record; an erasure makes the index forget the identity's bodies.
async fn apply(engine: &Engine, index: &RwLock<SocialIndex>, record: &Record) {
    if let Some(Body::Erasure(_)) = record.body() {
        // Reading the membership index may recompute it: not on the async workers.
        let (reader, author) = (engine.clone(), record.header().author);
        let keys = tokio::task::spawn_blocking(move || reader.index().keys_of_identity(&author))
            .await
            .unwrap_or_else(|_| vec![author]);
        let mut index = index.write().unwrap_or_else(|e| e.into_inner());
        index.apply_erasure(&keys, record.header().created);
        return;
    }
    index
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .apply(record);
}

/// Keeps `index` fed until `shutdown` turns true. Subscribe (`Engine::subscribe`) before
/// [`load`], so that nothing stored in between is missed.
pub fn spawn(
    engine: Engine,
    index: Arc<RwLock<SocialIndex>>,
    mut events: tokio::sync::broadcast::Receiver<crate::engine::StoredEvent>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.changed() => {
                    if *shutdown.borrow() { return; }
                }
                event = events.recv() => match event {
                    Ok(event) => apply(&engine, &index, &event.record).await,
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "the social index lagged; reloading it from the store");
                        match load(&engine) {
                            Ok(fresh) => *index.write().unwrap_or_else(|e| e.into_inner()) = fresh,
                            Err(error) => tracing::error!(%error, "reloading the social index failed"),
                        }
                    }
                    Err(RecvError::Closed) => return,
                },
            }
        }
    })
}
