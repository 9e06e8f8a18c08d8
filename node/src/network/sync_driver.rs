//! The repair path's initiator: on each new connection and periodically with a random
//! peer, reconcile the record sets, fetch what this node lacks (in pipelined batches,
//! ingested with batched signature checks), fetch refs that parked records wait for, and
//! push what the peer lacks.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures::{stream, StreamExt};
use libp2p::PeerId;
use maillon_protocol::ids::RecordId;
use maillon_protocol::sync::{Reconciler, SyncConfig, SyncRequest, SyncResponse};
use thiserror::Error;
use tokio::sync::{mpsc, watch, Semaphore};

use super::client::{Client, NetworkError};
use super::{NetworkEvent, NetworkSettings};
use crate::engine::{Engine, EngineError, Origin};
use crate::store::index::decode_stored;
use crate::store::Store;

/// Ids per fetch or push request.
pub const BATCH_IDS: usize = 1024;
/// Fetch requests in flight per session.
pub const FETCHES_IN_FLIGHT: usize = 4;

/// What one session did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionReport {
    /// Reconciliation rounds.
    pub rounds: u32,
    /// Bytes of reconciliation messages sent and received.
    pub reconcile_bytes: u64,
    /// Records fetched and stored.
    pub fetched: u64,
    /// Records pushed that the peer stored.
    pub pushed: u64,
}

/// Why a session stopped early.
#[derive(Debug, Error)]
pub enum SessionError {
    /// The network failed.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// The peer's reconciliation message was invalid.
    #[error("reconciliation failed: {0}")]
    Reconcile(String),
    /// The peer refused.
    #[error("the peer refused: {0}")]
    Refused(String),
    /// The engine stopped.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Runs sessions until shutdown.
pub async fn run(
    engine: Engine,
    client: Client,
    mut events: mpsc::Receiver<NetworkEvent>,
    settings: NetworkSettings,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(2));
    let running: Arc<Mutex<HashSet<PeerId>>> = Arc::default();
    let mut tick = tokio::time::interval(settings.sync_interval);
    tick.tick().await;
    loop {
        let peer = tokio::select! {
            event = events.recv() => match event {
                Some(NetworkEvent::PeerConnected(peer)) => Some(peer),
                None => break,
            },
            _ = tick.tick() => random_peer(&client).await,
            changed = shutdown.changed() => if changed.is_err() || *shutdown.borrow() { break } else { None },
        };
        let Some(peer) = peer else { continue };
        if !running
            .lock()
            .map(|mut set| set.insert(peer))
            .unwrap_or(false)
        {
            continue;
        }
        let (engine, client, slots, running) = (
            engine.clone(),
            client.clone(),
            Arc::clone(&slots),
            Arc::clone(&running),
        );
        tokio::spawn(async move {
            let _permit = slots.acquire().await;
            match session(&engine, &client, peer).await {
                Ok(report) => tracing::debug!(%peer, ?report, "sync session done"),
                Err(error) => tracing::debug!(%peer, %error, "sync session stopped"),
            }
            if let Ok(mut set) = running.lock() {
                set.remove(&peer);
            }
        });
    }
}

async fn random_peer(client: &Client) -> Option<PeerId> {
    let peers = client.peers().await.ok()?;
    if peers.is_empty() {
        return None;
    }
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).ok()?;
    Some(peers[(u64::from_le_bytes(bytes) % peers.len() as u64) as usize])
}

/// One full session with a peer.
pub async fn session(
    engine: &Engine,
    client: &Client,
    peer: PeerId,
) -> Result<SessionReport, SessionError> {
    let mut report = SessionReport::default();
    // An unknown node is served only pushes: it introduces itself with its announcement.
    push(engine, client, peer, own_announcements(engine)?).await?;
    let (have, need) = reconcile(engine, client, peer, &mut report).await?;
    report.fetched += fetch(engine, client, peer, need).await?;
    for _ in 0..4 {
        let wanted: Vec<RecordId> = engine.wanted();
        if wanted.is_empty() {
            break;
        }
        let got = fetch(engine, client, peer, wanted).await?;
        report.fetched += got;
        if got == 0 {
            break;
        }
    }
    report.pushed += push(engine, client, peer, have).await?;
    client.synced_with(peer).await;
    Ok(report)
}

