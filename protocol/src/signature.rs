//! Ed25519 signing and verification with `verify_strict` semantics, single and batched.
//!
//! The protocol's rule for a signature (A = key, R and S = the two halves) is:
//! 1. A and R are canonical point encodings (decompressing and re-compressing gives the
//!    same 32 bytes) and neither is of small order;
//! 2. S is a canonical scalar (below the group order ℓ);
//! 3. the cofactorless equation `[S]B = R + [k]A` holds with
//!    `k = SHA-512(R ‖ A ‖ message)`, compared on R's encoding.
//!
//! Rules 2 and 3 and the small-order half of rule 1 are exactly ed25519-dalek's
//! `verify_strict`; the canonical-A check is added because `verify_strict` hashes A's bytes
//! as given and would otherwise accept two encodings of one key.
//!
//! The batch path accepts exactly the same set. An item with a torsion component in R (or A)
//! must not enter a random-linear-combination batch equation: for it the batch equation can
//! hold while the cofactorless single equation does not. Telling such items apart costs a
//! scalar multiplication per item, more than a single verification, so [`verify_batch`]
//! verifies each item with the single path (see its documentation).

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha512};
use thiserror::Error;

use crate::ids::PublicKey;

/// An Ed25519 signature: R (32 bytes) then S (32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature({}…)", &hex::encode(self.0)[..16])
    }
}

impl Signature {
    /// The signature as lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// A secret signing key. It is built from a 32-byte seed that the caller supplies:
/// the protocol crate never draws randomness itself.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({:?})", self.public_key())
    }
}

impl SecretKey {
    /// The key whose RFC 8032 seed is `seed`.
    pub fn from_seed(seed: [u8; 32]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(&seed))
    }

    /// The seed, for export in a recovery kit or an encrypted key file.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs `message` (deterministic Ed25519, RFC 8032).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }
}

/// Why a signature is refused. Each reason is checked in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// The key bytes are not the canonical encoding of a curve point.
    #[error("public key is not a canonical point encoding")]
    NonCanonicalKey,
    /// The key is a point of small order (a weak key).
    #[error("public key has small order")]
    SmallOrderKey,
    /// R is not the canonical encoding of a curve point.
    #[error("signature R is not a canonical point encoding")]
    NonCanonicalR,
    /// R is a point of small order.
    #[error("signature R has small order")]
    SmallOrderR,
    /// S is not below the group order.
    #[error("signature S is not a canonical scalar")]
    NonCanonicalS,
    /// The verification equation does not hold.
    #[error("signature does not verify")]
    Mismatch,
}

impl SignatureError {
    /// A short stable code for APIs and test vectors.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::NonCanonicalKey => "non_canonical_key",
            SignatureError::SmallOrderKey => "small_order_key",
            SignatureError::NonCanonicalR => "non_canonical_r",
            SignatureError::SmallOrderR => "small_order_r",
            SignatureError::NonCanonicalS => "non_canonical_s",
            SignatureError::Mismatch => "signature_mismatch",
        }
    }
}

/// p = 2^255 - 19, little-endian.
const FIELD_PRIME: [u8; 32] = {
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
};

/// Whether the 255-bit little-endian integer in `y` (sign bit cleared) is below p.
fn below_field_prime(y: &[u8; 32]) -> bool {
    for i in (0..32).rev() {
        if y[i] != FIELD_PRIME[i] {
            return y[i] < FIELD_PRIME[i];
        }
    }
    false
}

/// Decompresses `bytes` if and only if they are a canonical encoding: y below p, and the
/// sign bit clear when x = 0 (y = 1 or y = p - 1). This is the same set as "decompressing
/// and compressing again gives the same bytes", checked without the compression.
fn canonical_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    if !canonical_bytes(bytes) {
        return None;
    }
    CompressedEdwardsY(*bytes).decompress()
}

/// What the checks before the equation produce.
struct Prechecked {
    key_point: EdwardsPoint,
    s: Scalar,
}

/// The cofactorless equation, compared on R's bytes as `verify_strict` does:
/// `encode([S]B - [k]A) == R` with `k = SHA-512(R || A || message) mod l`.
fn strict_equation(
    key: &PublicKey,
    message: &[u8],
    signature: &Signature,
    checked: &Prechecked,
) -> bool {
    let mut hasher = Sha512::new();
    hasher.update(&signature.0[..32]);
    hasher.update(key.0);
    hasher.update(message);
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&hasher.finalize());
    let k = Scalar::from_bytes_mod_order_wide(&wide);
    let expected_r =
        EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-checked.key_point, &checked.s);
    expected_r.compress().0[..] == signature.0[..32]
}

