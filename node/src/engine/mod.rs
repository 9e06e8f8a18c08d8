//! The node's engine: one ingest task that owns the pipeline, and a cheap, cloneable
//! [`Engine`] handle that the HTTP API and the network use to submit and read records.
//!
//! - [`ingest_task`]: the task that batches submissions, validates, stores, flushes once per
//!   batch, then updates the membership index and the sync set.
//! - [`standing`]: the node's admission policy for records from authors not in good standing.
//! - [`expiry`]: drops the records of expired candidacies.
//! - [`status`]: what `GET /api/v1/status` reports.
//! - [`events`]: how a subscriber that lagged behind the stored records waits for a quiet
//!   moment before it reads the store again.
//!
//! The engine holds its store as `Arc<dyn Store>`: sled in a node, the memory twin in tests
//! (`twin_tests` runs the same records through both).

pub mod events;
pub mod expiry;
#[cfg(test)]
mod expiry_tests;
#[cfg(test)]
mod flush_tests;
mod ingest_task;
mod refresh;
mod staging;
pub mod standing;
pub mod start_progress;
pub mod status;
#[cfg(test)]
pub(crate) mod twin_tests;

use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use maillon_protocol::ids::{NetworkId, PublicKey, RecordId, Timestamp};
use maillon_protocol::kinds::{Body, Charter};
use maillon_protocol::sync::{SyncItem, SyncSet};
use maillon_protocol::Record;
use thiserror::Error;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::ingest::parking::ParkingLimits;
use crate::ingest::pipeline::{Ingest, IngestError, Submitted, Verified};
use crate::ingest::state::StoreState;
use crate::membership_index::MembershipIndex;
use crate::store::{Store, StoreError};
pub(crate) use refresh::refresh_if_needed;
use refresh::LastRefresh;
pub use refresh::{
    CATCH_UP_REFRESH_COST_FACTOR, CATCH_UP_WINDOW, CHEAP_REFRESH, READ_REFRESH_COST_FACTOR,
};
use start_progress::{StartProgress, StartStep};

pub use ingest_task::MAX_BATCH_RECORDS;

/// Where a record came from. The standing policy applies to every origin but
/// [`Origin::Fetched`]; see [`standing`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Posted to this node's API by a member or a script.
    Local,
    /// Received on a gossip topic.
    Gossip,
    /// Pushed by a peer during sync.
    Pushed,
    /// Fetched from a peer because reconciliation showed this node lacked it.
    Fetched,
    /// A peer's copy of a record this node holds in another form, fetched after the erased
    /// reconciliation to drop or restore its body (docs/PROTOCOL.md 10.9).
    Repair,
}

/// A record just stored durably, announced to the network layer.
#[derive(Clone, Debug)]
pub struct StoredEvent {
    /// The record.
    pub record: Record,
    /// How it arrived.
    pub origin: Origin,
}

/// The photos named by the listing bodies an erasure dropped on this node, reported once the
/// erasure is durable. They go through their own unbounded channel, not the broadcast of
/// stored records, so that a burst of records cannot make the photo eraser miss one; erasures
/// are rare, so the channel stays small.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasedPhotos {
    /// The erasure.
    pub erasure: RecordId,
    /// The photos, each once.
    pub photos: Vec<maillon_protocol::ids::BlobHash>,
}

/// The engine stopped or its channel is closed.
#[derive(Debug, Error)]
pub enum EngineError {
    /// The ingest task has stopped: the node is shutting down.
    #[error("the node is shutting down")]
    Stopped,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The source of time. Tests pass a fixed or shifted clock.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The system clock, in milliseconds since 1970.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(since.as_millis() as u64)
    })
}

/// What the engine needs to start.
pub struct EngineParts {
    /// The opened store: sled in a node, the memory twin in tests.
    pub store: Arc<dyn Store>,
    /// The charter record.
    pub charter: Record,
    /// This node's public key.
    pub node_key: PublicKey,
    /// This node's display name.
    pub name: String,
    /// Parking lot bounds.
    pub parking: ParkingLimits,
    /// Joins one introducing node may bring in a day at this node's edges.
    pub joins_per_introducer_per_day: usize,
    /// The clock.
    pub clock: Clock,
}

/// What is built from the stored records in the engine's one start-up pass besides its own
/// views (the web's in-memory indexes): offered every stored record once, oldest first (by
/// created, then id), before the engine takes any submission.
pub trait StartReader: Send + Sync {
    /// Takes in one stored record.
    fn read(&self, record: &Record);
}

