//! Photos and other blobs, stored as files named by their hash, outside sled. A write goes
//! to a temporary file that is synced and then renamed, so a blob file is either absent
//! or complete; a read checks the content against its hash.
//!
//! A photo erased with its member's listings is deleted and marked: an empty file
//! `<root>/erased/<64 hex digits>`. A marked blob is neither served nor stored again from a
//! peer; only a member's own upload ([`BlobStore::put`]) lifts the mark.

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
    /// The blob was erased with its member's data and is not stored again from a peer.
    #[error("the blob was erased")]
    Erased,
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

    fn mark_path(&self, hash: &BlobHash) -> PathBuf {
        self.root.join(ERASED_FOLDER).join(hash.to_hex())
    }

    /// Stores a blob durably and returns its hash. This is a member's own upload: it lifts
    /// an erasure mark on the same content.
    pub async fn put(&self, blob: Vec<u8>) -> Result<BlobHash, BlobError> {
        let hash = self.write(blob).await?;
        let mark = self.mark_path(&hash);
        blocking(move || crate::durable::remove_durably(&mark).map(|_| ())).await?;
        Ok(hash)
    }

    async fn write(&self, blob: Vec<u8>) -> Result<BlobHash, BlobError> {
        if blob.len() > MAX_BLOB_BYTES {
            return Err(BlobError::TooLarge(blob.len()));
        }
        let hash = BlobHash::of_blob(&blob);
        let path = self.path(&hash);
        blocking(move || write_atomically(&path, &blob)).await?;
        Ok(hash)
    }

    /// Stores a blob fetched under `expected`, refusing content that does not match and
    /// blobs that were erased.
    pub async fn put_expected(&self, expected: &BlobHash, blob: Vec<u8>) -> Result<(), BlobError> {
        if BlobHash::of_blob(&blob) != *expected {
            return Err(BlobError::Mismatch);
        }
        if self.is_erased(expected) {
            return Err(BlobError::Erased);
        }
        self.write(blob).await.map(|_| ())
    }

    /// Deletes a blob durably (the file is removed and its folder synced). Returns whether
    /// it was held.
    pub async fn delete(&self, hash: &BlobHash) -> Result<bool, BlobError> {
        let path = self.path(hash);
        blocking(move || crate::durable::remove_durably(&path)).await
    }

    /// Deletes a blob erased with its member's data and marks it, durably, so that it is
    /// neither served nor fetched again. Returns whether the blob was held.
    pub async fn erase(&self, hash: &BlobHash) -> Result<bool, BlobError> {
        let mark = self.mark_path(hash);
        blocking(move || write_atomically(&mark, &[])).await?;
        self.delete(hash).await
    }

    /// Lifts the erasure mark of a blob, durably: a listing held with its body names it
    /// again. Returns whether there was a mark.
    pub async fn unmark(&self, hash: &BlobHash) -> Result<bool, BlobError> {
        let mark = self.mark_path(hash);
        blocking(move || crate::durable::remove_durably(&mark)).await
    }

    /// Whether a blob carries an erasure mark.
    pub fn is_erased(&self, hash: &BlobHash) -> bool {
        self.mark_path(hash).exists()
    }

    /// A blob's bytes, if held, intact and not erased.
    pub async fn get(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>, BlobError> {
        if self.is_erased(hash) {
            return Ok(None);
        }
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

    /// Every blob file held whose last write is before `before`.
    pub async fn held_before(
        &self,
        before: std::time::SystemTime,
    ) -> Result<Vec<BlobHash>, BlobError> {
        let root = self.root.clone();
        blocking(move || {
            let mut held = Vec::new();
            each_blob(&root, |hash, metadata| {
                if metadata.modified()? < before {
                    held.push(hash);
                }
                Ok(())
            })?;
            Ok(held)
        })
        .await
    }

    /// How many blob files are held, and their total size: a walk over the folder.
    pub async fn usage(&self) -> Result<BlobUsage, BlobError> {
        let root = self.root.clone();
        blocking(move || {
            let mut usage = BlobUsage::default();
            each_blob(&root, |_, metadata| {
                usage.files += 1;
                usage.bytes += metadata.len();
                Ok(())
            })?;
            Ok(usage)
        })
        .await
    }
}

/// The blob files held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlobUsage {
    /// Files.
    pub files: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// Calls `visit` on every blob file under `root` (temporaries and marks left out).
fn each_blob(
    root: &std::path::Path,
    mut visit: impl FnMut(BlobHash, std::fs::Metadata) -> std::io::Result<()>,
) -> std::io::Result<()> {
    for folder in std::fs::read_dir(root)? {
        let folder = folder?;
        if folder.file_name().len() != 2 || !folder.file_type()?.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(folder.path())? {
            let file = file?;
            let name = file.file_name();
            let Some(hash) = name.to_str().and_then(|n| BlobHash::from_hex(n).ok()) else {
                continue;
            };
            visit(hash, file.metadata()?)?;
        }
    }
    Ok(())
}

/// The folder of erasure marks; blob folders have two-character names, so it cannot clash.
const ERASED_FOLDER: &str = "erased";

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, BlobError> {
    Ok(tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BlobError::Io(std::io::Error::other(e)))??)
}

fn write_atomically(path: &std::path::Path, blob: &[u8]) -> std::io::Result<()> {
    // A blob's name is its hash: one already there holds the same bytes.
    if path.exists() {
        return Ok(());
    }
    crate::durable::write_atomically(path, blob)
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

    #[tokio::test]
    async fn deleted_blobs_are_gone_and_erased_ones_are_not_fetched_again() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("blobs");
        let store = BlobStore::open(root.clone()).unwrap();
        let kept = store.put(b"kept".to_vec()).await.unwrap();
        let gone = store.put(b"gone".to_vec()).await.unwrap();
        assert!(store.delete(&gone).await.unwrap());
        assert!(
            !store.delete(&gone).await.unwrap(),
            "a second delete finds nothing"
        );
        assert!(!store.contains(&gone) && store.get(&gone).await.unwrap().is_none());
        assert!(store.contains(&kept));
        // A plain delete does not stop a later fetch.
        store.put_expected(&gone, b"gone".to_vec()).await.unwrap();
        assert!(store.contains(&gone));
        // An erased blob is deleted, and neither read nor stored again from a peer...
        assert!(store.erase(&gone).await.unwrap());
        assert!(!store.contains(&gone) && store.is_erased(&gone));
        assert!(matches!(
            store.put_expected(&gone, b"gone".to_vec()).await,
            Err(BlobError::Erased)
        ));
        assert!(!store.contains(&gone));
        // ...also after reopening the folder...
        let reopened = BlobStore::open(root).unwrap();
        assert!(reopened.is_erased(&gone) && reopened.get(&gone).await.unwrap().is_none());
        // ...until a member uploads the same content again.
        assert_eq!(reopened.put(b"gone".to_vec()).await.unwrap(), gone);
        assert!(!reopened.is_erased(&gone));
        assert_eq!(
            reopened.get(&gone).await.unwrap().as_deref(),
            Some(&b"gone"[..])
        );
        // Erasing a blob never held still leaves the mark, until it is lifted.
        let never = BlobHash::of_blob(b"never");
        assert!(!reopened.erase(&never).await.unwrap());
        assert!(reopened.is_erased(&never));
        assert!(reopened.unmark(&never).await.unwrap());
        assert!(!reopened.is_erased(&never) && !reopened.unmark(&never).await.unwrap());
        reopened
            .put_expected(&never, b"never".to_vec())
            .await
            .unwrap();
    }
}
