//! A small JSON file kept in memory, each change written whole to a new file before it is
//! kept, so a crash leaves the old state or the new one: the funding file, the registered
//! outside sites.

use std::path::PathBuf;
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::Serialize;
use thiserror::Error;

/// The file could not be read or written.
#[derive(Debug, Error)]
pub enum JsonFileError {
    /// The file system failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not what it should hold.
    #[error("{path} is damaged: {reason}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// A value kept in a JSON file.
#[derive(Debug)]
pub struct JsonFile<T> {
    path: PathBuf,
    state: Mutex<T>,
}

impl<T: Serialize + DeserializeOwned + Clone + Default> JsonFile<T> {
    /// Opens the file; a missing file is the default value.
    pub fn open(path: PathBuf) -> Result<JsonFile<T>, JsonFileError> {
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| JsonFileError::Damaged {
                path: path.clone(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => T::default(),
            Err(source) => return Err(JsonFileError::Io { path, source }),
        };
        Ok(JsonFile {
            path,
            state: Mutex::new(state),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, T> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the value.
    pub fn read<R>(&self, reader: impl FnOnce(&T) -> R) -> R {
        reader(&self.lock())
    }

    /// Applies `change` to a copy, writes the copy, then keeps it.
    pub fn change<R>(&self, change: impl FnOnce(&mut T) -> R) -> Result<R, JsonFileError> {
        let mut state = self.lock();
        let mut next = state.clone();
        let answer = change(&mut next);
        let bytes = serde_json::to_vec_pretty(&next).map_err(|e| JsonFileError::Damaged {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        crate::durable::write_atomically(&self.path, &bytes).map_err(|source| {
            JsonFileError::Io {
                path: self.path.clone(),
                source,
            }
        })?;
        *state = next;
        Ok(answer)
    }
}
