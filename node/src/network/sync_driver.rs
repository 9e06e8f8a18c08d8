//! The repair path's initiator: on each new connection and periodically with a random
//! peer, reconcile the record sets, fetch what this node lacks ([`super::transfer`]), fetch
//! refs that parked records wait for, reconcile and fetch again while records are refused
//! only for now, and push what the peer lacks.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use libp2p::PeerId;
use maillon_protocol::ids::RecordId;
use maillon_protocol::sync::{Reconciler, SyncConfig, SyncRequest, SyncResponse};
use thiserror::Error;
use tokio::sync::{mpsc, watch, Semaphore};

use super::client::{Client, NetworkError};
use super::transfer::{fetch_counted, push, FetchTally};
use super::{NetworkEvent, NetworkSettings};
use crate::engine::{Engine, EngineError};
use crate::store::index::decode_stored;

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
    /// Bytes of fetch requests sent and of their answers (records included), without the
    /// 4-byte frames and the transport's own overhead.
    pub fetched_bytes: u64,
    /// Bytes of push requests sent (records included) and of their acknowledgements.
    pub pushed_bytes: u64,
    /// Records held here in another form than at the peer (body or bare header), whose
    /// copy was fetched to repair this node (docs/PROTOCOL.md 10.9).
    pub repair_fetched: u64,
}

