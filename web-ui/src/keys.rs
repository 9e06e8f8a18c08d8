//! Members' secret keys at rest: sealed with a key derived from the passphrase (argon2id),
//! encrypted with XChaCha20-Poly1305, and printed as a recovery kit.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use maillon_protocol::{PublicKey, SecretKey};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The shortest passphrase accepted, in characters.
pub const MIN_PASSPHRASE_CHARS: usize = 10;
/// The longest passphrase accepted, in bytes (argon2 takes any length; this bounds work).
pub const MAX_PASSPHRASE_BYTES: usize = 1024;

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl KdfParams {
    /// OWASP's recommended argon2id setting: 19 MiB, 2 passes, 1 lane.
    pub const RECOMMENDED: KdfParams = KdfParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };
    /// A cheap setting for tests only.
    pub const FOR_TESTS: KdfParams = KdfParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
}

/// A secret key sealed with a passphrase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedKey {
    /// The argon2id parameters used.
    pub params: KdfParams,
    /// The argon2 salt, hex.
    pub salt: String,
    /// The XChaCha20 nonce, hex.
    pub nonce: String,
    /// The sealed seed with its tag, hex.
    pub ciphertext: String,
}

/// Why a key could not be sealed or opened.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    /// The passphrase does not open the key.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The passphrase is too short.
    #[error("the passphrase must have at least {MIN_PASSPHRASE_CHARS} characters")]
    PassphraseTooShort,
    /// The passphrase is too long.
    #[error("the passphrase must have at most {MAX_PASSPHRASE_BYTES} bytes")]
    PassphraseTooLong,
    /// The sealed data is damaged.
    #[error("the sealed key is damaged: {0}")]
    Damaged(&'static str),
    /// The system's random source failed.
    #[error("no randomness available: {0}")]
    Random(String),
}

/// Checks a new passphrase's length.
pub fn check_new_passphrase(passphrase: &str) -> Result<(), KeyError> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(KeyError::PassphraseTooShort);
    }
    if passphrase.len() > MAX_PASSPHRASE_BYTES {
        return Err(KeyError::PassphraseTooLong);
    }
    Ok(())
}

/// Fills a buffer from the operating system's random source.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(bytes)
}

/// A fresh secret key from the operating system's random source.
pub fn generate_key() -> Result<SecretKey, KeyError> {
    Ok(SecretKey::from_seed(random_bytes::<32>()?))
}

fn derive(passphrase: &str, salt: &[u8], params: KdfParams) -> Result<[u8; 32], KeyError> {
    let params = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|_| KeyError::Damaged("argon2 parameters"))?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, &mut out)
        .map_err(|_| KeyError::Damaged("argon2 input"))?;
    Ok(out)
}

/// A sealed key that no passphrase opens, with the site's parameters: a sign-in with an
/// unknown login tries it, so that it takes as long as a wrong passphrase for a real one.
pub fn decoy(params: KdfParams) -> SealedKey {
    SealedKey {
        params,
        salt: hex::encode(random_bytes::<16>().unwrap_or([7; 16])),
        nonce: hex::encode(random_bytes::<24>().unwrap_or([7; 24])),
        ciphertext: hex::encode(random_bytes::<48>().unwrap_or([7; 48])),
    }
}

/// Seals a secret key with a passphrase. CPU-heavy: run it on a blocking thread.
pub fn seal(
    secret: &SecretKey,
    passphrase: &str,
    params: KdfParams,
) -> Result<SealedKey, KeyError> {
    check_new_passphrase(passphrase)?;
    let salt = random_bytes::<16>()?;
    let nonce = random_bytes::<24>()?;
    let key = derive(passphrase, &salt, params)?;
    let cipher = XChaCha20Poly1305::new((&key).into());
    let ciphertext = cipher
        .encrypt(XNonce::from_slice(&nonce), secret.seed().as_slice())
        .map_err(|_| KeyError::Damaged("encryption"))?;
    Ok(SealedKey {
        params,
        salt: hex::encode(salt),
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ciphertext),
    })
}

/// Opens a sealed key, checking it belongs to `expected`. CPU-heavy: run it on a blocking
/// thread.
pub fn open(
    sealed: &SealedKey,
    passphrase: &str,
    expected: &PublicKey,
) -> Result<SecretKey, KeyError> {
    if passphrase.len() > MAX_PASSPHRASE_BYTES {
        return Err(KeyError::WrongPassphrase);
    }
    let salt = hex::decode(&sealed.salt).map_err(|_| KeyError::Damaged("salt"))?;
    let nonce = hex::decode(&sealed.nonce).map_err(|_| KeyError::Damaged("nonce"))?;
    let ciphertext =
        hex::decode(&sealed.ciphertext).map_err(|_| KeyError::Damaged("ciphertext"))?;
    if nonce.len() != 24 {
        return Err(KeyError::Damaged("nonce length"));
    }
    let key = derive(passphrase, &salt, sealed.params)?;
    let cipher = XChaCha20Poly1305::new((&key).into());
    let seed = cipher
        .decrypt(XNonce::from_slice(&nonce), ciphertext.as_slice())
        .map_err(|_| KeyError::WrongPassphrase)?;
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| KeyError::Damaged("seed length"))?;
    let secret = SecretKey::from_seed(seed);
    if secret.public_key() != *expected {
        return Err(KeyError::Damaged("the key does not match the account"));
    }
    Ok(secret)
}

