//! Fetching blobs (photos) by hash from peers: the answer is checked against the hash
//! before it is stored, and a peer that sends other content is penalised.

use libp2p::PeerId;
use maillon_protocol::ids::BlobHash;
use maillon_protocol::sync::{SyncRequest, SyncResponse};
use thiserror::Error;

use super::client::{Client, NetworkError};
use crate::blobs::{BlobError, BlobStore};

/// Why a blob could not be fetched.
#[derive(Debug, Error)]
pub enum BlobFetchError {
    /// The request failed.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// Storing it failed.
    #[error(transparent)]
    Store(#[from] BlobError),
    /// The peer sent content that does not match the hash.
    #[error("peer {0} sent a blob that does not match its hash")]
    Mismatch(PeerId),
    /// The peer refused or answered something else.
    #[error("peer {0} did not answer with a blob")]
    Unexpected(PeerId),
}

/// Returns the blob from the local store, or fetches it from `peer`, checks it and stores
/// it. `None` if the peer does not hold it either, or if the blob was erased here (it is
/// then not asked for).
pub async fn fetch_blob(
    blobs: &BlobStore,
    client: &Client,
    peer: PeerId,
    hash: &BlobHash,
) -> Result<Option<Vec<u8>>, BlobFetchError> {
    if let Some(blob) = blobs.get(hash).await? {
        return Ok(Some(blob));
    }
    if blobs.is_erased(hash) {
        return Ok(None);
    }
    match client.request(peer, &SyncRequest::FetchBlob(*hash)).await? {
        SyncResponse::Blob(None) => Ok(None),
        SyncResponse::Blob(Some(blob)) => match blobs.put_expected(hash, blob.clone()).await {
            Ok(()) => Ok(Some(blob)),
            Err(BlobError::Mismatch) => {
                client
                    .penalise(peer, "sent a blob that does not match its hash".into())
                    .await;
                Err(BlobFetchError::Mismatch(peer))
            }
            Err(error) => Err(error.into()),
        },
        _ => Err(BlobFetchError::Unexpected(peer)),
    }
}

/// Fetches a blob from the first connected peer that holds it.
pub async fn fetch_blob_from_any(
    blobs: &BlobStore,
    client: &Client,
    hash: &BlobHash,
) -> Result<Option<Vec<u8>>, BlobFetchError> {
    for peer in client.peers().await? {
        match fetch_blob(blobs, client, peer, hash).await {
            Ok(Some(blob)) => return Ok(Some(blob)),
            Ok(None) => continue,
            Err(error) => tracing::debug!(%peer, %error, "blob fetch failed; trying another peer"),
        }
    }
    Ok(None)
}
