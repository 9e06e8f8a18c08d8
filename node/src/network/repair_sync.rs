//! The erased reconciliation at the end of a sync session (docs/PROTOCOL.md 10.9): find the
//! records held here in another form than at the peer, fetch the peer's copies and let the
//! ingest task drop or restore bodies by the protocol's repair rule.

use libp2p::PeerId;
use maillon_protocol::ids::RecordId;
use maillon_protocol::sync::{SyncRequest, SyncResponse};

use super::client::Client;
use super::sync_driver::{reconcile, unexpected, Items, SessionError, SessionReport};
use super::transfer::BATCH_IDS;
use crate::engine::{Engine, Origin};

/// Reconciles the erased items with the peer and repairs what differs. A peer that does not
/// know the request (it answers `malformed`) is skipped.
pub async fn repair_bodies(
    engine: &Engine,
    client: &Client,
    peer: PeerId,
    report: &mut SessionReport,
) -> Result<(), SessionError> {
    let (have, need) = match reconcile(engine, client, peer, report, Items::Erased).await {
        Ok(found) => found,
        Err(SessionError::Refused(code)) if code == "malformed" => return Ok(()),
        Err(error) => return Err(error),
    };
    let differing: Vec<RecordId> = have.into_iter().chain(need).collect();
    for chunk in differing.chunks(BATCH_IDS) {
        let records = match client
            .request(peer, &SyncRequest::FetchRecords(chunk.to_vec()))
            .await?
        {
            SyncResponse::Records(records) => records,
            SyncResponse::Refused { code } => return Err(SessionError::Refused(code)),
            _ => return Err(unexpected(client, peer).await),
        };
        report.repair_fetched += records.len() as u64;
        engine.submit_many(records, Origin::Repair).await?;
    }
    Ok(())
}
