//! `maillon restore`: a backup checked whole and written into a temporary folder next to
//! the target, which is renamed into place only at the end. A failure leaves nothing.

use std::io::Write;
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;

use super::{crypt, reader, BackupError, Manifest, CONFIG_ENTRY, DATA_PREFIX, STORE_PREFIX};
use crate::store::{dump, SledConfig, SledStore};

/// The data folder's name in a restored node (as `maillon init` makes it).
pub const RESTORED_DATA_DIR: &str = "data";

/// The charter file's name in a restored node.
pub const RESTORED_CHARTER: &str = "charter.cbor";

/// What to restore and where.
pub struct RestoreOptions {
    /// The backup file.
    pub from: PathBuf,
    /// The node folder to create (absent or empty).
    pub dir: PathBuf,
    /// The passphrase, if the backup is encrypted.
    pub passphrase: Option<SecretString>,
    /// The network (hex id) the backup must belong to, if known.
    pub expected_network: Option<String>,
}

/// A restored node.
#[derive(Debug)]
pub struct Restored {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// The restored configuration file, if the backup held one.
    pub config_file: Option<PathBuf>,
    /// The restored data folder.
    pub data_dir: PathBuf,
}

/// Restores a backup (see the module documentation).
pub fn restore(
    options: RestoreOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Restored, BackupError> {
    let target = &options.dir;
    let target_exists = check_target(target)?;
    let parent = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(BackupError::io(format!(
        "cannot create {}",
        parent.display()
    )))?;
    let staging = tempfile::Builder::new()
        .prefix(".maillon-restore-")
        .tempdir_in(&parent)
        .map_err(BackupError::io(format!(
            "cannot create a folder in {}",
            parent.display()
        )))?;
    let file = std::fs::File::open(&options.from).map_err(BackupError::io(format!(
        "cannot open {}",
        options.from.display()
    )))?;
    let mut input = crypt::open(file, options.passphrase)?;
    progress("checking and unpacking");
    let root = staging.path().to_path_buf();
    let mut sink = |path: &str| -> Result<Box<dyn Write>, BackupError> { create_file(&root, path) };
    let manifest =
        reader::read_archive(&mut input, options.expected_network.as_deref(), &mut sink)?;
    progress(&format!("store: {} records", manifest.records));
    load_store(staging.path(), &manifest)?;
    let config_file = staging.path().join(CONFIG_ENTRY);
    let has_config = config_file.exists();
    if has_config {
        point_config_at_restored_files(&config_file)?;
    }
    if target_exists {
        std::fs::remove_dir(target).map_err(BackupError::io(format!(
            "cannot replace {}",
            target.display()
        )))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, target).map_err(|error| {
        let _ = std::fs::remove_dir_all(&staged);
        BackupError::io(format!(
            "cannot move the restored node to {}",
            target.display()
        ))(error)
    })?;
    std::fs::File::open(&parent)
        .and_then(|folder| folder.sync_all())
        .map_err(BackupError::io(format!("cannot sync {}", parent.display())))?;
    Ok(Restored {
        manifest,
        config_file: has_config.then(|| target.join(CONFIG_ENTRY)),
        data_dir: target.join(RESTORED_DATA_DIR),
    })
}

/// Whether the target exists (then empty); an error if it holds anything.
fn check_target(target: &Path) -> Result<bool, BackupError> {
    match std::fs::read_dir(target) {
        Ok(mut children) => {
            if children.next().is_some() {
                return Err(BackupError::NotEmpty(target.to_path_buf()));
            }
            Ok(true)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(BackupError::io(format!("cannot read {}", target.display()))(error)),
    }
}

/// Creates the file of an archive entry under `root`, readable by its owner only.
fn create_file(root: &Path, path: &str) -> Result<Box<dyn Write>, BackupError> {
    if !reader::is_safe_path(path) {
        return Err(BackupError::Damaged(format!("an unsafe path {path}")));
    }
    let file_path = root.join(path);
    if let Some(folder) = file_path.parent() {
        std::fs::create_dir_all(folder).map_err(BackupError::io(format!(
            "cannot create {}",
            folder.display()
        )))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&file_path).map_err(BackupError::io(format!(
        "cannot create {}",
        file_path.display()
    )))?;
    Ok(Box::new(SyncedFile(std::io::BufWriter::new(file))))
}

/// A file synced to disk when flushed.
struct SyncedFile(std::io::BufWriter<std::fs::File>);

impl Write for SyncedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()?;
        self.0.get_ref().sync_all()
    }
}

/// Loads every tree dump into a new sled database in the data folder, then removes them.
fn load_store(root: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let store = SledStore::open(&SledConfig {
        path: root.join(DATA_PREFIX).join("store"),
        cache_capacity_bytes: 64 << 20,
    })?;
    let db = store.database();
    let mut records = 0;
    for tree in &manifest.trees {
        let name = hex::decode(&tree.name_hex)
            .map_err(|_| BackupError::Damaged(format!("a tree named {}", tree.name_hex)))?;
        let path = root.join(format!("{STORE_PREFIX}{}.kv", tree.name_hex));
        let file = std::fs::File::open(&path)
            .map_err(BackupError::io(format!("cannot read {}", path.display())))?;
        records += dump::load_tree(&db, &name, &mut std::io::BufReader::new(file))?.records;
    }
    if records != manifest.records {
        return Err(BackupError::Damaged(format!(
            "the store holds {records} records, the manifest says {}",
            manifest.records
        )));
    }
    db.flush().map_err(|e| BackupError::Store(e.into()))?;
    drop(db);
    drop(store);
    let dumps = root.join(STORE_PREFIX);
    if dumps.exists() {
        std::fs::remove_dir_all(&dumps).map_err(BackupError::io(format!(
            "cannot remove {}",
            dumps.display()
        )))?;
    }
    Ok(())
}

/// Points the configuration's data folder and charter at the restored ones, if it named
/// others. (Rewriting drops the file's comments, so it is kept as is when it already does.)
fn point_config_at_restored_files(config_file: &Path) -> Result<(), BackupError> {
    let text = std::fs::read_to_string(config_file)
        .map_err(BackupError::io("cannot read the restored configuration"))?;
    let mut table: toml::Table = text
        .parse()
        .map_err(|e| BackupError::Invalid(format!("the backed-up maillon.toml: {e}")))?;
    let mut changed = false;
    for (section, key, value) in [
        ("node", "data_dir", RESTORED_DATA_DIR),
        ("network", "charter_file", RESTORED_CHARTER),
    ] {
        let section = table
            .entry(section)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(section) = section {
            if section.get(key).and_then(|v| v.as_str()) != Some(value) {
                section.insert(key.into(), toml::Value::String(value.into()));
                changed = true;
            }
        }
    }
    if changed {
        let text = toml::to_string(&table)
            .map_err(|e| BackupError::Invalid(format!("the restored maillon.toml: {e}")))?;
        crate::durable::write_atomically(config_file, text.as_bytes())
            .map_err(BackupError::io("cannot write the restored configuration"))?;
    }
    Ok(())
}
