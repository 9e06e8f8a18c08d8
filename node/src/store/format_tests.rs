//! The format version: fresh, legacy, newer and older stores, automatic and explicit
//! migrations, and a failed one, on real sled databases; then the real step from format 1
//! (records keyed by id) to format 2 (records keyed by sync order).

use std::collections::BTreeMap;
use std::path::Path;

use super::format::{self, Allow, Format, FormatVersion, Step, FORMAT_VERSION};
use super::sled_store::open_db;
use super::suite::records;
use super::{SledConfig, SledStore, Store, StoreError};

pub(super) fn config(dir: &Path) -> SledConfig {
    SledConfig {
        path: dir.join("store"),
        cache_capacity_bytes: 8 << 20,
    }
}

/// Every file of a store's folder, its length and a hash of its bytes; but sled's
/// `snap.*` file, the index of its log that sled itself writes again from the log whenever
/// a database is opened (sled 0.34 has no read-only open). The log (`db`) and `conf` hold
/// the data: they must not change by one byte.
pub(super) fn snapshot(dir: &Path) -> BTreeMap<String, (usize, u64)> {
    use std::hash::{Hash, Hasher};
    let mut files = BTreeMap::new();
    for entry in walk(dir) {
        let name = entry.strip_prefix(dir).unwrap().display().to_string();
        if name.starts_with("snap.") {
            continue;
        }
        let bytes = std::fs::read(&entry).unwrap();
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut hasher);
        files.insert(name, (bytes.len(), hasher.finish()));
    }
    files
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A store holding the suite's records, flushed and closed.
fn store_with_records(config: &SledConfig) -> usize {
    let (_, records) = records();
    let store = SledStore::open(config).unwrap();
    for record in &records {
        store.put(record).unwrap();
    }
    store.db.flush().unwrap();
    records.len()
}

/// Runs `change` on the raw sled database, then flushes and closes it.
pub(super) fn with_db(config: &SledConfig, change: impl FnOnce(&sled::Db)) {
    let db = open_db(config).unwrap();
    change(&db);
    db.flush().unwrap();
}

pub(super) fn recorded(config: &SledConfig) -> Option<FormatVersion> {
    format::recorded(&open_db(config).unwrap()).unwrap()
}

/// Sets the recorded format version by hand.
pub(super) fn set_marker(config: &SledConfig, version: FormatVersion) {
    with_db(config, |db| {
        db.open_tree(format::META_TREE)
            .unwrap()
            .insert(b"format", &version.0.to_be_bytes())
            .unwrap();
    });
}

#[test]
fn a_fresh_store_records_its_format_before_any_record() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let store = SledStore::open(&config).unwrap();
    assert!(store.is_empty().unwrap());
    drop(store);
    assert_eq!(recorded(&config), Some(FORMAT_VERSION));
}

#[test]
fn a_newer_store_is_refused_with_both_versions_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    store_with_records(&config);
    let newer = FormatVersion(FORMAT_VERSION.0 + 1);
    set_marker(&config, newer);
    let before = snapshot(&config.path);
    let Err(error) = SledStore::open(&config) else {
        panic!("a newer store must be refused");
    };
    assert!(matches!(error, StoreError::TooNew { found, supported, .. }
        if found == newer && supported == FORMAT_VERSION));
    let message = error.to_string();
    assert!(message.contains(&format!("format {newer}")), "{message}");
    assert!(
        message.contains(&format!("format {FORMAT_VERSION}")),
        "{message}"
    );
    assert!(message.contains("install a newer Maillon"), "{message}");
    assert!(before.contains_key("db") && before.contains_key("conf"));
    assert_eq!(snapshot(&config.path), before, "not one byte changed");
}

/// The versions of a synthetic chain of steps after this binary's format.
const NEXT: FormatVersion = FormatVersion(FORMAT_VERSION.0 + 1);
const AFTER_NEXT: FormatVersion = FormatVersion(FORMAT_VERSION.0 + 2);

/// Step 1 of the synthetic chain: keeps the record count in `meta`, in one write.
fn count_records(db: &sled::Db, _store: &Path) -> Result<(), StoreError> {
    let count = db
        .open_tree(format::RECORDS_TREE)?
        .scan_prefix(b"r")
        .count() as u64;
    db.open_tree(format::META_TREE)?
        .insert(b"count", &count.to_be_bytes())?;
    Ok(())
}

/// Step 2 of the synthetic chain: copies every record into a new tree, resumable (a
/// copy made twice is the same copy). Long on a real store, so explicit.
fn copy_records(db: &sled::Db, _store: &Path) -> Result<(), StoreError> {
    let copy = db.open_tree("records-v3")?;
    for entry in db.open_tree(format::RECORDS_TREE)?.scan_prefix(b"r") {
        let (key, value) = entry?;
        copy.insert(key, value)?;
    }
    Ok(())
}

