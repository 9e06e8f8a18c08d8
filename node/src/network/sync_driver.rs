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
use crate::ingest::pipeline::Submitted;
use crate::store::index::decode_stored;

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
    /// Bytes of fetch requests sent and of their answers (records included), without the
    /// 4-byte frames and the transport's own overhead.
    pub fetched_bytes: u64,
    /// Bytes of push requests sent (records included) and of their acknowledgements.
    pub pushed_bytes: u64,
    /// Records held here in another form than at the peer (body or bare header), whose
    /// copy was fetched to repair this node (docs/PROTOCOL.md 10.9).
    pub repair_fetched: u64,
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
    let (got, bytes) = fetch_counted(engine, client, peer, need).await?;
    report.fetched += got;
    report.fetched_bytes += bytes;
    for _ in 0..4 {
        let wanted: Vec<RecordId> = engine.wanted();
        if wanted.is_empty() {
            break;
        }
        let (got, bytes) = fetch_counted(engine, client, peer, wanted).await?;
        report.fetched += got;
        report.fetched_bytes += bytes;
        if got == 0 {
            break;
        }
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

/// Reconciles; a peer that does not know this node yet (it has just received the
/// announcement pushed above and recomputes its peers within a second) is asked again.
async fn reconcile_as_known(
    engine: &Engine,
    client: &Client,
    peer: PeerId,
    report: &mut SessionReport,
) -> Result<(Vec<RecordId>, Vec<RecordId>), SessionError> {
    for _ in 0..3 {
        match reconcile(engine, client, peer, report, Items::All).await {
            Err(SessionError::Refused(code)) if code == "not_a_node" => {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
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

/// Fetches records by id in pipelined batches and ingests them; returns how many were
/// stored.
pub async fn fetch(
    engine: &Engine,
    client: &Client,
    peer: PeerId,
    ids: Vec<RecordId>,
) -> Result<u64, SessionError> {
    Ok(fetch_counted(engine, client, peer, ids).await?.0)
}

/// The encoded length of a CBOR byte string of `n` bytes (head and content).
fn cbor_bytes_len(n: usize) -> u64 {
    let head = match n {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    };
    (head + n) as u64
}

/// The encoded length of a `Records` response or a `PushRecords` request (both an array of
/// a small tag and an array of byte strings), without encoding it again.
fn records_response_len(records: &[Vec<u8>]) -> u64 {
    // Array of two (tag, array of byte strings): 1 + 1 + the inner array's head.
    let inner_head = cbor_bytes_len(records.len()) - records.len() as u64;
    2 + inner_head + records.iter().map(|r| cbor_bytes_len(r.len())).sum::<u64>()
}

/// [`fetch`], also returning the bytes of the requests and answers.
/// Ingests one `Records` answer; returns the records stored and the answer's size.
async fn ingest_answer(
    engine: &Engine,
    client: &Client,
    peer: PeerId,
    answer: Result<SyncResponse, NetworkError>,
) -> Result<(u64, u64), SessionError> {
    let records = match answer? {
        SyncResponse::Records(records) => records,
        SyncResponse::Refused { code } => return Err(SessionError::Refused(code)),
        _ => return Err(unexpected(client, peer).await),
    };
    let bytes = records_response_len(&records);
    let outcomes = engine.submit_many(records, Origin::Fetched).await?;
    let (mut stored, mut invalid) = (0u64, 0u64);
    for outcome in &outcomes {
        match outcome {
            Ok(Submitted::Stored { released, .. }) => stored += 1 + released.len() as u64,
            Err(error) if error.is_senders_fault() => invalid += 1,
            _ => {}
        }
    }
    if invalid > 0 {
        client
            .penalise(peer, format!("served {invalid} invalid records"))
            .await;
    }
    Ok((stored, bytes))
}

async fn fetch_counted(
    engine: &Engine,
    client: &Client,
    peer: PeerId,
    ids: Vec<RecordId>,
) -> Result<(u64, u64), SessionError> {
    let requests: Vec<SyncRequest> = ids
        .chunks(BATCH_IDS)
        .map(|chunk| SyncRequest::FetchRecords(chunk.to_vec()))
        .collect();
    let mut bytes: u64 = requests.iter().map(|r| r.encode().len() as u64).sum();
    let progress = client.sync_progress().begin(ids.len() as u64);
    // Requests run FETCHES_IN_FLIGHT ahead, and two answers are checked and ingested at
    // once: the signatures of one batch are verified while the writer stores the other.
    let answers = stream::iter(requests)
        .map(|request| {
            let client = client.clone();
            let asked = match &request {
                SyncRequest::FetchRecords(ids) => ids.len() as u64,
                _ => 0,
            };
            async move { (asked, client.request(peer, &request).await) }
        })
        .buffered(FETCHES_IN_FLIGHT)
        .map(|(asked, answer)| async move {
            let (got, bytes) = ingest_answer(engine, client, peer, answer).await?;
            Ok::<_, SessionError>((got, bytes, asked))
        })
        .buffered(2);
    futures::pin_mut!(answers);
    let mut stored = 0u64;
    while let Some(result) = answers.next().await {
        let (got, answer_bytes, answered) = result?;
        progress.advance(answered);
        stored += got;
        bytes += answer_bytes;
    }
    Ok((stored, bytes))
}

async fn push(
    engine: &Engine,
    client: &Client,
    peer: PeerId,
    ids: Vec<RecordId>,
) -> Result<(u64, u64), SessionError> {
    let (mut stored, mut bytes) = (0u64, 0u64);
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
        bytes += records_response_len(&wires);
        let response = client
            .request(peer, &SyncRequest::PushRecords(wires))
            .await?;
        bytes += response.encode().len() as u64;
        match response {
            SyncResponse::PushAck { stored: n, .. } => stored += u64::from(n),
            SyncResponse::Refused { code } => return Err(SessionError::Refused(code)),
            _ => return Err(unexpected(client, peer).await),
        }
    }
    Ok((stored, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_records_response_length_is_the_encoded_length() {
        for sizes in [
            vec![],
            vec![0],
            vec![23, 24, 255, 256],
            vec![300; 30],
            vec![70_000],
        ] {
            let records: Vec<Vec<u8>> = sizes.iter().map(|&n| vec![7u8; n]).collect();
            let encoded = SyncResponse::Records(records.clone()).encode().len() as u64;
            assert_eq!(records_response_len(&records), encoded, "{sizes:?}");
            let pushed = SyncRequest::PushRecords(records.clone()).encode().len() as u64;
            assert_eq!(records_response_len(&records), pushed, "{sizes:?}");
        }
    }
}
