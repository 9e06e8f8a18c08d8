//! The store's format version and its migrations: which layout of the sled database this
//! binary reads and writes, how an older layout is brought up to date, and the refusal of a
//! newer one before anything is written.
//!
//! The version lives in the sled tree `meta` under the key `format`, as a 4-byte
//! big-endian number. A fresh database gets it before any record is written, so a
//! database that holds records and no marker can only have been written before markers
//! existed: it is format 1. Each [`Step`] brings the layout from one version to the next;
//! the marker moves only after the step's writes are flushed, so a step that fails or is
//! cut short leaves the marker at the version the data still has. A step that could take
//! long ([`Step::explicit`]) does not run when a node starts: the start is refused with the
//! command that runs it (`maillon migrate --config C`).

use std::path::Path;

use super::StoreError;

/// The layout of the store this binary reads and writes. Version 1 is the layout of every
/// store written before versions were recorded: one tree `maillon` of records keyed by id
/// and derived index spaces. Version 2 keys the records by their sync order, in the tree
/// `records` (`sled_keys`).
pub const FORMAT_VERSION: FormatVersion = FormatVersion(2);

/// The production migrations, in order.
pub const STEPS: &[Step] = &[super::format_2::TO_FORMAT_2];

/// The tree holding the store's own facts (its format version).
pub(super) const META_TREE: &str = "meta";
/// The key of the format version in [`META_TREE`].
const FORMAT_KEY: &[u8] = b"format";
/// The tree of records and their indexes in this binary's format.
pub(super) const RECORDS_TREE: &str = super::sled_keys::RECORDS_TREE;
/// The tree of records of format 1, which a store without a marker holds.
const FORMAT_1_TREE: &str = super::sled_keys::FORMAT_1_TREE;

/// A format version of the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FormatVersion(pub u32);

impl std::fmt::Display for FormatVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One migration: from `from` to the next version.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// The version the step reads; it writes `from + 1`.
    pub from: FormatVersion,
    /// What it does, for the operator.
    pub name: &'static str,
    /// Whether it must be run by `maillon migrate` (long: it rewrites many records) rather
    /// than when the node starts.
    pub explicit: bool,
    /// The migration, given the database and the store's folder (whose parent is the node's
    /// data folder, for a step that also rewrites the files beside the store). It must be
    /// atomic (one sled batch or transaction) or resumable (run again from the start after
    /// a failure, it finishes the work), and while it has not returned, the data must still
    /// read as version `from`.
    pub apply: fn(&sled::Db, &Path) -> Result<(), StoreError>,
}

/// What this binary knows: the version it writes and the steps up to it.
#[derive(Clone, Copy, Debug)]
pub struct Format {
    /// The version written.
    pub current: FormatVersion,
    /// The steps, `steps[i].from` increasing by one from some version to `current - 1`.
    pub steps: &'static [Step],
}

/// This binary's format.
pub const THIS_BINARY: Format = Format {
    current: FORMAT_VERSION,
    steps: STEPS,
};

/// Whether `maillon migrate` may run explicit steps, or only those a start runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allow {
    /// A node's start: only steps that are not explicit.
    AutomaticOnly,
    /// `maillon migrate`: every step.
    Every,
}

/// What [`prepare`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    /// The version found (`None`: a fresh store).
    pub found: Option<FormatVersion>,
    /// The steps run, in order.
    pub ran: Vec<&'static str>,
}

/// The version recorded in a database, `None` for a fresh one. Reads only: a tree that does
/// not exist is not created.
pub fn recorded(db: &sled::Db) -> Result<Option<FormatVersion>, StoreError> {
    let names = db.tree_names();
    let has = |name: &str| names.iter().any(|n| n.as_ref() == name.as_bytes());
    if has(META_TREE) {
        if let Some(bytes) = db.open_tree(META_TREE)?.get(FORMAT_KEY)? {
            let bytes: [u8; 4] = bytes.as_ref().try_into().map_err(|_| {
                StoreError::Corrupt(format!("format marker of {} bytes", bytes.len()))
            })?;
            return Ok(Some(FormatVersion(u32::from_be_bytes(bytes))));
        }
    }
    if has(FORMAT_1_TREE) && !db.open_tree(FORMAT_1_TREE)?.is_empty() {
        return Ok(Some(FormatVersion(1)));
    }
    Ok(None)
}

/// Writes the format marker and flushes it.
fn record(db: &sled::Db, version: FormatVersion) -> Result<(), StoreError> {
    db.open_tree(META_TREE)?
        .insert(FORMAT_KEY, &version.0.to_be_bytes())?;
    db.flush()?;
    Ok(())
}

/// Checks what a database can be opened as, before anything is written: refused when it is
/// newer than `format` knows, or when a step it needs is explicit and `allow` does not
/// allow it.
fn check(
    found: Option<FormatVersion>,
    format: &Format,
    allow: Allow,
    path: &Path,
) -> Result<Vec<Step>, StoreError> {
    let Some(found) = found else {
        return Ok(Vec::new());
    };
    if found > format.current {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: format.current,
        });
    }
    let mut pending = Vec::new();
    let mut at = found;
    while at < format.current {
        let step = format
            .steps
            .iter()
            .find(|step| step.from == at)
            .ok_or(StoreError::NoMigration { found: at })?;
        pending.push(*step);
        at = FormatVersion(at.0 + 1);
    }
    if allow == Allow::AutomaticOnly && pending.iter().any(|step| step.explicit) {
        return Err(StoreError::NeedsMigration {
            path: path.to_path_buf(),
            found,
            supported: format.current,
        });
    }
    Ok(pending)
}

/// Brings a database to `format.current`: records the version of a fresh store (before any
/// record is written), or runs the steps from the recorded version, each followed by the
/// marker of the version it reached. Refuses, writing nothing, a newer store or one that
/// needs an explicit step `allow` does not allow.
pub fn prepare(
    db: &sled::Db,
    format: &Format,
    allow: Allow,
    path: &Path,
) -> Result<Prepared, StoreError> {
    let found = recorded(db)?;
    let pending = check(found, format, allow, path)?;
    let mut ran = Vec::new();
    for step in pending {
        (step.apply)(db, path).map_err(|error| StoreError::MigrationFailed {
            from: step.from,
            name: step.name,
            reason: error.to_string(),
        })?;
        db.flush()?;
        record(db, FormatVersion(step.from.0 + 1))?;
        ran.push(step.name);
    }
    if found != Some(format.current) {
        record(db, format.current)?;
    }
    Ok(Prepared { found, ran })
}
