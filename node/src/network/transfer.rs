//! Records moved by id between two nodes: fetched in pipelined batches and ingested with
//! batched signature checks, or pushed to a peer that lacks them.

use futures::{stream, StreamExt};
use libp2p::PeerId;
use maillon_protocol::ids::RecordId;
use maillon_protocol::sync::{SyncRequest, SyncResponse};

use super::client::{Client, NetworkError};
use super::sync_driver::{unexpected, SessionError};
use crate::engine::{Engine, EngineError, Origin};
use crate::ingest::pipeline::Submitted;
use crate::store::index::decode_stored;

/// Ids per fetch or push request.
pub const BATCH_IDS: usize = 1024;
/// Fetch requests in flight per session.
pub const FETCHES_IN_FLIGHT: usize = 8;
/// Answers being checked or waiting for the writer per session: while the writer stores
/// one, the others are verified and queue behind it, so that the writer takes several
/// answers in one batch and one flush when it is the slower side.
pub const ANSWERS_IN_INGEST: usize = 6;

/// What one fetch of records by id did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FetchTally {
    /// Records stored (with the parked records they released).
    pub stored: u64,
    /// Bytes of the requests and of their answers.
    pub bytes: u64,
    /// Records refused only for now (`retry::is_transient`): a record stored later, such
    /// as their author's join, may make them valid.
    pub refused_for_now: u64,
}

impl FetchTally {
    pub(super) fn merge(&mut self, other: &FetchTally) {
        self.stored += other.stored;
        self.bytes += other.bytes;
        self.refused_for_now += other.refused_for_now;
    }

    /// Whether reconciling again may fetch more: some records were refused for now while
    /// others were stored, which may be what they waited for.
    pub fn worth_another_pass(&self) -> bool {
        self.refused_for_now > 0 && self.stored > 0
    }
}

/// Fetches records by id in pipelined batches and ingests them; returns how many were
/// stored.
pub async fn fetch(
    engine: &Engine,
    client: &Client,
    peer: PeerId,
    ids: Vec<RecordId>,
) -> Result<u64, SessionError> {
    Ok(fetch_counted(engine, client, peer, ids).await?.stored)
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

/// Ingests one `Records` answer; returns what it stored and refused for now, and the
/// answer's size.
async fn ingest_answer(
    engine: &Engine,
    client: &Client,
    peer: PeerId,
    answer: Result<SyncResponse, NetworkError>,
) -> Result<FetchTally, SessionError> {
    let records = match answer? {
        SyncResponse::Records(records) => records,
        SyncResponse::Refused { code } => return Err(SessionError::Refused(code)),
        _ => return Err(unexpected(client, peer).await),
    };
    let bytes = records_response_len(&records);
    let outcomes = engine.submit_many(records, Origin::Fetched).await?;
    let mut tally = FetchTally {
        bytes,
        ..FetchTally::default()
    };
    let mut invalid = 0u64;
    for outcome in &outcomes {
        match outcome {
            Ok(Submitted::Stored { released, .. }) => tally.stored += 1 + released.len() as u64,
            Err(error) if error.is_senders_fault() => invalid += 1,
            refused if super::retry::is_transient(refused) => tally.refused_for_now += 1,
            _ => {}
        }
    }
    if invalid > 0 {
        client
            .penalise(peer, format!("served {invalid} invalid records"))
            .await;
    }
    Ok(tally)
}

/// [`fetch`], returning the whole tally.
pub(super) async fn fetch_counted(
    engine: &Engine,
    client: &Client,
    peer: PeerId,
    ids: Vec<RecordId>,
) -> Result<FetchTally, SessionError> {
    let requests: Vec<SyncRequest> = ids
        .chunks(BATCH_IDS)
        .map(|chunk| SyncRequest::FetchRecords(chunk.to_vec()))
        .collect();
    let mut tally = FetchTally {
        bytes: requests.iter().map(|r| r.encode().len() as u64).sum(),
        ..FetchTally::default()
    };
    let progress = client.sync_progress().begin(ids.len() as u64);
    // Requests run FETCHES_IN_FLIGHT ahead, and ANSWERS_IN_INGEST answers are checked and
    // ingested at once: signatures are verified while the writer stores earlier answers.
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
            let answered = ingest_answer(engine, client, peer, answer).await?;
            Ok::<_, SessionError>((answered, asked))
        })
        .buffered(ANSWERS_IN_INGEST);
    futures::pin_mut!(answers);
    while let Some(result) = answers.next().await {
        let (answered, asked) = result?;
        progress.advance(asked);
        tally.merge(&answered);
    }
    Ok(tally)
}

pub(super) async fn push(
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
