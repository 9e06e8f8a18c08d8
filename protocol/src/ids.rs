//! Newtypes for keys, ids, hashes and times, and the domain-separated hashes that make ids.

use std::fmt;

use sha2::{Digest, Sha256};

/// Domain tag hashed before a charter body to make the network id.
pub const NETWORK_ID_TAG: &[u8] = b"maillon/network/v1\0";
/// Domain tag hashed before the header bytes to make a record id.
pub const RECORD_ID_TAG: &[u8] = b"maillon/record-id/v1\0";
/// Domain tag hashed before a body to make the header's body hash.
pub const BODY_HASH_TAG: &[u8] = b"maillon/body/v1\0";

macro_rules! bytes32_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The bytes as lowercase hex.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Parses 64 hex digits.
            pub fn from_hex(text: &str) -> Result<Self, hex::FromHexError> {
                let mut out = [0u8; 32];
                hex::decode_to_slice(text, &mut out)?;
                Ok(Self(out))
            }

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), &self.to_hex()[..12])
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }
    };
}

bytes32_newtype!(
    /// An Ed25519 public key as its 32-byte compressed encoding. It names members and nodes.
    PublicKey
);
bytes32_newtype!(
    /// The id of a record: SHA-256 over [`RECORD_ID_TAG`] and the header bytes.
    RecordId
);
bytes32_newtype!(
    /// The id of a network: SHA-256 over [`NETWORK_ID_TAG`] and the charter body.
    NetworkId
);
bytes32_newtype!(
    /// SHA-256 over [`BODY_HASH_TAG`] and a record body.
    BodyHash
);
bytes32_newtype!(
    /// SHA-256 of a blob (a photo), with no domain tag, so files can be checked with `sha256sum`.
    BlobHash
);

/// Milliseconds since the Unix epoch, UTC. The protocol never reads a clock: callers pass it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// One day in milliseconds.
    pub const DAY_MS: u64 = 86_400_000;

    /// This time plus `ms`, saturating.
    pub fn plus_ms(self, ms: u64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }

    /// This time minus `ms`, saturating at zero.
    pub fn minus_ms(self, ms: u64) -> Timestamp {
        Timestamp(self.0.saturating_sub(ms))
    }
}

/// SHA-256 of the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

impl RecordId {
    /// The id of a record with these header bytes.
    pub fn of_header(header_bytes: &[u8]) -> RecordId {
        RecordId(sha256(&[RECORD_ID_TAG, header_bytes]))
    }
}

impl NetworkId {
    /// The id of the network founded by a charter with these body bytes.
    pub fn of_charter_body(body: &[u8]) -> NetworkId {
        NetworkId(sha256(&[NETWORK_ID_TAG, body]))
    }
}

impl BodyHash {
    /// The hash a header carries for this body.
    pub fn of_body(body: &[u8]) -> BodyHash {
        BodyHash(sha256(&[BODY_HASH_TAG, body]))
    }
}

impl BlobHash {
    /// The hash of a blob's bytes.
    pub fn of_blob(blob: &[u8]) -> BlobHash {
        BlobHash(sha256(&[blob]))
    }
}
