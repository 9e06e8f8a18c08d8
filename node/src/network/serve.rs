//! Answers inbound sync requests: reconciliation rounds, records by id, pushed records
//! (acknowledged only once flushed) and blobs by hash.

use libp2p::PeerId;
use maillon_protocol::sync::{respond, SyncConfig, SyncRequest, SyncResponse};
use maillon_protocol::Timestamp;

use super::client::Client;
use crate::blobs::BlobStore;
use crate::engine::{Engine, Origin};
use crate::ingest::pipeline::Submitted;

pub use maillon_protocol::sync::messages::MAX_RECORDS_BYTES;

/// What a request is answered with.
pub struct ServeContext {
    /// The engine.
    pub engine: Engine,
    /// The blob store.
    pub blobs: BlobStore,
    /// To penalise a peer that pushes invalid records.
    pub client: Client,
    /// Whether the peer passed the gate (an unknown peer in its grace period may only push).
    pub trusted: bool,
}

/// A `Refused` answer with this code.
pub fn refusal(code: &str) -> Vec<u8> {
    SyncResponse::Refused { code: code.into() }.encode()
}

/// The encoded answer to one request.
pub async fn answer(context: &ServeContext, peer: PeerId, request: &[u8]) -> Vec<u8> {
    let request = match SyncRequest::decode(request) {
        Ok(request) => request,
        Err(error) => {
            context
                .client
                .penalise(peer, format!("malformed sync request: {error}"))
                .await;
            return refusal("malformed");
        }
    };
    let response = match request {
        SyncRequest::PushRecords(wires) => push(context, peer, wires).await,
        _ if !context.trusted => SyncResponse::Refused {
            code: "not_a_node".into(),
        },
        SyncRequest::Reconcile(message) => reconcile(&context.engine, message, false).await,
        SyncRequest::ReconcileErased(message) => reconcile(&context.engine, message, true).await,
        SyncRequest::FetchRecords(ids) => fetch(&context.engine, ids).await,
        SyncRequest::FetchBlob(hash) => match context.blobs.get(&hash).await {
            Ok(blob) => SyncResponse::Blob(blob),
            Err(error) => {
                tracing::warn!(%error, "blob read failed");
                SyncResponse::Refused {
                    code: "storage".into(),
                }
            }
        },
    };
    response.encode()
}

/// Answers a reconciliation message over every item held, or over the erased items only
/// (docs/PROTOCOL.md 10.9).
async fn reconcile(engine: &Engine, message: Vec<u8>, erased: bool) -> SyncResponse {
    let engine = engine.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let set = if erased {
            engine.erased_set()
        } else {
            engine.sync_set()
        };
        respond(&set, &message, &SyncConfig::default())
    })
    .await;
    match answer {
        Ok(Ok(bytes)) => SyncResponse::Reconcile(bytes),
        Ok(Err(_)) => SyncResponse::Refused {
            code: "malformed".into(),
        },
        Err(_) => SyncResponse::Refused {
            code: "internal".into(),
        },
    }
}

async fn fetch(engine: &Engine, ids: Vec<maillon_protocol::RecordId>) -> SyncResponse {
    let engine = engine.clone();
    let found = tokio::task::spawn_blocking(move || {
        let mut records: Vec<(Timestamp, maillon_protocol::RecordId, Vec<u8>)> = Vec::new();
        let mut total = 0usize;
        for id in ids {
            let Ok(Some(wire)) = engine.record(&id) else {
                continue;
            };
            if total + wire.len() > MAX_RECORDS_BYTES {
                break;
            }
            total += wire.len();
            let created = maillon_protocol::Record::decode_any_network(&wire)
                .map(|r| r.header().created)
                .unwrap_or_default();
            records.push((created, id, wire));
        }
        records.sort_by_key(|(created, id, _)| (*created, *id));
        records
            .into_iter()
            .map(|(_, _, wire)| wire)
            .collect::<Vec<_>>()
    })
    .await;
    match found {
        Ok(records) => SyncResponse::Records(records),
        Err(_) => SyncResponse::Refused {
            code: "internal".into(),
        },
    }
}

/// Of the records a stranger pushes, only its own node announcement is taken: a stranger
/// may introduce itself, nothing more (docs/OPERATIONS.md). Returns those kept and how
/// many were left out.
fn stranger_push(peer: PeerId, wires: Vec<Vec<u8>>) -> (Vec<Vec<u8>>, u32) {
    let total = wires.len();
    let kept: Vec<Vec<u8>> = wires
        .into_iter()
        .filter(|wire| {
            maillon_protocol::Record::decode_any_network(wire).is_ok_and(|record| {
                record.header().kind == maillon_protocol::Kind::NodeAnnouncement
                    && super::gating::peer_id_of(&record.header().author) == Some(peer)
            })
        })
        .collect();
    let left_out = u32::try_from(total - kept.len()).unwrap_or(u32::MAX);
    (kept, left_out)
}

async fn push(context: &ServeContext, peer: PeerId, wires: Vec<Vec<u8>>) -> SyncResponse {
    let (wires, left_out) = if context.trusted {
        (wires, 0)
    } else {
        stranger_push(peer, wires)
    };
    let outcomes = match context.engine.submit_many(wires, Origin::Pushed).await {
        Ok(outcomes) => outcomes,
        Err(_) => {
            return SyncResponse::Refused {
                code: "shutting_down".into(),
            }
        }
    };
    let (mut stored, mut duplicate, mut parked, mut refused, mut invalid) = (0, 0, 0, left_out, 0);
    for outcome in &outcomes {
        match outcome {
            Ok(Submitted::Stored { .. }) => stored += 1,
            Ok(Submitted::Duplicate(_)) => duplicate += 1,
            Ok(Submitted::Parked { .. }) => parked += 1,
            Err(error) if error.is_senders_fault() => {
                refused += 1;
                invalid += 1;
            }
            Err(_) => refused += 1,
        }
    }
    if invalid > 0 {
        context
            .client
            .penalise(peer, format!("pushed {invalid} invalid records"))
            .await;
    }
    SyncResponse::PushAck {
        stored,
        duplicate,
        parked,
        refused,
    }
}