/// This node's own announcements, newest first.
fn own_announcements(engine: &Engine) -> Result<Vec<RecordId>, SessionError> {
    let mut ids = Vec::new();
    for id in engine
        .store()
        .by_author(&engine.node_key(), 64)
        .map_err(EngineError::from)?
    {
        let Some(wire) = engine.record(&id).map_err(EngineError::from)? else {
            continue;
        };
        if let Ok(record) = decode_stored(&wire) {
            if record.header().kind == maillon_protocol::Kind::NodeAnnouncement {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

async fn reconcile(
    engine: &Engine,
    client: &Client,
    peer: PeerId,
    report: &mut SessionReport,
) -> Result<(Vec<RecordId>, Vec<RecordId>), SessionError> {
    let (mut reconciler, mut message) =
        Reconciler::initiate(&engine.sync_set(), SyncConfig::default());
    let (mut have, mut need) = (Vec::new(), Vec::new());
    loop {
        report.rounds += 1;
        report.reconcile_bytes += message.len() as u64;
        let reply = match client
            .request(peer, &SyncRequest::Reconcile(message))
            .await?
        {
            SyncResponse::Reconcile(reply) => reply,
            SyncResponse::Refused { code } => return Err(SessionError::Refused(code)),
            _ => return Err(unexpected(client, peer).await),
        };
        report.reconcile_bytes += reply.len() as u64;
        let progress = {
            let set = engine.sync_set();
            reconciler.receive(&set, &reply)
        };
        let progress = match progress {
            Ok(progress) => progress,
            Err(error) => {
                client
                    .penalise(peer, format!("bad reconciliation: {error}"))
                    .await;
                return Err(SessionError::Reconcile(error.to_string()));
            }
        };
        have.extend(progress.have);
        need.extend(progress.need);
        match progress.next {
            Some(next) => message = next,
            None => return Ok((have, need)),
        }
    }
}

async fn unexpected(client: &Client, peer: PeerId) -> SessionError {
    client
        .penalise(peer, "unexpected sync response".into())
        .await;
    SessionError::Refused("unexpected response".into())
}

/// Fetches records by id in pipelined batches and ingests them; returns how many were
/// stored.
pub async fn fetch(
    engine: &Engine,
    client: &Client,
    peer: PeerId,
    ids: Vec<RecordId>,
) -> Result<u64, SessionError> {
    let requests: Vec<SyncRequest> = ids
        .chunks(BATCH_IDS)
        .map(|chunk| SyncRequest::FetchRecords(chunk.to_vec()))
        .collect();
    let mut answers = stream::iter(requests)
        .map(|request| {
            let client = client.clone();
            async move { client.request(peer, &request).await }
        })
        .buffered(FETCHES_IN_FLIGHT);
    let mut stored = 0u64;
    while let Some(answer) = answers.next().await {
        let records = match answer? {
            SyncResponse::Records(records) => records,
            SyncResponse::Refused { code } => return Err(SessionError::Refused(code)),
            _ => return Err(unexpected(client, peer).await),
        };
        let outcomes = engine.submit_many(records, Origin::Fetched).await?;
        let mut invalid = 0;
        for outcome in &outcomes {
            match outcome {
                Ok(crate::ingest::pipeline::Submitted::Stored { released, .. }) => {
                    stored += 1 + released.len() as u64
                }
                Err(crate::ingest::pipeline::IngestError::Refused(e))
                    if super::gossip::is_permanent(e) =>
                {
                    invalid += 1
                }
                _ => {}
            }
        }
        if invalid > 0 {
            client
                .penalise(peer, format!("served {invalid} invalid records"))
                .await;
        }
    }
    Ok(stored)
}

async fn push(
    engine: &Engine,
    client: &Client,
    peer: PeerId,
    ids: Vec<RecordId>,
) -> Result<u64, SessionError> {
    let mut stored = 0u64;
    for chunk in ids.chunks(BATCH_IDS) {
        let mut wires = Vec::with_capacity(chunk.len());
        let mut total = 0usize;
        for id in chunk {
            if let Some(wire) = engine.record(id).map_err(EngineError::from)? {
                // A stored record always decodes; skip it otherwise rather than stop.
                if decode_stored(&wire).is_ok()
                    && total + wire.len() <= super::serve::MAX_RECORDS_BYTES
                {
                    total += wire.len();
                    wires.push(wire);
                }
            }
        }
        if wires.is_empty() {
            continue;
        }
        match client
            .request(peer, &SyncRequest::PushRecords(wires))
            .await?
        {
            SyncResponse::PushAck { stored: n, .. } => stored += u64::from(n),
            SyncResponse::Refused { code } => return Err(SessionError::Refused(code)),
            _ => return Err(unexpected(client, peer).await),
        }
    }
    Ok(stored)
}
