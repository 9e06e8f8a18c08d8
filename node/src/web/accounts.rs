//! Members' accounts on this node: one JSON file per login, written to a temporary file,
//! synced and renamed, so an account is either whole or absent after a crash.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use maillon_protocol::PublicKey;
use maillon_web_ui::backend::{Account, AccountCreated};
use thiserror::Error;

/// An account file could not be read or written.
#[derive(Debug, Error)]
pub enum AccountError {
    /// The file system failed.
    #[error("account store {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not a valid account.
    #[error("account file {path} is damaged: {reason}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The accounts of this node, cached in memory, written through to files.
#[derive(Debug)]
pub struct AccountFiles {
    root: PathBuf,
    by_login: RwLock<HashMap<String, Account>>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AccountError + '_ {
    move |source| AccountError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl AccountFiles {
    /// Opens (and creates) the folder and reads every account.
    pub fn open(root: PathBuf) -> Result<AccountFiles, AccountError> {
        std::fs::create_dir_all(&root).map_err(io(&root))?;
        let mut by_login = HashMap::new();
        for entry in std::fs::read_dir(&root).map_err(io(&root))? {
            let path = entry.map_err(io(&root))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                // Leftover temporary files of an interrupted write are dropped.
                if crate::durable::is_partial(&path) {
                    std::fs::remove_file(&path).map_err(io(&path))?;
                }
                continue;
            }
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            let account: Account =
                serde_json::from_slice(&bytes).map_err(|e| AccountError::Damaged {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            by_login.insert(account.login.clone(), account);
        }
        Ok(AccountFiles {
            root,
            by_login: RwLock::new(by_login),
        })
    }

    fn file(&self, login: &str) -> PathBuf {
        // Logins are [a-z0-9._-]{3,32} (checked by the web UI); hex keeps any other safe.
        self.root
            .join(format!("{}.json", hex::encode(login.as_bytes())))
    }

    fn write(&self, account: &Account) -> Result<(), AccountError> {
        let path = self.file(&account.login);
        let bytes = serde_json::to_vec_pretty(account).map_err(|e| AccountError::Damaged {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        crate::durable::write_atomically(&path, &bytes).map_err(io(&path))?;
        Ok(())
    }

    /// Creates an account unless the login is taken.
    pub fn create(&self, account: &Account) -> Result<AccountCreated, AccountError> {
        let mut map = self.by_login.write().unwrap_or_else(|e| e.into_inner());
        if map.contains_key(&account.login) {
            return Ok(AccountCreated::LoginTaken);
        }
        self.write(account)?;
        map.insert(account.login.clone(), account.clone());
        Ok(AccountCreated::Created)
    }

    /// Replaces an existing account.
    pub fn update(&self, account: &Account) -> Result<(), AccountError> {
        let mut map = self.by_login.write().unwrap_or_else(|e| e.into_inner());
        self.write(account)?;
        map.insert(account.login.clone(), account.clone());
        Ok(())
    }

    /// Removes an account.
    pub fn delete(&self, login: &str) -> Result<(), AccountError> {
        let mut map = self.by_login.write().unwrap_or_else(|e| e.into_inner());
        let path = self.file(login);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&path)(e)),
        }
        map.remove(login);
        Ok(())
    }

    /// An account by login.
    pub fn get(&self, login: &str) -> Option<Account> {
        let map = self.by_login.read().unwrap_or_else(|e| e.into_inner());
        map.get(login).cloned()
    }

    /// The account holding a key.
    pub fn by_key(&self, key: &PublicKey) -> Option<Account> {
        let map = self.by_login.read().unwrap_or_else(|e| e.into_inner());
        map.values().find(|a| &a.key == key).cloned()
    }

    /// How many accounts there are.
    pub fn len(&self) -> usize {
        self.by_login
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use maillon_protocol::{testkit, Timestamp};
    use maillon_web_ui::keys::{seal, KdfParams};

    fn account(login: &str) -> Account {
        let secret = testkit::key(login);
        Account {
            login: login.into(),
            key: secret.public_key(),
            sealed_key: seal(&secret, "une phrase assez longue", KdfParams::FOR_TESTS).unwrap(),
            created: Timestamp(1),
            notifications_seen: Timestamp(1),
            saved_searches: vec![],
            pending_recovery: None,
            donation_reminder_dismissed_ms: 0,
        }
    }

    #[test]
    fn accounts_survive_a_reopen_and_logins_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let files = AccountFiles::open(dir.path().join("accounts")).unwrap();
        assert_eq!(
            files.create(&account("marie")).unwrap(),
            AccountCreated::Created
        );
        assert_eq!(
            files.create(&account("marie")).unwrap(),
            AccountCreated::LoginTaken
        );
        files.create(&account("paul")).unwrap();
        files.delete("paul").unwrap();
        drop(files);
        std::fs::write(dir.path().join("accounts/.partial-half"), b"{").unwrap();
        let files = AccountFiles::open(dir.path().join("accounts")).unwrap();
        assert_eq!(files.len(), 1);
        let marie = files.get("marie").unwrap();
        assert_eq!(files.by_key(&marie.key).unwrap().login, "marie");
        assert!(files.get("paul").is_none());
        assert!(!dir.path().join("accounts/.partial-half").exists());
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_silent_loss() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/x.json"), b"not json").unwrap();
        assert!(matches!(
            AccountFiles::open(dir.path().join("a")),
            Err(AccountError::Damaged { .. })
        ));
    }
}
