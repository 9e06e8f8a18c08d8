//! Writing a backup archive from a sled database (open here, or a running node's) and the
//! node's files.
//!
//! Everything is first gathered in a staging folder inside the data folder (mode 0700): the
//! tree dumps, and a hard link to each file (a copy when linking fails). Files the node
//! replaces are written to a temporary file and renamed, so a link keeps the version it
//! was made from. The manifest, with each entry's size and hash, is then written first,
//! followed by the entries; the staging folder is removed at the end, whatever happens.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::{
    BackupError, Manifest, ManifestEntry, ManifestTree, Sources, CHARTER_ENTRY, CONFIG_ENTRY,
    DATA_PREFIX, FORMAT, FORMAT_VERSION, MANIFEST_ENTRY, STORE_PREFIX,
};
use crate::store::dump;

/// Names in the data folder a backup leaves out: the store (dumped from sled instead), the
/// derived search index, the admin socket, and staging folders of backups in progress.
fn left_out(name: &str) -> bool {
    name == "store"
        || name == "search"
        || name == super::admin::SOCKET_FILE
        || name.starts_with(".backup-")
        || name.starts_with("damaged-")
        || crate::durable::is_partial(Path::new(name))
}

/// Writes a backup of `db` and the node's files to `out`; returns its manifest. `progress`
/// is told of each step.
pub fn write_backup(
    db: &sled::Db,
    sources: &Sources,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(&str),
) -> Result<Manifest, BackupError> {
    let staging = tempfile::Builder::new()
        .prefix(".backup-")
        .tempdir_in(&sources.data_dir)
        .map_err(BackupError::io(
            "cannot create a staging folder in the data folder",
        ))?;
    let mut staged = Staged {
        root: staging.path().to_path_buf(),
        entries: Vec::new(),
    };
    let charter = std::fs::read(&sources.charter_file).map_err(BackupError::io(format!(
        "cannot read the charter {}",
        sources.charter_file.display()
    )))?;
    let network = super::network_of_charter(&charter)?;
    staged.add_bytes(CHARTER_ENTRY, &charter)?;
    if let Some(config_file) = &sources.config_file {
        let config = std::fs::read(config_file).map_err(BackupError::io(format!(
            "cannot read the configuration {}",
            config_file.display()
        )))?;
        staged.add_bytes(CONFIG_ENTRY, &config)?;
    }
    progress("store");
    let (trees, records) = staged.add_trees(db)?;
    progress(&format!("store: {records} records"));
    staged.add_folder(&sources.data_dir, DATA_PREFIX, sources)?;
    progress(&format!("files: {}", staged.entries.len()));
    let manifest = Manifest {
        format: FORMAT.into(),
        version: FORMAT_VERSION,
        network,
        node_name: sources.node_name.clone(),
        binary_version: env!("CARGO_PKG_VERSION").into(),
        created_at_secs: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        records,
        trees,
        entries: staged.entries.iter().map(|(e, _)| e.clone()).collect(),
    };
    write_tar(&manifest, &staged, out)?;
    Ok(manifest)
}

/// The entries gathered so far, each with its staged file.
struct Staged {
    root: PathBuf,
    entries: Vec<(ManifestEntry, PathBuf)>,
}

impl Staged {
    fn staged_path(&self, path: &str) -> Result<PathBuf, BackupError> {
        let staged = self.root.join(path);
        if let Some(parent) = staged.parent() {
            std::fs::create_dir_all(parent).map_err(BackupError::io("cannot stage a file"))?;
        }
        Ok(staged)
    }

    fn add_bytes(&mut self, path: &str, bytes: &[u8]) -> Result<(), BackupError> {
        let staged = self.staged_path(path)?;
        std::fs::write(&staged, bytes).map_err(BackupError::io("cannot stage a file"))?;
        self.entries.push((
            ManifestEntry {
                path: path.into(),
                size: bytes.len() as u64,
                sha256: hex::encode(Sha256::digest(bytes)),
            },
            staged,
        ));
        Ok(())
    }

