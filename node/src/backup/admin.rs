//! The running node's admin socket: a Unix socket in the data folder (mode 0600: only the
//! operator's user can connect) that answers local admin commands. Its one command,
//! `backup <configuration file>`, streams a backup archive of the running node: sled holds
//! an exclusive lock on the store, so no other process can read it while the node runs.
//!
//! The protocol: one request line; the node answers `OK` and the archive until it closes
//! the connection, or `ERR <reason>`. The client checks the archive it received.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{archive, BackupError, Manifest, Sources};

/// The socket's file name in the data folder.
pub const SOCKET_FILE: &str = "admin.sock";

/// The longest request line read.
const MAX_REQUEST: u64 = 4_096;

/// Listens on `<data folder>/admin.sock` until `signal` turns true, then removes it.
pub fn spawn(
    db: sled::Db,
    sources: Sources,
    mut signal: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, BackupError> {
    let path = sources.data_dir.join(SOCKET_FILE);
    // A socket left by a node that stopped abruptly: sled's lock shows no node runs here.
    if path.exists() {
        std::fs::remove_file(&path)
            .map_err(BackupError::io(format!("cannot remove {}", path.display())))?;
    }
    let listener = tokio::net::UnixListener::bind(&path).map_err(BackupError::io(format!(
        "cannot listen on {}",
        path.display()
    )))?;
    restrict_to_owner(&path)?;
    Ok(tokio::spawn(async move {
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => serve(stream, db.clone(), sources.clone()),
                    Err(error) => tracing::warn!(%error, "the admin socket failed to accept"),
                },
                changed = signal.changed() => {
                    if changed.is_err() || *signal.borrow() {
                        break;
                    }
                }
            }
        }
        let _ = std::fs::remove_file(&path);
    }))
}

fn restrict_to_owner(path: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(BackupError::io(
        format!("cannot restrict {}", path.display()),
    ))
}

/// Answers one connection on the blocking pool.
fn serve(stream: tokio::net::UnixStream, db: sled::Db, sources: Sources) {
    let stream = match stream.into_std().and_then(|s| {
        s.set_nonblocking(false)?;
        Ok(s)
    }) {
        Ok(stream) => stream,
        Err(error) => {
            tracing::warn!(%error, "the admin socket could not take a connection");
            return;
        }
    };
    tokio::task::spawn_blocking(move || {
        if let Err(error) = answer(stream, &db, sources) {
            tracing::warn!(%error, "an admin command failed");
        }
    });
}

fn answer(stream: UnixStream, db: &sled::Db, mut sources: Sources) -> Result<(), BackupError> {
    let mut line = String::new();
    let failed = BackupError::io("the admin connection failed");
    let mut reader = BufReader::new(std::io::Read::take(
        stream
            .try_clone()
            .map_err(BackupError::io("the admin connection failed"))?,
        MAX_REQUEST,
    ));
    reader.read_line(&mut line).map_err(failed)?;
    let mut out = std::io::BufWriter::new(stream);
    let Some(rest) = line.trim_end().strip_prefix("backup") else {
        let _ = writeln!(out, "ERR unknown command");
        return Ok(());
    };
    let config = rest.trim();
    sources.config_file = (!config.is_empty()).then(|| PathBuf::from(config));
    tracing::info!("a backup was asked on the admin socket");
    out.write_all(b"OK\n")
        .map_err(BackupError::io("the admin connection failed"))?;
    let manifest = archive::write_backup(db, &sources, &mut out, &mut |_| {})?;
    out.flush()
        .map_err(BackupError::io("the admin connection failed"))?;
    tracing::info!(records = manifest.records, "backup sent");
    Ok(())
}

/// Asks the node listening on `socket` for a backup (with `config_file` in it) and copies
/// the archive to `out`; `progress` is told the bytes received. `Ok(None)` when no node
/// listens there.
pub fn request_backup(
    socket: &Path,
    config_file: Option<&Path>,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<Option<u64>, BackupError> {
    let stream = match UnixStream::connect(socket) {
        Ok(stream) => stream,
        Err(error)
            if matches!(
                error.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None)
        }
        Err(error) => {
            return Err(BackupError::io(format!(
                "cannot connect to {}",
                socket.display()
            ))(error))
        }
    };
    let failed = || BackupError::io("the node's admin socket failed");
    let mut request = String::from("backup");
    if let Some(config_file) = config_file {
        request.push(' ');
        request.push_str(&config_file.to_string_lossy());
    }
    request.push('\n');
    (&stream).write_all(request.as_bytes()).map_err(failed())?;
    let mut input = BufReader::new(stream);
    let mut answer = String::new();
    input.read_line(&mut answer).map_err(failed())?;
    if answer.trim_end() != "OK" {
        return Err(BackupError::Node(answer.trim_end().to_string()));
    }
    let mut received = 0u64;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = std::io::Read::read(&mut input, &mut buffer).map_err(failed())?;
        if read == 0 {
            break;
        }
        out.write_all(&buffer[..read])
            .map_err(BackupError::io("cannot write the backup"))?;
        received += read as u64;
        progress(received);
    }
    Ok(Some(received))
}

/// The socket of the node whose data folder is `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_FILE)
}

/// What `maillon backup` made.
#[derive(Debug)]
pub struct BackupMade {
    /// The checked manifest.
    pub manifest: Manifest,
    /// The file's size.
    pub bytes: u64,
    /// Whether the running node made it (else the store was opened here).
    pub from_running_node: bool,
}
