//! Photos and other blobs, stored as files named by their hash, outside sled. A write goes
//! to a temporary file that is synced and then renamed, so a blob file is either absent
//! or complete; a read checks the content against its hash.

use std::io::Write;
use std::path::PathBuf;

use maillon_protocol::ids::BlobHash;
use thiserror::Error;

/// Blobs larger than this are refused.
pub const MAX_BLOB_BYTES: usize = 8 << 20;

/// Why a blob operation failed.
#[derive(Debug, Error)]
pub enum BlobError {
    /// The file system failed.
    #[error("blob storage failed: {0}")]
    Io(#[from] std::io::Error),
    /// The blob is larger than [`MAX_BLOB_BYTES`].
    #[error("the blob has {0} bytes, more than the limit")]
    TooLarge(usize),
    /// The content does not match the hash it was asked under.
    #[error("the blob does not match its hash")]
    Mismatch,
}

/// A folder of blobs: `<root>/<first 2 hex digits>/<64 hex digits>`.
#[derive(Clone, Debug)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// Opens (creating) the folder.
    pub fn open(root: PathBuf) -> Result<BlobStore, BlobError> {
        std::fs::create_dir_all(&root)?;
        Ok(BlobStore { root })
    }

    fn path(&self, hash: &BlobHash) -> PathBuf {
        let hex = hash.to_hex();
        self.root.join(&hex[..2]).join(hex)
    }

    /// Stores a blob durably and returns its hash.
    pub async fn put(&self, blob: Vec<u8>) -> Result<BlobHash, BlobError> {
        if blob.len() > MAX_BLOB_BYTES {
            return Err(BlobError::TooLarge(blob.len()));
        }
        let hash = BlobHash::of_blob(&blob);
        let path = self.path(&hash);
        tokio::task::spawn_blocking(move || write_atomically(&path, &blob))
            .await
            .map_err(|e| BlobError::Io(std::io::Error::other(e)))??;
        Ok(hash)
    }

    /// Stores a blob fetched under `expected`, refusing content that does not match.
    pub async fn put_expected(&self, expected: &BlobHash, blob: Vec<u8>) -> Result<(), BlobError> {
        if BlobHash::of_blob(&blob) != *expected {
            return Err(BlobError::Mismatch);
        }
        self.put(blob).await.map(|_| ())
    }

    /// A blob's bytes, if held and intact.
    pub async fn get(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>, BlobError> {
        let path = self.path(hash);
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        if BlobHash::of_blob(&bytes) != *hash {
            tracing::warn!(path = %path.display(), "a blob file is corrupt; ignoring it");
            return Ok(None);
        }
        Ok(Some(bytes))
    }

    /// Whether a blob is held.
    pub fn contains(&self, hash: &BlobHash) -> bool {
        self.path(hash).exists()
    }
}

fn write_atomically(path: &std::path::Path, blob: &[u8]) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    let folder = path
        .parent()
        .ok_or_else(|| std::io::Error::other("blob path has no folder"))?;
    std::fs::create_dir_all(folder)?;
    let mut file = tempfile::NamedTempFile::new_in(folder)?;
    file.write_all(blob)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(folder)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blobs_round_trip_and_are_checked_against_their_hash() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path().join("blobs")).unwrap();
        let hash = store.put(b"photo".to_vec()).await.unwrap();
        assert_eq!(
            store.get(&hash).await.unwrap().as_deref(),
            Some(&b"photo"[..])
        );
        assert!(store.contains(&hash));
        assert!(matches!(
            store.put_expected(&hash, b"other".to_vec()).await,
            Err(BlobError::Mismatch)
        ));
        std::fs::write(store.path(&hash), b"tampered").unwrap();
        assert_eq!(store.get(&hash).await.unwrap(), None);
        assert!(matches!(
            store.put(vec![0; MAX_BLOB_BYTES + 1]).await,
            Err(BlobError::TooLarge(_))
        ));
    }
}