    /// Dumps every tree; returns them and the records counted.
    fn add_trees(&mut self, db: &sled::Db) -> Result<(Vec<ManifestTree>, u64), BackupError> {
        let mut trees = Vec::new();
        let mut records = 0;
        for name in dump::tree_names(db) {
            let path = format!("{STORE_PREFIX}{}.kv", hex::encode(&name));
            let staged = self.staged_path(&path)?;
            let file = std::fs::File::create(&staged)
                .map_err(BackupError::io("cannot stage a tree dump"))?;
            let mut writer = HashingWriter::new(std::io::BufWriter::new(file));
            let dumped = dump::dump_tree(db, &name, &mut writer)?;
            let (entry_hash, size, inner) = writer.finish();
            inner
                .into_inner()
                .map_err(|e| BackupError::io("cannot stage a tree dump")(e.into_error()))?;
            records += dumped.records;
            trees.push(ManifestTree {
                name_hex: hex::encode(&name),
                entries: dumped.entries,
            });
            self.entries.push((
                ManifestEntry {
                    path,
                    size,
                    sha256: entry_hash,
                },
                staged,
            ));
        }
        Ok((trees, records))
    }

    /// Links (or copies) every file under `folder` but those left out, recursively.
    fn add_folder(
        &mut self,
        folder: &Path,
        prefix: &str,
        sources: &Sources,
    ) -> Result<(), BackupError> {
        let mut children: Vec<_> = std::fs::read_dir(folder)
            .map_err(BackupError::io(format!("cannot list {}", folder.display())))?
            .collect::<Result<_, _>>()
            .map_err(BackupError::io(format!("cannot list {}", folder.display())))?;
        children.sort_by_key(|c| c.file_name());
        for child in children {
            let name = child.file_name().to_string_lossy().into_owned();
            let path = child.path();
            let is_source = Some(&path) == sources.config_file.as_ref()
                || path == sources.charter_file
                || path == self.root;
            if left_out(&name) || is_source {
                continue;
            }
            let kind = child
                .file_type()
                .map_err(BackupError::io(format!("cannot read {}", path.display())))?;
            let entry_path = format!("{prefix}{name}");
            if kind.is_dir() {
                self.add_folder(&path, &format!("{entry_path}/"), sources)?;
            } else if kind.is_file() {
                self.add_file(&path, entry_path)?;
            }
        }
        Ok(())
    }

    fn add_file(&mut self, path: &Path, entry_path: String) -> Result<(), BackupError> {
        let staged = self.staged_path(&entry_path)?;
        if std::fs::hard_link(path, &staged).is_err() {
            match std::fs::copy(path, &staged) {
                Ok(_) => {}
                // Removed meanwhile (an erased photo): it is not part of the backup.
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(error) => {
                    return Err(BackupError::io(format!("cannot read {}", path.display()))(
                        error,
                    ))
                }
            }
        }
        let (sha256, size) = hash_file(&staged)?;
        self.entries.push((
            ManifestEntry {
                path: entry_path,
                size,
                sha256,
            },
            staged,
        ));
        Ok(())
    }
}

/// The SHA-256 (hex) and size of a file.
fn hash_file(path: &Path) -> Result<(String, u64), BackupError> {
    let mut file = std::fs::File::open(path)
        .map_err(BackupError::io(format!("cannot read {}", path.display())))?;
    let mut writer = HashingWriter::new(std::io::sink());
    std::io::copy(&mut file, &mut writer)
        .map_err(BackupError::io(format!("cannot read {}", path.display())))?;
    let (hash, size, _) = writer.finish();
    Ok((hash, size))
}

fn write_tar(manifest: &Manifest, staged: &Staged, out: &mut dyn Write) -> Result<(), BackupError> {
    let failed = BackupError::io("cannot write the backup");
    let manifest_bytes = serde_json::to_vec_pretty(manifest)
        .map_err(|e| BackupError::Invalid(format!("the manifest: {e}")))?;
    let mut builder = tar::Builder::new(out);
    append(
        &mut builder,
        MANIFEST_ENTRY,
        manifest_bytes.len() as u64,
        &mut &manifest_bytes[..],
    )
    .map_err(failed)?;
    for (entry, path) in &staged.entries {
        let file = std::fs::File::open(path)
            .map_err(BackupError::io(format!("cannot read {}", path.display())))?;
        append(
            &mut builder,
            &entry.path,
            entry.size,
            &mut file.take(entry.size),
        )
        .map_err(BackupError::io("cannot write the backup"))?;
    }
    builder
        .into_inner()
        .and_then(|out| out.flush())
        .map_err(BackupError::io("cannot write the backup"))
}

fn append(
    builder: &mut tar::Builder<&mut dyn Write>,
    path: &str,
    size: u64,
    data: &mut dyn Read,
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o600);
    header.set_entry_type(tar::EntryType::Regular);
    builder.append_data(&mut header, path, data)
}

/// A writer that hashes and counts what passes through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> HashingWriter<W> {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The hash (hex), the byte count, and the inner writer.
    pub fn finish(self) -> (String, u64, W) {
        (hex::encode(self.hasher.finalize()), self.bytes, self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