/// A step that writes part of its work aside, then fails.
fn fail_half_way(db: &sled::Db, _store: &Path) -> Result<(), StoreError> {
    db.open_tree("scratch")?.insert(b"half", b"done")?;
    Err(StoreError::Corrupt("the disk is full".into()))
}

const COUNT: Step = Step {
    from: FORMAT_VERSION,
    name: "count the records",
    explicit: false,
    apply: count_records,
};
const COPY: Step = Step {
    from: NEXT,
    name: "copy the records",
    explicit: true,
    apply: copy_records,
};
const AUTOMATIC_TO_NEXT: Format = Format {
    current: NEXT,
    steps: &[COUNT],
};
const EXPLICIT_TO_AFTER_NEXT: Format = Format {
    current: AFTER_NEXT,
    steps: &[COUNT, COPY],
};
const FAILING_TO_NEXT: Format = Format {
    current: NEXT,
    steps: &[Step {
        from: FORMAT_VERSION,
        name: "fail half-way",
        explicit: false,
        apply: fail_half_way,
    }],
};

/// A store in this binary's format, holding the suite's records.
fn store_at_this_format(dir: &Path) -> (SledConfig, usize) {
    let config = config(dir);
    let count = store_with_records(&config);
    // Opened once more, as every store was since its last write: sled extends the log
    // of a database on its first reopen, which a later snapshot must not count.
    with_db(&config, |_| {});
    (config, count)
}

#[test]
fn a_small_migration_runs_when_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    let (config, count) = store_at_this_format(dir.path());
    let (store, prepared) =
        SledStore::open_as(&config, &AUTOMATIC_TO_NEXT, Allow::AutomaticOnly).unwrap();
    assert_eq!(prepared.found, Some(FORMAT_VERSION));
    assert_eq!(prepared.ran, vec!["count the records"]);
    let stored = store.db.open_tree(format::META_TREE).unwrap().get(b"count");
    assert_eq!(
        stored.unwrap().unwrap().as_ref(),
        (count as u64).to_be_bytes()
    );
    drop(store);
    assert_eq!(recorded(&config), Some(NEXT));
    let (_, again) = SledStore::open_as(&config, &AUTOMATIC_TO_NEXT, Allow::AutomaticOnly).unwrap();
    assert!(
        again.ran.is_empty(),
        "a migrated store is not migrated again"
    );
}

#[test]
fn a_long_migration_is_refused_at_start_with_the_command_then_run_by_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let (config, count) = store_at_this_format(dir.path());
    let before = snapshot(&config.path);
    let Err(error) = SledStore::open_as(&config, &EXPLICIT_TO_AFTER_NEXT, Allow::AutomaticOnly)
    else {
        panic!("an explicit step must not run at start");
    };
    assert!(matches!(error, StoreError::NeedsMigration { .. }));
    assert!(
        error.to_string().contains("maillon migrate --config"),
        "{error}"
    );
    assert_eq!(
        snapshot(&config.path),
        before,
        "not even the automatic step ran"
    );

    let (store, prepared) =
        SledStore::open_as(&config, &EXPLICIT_TO_AFTER_NEXT, Allow::Every).unwrap();
    assert_eq!(prepared.ran, vec!["count the records", "copy the records"]);
    let copy = store.db.open_tree("records-v3").unwrap();
    assert_eq!(copy.len(), count);
    drop((store, copy));
    assert_eq!(recorded(&config), Some(AFTER_NEXT));
}

#[test]
fn a_failed_migration_leaves_the_store_at_its_old_version_and_openable() {
    let dir = tempfile::tempdir().unwrap();
    let (config, count) = store_at_this_format(dir.path());
    let Err(error) = SledStore::open_as(&config, &FAILING_TO_NEXT, Allow::AutomaticOnly) else {
        panic!("the step fails");
    };
    assert!(matches!(error, StoreError::MigrationFailed { from, .. } if from == FORMAT_VERSION));
    let stays = format!("stays in format {FORMAT_VERSION}");
    assert!(error.to_string().contains(&stays), "{error}");
    assert_eq!(recorded(&config), Some(FORMAT_VERSION));
    let store = SledStore::open(&config).unwrap();
    assert_eq!(store.len().unwrap(), count as u64);
    assert!(store.check_indexes().unwrap().is_consistent());
}

#[test]
fn a_store_older_than_any_known_step_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = store_at_this_format(dir.path());
    let skipping = Format {
        current: AFTER_NEXT,
        steps: &[COPY],
    };
    let Err(error) = SledStore::open_as(&config, &skipping, Allow::Every) else {
        panic!("no step from this binary's format");
    };
    assert!(matches!(error, StoreError::NoMigration { found } if found == FORMAT_VERSION));
}
