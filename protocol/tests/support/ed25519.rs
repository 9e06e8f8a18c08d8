//! Helpers for `tests/signatures.rs` (included there with `#[path]`; it is not part of
//! `support/mod.rs`): RFC 8032 vectors, curve constants, signatures made by hand with known
//! scalars (so that torsion can be planted anywhere), an independent reference verifier,
//! and the agreement check every test goes through.

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use ed25519_dalek::{Verifier, VerifyingKey};
use maillon_protocol::signature::{
    verify, verify_batch, BatchItem, SecretKey, Signature, SignatureError,
};
use maillon_protocol::PublicKey;
use sha2::{Digest, Sha512};

/// One RFC 8032 section 7.1 vector, all fields in hex.
pub struct Vector {
    pub name: &'static str,
    pub seed: &'static str,
    pub public: &'static str,
    pub message: &'static str,
    pub signature: &'static str,
}

/// The 1023-byte message of RFC 8032 TEST 1024.
const TEST_1024_MESSAGE: &str = concat!(
    "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98",
    "fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8",
    "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d",
    "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc",
    "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe",
    "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e",
    "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef",
    "efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7",
    "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1",
    "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2",
    "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24",
    "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270",
    "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc",
    "2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07",
    "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba",
    "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a",
    "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e",
    "c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7",
    "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c",
    "42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8",
    "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df",
    "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08",
    "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649",
    "de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4",
    "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3",
    "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e",
    "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f",
    "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5",
    "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1",
    "369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d",
    "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c",
    "0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0",
);

/// RFC 8032 section 7.1: TEST 1, 2, 3, 1024 and SHA(abc).
pub const RFC8032: [Vector; 5] = [
    Vector {
        name: "TEST 1",
        seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        public: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        message: "",
        signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
                    5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    },
    Vector {
        name: "TEST 2",
        seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        public: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        message: "72",
        signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
                    085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    },
    Vector {
        name: "TEST 3",
        seed: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        public: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        message: "af82",
        signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac\
                    18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    },
    Vector {
        name: "TEST 1024",
        seed: "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        public: "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        message: TEST_1024_MESSAGE,
        signature: "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350\
                    aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
    },
    Vector {
        name: "TEST SHA(abc)",
        seed: "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        public: "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        message: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                  2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        signature: "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589\
                    09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    },
];

/// Decodes hex into a fixed-size array.
pub fn unhex<const N: usize>(text: &str) -> [u8; N] {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).expect("valid hex of the right length");
    out
}

/// ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
pub const ELL: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Little-endian 256-bit addition; panics on overflow.
pub fn add_le(a: [u8; 32], b: [u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = sum.to_le_bytes()[0];
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "256-bit overflow");
    out
}

/// The encoding of y = p + k (p = 2^255 - 19, so y ≡ k), with the given x sign bit.
pub fn y_above_p(k: u8, sign: bool) -> [u8; 32] {
    assert!(k <= 18, "p + k must stay below 2^255");
    let mut bytes = [0xff; 32];
    bytes[0] = 0xed + k;
    bytes[31] = if sign { 0xff } else { 0x7f };
    bytes
}

/// The non-canonical encodings of small-order points: y ∈ {p, p+1} (≡ 0 and 1) with
/// either sign, and the "negative zero" encodings y = 1 and y = p - 1 with the sign bit set.
pub fn non_canonical_small_order_encodings() -> Vec<[u8; 32]> {
    let mut one_negative = [0u8; 32];
    one_negative[0] = 1;
    one_negative[31] = 0x80;
    let mut minus_one_negative = [0xff; 32];
    minus_one_negative[0] = 0xec;
    vec![
        y_above_p(0, false),
        y_above_p(0, true),
        y_above_p(1, false),
        y_above_p(1, true),
        one_negative,
        minus_one_negative,
    ]
}

/// The eight points of the torsion subgroup E[8]; index 0 is the identity.
pub fn torsion() -> [EdwardsPoint; 8] {
    EIGHT_TORSION
}

/// The order of a point of E[8].
pub fn torsion_order(point: &EdwardsPoint) -> u32 {
    (0..=3)
        .map(|n| 1u32 << n)
        .find(|&n| (Scalar::from(n) * point).is_identity())
        .expect("point is in E[8]")
}

/// Decompresses `bytes` only if they are canonical.
pub fn canonical_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    let point = CompressedEdwardsY(*bytes).decompress()?;
    (point.compress().0 == *bytes).then_some(point)
}

fn wide_scalar(parts: &[&[u8]]) -> Scalar {
    let mut hash = Sha512::new();
    for part in parts {
        hash.update(part);
    }
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&hash.finalize());
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// A scalar derived from a label, for nonces and secret scalars.
pub fn scalar_from(label: &[u8], counter: u64) -> Scalar {
    wide_scalar(&[label, &counter.to_le_bytes()])
}

