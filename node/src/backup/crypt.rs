//! Backups encrypted with a passphrase in the age format (scrypt), and the passphrase read
//! from a file or from `MAILLON_BACKUP_PASSPHRASE`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

/// The passphrase type (age's).
pub use age::secrecy::SecretString;

use super::BackupError;

/// The environment variable that may hold a backup's passphrase.
pub const PASSPHRASE_VARIABLE: &str = "MAILLON_BACKUP_PASSPHRASE";

/// How every age file starts.
const AGE_MAGIC: &[u8] = b"age-encryption.org/";

/// The passphrase from `file` (its first line), else from [`PASSPHRASE_VARIABLE`]; `None`
/// when neither is given. An empty passphrase is refused.
pub fn passphrase(file: Option<&Path>) -> Result<Option<SecretString>, BackupError> {
    let text = match file {
        Some(file) => std::fs::read_to_string(file).map_err(BackupError::io(format!(
            "cannot read the passphrase file {}",
            file.display()
        )))?,
        None => match std::env::var(PASSPHRASE_VARIABLE) {
            Ok(text) => text,
            Err(_) => return Ok(None),
        },
    };
    let line = text.lines().next().unwrap_or("").to_string();
    if line.is_empty() {
        return Err(BackupError::Invalid("the passphrase is empty".into()));
    }
    Ok(Some(SecretString::from(line)))
}

/// A writer that encrypts with `passphrase`, or writes as is without one. Call
/// [`Sealed::finish`] at the end.
pub enum Sealed<W: Write> {
    /// Encrypted.
    Age(age::stream::StreamWriter<W>),
    /// Plain.
    Plain(W),
}

impl<W: Write> Sealed<W> {
    /// Starts writing to `out`.
    pub fn new(out: W, passphrase: Option<SecretString>) -> Result<Sealed<W>, BackupError> {
        match passphrase {
            None => Ok(Sealed::Plain(out)),
            Some(passphrase) => age::Encryptor::with_user_passphrase(passphrase)
                .wrap_output(out)
                .map(Sealed::Age)
                .map_err(BackupError::io("cannot start the encryption")),
        }
    }

    /// Ends the encryption and returns the inner writer.
    pub fn finish(self) -> Result<W, BackupError> {
        match self {
            Sealed::Plain(out) => Ok(out),
            Sealed::Age(writer) => writer
                .finish()
                .map_err(BackupError::io("cannot end the encryption")),
        }
    }
}

impl<W: Write> Write for Sealed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sealed::Plain(out) => out.write(buf),
            Sealed::Age(out) => out.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sealed::Plain(out) => out.flush(),
            Sealed::Age(out) => out.flush(),
        }
    }
}

/// The archive's plain bytes from `input`: decrypted when it is an age file (which needs
/// `passphrase`), as is otherwise.
pub fn open<R: Read + 'static>(
    input: R,
    passphrase: Option<SecretString>,
) -> Result<Box<dyn Read>, BackupError> {
    let mut input = BufReader::new(input);
    let start = input
        .fill_buf()
        .map_err(BackupError::io("cannot read the backup"))?;
    if !start.starts_with(AGE_MAGIC) {
        // Every tar header block has its format's magic at byte 257.
        if start.get(257..262) != Some(b"ustar".as_slice()) {
            return Err(BackupError::NotABackup(
                "neither an archive nor an encrypted backup".into(),
            ));
        }
        return Ok(Box::new(input));
    }
    let passphrase = passphrase.ok_or(BackupError::NeedsPassphrase)?;
    let decryptor = age::Decryptor::new(input).map_err(|e| decrypt_error(&e))?;
    if !decryptor.is_scrypt() {
        return Err(BackupError::NotABackup(
            "an age file not encrypted with a passphrase".into(),
        ));
    }
    let identity = age::scrypt::Identity::new(passphrase);
    let reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| decrypt_error(&e))?;
    Ok(Box::new(reader))
}

fn decrypt_error(error: &age::DecryptError) -> BackupError {
    match error {
        age::DecryptError::NoMatchingKeys
        | age::DecryptError::DecryptionFailed
        | age::DecryptError::KeyDecryptionFailed => BackupError::WrongPassphrase,
        age::DecryptError::Io(error) => {
            BackupError::Damaged(format!("the encrypted file: {error}"))
        }
        other => BackupError::Damaged(format!("the encrypted file: {other}")),
    }
}
