//! Feeds the web's in-memory indexes (social, moderation): built in the engine's one
//! start-up pass ([`WebIndexes`], a [`StartReader`]), then fed every stored record from the
//! engine's events; a lagging subscriber reloads everything from the store rather than miss
//! one, once records have stopped coming ([`crate::engine::events::until_quiet`]), on the
//! blocking pool. Meanwhile pages read the index as it was.

use std::sync::{Arc, RwLock};

use maillon_protocol::kinds::Charter;
use maillon_protocol::{Body, Kind, PublicKey, Record, Timestamp};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::moderation::ModerationIndex;
use super::social::SocialIndex;
use crate::engine::{Engine, StartReader};
use crate::store::StoreError;

/// An index kept in memory from the records.
pub trait FedIndex: Send + Sync + Sized + 'static {
    /// A name for logs.
    const NAME: &'static str;
    /// The kinds loaded from the store at start (every stored record is offered later).
    fn kinds() -> &'static [Kind];
    /// An empty index.
    fn empty(charter: &Charter) -> Self;
    /// Takes in one stored record.
    fn take(&mut self, record: &Record);
    /// Forgets the bodies of records by `keys` (one identity) created up to `until`.
    fn erase(&mut self, keys: &[PublicKey], until: Timestamp);
}

impl FedIndex for SocialIndex {
    const NAME: &'static str = "social index";

    fn kinds() -> &'static [Kind] {
        super::social::KINDS
    }

    fn empty(charter: &Charter) -> Self {
        SocialIndex::new(charter.answer_deadline_ms)
            .with_bumps_per_node_per_day(charter.bumps_per_node_per_day)
    }

    fn take(&mut self, record: &Record) {
        self.apply(record);
    }

    fn erase(&mut self, keys: &[PublicKey], until: Timestamp) {
        self.apply_erasure(keys, until);
    }
}

impl FedIndex for ModerationIndex {
    const NAME: &'static str = "moderation index";

    fn kinds() -> &'static [Kind] {
        super::moderation::KINDS
    }

    fn empty(charter: &Charter) -> Self {
        ModerationIndex::new(charter.clone(), [])
    }

    fn take(&mut self, record: &Record) {
        self.apply(record);
    }

    fn erase(&mut self, keys: &[PublicKey], until: Timestamp) {
        self.apply_erasure(keys, until);
    }
}

/// Applies one stored record; an erasure makes the index forget the bodies of the keys it
/// covers.
pub(super) async fn apply<I: FedIndex>(engine: &Engine, index: &RwLock<I>, record: &Record) {
    let covered = match record.body() {
        Some(Body::Erasure(_)) => {
            // Reading the store blocks: not on the async workers.
            let (reader, erasure) = (engine.clone(), record.clone());
            let keys = tokio::task::spawn_blocking(move || {
                crate::erasure::covered_keys(reader.store(), &erasure)
            })
            .await
            .ok()
            .and_then(Result::ok);
            Some(keys.unwrap_or_else(|| vec![record.header().author]))
        }
        _ => None,
    };
    take_or_erase(index, record, covered);
}

/// Takes `record` in, or, for an erasure, forgets what the keys it covers signed up to it.
fn take_or_erase<I: FedIndex>(index: &RwLock<I>, record: &Record, covered: Option<Vec<PublicKey>>) {
    let mut index = index.write().unwrap_or_else(|e| e.into_inner());
    match covered {
        Some(keys) => index.erase(&keys, record.header().created),
        None => index.take(record),
    }
}

/// Applies the events already received, on this thread (an erasure reads the store). A lag
/// stops it: the feeder meets the lag next and reloads.
fn catch_up<I: FedIndex>(
    engine: &Engine,
    index: &RwLock<I>,
    events: &mut tokio::sync::broadcast::Receiver<crate::engine::StoredEvent>,
) {
    while let Ok(event) = events.try_recv() {
        let record = &event.record;
        let covered = match record.body() {
            Some(Body::Erasure(_)) => Some(
                crate::erasure::covered_keys(engine.store(), record)
                    .unwrap_or_else(|_| vec![record.header().author]),
            ),
            _ => None,
        };
        take_or_erase(index, record, covered);
    }
}

/// Loads every record the index reads, oldest first: one walk over the store in sync order
/// ([`crate::store::walk`]), which holds a page of records at a time, not all of them.
pub fn load<I: FedIndex>(engine: &Engine) -> Result<I, StoreError> {
    let mut index = I::empty(engine.charter());
    crate::store::walk(engine.store(), |_, _, record| {
        if I::kinds().contains(&record.header().kind) {
            index.take(&record);
        }
        Ok(())
    })?;
    Ok(index)
}

/// An index offered the stored records by the engine's start-up pass takes those of its
/// kinds, in the order [`load`] would give them.
impl<I: FedIndex> StartReader for RwLock<I> {
    fn read(&self, record: &Record) {
        if I::kinds().contains(&record.header().kind) {
            self.write().unwrap_or_else(|e| e.into_inner()).take(record);
        }
    }
}