/// Verifies one signature under the protocol's rule.
pub fn verify(
    key: &PublicKey,
    message: &[u8],
    signature: &Signature,
) -> Result<(), SignatureError> {
    verify_prepared(&PreparedKey::new(key)?, message, signature)
}

/// A public key whose checks (canonical encoding, not of small order) are done and whose
/// point is decompressed: verifying many signatures by one key decompresses it once.
#[derive(Clone, Debug)]
pub struct PreparedKey {
    key: PublicKey,
    point: EdwardsPoint,
}

impl PreparedKey {
    /// Checks and decompresses a key: the key half of rule 1.
    pub fn new(key: &PublicKey) -> Result<PreparedKey, SignatureError> {
        let point = canonical_point(&key.0).ok_or(SignatureError::NonCanonicalKey)?;
        if point.is_small_order() {
            return Err(SignatureError::SmallOrderKey);
        }
        Ok(PreparedKey { key: *key, point })
    }
}

/// The canonical encodings of the eight points of small order.
fn small_order_encodings() -> &'static [[u8; 32]; 8] {
    static TABLE: std::sync::OnceLock<[[u8; 32]; 8]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| curve25519_dalek::constants::EIGHT_TORSION.map(|p| p.compress().0))
}

/// Rule 1's byte-level checks on a point encoding: y below p, and no sign bit on x = 0.
fn canonical_bytes(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    let sign = y[31] >> 7;
    y[31] &= 0x7f;
    let mut one = [0u8; 32];
    one[0] = 1;
    let mut minus_one = FIELD_PRIME;
    minus_one[0] -= 1;
    below_field_prime(&y) && !(sign == 1 && (y == one || y == minus_one))
}

/// Verifies one signature by a prepared key. Exactly [`verify`]'s rule and errors, faster:
/// R is not decompressed when the equation holds, because the equation compares R with
/// the encoding of a computed point, so an R that passes it is a valid, canonical point;
/// whether R is of small order is read from a table of the eight canonical encodings. R is
/// decompressed only on the way to an error, to report the same error as the full check.
pub fn verify_prepared(
    key: &PreparedKey,
    message: &[u8],
    signature: &Signature,
) -> Result<(), SignatureError> {
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&signature.0[..32]);
    let r_is_point = || CompressedEdwardsY(r_bytes).decompress().is_some();
    if !canonical_bytes(&r_bytes) {
        return Err(SignatureError::NonCanonicalR);
    }
    if small_order_encodings().contains(&r_bytes) {
        return Err(SignatureError::SmallOrderR);
    }
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&signature.0[32..]);
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
        return Err(if r_is_point() {
            SignatureError::NonCanonicalS
        } else {
            SignatureError::NonCanonicalR
        });
    };
    let checked = Prechecked {
        key_point: key.point,
        s,
    };
    if strict_equation(&key.key, message, signature, &checked) {
        Ok(())
    } else if r_is_point() {
        Err(SignatureError::Mismatch)
    } else {
        Err(SignatureError::NonCanonicalR)
    }
}

/// One signature to check in a batch.
#[derive(Clone, Copy, Debug)]
pub struct BatchItem<'a> {
    /// The signer's key.
    pub key: &'a PublicKey,
    /// The signed bytes.
    pub message: &'a [u8],
    /// The signature.
    pub signature: &'a Signature,
}

/// Verifies many signatures; the result for each item is exactly what [`verify`] returns.
///
/// It does not use the random-linear-combination batch
/// equation: under the cofactorless rule an item may enter that equation only once its R is
/// known to lie in the prime-order subgroup, and that check (a scalar multiplication by l)
/// costs more than verifying the item on its own (docs/PERFORMANCE.md). The batch entry
/// point stays so callers need not change when a cheaper subgroup test lands. Each distinct
/// key is checked and decompressed once ([`PreparedKey`]).
pub fn verify_batch(items: &[BatchItem<'_>]) -> Vec<Result<(), SignatureError>> {
    let mut keys: std::collections::HashMap<PublicKey, Result<PreparedKey, SignatureError>> =
        std::collections::HashMap::new();
    items
        .iter()
        .map(|item| {
            let prepared = keys
                .entry(*item.key)
                .or_insert_with(|| PreparedKey::new(item.key));
            match prepared {
                Ok(key) => verify_prepared(key, item.message, item.signature),
                Err(error) => Err(*error),
            }
        })
        .collect()
}
