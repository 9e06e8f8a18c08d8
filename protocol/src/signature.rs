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
//! The batch path accepts exactly the same set. It checks rule 1 and 2 per item, sends items
//! whose A and R lie in the prime-order subgroup to the random-linear-combination batch
//! equation, and verifies every other item, and every item of a failing batch, singly.
//! Items with a torsion component must not enter the batch: for them the batch equation can
//! hold while the cofactorless single equation does not.

use std::collections::HashMap;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
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

/// Decompresses `bytes` if and only if they are a canonical encoding.
fn canonical_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    let point = CompressedEdwardsY(*bytes).decompress()?;
    (point.compress().0 == *bytes).then_some(point)
}

struct Prechecked {
    key_point: EdwardsPoint,
    r_point: EdwardsPoint,
}

fn precheck(key: &PublicKey, signature: &Signature) -> Result<Prechecked, SignatureError> {
    let key_point = canonical_point(&key.0).ok_or(SignatureError::NonCanonicalKey)?;
    if key_point.is_small_order() {
        return Err(SignatureError::SmallOrderKey);
    }
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&signature.0[..32]);
    let r_point = canonical_point(&r_bytes).ok_or(SignatureError::NonCanonicalR)?;
    if r_point.is_small_order() {
        return Err(SignatureError::SmallOrderR);
    }
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&signature.0[32..]);
    if Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)).is_none() {
        return Err(SignatureError::NonCanonicalS);
    }
    Ok(Prechecked { key_point, r_point })
}

fn strict_equation(key: &PublicKey, message: &[u8], signature: &Signature) -> bool {
    let Ok(verifying_key) = VerifyingKey::from_bytes(&key.0) else {
        return false;
    };
    let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
    verifying_key.verify_strict(message, &signature).is_ok()
}

/// Verifies one signature under the protocol's rule.
pub fn verify(
    key: &PublicKey,
    message: &[u8],
    signature: &Signature,
) -> Result<(), SignatureError> {
    precheck(key, signature)?;
    if strict_equation(key, message, signature) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
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
pub fn verify_batch(items: &[BatchItem<'_>]) -> Vec<Result<(), SignatureError>> {
    let mut results = vec![Ok(()); items.len()];
    let mut batchable = Vec::with_capacity(items.len());
    let mut key_is_torsion_free: HashMap<PublicKey, bool> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        match precheck(item.key, item.signature) {
            Err(error) => results[index] = Err(error),
            Ok(points) => {
                let key_ok = *key_is_torsion_free
                    .entry(*item.key)
                    .or_insert_with(|| points.key_point.is_torsion_free());
                if key_ok && points.r_point.is_torsion_free() {
                    batchable.push(index);
                } else {
                    results[index] = single_equation(item);
                }
            }
        }
    }
    if !batchable.is_empty() && !batch_equation(items, &batchable) {
        for &index in &batchable {
            results[index] = single_equation(&items[index]);
        }
    }
    results
}

fn single_equation(item: &BatchItem<'_>) -> Result<(), SignatureError> {
    if strict_equation(item.key, item.message, item.signature) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn batch_equation(items: &[BatchItem<'_>], indices: &[usize]) -> bool {
    let mut messages = Vec::with_capacity(indices.len());
    let mut signatures = Vec::with_capacity(indices.len());
    let mut keys = Vec::with_capacity(indices.len());
    for &index in indices {
        let item = &items[index];
        let Ok(key) = VerifyingKey::from_bytes(&item.key.0) else {
            return false;
        };
        messages.push(item.message);
        signatures.push(ed25519_dalek::Signature::from_bytes(&item.signature.0));
        keys.push(key);
    }
    ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
}
