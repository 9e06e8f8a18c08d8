//! `maillon rebuild`: a damaged or lost store is moved aside (never deleted) with the
//! derived search index and any photo whose content no longer matches its name; the key,
//! accounts, configuration and charter stay. At its next start the node finds an empty
//! store and fetches every record from its peers by sync; photos come back on demand, when
//! a page asks for one the node does not hold (`network::blob_fetch`).

use std::path::{Path, PathBuf};

use maillon_protocol::ids::BlobHash;

use super::{admin, BackupError};

/// What a rebuild moved aside.
#[derive(Debug)]
pub struct Rebuilt {
    /// The folder everything moved aside is in (`<data>/damaged-<seconds>`).
    pub damaged_dir: PathBuf,
    /// Whether there was a store to move.
    pub store_moved: bool,
    /// Photos whose content did not match their hash.
    pub photos_moved: usize,
}

/// Prepares the node whose data folder is `data_dir` to refetch its store; `now_secs`
/// names the folder of what is moved aside. Refused while the node runs.
pub fn rebuild(data_dir: &Path, now_secs: u64) -> Result<Rebuilt, BackupError> {
    if std::os::unix::net::UnixStream::connect(admin::socket_path(data_dir)).is_ok() {
        return Err(BackupError::Invalid(
            "the node is running: stop it first (for example `systemctl stop maillon`)".into(),
        ));
    }
    let damaged_dir = data_dir.join(format!("damaged-{now_secs}"));
    std::fs::create_dir(&damaged_dir).map_err(BackupError::io(format!(
        "cannot create {}",
        damaged_dir.display()
    )))?;
    let store_moved = move_aside(&data_dir.join("store"), &damaged_dir.join("store"))?;
    move_aside(&data_dir.join("search"), &damaged_dir.join("search"))?;
    let photos_moved = move_damaged_photos(&data_dir.join("blobs"), &damaged_dir.join("blobs"))?;
    sync_folder(data_dir)?;
    Ok(Rebuilt {
        damaged_dir,
        store_moved,
        photos_moved,
    })
}

fn move_aside(from: &Path, to: &Path) -> Result<bool, BackupError> {
    if !from.exists() {
        return Ok(false);
    }
    if let Some(folder) = to.parent() {
        std::fs::create_dir_all(folder).map_err(BackupError::io(format!(
            "cannot create {}",
            folder.display()
        )))?;
    }
    std::fs::rename(from, to).map_err(BackupError::io(format!(
        "cannot move {} to {}",
        from.display(),
        to.display()
    )))?;
    Ok(true)
}

/// Moves every photo file of `blobs/<2 hex>/<64 hex>` whose content does not hash to its
/// name (or that cannot be read) to the same place under `to`.
fn move_damaged_photos(blobs: &Path, to: &Path) -> Result<usize, BackupError> {
    let Ok(folders) = std::fs::read_dir(blobs) else {
        return Ok(0);
    };
    let mut moved = 0;
    for folder in folders.flatten() {
        let name = folder.file_name().to_string_lossy().into_owned();
        if name.len() != 2 || !folder.path().is_dir() {
            continue;
        }
        let files = std::fs::read_dir(folder.path()).map_err(BackupError::io(format!(
            "cannot list {}",
            folder.path().display()
        )))?;
        for file in files.flatten() {
            let path = file.path();
            let Some(hash) = file
                .file_name()
                .to_str()
                .and_then(|n| BlobHash::from_hex(n).ok())
            else {
                continue;
            };
            let intact = std::fs::read(&path).is_ok_and(|bytes| BlobHash::of_blob(&bytes) == hash);
            if !intact {
                move_aside(&path, &to.join(&name).join(file.file_name()))?;
                moved += 1;
            }
        }
    }
    Ok(moved)
}

fn sync_folder(folder: &Path) -> Result<(), BackupError> {
    std::fs::File::open(folder)
        .and_then(|f| f.sync_all())
        .map_err(BackupError::io(format!("cannot sync {}", folder.display())))
}