impl SessionReport {
    fn add(&mut self, fetched: &FetchTally) {
        self.fetched += fetched.stored;
        self.fetched_bytes += fetched.bytes;
    }
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
    tokio::spawn(super::sync_progress::report_in_log(
        Arc::clone(client.sync_progress()),
        shutdown.clone(),
    ));
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
            // Only peers the gate allows are synced with: a stranger in its grace period must
            // not be handed the network by this node's own pushes.
            let allowed = client
                .peers()
                .await
                .is_ok_and(|peers| peers.contains(&peer));
            let outcome = if allowed {
                session(&engine, &client, peer).await
            } else {
                tracing::debug!(%peer, "not syncing with a peer the gate does not allow");
                if let Ok(mut set) = running.lock() {
                    set.remove(&peer);
                }
                return;
            };
            let mut entry = super::sync_log::SyncEntry {
                at: engine.now(),
                fetched: 0,
                pushed: 0,
                error: None,
            };
            let mut figures = crate::metrics::SyncFigures::default();
            match outcome {
                Ok(report) => {
                    tracing::debug!(%peer, ?report, "sync session done");
                    entry.fetched = report.fetched;
                    entry.pushed = report.pushed;
                    figures = crate::metrics::SyncFigures {
                        succeeded: true,
                        fetched: report.fetched,
                        pushed: report.pushed,
                        reconcile_bytes: report.reconcile_bytes,
                        fetch_bytes: report.fetched_bytes,
                        push_bytes: report.pushed_bytes,
                    };
                }
                Err(error) => {
                    tracing::debug!(%peer, %error, "sync session stopped");
                    entry.error = Some(error.to_string());
                }
            }
            engine.metrics().record_sync(figures);
            client.sync_log().record(peer, entry);
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

/// Reconciliations and fetches after the first, at most, while records keep being refused
/// for now: a record whose author's join was still parked when it arrived is fetched again
/// once the join is stored, in the same session rather than at the next one.
pub const CATCH_UP_PASSES: usize = 4;

/// One full session with a peer.
pub async fn session(
    engine: &Engine,
    client: &Client,
    peer: PeerId,
) -> Result<SessionReport, SessionError> {
    let mut report = SessionReport::default();
    // An unknown node is served only pushes: it introduces itself with its announcement.
    let (_, bytes) = push(engine, client, peer, own_announcements(engine)?).await?;
    report.pushed_bytes += bytes;
    let (have, need) = reconcile_as_known(engine, client, peer, &mut report).await?;
    let mut tally = fetch_counted(engine, client, peer, need).await?;
    report.add(&tally);
    for _ in 0..4 {
        let wanted: Vec<RecordId> = engine.wanted();
        if wanted.is_empty() {
            break;
        }
        let more = fetch_counted(engine, client, peer, wanted).await?;
        report.add(&more);
        tally.merge(&more);
        if more.stored == 0 {
            break;
        }
    }
    for _ in 0..CATCH_UP_PASSES {
        if !tally.worth_another_pass() {
            break;
        }
        let (_, need) = reconcile(engine, client, peer, &mut report, Items::All).await?;
        tally = fetch_counted(engine, client, peer, need).await?;
        report.add(&tally);
    }
    let (pushed, bytes) = push(engine, client, peer, have).await?;
    report.pushed += pushed;
    report.pushed_bytes += bytes;
    // The records are in step; a failed body repair is tried again next session.
    if let Err(error) = super::repair_sync::repair_bodies(engine, client, peer, &mut report).await {
        tracing::debug!(%peer, %error, "body repair with a peer failed");
    }
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

/// How long to wait before asking again a peer that does not know this node yet, each time:
/// it has just received the announcement pushed above and recomputes its peers within a
/// second, but a peer busy with a large network (one that has just taken in a national
/// network) can take several seconds. Giving up sooner would leave the new node waiting for
/// the next periodic session (a minute by default).
pub const NOT_KNOWN_YET_WAITS: [std::time::Duration; 5] = [
    std::time::Duration::from_secs(1),
    std::time::Duration::from_secs(2),
    std::time::Duration::from_secs(4),
    std::time::Duration::from_secs(8),
    std::time::Duration::from_secs(16),
];

/// Reconciles; a peer that does not know this node yet is asked again after each of
/// [`NOT_KNOWN_YET_WAITS`].
async fn reconcile_as_known(
    engine: &Engine,
    client: &Client,
    peer: PeerId,
    report: &mut SessionReport,
) -> Result<(Vec<RecordId>, Vec<RecordId>), SessionError> {
    for wait in NOT_KNOWN_YET_WAITS {
        match reconcile(engine, client, peer, report, Items::All).await {
            Err(SessionError::Refused(code)) if code == "not_a_node" => {
                tracing::debug!(%peer, wait_ms = wait.as_millis() as u64, "the peer does not know this node yet; asking again");
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
    reconcile(engine, client, peer, report, Items::All).await
}

/// Which items a reconciliation compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Items {
    /// Every record held.
    All,
    /// The records held as bare headers (docs/PROTOCOL.md 10.9).
    Erased,
}

impl Items {
    fn of(
        self,
        engine: &Engine,
    ) -> std::sync::RwLockReadGuard<'_, maillon_protocol::sync::SyncSet> {
        match self {
            Items::All => engine.sync_set(),
            Items::Erased => engine.erased_set(),
        }
    }
}

/// Reconciles `items` with the peer; returns (have, need).
pub(super) async fn reconcile(
    engine: &Engine,
    client: &Client,
    peer: PeerId,
    report: &mut SessionReport,
    items: Items,
) -> Result<(Vec<RecordId>, Vec<RecordId>), SessionError> {
    let (mut reconciler, mut message) =
        Reconciler::initiate(&items.of(engine), SyncConfig::default());
    let (mut have, mut need) = (Vec::new(), Vec::new());
    loop {
        report.rounds += 1;
        report.reconcile_bytes += message.len() as u64;
        let request = match items {
            Items::All => SyncRequest::Reconcile(message),
            Items::Erased => SyncRequest::ReconcileErased(message),
        };
        let reply = match client.request(peer, &request).await? {
            SyncResponse::Reconcile(reply) => reply,
            SyncResponse::Refused { code } => return Err(SessionError::Refused(code)),
            _ => return Err(unexpected(client, peer).await),
        };
        report.reconcile_bytes += reply.len() as u64;
        let progress = {
            let set = items.of(engine);
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

pub(super) async fn unexpected(client: &Client, peer: PeerId) -> SessionError {
    client
        .penalise(peer, "unexpected sync response".into())
        .await;
    SessionError::Refused("unexpected response".into())
}