/// k = SHA-512(R ‖ A ‖ M) mod ℓ.
pub fn hram(r: &[u8; 32], key: &[u8; 32], message: &[u8]) -> Scalar {
    wide_scalar(&[r, key, message])
}

/// Builds a signature from R's encoding and S's bytes.
pub fn signature_from(r: [u8; 32], s: [u8; 32]) -> Signature {
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(&r);
    bytes[32..].copy_from_slice(&s);
    Signature(bytes)
}

/// A key whose secret scalar we know, with an optional torsion component: A = [a]B + T.
pub struct RawKey {
    pub scalar: Scalar,
    pub public: PublicKey,
}

impl RawKey {
    pub fn new(label: &[u8], torsion: EdwardsPoint) -> RawKey {
        let scalar = scalar_from(label, 0);
        let point = EdwardsPoint::mul_base(&scalar) + torsion;
        RawKey {
            scalar,
            public: PublicKey(point.compress().0),
        }
    }

    /// R = [nonce]B + r_torsion, S = nonce + k·a. The cofactored equation always holds;
    /// the cofactorless one holds exactly when r_torsion + k·T = 0.
    pub fn sign(&self, nonce: Scalar, r_torsion: EdwardsPoint, message: &[u8]) -> Signature {
        let r = (EdwardsPoint::mul_base(&nonce) + r_torsion).compress().0;
        let s = nonce + hram(&r, &self.public.0, message) * self.scalar;
        signature_from(r, s.to_bytes())
    }
}

/// [S]B - R - [k]A for any decodable encodings (S reduced): identity iff the cofactorless
/// equation holds, small order iff the cofactored one does.
pub fn residual(item: &Owned) -> EdwardsPoint {
    let a = CompressedEdwardsY(item.key.0)
        .decompress()
        .expect("key decodes");
    let r_bytes: [u8; 32] = item.signature.0[..32].try_into().expect("32 bytes");
    let r = CompressedEdwardsY(r_bytes).decompress().expect("R decodes");
    let s = Scalar::from_bytes_mod_order(item.signature.0[32..].try_into().expect("32 bytes"));
    EdwardsPoint::mul_base(&s) - r - hram(&r_bytes, &item.key.0, &item.message) * a
}

/// Tries `attempt` with counters 0, 1, 2, ... until it returns `Some`.
pub fn grind<T>(mut attempt: impl FnMut(u64) -> Option<T>) -> T {
    (0..10_000)
        .find_map(&mut attempt)
        .expect("grinding succeeds well within 10 000 tries")
}

/// An owned batch item.
#[derive(Clone, Debug)]
pub struct Owned {
    pub key: PublicKey,
    pub message: Vec<u8>,
    pub signature: Signature,
}

impl Owned {
    pub fn new(key: PublicKey, message: &[u8], signature: Signature) -> Owned {
        Owned {
            key,
            message: message.to_vec(),
            signature,
        }
    }

    pub fn item(&self) -> BatchItem<'_> {
        BatchItem {
            key: &self.key,
            message: &self.message,
            signature: &self.signature,
        }
    }

    fn dalek(&self) -> Option<(VerifyingKey, ed25519_dalek::Signature)> {
        let key = VerifyingKey::from_bytes(&self.key.0).ok()?;
        Some((key, ed25519_dalek::Signature::from_bytes(&self.signature.0)))
    }

    /// ed25519-dalek's lax `verify`: the cofactorless equation with no encoding or
    /// small-order checks (S must still be canonical).
    pub fn lax_equation_holds(&self) -> bool {
        self.dalek()
            .is_some_and(|(key, sig)| key.verify(&self.message, &sig).is_ok())
    }

    /// ed25519-dalek's own `verify_strict` (which does not check A's encoding).
    pub fn dalek_strict(&self) -> bool {
        self.dalek()
            .is_some_and(|(key, sig)| key.verify_strict(&self.message, &sig).is_ok())
    }
}

/// Whether ed25519-dalek's raw batch equation accepts all of `owned` at once (what a
/// naive batch path would answer for every item).
pub fn dalek_batch_accepts(owned: &[Owned]) -> bool {
    let Some(parts) = owned.iter().map(Owned::dalek).collect::<Option<Vec<_>>>() else {
        return false;
    };
    let messages: Vec<&[u8]> = owned.iter().map(|item| item.message.as_slice()).collect();
    let (keys, signatures): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
    ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
}

