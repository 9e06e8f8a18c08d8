//! Files written whole or not at all, and removals that survive a crash: the one way the
//! node writes its small files (accounts, drafts, announcements, blobs, invitations).

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` whole or not at all: a temporary file in the same folder,
/// synced, renamed over `path`, then the folder synced. Creates the folder if needed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = folder_of(path)?;
    std::fs::create_dir_all(folder)?;
    let mut file = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(folder)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(folder)?.sync_all()
}

/// Removes a file and syncs its folder. `false` if there was no file.
pub fn remove_durably(path: &Path) -> std::io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(error),
    }
    std::fs::File::open(folder_of(path)?)?.sync_all()?;
    Ok(true)
}

/// Whether a file name is a temporary left by an interrupted [`write_atomically`].
pub fn is_partial(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with(".partial-"))
}

fn folder_of(path: &Path) -> std::io::Result<&Path> {
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => Ok(folder),
        _ => Ok(Path::new(".")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/file.txt");
        write_atomically(&path, b"first, longer contents").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(names, vec![path.clone()]);
        assert!(remove_durably(&path).unwrap());
        assert!(!remove_durably(&path).unwrap());
        assert!(is_partial(Path::new("/x/.partial-abc")));
        assert!(!is_partial(&path));
    }
}