/// A request for a pass over expired candidacies ([`expiry`]), with where to answer.
pub(crate) struct PassRequest {
    reply: Option<oneshot::Sender<Result<expiry::Dropped, StoreError>>>,
}

pub(crate) struct Job {
    records: Vec<Verified>,
    origin: Origin,
    reply: oneshot::Sender<Vec<Result<Submitted, IngestError>>>,
}

pub(crate) struct Shared {
    store: Arc<dyn Store>,
    charter: Charter,
    network: NetworkId,
    node_key: PublicKey,
    name: String,
    clock: Clock,
    index: RwLock<MembershipIndex>,
    sync_set: RwLock<SyncSet>,
    /// The items of the records held as bare headers (docs/PROTOCOL.md 10.9).
    erased_set: RwLock<SyncSet>,
    stored: broadcast::Sender<StoredEvent>,
    erased_photos: mpsc::UnboundedSender<ErasedPhotos>,
    erased_receiver: std::sync::Mutex<Option<mpsc::UnboundedReceiver<ErasedPhotos>>>,
    wanted: RwLock<Vec<RecordId>>,
    /// Joins each node introduced lately, for the introduction quota at the edges.
    introductions: std::sync::Mutex<standing::Introductions>,
    kind_counts: RwLock<[u64; KIND_SLOTS]>,
    last_refresh: std::sync::Mutex<LastRefresh>,
    /// Asks the ingest task for a pass over expired candidacies.
    passes: mpsc::Sender<PassRequest>,
    /// When the last pass over expired candidacies was asked for.
    last_pass: std::sync::Mutex<Option<std::time::Instant>>,
    /// When the node last stored a record of its history (fetched by sync, or created more
    /// than a candidacy's window ago): passes wait until it has caught up.
    last_catch_up: std::sync::Mutex<Option<std::time::Instant>>,
    /// What the last pass over expired candidacies removed, for the site's indexes.
    dropped: tokio::sync::watch::Sender<Arc<expiry::Dropped>>,
    stop: tokio::sync::watch::Sender<bool>,
    /// The node's Prometheus metrics.
    metrics: crate::metrics::Metrics,
}

/// One counter per kind number (kinds are numbered from 1).
const KIND_SLOTS: usize = 32;

/// A cheap, cloneable handle on the engine.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
    jobs: mpsc::Sender<Job>,
}

impl Engine {
    /// Loads the state from the store (checking and, if needed, rebuilding its indexes first),
    /// stores the charter, and spawns the ingest task on the current runtime.
    pub async fn start(parts: EngineParts) -> Result<Engine, EngineError> {
        Engine::start_reporting(parts, Arc::new(StartProgress::new()), Vec::new()).await
    }

