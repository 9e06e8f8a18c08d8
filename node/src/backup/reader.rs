//! Reading a backup archive back: the manifest first, then every entry, each checked
//! against the manifest's size and hash, the tree dumps read through and their records
//! counted, and the charter checked against the network. An archive is accepted only when
//! every entry the manifest lists was read intact.

use std::collections::HashMap;
use std::io::{Read, Write};

use sha2::{Digest, Sha256};

use super::{
    BackupError, Manifest, CHARTER_ENTRY, FORMAT, FORMAT_VERSION, MANIFEST_ENTRY, STORE_PREFIX,
};
use crate::store::dump;

/// The largest manifest read (a national node's photos are a few hundred thousand entries).
const MAX_MANIFEST_BYTES: u64 = 256 << 20;

/// Where each entry's bytes go: a writer per archive path (a sink to only check).
pub type Sink<'a> = dyn FnMut(&str) -> Result<Box<dyn Write>, BackupError> + 'a;

/// Reads the whole archive from `input`, hands each entry to `sink`, and returns the
/// manifest once every entry was checked. `expected_network` (hex) refuses another network.
pub fn read_archive(
    input: &mut dyn Read,
    expected_network: Option<&str>,
    sink: &mut Sink<'_>,
) -> Result<Manifest, BackupError> {
    let mut archive = tar::Archive::new(input);
    let mut entries = archive
        .entries()
        .map_err(|e| BackupError::NotABackup(e.to_string()))?;
    let manifest = read_manifest(entries.next())?;
    if let Some(expected) = expected_network {
        if expected != manifest.network {
            return Err(BackupError::OtherNetwork {
                expected: expected.into(),
                found: manifest.network.clone(),
            });
        }
    }
    let mut pending: HashMap<&str, &super::ManifestEntry> = manifest
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e))
        .collect();
    let mut records = 0;
    let mut charter = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| BackupError::Damaged(e.to_string()))?;
        let path = entry
            .path()
            .map_err(|e| BackupError::Damaged(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        let expected = pending
            .remove(path.as_str())
            .ok_or_else(|| BackupError::Damaged(format!("{path} is not in the manifest")))?;
        let target = sink(&path)?;
        let mut reader = CheckingReader {
            inner: entry,
            tee: target,
            hasher: Sha256::new(),
            bytes: 0,
            keep: (path == CHARTER_ENTRY).then(Vec::new),
        };
        if let Some(name_hex) = path
            .strip_prefix(STORE_PREFIX)
            .and_then(|p| p.strip_suffix(".kv"))
        {
            records += check_tree(&manifest, name_hex, &mut reader)?;
        }
        std::io::copy(&mut reader, &mut std::io::sink())
            .map_err(|e| BackupError::Damaged(format!("{path}: {e}")))?;
        reader
            .tee
            .flush()
            .map_err(BackupError::io(format!("cannot write {path}")))?;
        if reader.bytes != expected.size || hex::encode(reader.hasher.finalize()) != expected.sha256
        {
            return Err(BackupError::Damaged(format!(
                "{path} does not match the manifest"
            )));
        }
        if let Some(kept) = reader.keep {
            charter = kept;
        }
    }
    if let Some(missing) = pending.keys().min() {
        return Err(BackupError::Damaged(format!(
            "the file ends before {missing} ({} entries missing)",
            pending.len()
        )));
    }
    if records != manifest.records {
        return Err(BackupError::Damaged(format!(
            "the store holds {records} records, the manifest says {}",
            manifest.records
        )));
    }
    check_charter(&manifest, &charter)?;
    Ok(manifest)
}

fn read_manifest<R: Read>(
    first: Option<std::io::Result<tar::Entry<'_, R>>>,
) -> Result<Manifest, BackupError> {
    let mut entry = match first {
        Some(Ok(entry)) => entry,
        Some(Err(error)) => return Err(BackupError::Damaged(error.to_string())),
        None => return Err(BackupError::NotABackup("the file is empty".into())),
    };
    let is_manifest = entry
        .path()
        .map(|p| p.to_string_lossy() == MANIFEST_ENTRY)
        .unwrap_or(false);
    if !is_manifest {
        return Err(BackupError::NotABackup(format!(
            "it does not start with {MANIFEST_ENTRY}"
        )));
    }
    let size = entry.size();
    if size > MAX_MANIFEST_BYTES {
        return Err(BackupError::NotABackup("its manifest is too large".into()));
    }
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| BackupError::Damaged(format!("the manifest: {e}")))?;
    if bytes.len() as u64 != size {
        return Err(BackupError::Damaged(
            "the file ends inside its manifest".into(),
        ));
    }
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| BackupError::NotABackup(format!("its manifest is unreadable: {e}")))?;
    if manifest.format != FORMAT {
        return Err(BackupError::NotABackup(format!(
            "its format is `{}`",
            manifest.format
        )));
    }
    if manifest.version > FORMAT_VERSION {
        return Err(BackupError::NewerFormat(manifest.version));
    }
    for entry in &manifest.entries {
        if !is_safe_path(&entry.path) {
            return Err(BackupError::Damaged(format!(
                "the manifest names an unsafe path {}",
                entry.path
            )));
        }
    }
    Ok(manifest)
}

/// A relative path of plain names: no `..`, no root, no empty part.
pub fn is_safe_path(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != ".." && !part.contains('\\'))
}

/// Reads a tree dump through, checks its entry count, and returns its records.
fn check_tree(
    manifest: &Manifest,
    name_hex: &str,
    input: &mut dyn Read,
) -> Result<u64, BackupError> {
    let name = hex::decode(name_hex)
        .map_err(|_| BackupError::Damaged(format!("a tree dump named {name_hex}")))?;
    let scanned = dump::scan_tree(&name, input).map_err(|e| BackupError::Damaged(e.to_string()))?;
    let listed = manifest.trees.iter().find(|t| t.name_hex == name_hex);
    if listed.map(|t| t.entries) != Some(scanned.entries) {
        return Err(BackupError::Damaged(format!(
            "the tree {name_hex} holds {} entries, not what the manifest says",
            scanned.entries
        )));
    }
    Ok(scanned.records)
}

fn check_charter(manifest: &Manifest, charter: &[u8]) -> Result<(), BackupError> {
    let network = super::network_of_charter(charter).map_err(|e| match e {
        BackupError::Invalid(reason) => BackupError::Damaged(format!("its charter: {reason}")),
        other => other,
    })?;
    if network != manifest.network {
        return Err(BackupError::Damaged(format!(
            "its charter is of network {network}, its manifest says {}",
            manifest.network
        )));
    }
    Ok(())
}

/// Reads an entry, copying it to `tee`, hashing and counting it (and keeping it if asked).
struct CheckingReader<R> {
    inner: R,
    tee: Box<dyn Write>,
    hasher: Sha256,
    bytes: u64,
    keep: Option<Vec<u8>>,
}

impl<R: Read> Read for CheckingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        let bytes = &buf[..read];
        self.tee.write_all(bytes)?;
        self.hasher.update(bytes);
        self.bytes += read as u64;
        if let Some(keep) = &mut self.keep {
            keep.extend_from_slice(bytes);
        }
        Ok(read)
    }
}
