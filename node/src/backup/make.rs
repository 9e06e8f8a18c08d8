//! `maillon backup`: the archive asked of the running node through its admin socket, or
//! made here from the store when the node is stopped; written to a temporary file (mode
//! 0600) next to the output, read back and checked whole, and only then renamed into place.

use std::io::Write;
use std::path::Path;

use age::secrecy::{ExposeSecret, SecretString};

use super::admin::{self, BackupMade};
use super::{archive, crypt, reader, BackupError, Sources};
use crate::store::{SledConfig, SledStore, StoreError};

/// What `maillon backup` reports as it goes.
pub enum Progress<'a> {
    /// Bytes received from the running node so far.
    Received(u64),
    /// A step of a backup made here.
    Step(&'a str),
    /// The file is being checked.
    Checking,
}

/// Makes a backup of the node with these sources into `out` (which must not exist).
pub fn make_backup(
    sources: &Sources,
    cache_capacity_bytes: u64,
    out: &Path,
    passphrase: Option<SecretString>,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<BackupMade, BackupError> {
    if out.exists() {
        return Err(BackupError::Invalid(format!(
            "{} already exists: choose another file name",
            out.display()
        )));
    }
    let folder = match out.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    // tempfile creates the file with mode 0600.
    let temporary = tempfile::Builder::new()
        .prefix(".maillon-backup-")
        .tempfile_in(folder)
        .map_err(BackupError::io(format!(
            "cannot create a file in {}",
            folder.display()
        )))?;
    let file = temporary
        .as_file()
        .try_clone()
        .map_err(BackupError::io("cannot write the backup"))?;
    let copy = passphrase
        .as_ref()
        .map(|p| SecretString::from(p.expose_secret().to_string()));
    let mut writer = crypt::Sealed::new(std::io::BufWriter::new(file), copy)?;
    let socket = admin::socket_path(&sources.data_dir);
    let config_file = sources.config_file.as_deref();
    let received = admin::request_backup(&socket, config_file, &mut writer, &mut |bytes| {
        progress(Progress::Received(bytes))
    })?;
    let from_running_node = received.is_some();
    if !from_running_node {
        backup_stopped_node(sources, cache_capacity_bytes, &mut writer, progress)?;
    }
    let file = writer
        .finish()?
        .into_inner()
        .map_err(|e| BackupError::io("cannot write the backup")(e.into_error()))?;
    file.sync_all()
        .map_err(BackupError::io("cannot write the backup"))?;
    progress(Progress::Checking);
    let checked = std::fs::File::open(temporary.path())
        .map_err(BackupError::io("cannot read the backup back"))?;
    let mut input = crypt::open(checked, passphrase)?;
    let mut sink =
        |_: &str| -> Result<Box<dyn Write>, BackupError> { Ok(Box::new(std::io::sink())) };
    let manifest =
        reader::read_archive(&mut input, None, &mut sink).map_err(|error| match error {
            BackupError::Damaged(reason) if from_running_node => BackupError::Node(format!(
                "the archive received is incomplete ({reason}); the node's log says why"
            )),
            other => other,
        })?;
    let bytes = temporary
        .as_file()
        .metadata()
        .map_err(BackupError::io("cannot read the backup back"))?
        .len();
    temporary.persist_noclobber(out).map_err(|e| {
        BackupError::io(format!("cannot name the backup {}", out.display()))(e.error)
    })?;
    std::fs::File::open(folder)
        .and_then(|f| f.sync_all())
        .map_err(BackupError::io(format!("cannot sync {}", folder.display())))?;
    Ok(BackupMade {
        manifest,
        bytes,
        from_running_node,
    })
}

fn backup_stopped_node(
    sources: &Sources,
    cache_capacity_bytes: u64,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(), BackupError> {
    let store = SledStore::open(&SledConfig {
        path: sources.data_dir.join("store"),
        cache_capacity_bytes,
    })
    .map_err(|error| {
        match error {
        StoreError::Backend(e) if e.to_string().contains("could not acquire lock") => {
            BackupError::Node(
                "the node is running but its admin socket does not answer (is it an older maillon?)"
                    .into(),
            )
        }
        other => BackupError::Store(other),
    }
    })?;
    archive::write_backup(&store.database(), sources, out, &mut |step| {
        progress(Progress::Step(step))
    })?;
    Ok(())
}