    /// [`Engine::start`], counting the records read in `progress` and offering each to
    /// `readers`. The start-up pass runs on the blocking pool, so that the runtime serves
    /// meanwhile.
    pub async fn start_reporting(
        parts: EngineParts,
        progress: Arc<StartProgress>,
        readers: Vec<Arc<dyn StartReader>>,
    ) -> Result<Engine, EngineError> {
        let Some(Body::Charter(charter)) = parts.charter.body().cloned() else {
            return Err(StoreError::Corrupt("the charter file holds no charter".into()).into());
        };
        let store = parts.store;
        let mut state = StoreState::empty(Arc::clone(&store), charter.clone());
        let now = (parts.clock)();
        progress.enter(StartStep::ReadingRecords);
        let (state, views) = tokio::task::spawn_blocking(move || {
            load_views(&mut state, now, &progress, &readers).map(|views| (state, views))
        })
        .await
        .map_err(|_| StoreError::Corrupt("the start-up pass panicked".into()))??;
        let ingest = Ingest::new(state, parts.parking);
        let (stored, _) = broadcast::channel(STORED_EVENTS);
        let (erased_photos, erased_receiver) = mpsc::unbounded_channel();
        let (stop_sender, stop) = tokio::sync::watch::channel(false);
        let (passes, pass_receiver) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            metrics: crate::metrics::Metrics::new(),
            passes,
            last_pass: std::sync::Mutex::new(None),
            last_catch_up: std::sync::Mutex::new(None),
            dropped: tokio::sync::watch::Sender::new(Arc::default()),
            network: charter.network_id(),
            charter,
            store,
            node_key: parts.node_key,
            name: parts.name,
            clock: parts.clock,
            index: RwLock::new(views.index),
            sync_set: RwLock::new(views.sync_set),
            erased_set: RwLock::new(views.erased_set),
            stored,
            erased_photos,
            erased_receiver: std::sync::Mutex::new(Some(erased_receiver)),
            wanted: RwLock::new(Vec::new()),
            introductions: std::sync::Mutex::new(standing::Introductions::new(
                parts.joins_per_introducer_per_day,
            )),
            kind_counts: RwLock::new(views.kind_counts),
            stop: stop_sender,
            last_refresh: std::sync::Mutex::new(LastRefresh::none()),
        });
        let (jobs, receiver) = mpsc::channel(1024);
        tokio::spawn(ingest_task::run(
            ingest,
            receiver,
            pass_receiver,
            Arc::clone(&shared),
            stop,
        ));
        tokio::spawn(refresh::keep_index_fresh(Arc::downgrade(&shared)));
        let engine = Engine { shared, jobs };
        let charter_outcome = engine
            .submit_wire(&parts.charter.to_wire(), Origin::Local)
            .await;
        charter_outcome.map_err(|error| match error {
            IngestError::Store(store) => EngineError::Store(store),
            other => EngineError::Store(StoreError::Corrupt(format!("charter refused: {other}"))),
        })?;
        Ok(engine)
    }

    /// Checks wire bytes and takes the record through the pipeline; the outcome `Stored`
    /// is returned only once durable.
    pub async fn submit_wire(&self, wire: &[u8], origin: Origin) -> Result<Submitted, IngestError> {
        let network = self.shared.network;
        let record = maillon_protocol::Record::decode(wire, &network)?;
        if crate::ingest::pipeline::is_held(self.shared.store.as_ref(), &record)? {
            // Held, perhaps by a batch still flushing: answer only once it is durable.
            self.shared.store.flush().await?;
            return Ok(Submitted::Duplicate(record.id()));
        }
        // Decoded once, above; only the signature is left to check. One signature (about
        // 35 µs) is checked on the calling task: a hop to the blocking pool cost more than
        // the check, and one thread per post in flight (docs/PERFORMANCE.md).
        let verified = Verified::verify(record)?;
        let mut outcomes = self.submit_verified(vec![verified], origin).await?;
        outcomes
            .pop()
            .unwrap_or(Err(IngestError::Store(StoreError::Corrupt(
                "the ingest task returned no outcome".into(),
            ))))
    }

    /// Checks many records with one batched signature pass (on the blocking pool), then
    /// ingests those that passed. One outcome per input, in order.
    pub async fn submit_many(
        &self,
        wires: Vec<Vec<u8>>,
        origin: Origin,
    ) -> Result<Vec<Result<Submitted, IngestError>>, EngineError> {
        let network = self.shared.network;
        let checked = tokio::task::spawn_blocking(move || Verified::check_many(&wires, &network))
            .await
            .map_err(|_| EngineError::Stopped)?;
        let mut outcomes: Vec<Option<Result<Submitted, IngestError>>> = Vec::new();
        let mut valid = Vec::new();
        for result in checked {
            match result {
                Ok(verified) => {
                    valid.push(verified);
                    outcomes.push(None);
                }
                Err(error) => outcomes.push(Some(Err(error))),
            }
        }
        let mut stored = self
            .submit_verified(valid, origin)
            .await
            .map_err(|_| EngineError::Stopped)?
            .into_iter();
        Ok(outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    stored
                        .next()
                        .unwrap_or(Err(IngestError::Store(StoreError::Corrupt(
                            "missing outcome".into(),
                        ))))
                })
            })
            .collect())
    }

    async fn submit_verified(
        &self,
        records: Vec<Verified>,
        origin: Origin,
    ) -> Result<Vec<Result<Submitted, IngestError>>, IngestError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        let job = Job {
            records,
            origin,
            reply,
        };
        let stopped =
            || IngestError::Store(StoreError::Corrupt("the node is shutting down".into()));
        self.jobs.send(job).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())
    }

    /// Stops the ingest task: later submissions fail with "shutting down". The store closes
    /// when the last handle on it is dropped.
    pub fn stop(&self) {
        self.shared.stop.send_replace(true);
    }

    /// A weak handle on the store, to wait until it is closed.
    pub fn store_weak(&self) -> std::sync::Weak<dyn Store> {
        Arc::downgrade(&self.shared.store)
    }

    /// The network id.
    pub fn network(&self) -> NetworkId {
        self.shared.network
    }

    /// The charter.
    pub fn charter(&self) -> &Charter {
        &self.shared.charter
    }

    /// This node's key.
    pub fn node_key(&self) -> PublicKey {
        self.shared.node_key
    }

    /// This node's display name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The current time by the engine's clock.
    pub fn now(&self) -> Timestamp {
        (self.shared.clock)()
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.shared.store.as_ref()
    }

    /// The wire bytes of a stored record.
    pub fn record(&self, id: &RecordId) -> Result<Option<Vec<u8>>, StoreError> {
        self.shared.store.get(id)
    }

    /// The membership index, refreshed first if that is cheap or within budget (see
    /// [`READ_REFRESH_COST_FACTOR`]). May block while recomputing: call it from the API or
    /// a blocking task, not from the network event loop.
    pub fn index(&self) -> RwLockReadGuard<'_, MembershipIndex> {
        refresh_if_needed(&self.shared, self.now(), false);
        read(&self.shared.index)
    }

    /// The membership index as it is, without recomputing: at most about a second behind,
    /// kept fresh by a background task.
    pub fn index_as_is(&self) -> RwLockReadGuard<'_, MembershipIndex> {
        read(&self.shared.index)
    }

    /// The set of (created, id) items that sync reconciles.
    pub fn sync_set(&self) -> RwLockReadGuard<'_, SyncSet> {
        read(&self.shared.sync_set)
    }

    /// The items of the records held as bare headers, for the erased digest and the
    /// erased reconciliation (docs/PROTOCOL.md 10.9).
    pub fn erased_set(&self) -> RwLockReadGuard<'_, SyncSet> {
        read(&self.shared.erased_set)
    }

    /// Drops the records of the candidacies expired now (docs/PROTOCOL.md 9.1.9), at once;
    /// the engine also does it by itself within a minute of a candidacy expiring.
    pub async fn drop_expired_candidacies(&self) -> Result<Arc<expiry::Dropped>, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.shared
            .passes
            .send(PassRequest { reply: Some(reply) })
            .await
            .map_err(|_| EngineError::Stopped)?;
        let dropped = answer.await.map_err(|_| EngineError::Stopped)??;
        Ok(Arc::new(dropped))
    }

    /// Watches what passes over expired candidacies removed: readers that keep records in
    /// memory build themselves again when a kind they show is among them.
    pub fn watch_dropped(&self) -> tokio::sync::watch::Receiver<Arc<expiry::Dropped>> {
        self.shared.dropped.subscribe()
    }

    /// Subscribes to records as they are stored.
    pub fn subscribe(&self) -> broadcast::Receiver<StoredEvent> {
        self.shared.stored.subscribe()
    }

    /// Takes the receiver of [`ErasedPhotos`]; only the first call gets it.
    pub fn take_erased_photos(&self) -> Option<mpsc::UnboundedReceiver<ErasedPhotos>> {
        self.shared
            .erased_receiver
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// The node's Prometheus metrics, which every part of the node records into.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.shared.metrics
    }

    /// Records held per kind number.
    pub fn kind_counts(&self) -> [u64; KIND_SLOTS] {
        *read(&self.shared.kind_counts)
    }

    /// Refs that parked records wait for, to fetch from peers.
    pub fn wanted(&self) -> Vec<RecordId> {
        read(&self.shared.wanted).clone()
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    // A panic while holding the lock leaves valid data: every writer updates in one step.
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Stored-record events a subscriber may fall behind by before it lags: two of the writer's
/// largest batches, so that one batch alone never makes a subscriber lag.
pub const STORED_EVENTS: usize = 2 * ingest_task::MAX_BATCH_RECORDS;

/// What start-up builds from one read of every stored record.
struct Views {
    index: MembershipIndex,
    sync_set: SyncSet,
    erased_set: SyncSet,
    kind_counts: [u64; KIND_SLOTS],
}

/// Reads every stored record once to build the membership index, the sync set, the erased
/// set and the kind counts, and notes each in the validation state (built empty).
fn load_views(
    state: &mut StoreState<dyn Store>,
    now: Timestamp,
    progress: &StartProgress,
    readers: &[Arc<dyn StartReader>],
) -> Result<Views, StoreError> {
    let store = Arc::clone(state.store_arc());
    let mut views = Views {
        index: MembershipIndex::new(state.charter_body().clone()),
        sync_set: SyncSet::new(),
        erased_set: SyncSet::new(),
        kind_counts: [0u64; KIND_SLOTS],
    };
    crate::store::walk(&*store, |created, id, record| {
        let item = SyncItem { created, id };
        progress.note_read();
        views.kind_counts[record.header().kind as usize] += 1;
        views.index.note(&record);
        state.note(&record)?;
        for reader in readers {
            reader.read(&record);
        }
        if record.body().is_none() {
            views.erased_set.insert(item);
        }
        views.sync_set.insert(item);
        Ok(())
    })?;
    views.index.refresh(now);
    Ok(views)
}