/// The recovery kit's text form of a secret key: 64 hex digits in groups of four, with a
/// two-digit check per line of 16 digits so a copying mistake is caught.
pub fn recovery_lines(secret: &SecretKey) -> Vec<String> {
    let seed_hex = hex::encode(secret.seed());
    seed_hex
        .as_bytes()
        .chunks(16)
        .enumerate()
        .map(|(line, chunk)| {
            let text = std::str::from_utf8(chunk).unwrap_or_default();
            let check = line_check(line, text);
            let groups: Vec<&str> = (0..4).map(|i| &text[i * 4..i * 4 + 4]).collect();
            format!("{}  {}", groups.join(" "), check)
        })
        .collect()
}

fn line_check(line: usize, text: &str) -> String {
    let digest = maillon_protocol::ids::sha256(&[
        b"maillon/recovery-kit/v1\0",
        &[line as u8],
        text.as_bytes(),
    ]);
    hex::encode(&digest[..1])
}

/// Reads a recovery kit typed back: four lines as [`recovery_lines`] prints them, spaces and
/// case free. Returns the line number (from 1) of the first line whose check fails.
pub fn parse_recovery(text: &str) -> Result<SecretKey, usize> {
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            l.chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() != 4 {
        return Err(lines.len().clamp(1, 4));
    }
    let mut seed_hex = String::new();
    for (index, line) in lines.iter().enumerate() {
        if line.len() != 18 || !line.is_ascii() {
            return Err(index + 1);
        }
        let (digits, check) = line.split_at(16);
        if line_check(index, digits) != check {
            return Err(index + 1);
        }
        seed_hex.push_str(digits);
    }
    let seed: [u8; 32] = hex::decode(&seed_hex)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(1usize)?;
    Ok(SecretKey::from_seed(seed))
}

/// The short code a candidate gives to sponsors: 8 characters from the key's hash, in an
/// Crockford's base 32 (no I, L, O or U), shown as `ABCD-EFGH`.
pub fn sponsor_code(key: &PublicKey) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let digest = maillon_protocol::ids::sha256(&[b"maillon/sponsor-code/v1\0", key.as_bytes()]);
    let mut bits: u64 = 0;
    for byte in &digest[..5] {
        bits = (bits << 8) | u64::from(*byte);
    }
    let mut code = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            code.push('-');
        }
        let index = ((bits >> (35 - 5 * i)) & 31) as usize;
        code.push(ALPHABET[index] as char);
    }
    code
}

/// A code as typed: upper case, without spaces or dashes, look-alikes mapped.
pub fn normalise_code(text: &str) -> String {
    let mut code: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    if code.len() == 8 {
        code.insert(4, '-');
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use maillon_protocol::testkit;

    #[test]
    fn a_sealed_key_opens_with_its_passphrase_only() {
        let secret = testkit::key("marie");
        let sealed = seal(&secret, "correct horse battery", KdfParams::FOR_TESTS).unwrap();
        let opened = open(&sealed, "correct horse battery", &secret.public_key()).unwrap();
        assert_eq!(opened.seed(), secret.seed());
        assert_eq!(
            open(&sealed, "wrong horse battery", &secret.public_key()).unwrap_err(),
            KeyError::WrongPassphrase
        );
        assert!(!sealed.ciphertext.contains(&hex::encode(secret.seed())));
    }

    #[test]
    fn a_sealed_key_for_another_account_is_refused() {
        let secret = testkit::key("marie");
        let sealed = seal(&secret, "correct horse battery", KdfParams::FOR_TESTS).unwrap();
        let other = testkit::key("paul").public_key();
        assert!(matches!(
            open(&sealed, "correct horse battery", &other),
            Err(KeyError::Damaged(_))
        ));
    }

    #[test]
    fn sponsor_codes_are_stable_and_forgiving() {
        let key = testkit::key("marie").public_key();
        let code = sponsor_code(&key);
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        assert_eq!(normalise_code(&code.to_lowercase().replace('-', " ")), code);
        assert_ne!(code, sponsor_code(&testkit::key("paul").public_key()));
    }

    #[test]
    fn short_passphrases_are_refused() {
        let secret = testkit::key("marie");
        assert_eq!(
            seal(&secret, "court", KdfParams::FOR_TESTS).unwrap_err(),
            KeyError::PassphraseTooShort
        );
    }

    #[test]
    fn salts_differ_between_seals() {
        let secret = testkit::key("marie");
        let a = seal(&secret, "correct horse battery", KdfParams::FOR_TESTS).unwrap();
        let b = seal(&secret, "correct horse battery", KdfParams::FOR_TESTS).unwrap();
        assert_ne!(a.salt, b.salt);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn the_recovery_kit_round_trips_and_catches_typos() {
        let secret = testkit::key("marie");
        let lines = recovery_lines(&secret);
        assert_eq!(lines.len(), 4);
        let typed = lines.join("\n").to_uppercase();
        assert_eq!(parse_recovery(&typed).unwrap().seed(), secret.seed());
        let mut broken = lines.clone();
        let bad = if broken[2].starts_with('0') { "1" } else { "0" };
        broken[2].replace_range(0..1, bad);
        assert_eq!(parse_recovery(&broken.join("\n")).unwrap_err(), 3);
    }
}
