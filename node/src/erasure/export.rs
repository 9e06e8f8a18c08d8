//! A member's data export, made before they erase: one zip archive with `records.json`
//! (every record signed by a key of theirs, decoded into readable JSON), `README.txt` (in
//! French) and `photos/<hash>.jpg` for each photo of their listings this node holds.

use std::collections::BTreeSet;
use std::io::{Cursor, Write};

use maillon_protocol::ids::{BlobHash, PublicKey, RecordId, Timestamp};
use maillon_protocol::{Body, Record};
use serde_json::{json, Value};
use thiserror::Error;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::json::body_json;
use crate::blobs::{BlobError, BlobStore};
use crate::engine::Engine;
use crate::store::{index::decode_stored, Store, StoreError};

/// The `format` field of `records.json`.
pub const EXPORT_FORMAT: &str = "maillon-export/1";

/// What `README.txt` says.
pub const README_FR: &str = "Cette archive contient toutes les données que ce nœud Maillon \
détient sur vous : le fichier records.json liste chaque enregistrement signé par l'une de vos \
clés (profil, adhésion, parrainages, annonces, transactions et messages, signalements, \
changements de clé), avec sa date, son expiration, les enregistrements auxquels il renvoie et \
son contenu en clair ; le dossier photos contient les photos de vos annonces que ce nœud \
détenait, nommées par leur empreinte, et records.json indique celles qui manquaient. Un \
enregistrement dont le contenu a déjà été effacé n'y figure que par son en-tête. Gardez cette \
archive en lieu sûr : elle contient vos données personnelles.\n";

/// Why an export failed.
#[derive(Debug, Error)]
pub enum ExportError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blob folder failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// Writing the zip archive failed.
    #[error("writing the archive failed: {0}")]
    Archive(#[from] zip::result::ZipError),
    /// Writing into the archive failed.
    #[error("writing the archive failed: {0}")]
    Io(#[from] std::io::Error),
    /// Encoding `records.json` failed.
    #[error("encoding records.json failed: {0}")]
    Json(#[from] serde_json::Error),
}

/// Builds the zip export of every record signed by `keys` (all the keys of one identity)
/// and of the photos of their listings held in `blobs`.
pub async fn export_member<S: Store + Sync + ?Sized>(
    store: &S,
    blobs: &BlobStore,
    keys: &[PublicKey],
    exported_at: Timestamp,
) -> Result<Vec<u8>, ExportError> {
    let mut records: Vec<Record> = Vec::new();
    for key in keys {
        for id in store.by_author(key, usize::MAX)? {
            if let Some(bytes) = store.get(&id)? {
                records.push(decode_stored(&bytes)?);
            }
        }
    }
    records.sort_by_key(|r| (r.header().created, r.id()));
    records.dedup_by_key(|r| r.id());
    let wanted: BTreeSet<BlobHash> = records
        .iter()
        .filter_map(|r| match r.body() {
            Some(Body::Listing(listing)) => Some(listing.photos.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect();
    let (mut photos, mut missing) = (Vec::new(), Vec::new());
    for hash in wanted {
        match blobs.get(&hash).await? {
            Some(bytes) => photos.push((hash, bytes)),
            None => missing.push(hash),
        }
    }
    let document = json!({
        "format": EXPORT_FORMAT,
        "exported_at": exported_at.0,
        "keys": keys.iter().map(PublicKey::to_hex).collect::<Vec<_>>(),
        "records": records.iter().map(record_json).collect::<Vec<_>>(),
        "photos": {
            "included": photos.iter().map(|(h, _)| format!("photos/{}.jpg", h.to_hex())).collect::<Vec<_>>(),
            "missing": missing.iter().map(BlobHash::to_hex).collect::<Vec<_>>(),
        },
    });
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let text = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file("README.txt", text)?;
    zip.write_all(README_FR.as_bytes())?;
    zip.start_file("records.json", text)?;
    zip.write_all(&serde_json::to_vec_pretty(&document)?)?;
    // JPEG does not deflate: photos are stored as they are.
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (hash, bytes) in &photos {
        zip.start_file(format!("photos/{}.jpg", hash.to_hex()), stored)?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// Builds the zip export of the identity `key` belongs to (every key bound to it), from
/// this node's store and blob folder.
pub async fn export_identity(
    engine: &Engine,
    blobs: &BlobStore,
    key: &PublicKey,
) -> Result<Vec<u8>, ExportError> {
    // Reading the membership index may recompute it: not on the async workers.
    let (reader, key) = (engine.clone(), *key);
    let keys = tokio::task::spawn_blocking(move || reader.index().keys_of_identity(&key))
        .await
        .map_err(|e| ExportError::Io(std::io::Error::other(e)))?;
    export_member(engine.store(), blobs, &keys, engine.now()).await
}

/// One record as JSON: its header fields and its decoded body (`null` once erased).
fn record_json(record: &Record) -> Value {
    let h = record.header();
    json!({
        "id": record.id().to_hex(),
        "kind": h.kind.name(),
        "author": h.author.to_hex(),
        "created": h.created.0,
        "expires": h.expires.map(|t| t.0),
        "refs": h.refs.iter().map(RecordId::to_hex).collect::<Vec<_>>(),
        "body_erased": record.body().is_none(),
        "body": record.body().map(body_json),
    })
}

#[cfg(test)]
mod tests;
