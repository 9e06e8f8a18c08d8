//! Backups of a node and their restore, and the rebuild of a damaged store from peers.
//!
//! A backup is a tar archive whose first entry is a JSON [`Manifest`] (format version,
//! network id, node name, binary version, record count, and every other entry with its size
//! and SHA-256), then `charter.cbor`, `maillon.toml` (when the node has one), one dump per
//! tree of the sled database (`store/<hex of the tree name>.kv`, [`crate::store::dump`]) and
//! every file of the data folder but the store, the derived search index and temporaries
//! (`data/…`: node key, accounts with their sealed keys, photos, announcement…). Sessions
//! live in memory only, so no backup holds one. The archive may be encrypted with a
//! passphrase in the age format (scrypt).
//!
//! # Layout
//! - [`archive`]: writing the archive from a sled database and the node's files.
//! - [`reader`]: reading an archive back, every entry checked against the manifest.
//! - [`restore`]: `maillon restore`, into a temporary folder renamed at the end.
//! - [`admin`]: the running node's admin socket, which streams a backup to `maillon backup`.
//! - [`crypt`]: age encryption with a passphrase.
//! - [`make`]: `maillon backup`, through the admin socket or from a stopped node's store.
//! - [`rebuild`]: `maillon rebuild`, the damaged store moved aside.

pub mod admin;
pub mod archive;
pub mod crypt;
pub mod make;
pub mod reader;
pub mod rebuild;
pub mod restore;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The archive format's name, in every manifest.
pub const FORMAT: &str = "maillon-backup";

/// The archive format's version this binary writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The manifest's name, the archive's first entry.
pub const MANIFEST_ENTRY: &str = "MANIFEST.json";

/// Where the charter is in an archive.
pub const CHARTER_ENTRY: &str = "charter.cbor";

/// Where the configuration file is in an archive.
pub const CONFIG_ENTRY: &str = "maillon.toml";

/// The folder of tree dumps in an archive.
pub const STORE_PREFIX: &str = "store/";

/// The folder of the data folder's files in an archive.
pub const DATA_PREFIX: &str = "data/";

/// Why a backup, a restore or a rebuild failed.
#[derive(Debug, Error)]
pub enum BackupError {
    /// A file or the socket failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The file is not a Maillon backup at all.
    #[error("this file is not a Maillon backup ({0})")]
    NotABackup(String),
    /// The file was cut short or changed after it was written.
    #[error("the backup is truncated or damaged: {0}")]
    Damaged(String),
    /// The backup is encrypted and no passphrase was given.
    #[error("this backup is encrypted: give its passphrase with --passphrase-file or MAILLON_BACKUP_PASSPHRASE")]
    NeedsPassphrase,
    /// The passphrase does not open the backup.
    #[error("the passphrase does not open this backup")]
    WrongPassphrase,
    /// The backup belongs to another network than the one expected.
    #[error("this backup belongs to network {found}, not to network {expected}")]
    OtherNetwork {
        /// The network expected (from `--network`).
        expected: String,
        /// The backup's network.
        found: String,
    },
    /// The backup was written by a newer format.
    #[error("this backup's format version is {0}; this maillon reads version {FORMAT_VERSION}: use a newer maillon")]
    NewerFormat(u32),
    /// The target folder already holds something.
    #[error("{0} is not empty: restore into a new or empty folder")]
    NotEmpty(PathBuf),
    /// A file the node needs is not valid.
    #[error("{0}")]
    Invalid(String),
    /// The running node refused or broke off the backup.
    #[error("the node did not complete the backup: {0}")]
    Node(String),
}

impl BackupError {
    /// An IO error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
        let context = context.into();
        move |source| BackupError::Io { context, source }
    }
}

/// The network id (hex) of a charter file's bytes, which must be a valid charter record.
pub fn network_of_charter(bytes: &[u8]) -> Result<String, BackupError> {
    let record =
        crate::init::read_charter(bytes).map_err(|e| BackupError::Invalid(e.to_string()))?;
    match record.body() {
        Some(maillon_protocol::kinds::Body::Charter(charter)) => Ok(charter.network_id().to_hex()),
        _ => Err(BackupError::Invalid(
            "the charter file holds no charter".into(),
        )),
    }
}

/// One entry of the archive after the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// The path in the archive.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, in hex.
    pub sha256: String,
}

/// One sled tree of the archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestTree {
    /// The tree's name, in hex (sled names are bytes).
    pub name_hex: String,
    /// Its entries.
    pub entries: u64,
}

/// What an archive holds, its first entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written.
    pub version: u32,
    /// The network id (hex of the charter's hash).
    pub network: String,
    /// The node's name.
    pub node_name: String,
    /// The version of `maillon` that wrote it.
    pub binary_version: String,
    /// When it was written, in seconds since 1970.
    pub created_at_secs: u64,
    /// The records in the store's dump.
    pub records: u64,
    /// The sled trees dumped.
    pub trees: Vec<ManifestTree>,
    /// Every other entry, in archive order.
    pub entries: Vec<ManifestEntry>,
}

impl Manifest {
    /// The photos (blob files) in the archive.
    pub fn photos(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.path.starts_with("data/blobs/") && !e.path.contains("/erased/"))
            .count()
    }

    /// The archive's total size of entries, in bytes.
    pub fn bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }
}

/// The node's files a backup reads, from its configuration.
#[derive(Clone, Debug)]
pub struct Sources {
    /// The configuration file, when the node has one (tests build theirs in memory).
    pub config_file: Option<PathBuf>,
    /// The charter record file.
    pub charter_file: PathBuf,
    /// The data folder.
    pub data_dir: PathBuf,
    /// The node's name.
    pub node_name: String,
}

impl Sources {
    /// The sources of a node with this configuration, read from `config_file`.
    pub fn of(config: &crate::config::Config, config_file: Option<PathBuf>) -> Sources {
        Sources {
            config_file,
            charter_file: config.charter_file.clone(),
            data_dir: config.data_dir.clone(),
            node_name: config.name.clone(),
        }
    }
}