/// The rule written out independently of the crate: checks in the documented order, then
/// the cofactorless equation with curve25519-dalek arithmetic.
pub fn reference(item: &Owned) -> Result<(), SignatureError> {
    let small = |point: EdwardsPoint| (Scalar::from(8u8) * point).is_identity();
    let a = canonical_point(&item.key.0).ok_or(SignatureError::NonCanonicalKey)?;
    if small(a) {
        return Err(SignatureError::SmallOrderKey);
    }
    let r_bytes: [u8; 32] = item.signature.0[..32].try_into().expect("32 bytes");
    let r = canonical_point(&r_bytes).ok_or(SignatureError::NonCanonicalR)?;
    if small(r) {
        return Err(SignatureError::SmallOrderR);
    }
    let s_bytes: [u8; 32] = item.signature.0[32..].try_into().expect("32 bytes");
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))
        .ok_or(SignatureError::NonCanonicalS)?;
    let k = hram(&r_bytes, &item.key.0, &item.message);
    let expected_r = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-a, &s);
    if expected_r.compress().0 == r_bytes {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Runs `verify_batch` on `owned` and asserts that, item by item, it equals `verify` and
/// the reference rule. Returns the results.
pub fn check_agreement(owned: &[Owned]) -> Vec<Result<(), SignatureError>> {
    let items: Vec<BatchItem<'_>> = owned.iter().map(Owned::item).collect();
    let batch = verify_batch(&items);
    assert_eq!(batch.len(), owned.len(), "one result per item");
    for (index, (item, got)) in owned.iter().zip(&batch).enumerate() {
        let single = verify(&item.key, &item.message, &item.signature);
        assert_eq!(
            *got, single,
            "batch and single disagree on item {index}: {item:?}"
        );
        assert_eq!(
            single,
            reference(item),
            "single and reference disagree on item {index}"
        );
    }
    batch
}

pub fn secret(n: u64) -> SecretKey {
    let digest =
        Sha512::digest([b"maillon signature test key".as_slice(), &n.to_le_bytes()].concat());
    SecretKey::from_seed(digest[..32].try_into().expect("32 bytes"))
}

pub fn signed(secret: &SecretKey, message: &[u8]) -> Owned {
    Owned::new(secret.public_key(), message, secret.sign(message))
}

/// `len` valid items from distinct keys.
pub fn valid_batch(len: u64, label: &str) -> Vec<Owned> {
    (0..len)
        .map(|n| signed(&secret(n), format!("{label} {n}").as_bytes()))
        .collect()
}

/// All `Ok` except `bad`, which is `error`.
pub fn all_ok_but(
    len: usize,
    bad: usize,
    error: SignatureError,
) -> Vec<Result<(), SignatureError>> {
    (0..len)
        .map(|i| if i == bad { Err(error) } else { Ok(()) })
        .collect()
}

pub fn r_bytes(signature: &Signature) -> [u8; 32] {
    signature.0[..32].try_into().expect("32 bytes")
}

pub fn s_bytes(signature: &Signature) -> [u8; 32] {
    signature.0[32..].try_into().expect("32 bytes")
}

pub fn decompress(bytes: [u8; 32]) -> EdwardsPoint {
    CompressedEdwardsY(bytes).decompress().expect("decodes")
}

/// A signature whose cofactorless equation holds under a small-order `key` (any encoding):
/// R = [r]B and S = r, with the message ground until [k]A = 0.
pub fn forge_for_small_order_key(key: [u8; 32]) -> Owned {
    let point = decompress(key);
    let nonce = scalar_from(b"weak key forgery", 0);
    let r = EdwardsPoint::mul_base(&nonce).compress().0;
    grind(|n| {
        let message = n.to_le_bytes();
        let k = hram(&r, &key, &message);
        (k * point).is_identity().then(|| {
            Owned::new(
                PublicKey(key),
                &message,
                signature_from(r, nonce.to_bytes()),
            )
        })
    })
}

/// A signature by `key` with R = [r]B + `r_torsion` whose residual [S]B - R - [k]A is the
/// identity (`valid`) or a non-identity torsion point (cofactored-only) and which satisfies
/// `extra` (used to fool ed25519-dalek's raw batch equation).
pub fn ground_item(
    key: &RawKey,
    r_torsion: EdwardsPoint,
    valid: bool,
    label: &[u8],
    mut extra: impl FnMut(&Owned) -> bool,
) -> Owned {
    grind(|n| {
        let message = [label, &n.to_le_bytes()].concat();
        let signature = key.sign(scalar_from(label, n), r_torsion, &message);
        let item = Owned::new(key.public, &message, signature);
        let residual = residual(&item);
        assert!(
            residual.is_small_order(),
            "the cofactored equation always holds"
        );
        (residual.is_identity() == valid && extra(&item)).then_some(item)
    })
}

/// Encodings y = p + k (k ≤ 18, either sign) that decode to points of large order.
pub fn non_canonical_large_order_encodings() -> Vec<[u8; 32]> {
    let mut found = Vec::new();
    for k in 0..=18 {
        for sign in [false, true] {
            let encoding = y_above_p(k, sign);
            if let Some(point) = CompressedEdwardsY(encoding).decompress() {
                assert_ne!(point.compress().0, encoding, "y ≥ p is never canonical");
                if point.is_small_order() {
                    assert!(k <= 1, "only y ≡ 0 and y ≡ 1 give small-order points");
                } else {
                    found.push(encoding);
                }
            }
        }
    }
    found
}