/// The web's in-memory indexes, made empty before the engine starts and filled by its
/// start-up pass.
#[derive(Clone)]
pub struct WebIndexes {
    /// Profiles, sponsorships, listings, transactions.
    pub social: Arc<RwLock<SocialIndex>>,
    /// Complaints, appointments, labels.
    pub moderation: Arc<RwLock<ModerationIndex>>,
}

impl WebIndexes {
    /// Empty indexes for a network of this charter.
    pub fn empty(charter: &Charter) -> WebIndexes {
        WebIndexes {
            social: Arc::new(RwLock::new(SocialIndex::empty(charter))),
            moderation: Arc::new(RwLock::new(ModerationIndex::empty(charter))),
        }
    }

    /// The readers to pass to `Engine::start_reporting`.
    pub fn readers(&self) -> Vec<Arc<dyn StartReader>> {
        vec![self.social.clone(), self.moderation.clone()]
    }

    /// The indexes, filled by `engine`'s start-up pass, subscribed to its events. Call it
    /// before anything is submitted to the engine, so that no record is missed.
    pub fn subscribe(self, engine: &Engine) -> FedIndexes {
        FedIndexes {
            engine: engine.clone(),
            social_events: engine.subscribe(),
            moderation_events: engine.subscribe(),
            indexes: self,
        }
    }
}

/// The engine and the web's indexes it filled, with their event subscriptions.
pub struct FedIndexes {
    /// The engine.
    pub engine: Engine,
    /// The indexes.
    pub indexes: WebIndexes,
    social_events: tokio::sync::broadcast::Receiver<crate::engine::StoredEvent>,
    moderation_events: tokio::sync::broadcast::Receiver<crate::engine::StoredEvent>,
}

impl FedIndexes {
    /// Subscribes to `engine`'s events, then loads the indexes from its store: for an
    /// engine that already took records (tests that fill a store before the site starts).
    pub fn load(engine: &Engine) -> Result<FedIndexes, StoreError> {
        let social_events = engine.subscribe();
        let moderation_events = engine.subscribe();
        Ok(FedIndexes {
            engine: engine.clone(),
            indexes: WebIndexes {
                social: Arc::new(RwLock::new(load(engine)?)),
                moderation: Arc::new(RwLock::new(load(engine)?)),
            },
            social_events,
            moderation_events,
        })
    }

    /// Applies what was stored since the subscription (the node's own announcement, the
    /// founders' profiles), then starts the two feeders, which stop when `shutdown` turns
    /// true. The site thus starts with every record stored before it.
    pub fn spawn_feeders(mut self, shutdown: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        catch_up(&self.engine, &self.indexes.social, &mut self.social_events);
        catch_up(
            &self.engine,
            &self.indexes.moderation,
            &mut self.moderation_events,
        );
        vec![
            spawn(
                self.engine.clone(),
                self.indexes.social,
                self.social_events,
                shutdown.clone(),
            ),
            spawn(
                self.engine,
                self.indexes.moderation,
                self.moderation_events,
                shutdown.clone(),
            ),
        ]
    }
}

/// Keeps `index` fed until `shutdown` turns true. Subscribe (`Engine::subscribe`) before
/// [`load`], so that nothing stored in between is missed.
pub fn spawn<I: FedIndex>(
    engine: Engine,
    index: Arc<RwLock<I>>,
    mut events: tokio::sync::broadcast::Receiver<crate::engine::StoredEvent>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let mut dropped = engine.watch_dropped();
    dropped.mark_unchanged();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.changed() => {
                    if *shutdown.borrow() { return; }
                }
                changed = dropped.changed() => {
                    if changed.is_err() { return; }
                    let kinds = dropped.borrow_and_update().kinds.clone();
                    if I::kinds().iter().any(|k| kinds.contains(k)) {
                        // Records of expired candidacies left the store.
                        reload(&engine, &index).await;
                    }
                }
                event = events.recv() => match event {
                    Ok(event) => apply(&engine, &index, &event.record).await,
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, index = I::NAME, "lagged; reloading it from the store once records stop coming");
                        let waited = crate::engine::events::until_quiet(
                            &mut events,
                            &mut shutdown,
                            crate::engine::events::QUIET,
                            crate::engine::events::QUIET_AT_MOST,
                        )
                        .await;
                        // Records stored from now on arrive as events; older ones are read
                        // by the load. One stored in between is taken twice: taking is
                        // idempotent.
                        events = events.resubscribe();
                        tracing::info!(waited_ms = waited.as_millis() as u64, index = I::NAME, "reloading");
                        reload(&engine, &index).await;
                    }
                    Err(RecvError::Closed) => return,
                },
            }
        }
    })
}

/// Builds the index again from the store, on the blocking pool, and puts it in place of the
/// old one, which pages read meanwhile.
async fn reload<I: FedIndex>(engine: &Engine, index: &RwLock<I>) {
    let reader = engine.clone();
    match tokio::task::spawn_blocking(move || load::<I>(&reader)).await {
        Ok(Ok(fresh)) => *index.write().unwrap_or_else(|e| e.into_inner()) = fresh,
        Ok(Err(error)) => tracing::error!(%error, index = I::NAME, "reloading failed"),
        Err(error) => tracing::error!(%error, index = I::NAME, "reloading stopped"),
    }
}
