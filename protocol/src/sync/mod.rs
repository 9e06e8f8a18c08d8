//! The repair path: range-based set reconciliation over the items (created, id) of the
//! records two nodes hold, and the request-response messages that carry it.
//!
//! Reconciliation follows negentropy (v1) in spirit: the initiator sends the fingerprint of
//! everything; each side answers every range whose fingerprint differs with fingerprints of
//! [`SyncConfig::branching`] sub-ranges, or with its ids when it holds at most
//! [`SyncConfig::id_list_threshold`] items there. The responder keeps no state. Messages
//! never exceed [`SyncConfig::frame_limit`]: what does not fit is deferred to a later round.
//! docs/PROTOCOL.md section 10 specifies every byte.
//!
//! - [`item`]: [`SyncItem`], the id sum and the fingerprint.
//! - [`set`]: [`SyncSet`], the ordered set with fast range fingerprints.
//! - `wire`: the byte layout of reconciliation messages.
//! - `reconcile`: [`Reconciler`] (initiator) and [`respond`] (responder).
//! - [`messages`]: [`SyncRequest`] and [`SyncResponse`], the CBOR envelopes.

pub mod item;
pub mod messages;
mod reconcile;
pub mod set;
mod wire;

use thiserror::Error;

use crate::cbor::CborError;
use crate::ids::NetworkId;

pub use item::{Fingerprint, SyncItem, FINGERPRINT_TAG};
pub use messages::{SyncRequest, SyncResponse, MAX_FRAME_BYTES};
pub use reconcile::{respond, Progress, Reconciler};
pub use set::SyncSet;
pub use wire::SYNC_VERSION;

/// Smallest frame limit: room for a full split (64 buckets) or a full id list.
pub const MIN_FRAME_LIMIT: usize = 4 * 1024;
/// Largest reconciliation message accepted or configured.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// Default frame limit.
pub const DEFAULT_FRAME_LIMIT: usize = 256 * 1024;
/// Default round limit: enough for 1,000,000 items against an empty set in 256 KiB frames.
pub const DEFAULT_MAX_ROUNDS: u32 = 1024;
/// Default number of buckets a differing range is split into.
pub const DEFAULT_BRANCHING: usize = 8;
/// Default largest item count answered with an id list instead of buckets.
pub const DEFAULT_ID_LIST_THRESHOLD: usize = 8;
/// Largest branching factor and id-list threshold (both must fit a minimal frame).
pub const MAX_BRANCHING: usize = 64;

/// How one side runs reconciliation. Out-of-range values are clamped (see each field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncConfig {
    /// Largest message this side writes, in bytes: [`MIN_FRAME_LIMIT`]..=[`MAX_MESSAGE_BYTES`].
    pub frame_limit: usize,
    /// Replies the initiator reads before giving up with [`SyncError::TooManyRounds`].
    pub max_rounds: u32,
    /// Buckets per split: 2..=[`MAX_BRANCHING`].
    pub branching: usize,
    /// Ranges holding at most this many of our items are answered with the ids:
    /// 1..=[`MAX_BRANCHING`].
    pub id_list_threshold: usize,
}

impl Default for SyncConfig {
    fn default() -> SyncConfig {
        SyncConfig {
            frame_limit: DEFAULT_FRAME_LIMIT,
            max_rounds: DEFAULT_MAX_ROUNDS,
            branching: DEFAULT_BRANCHING,
            id_list_threshold: DEFAULT_ID_LIST_THRESHOLD,
        }
    }
}

impl SyncConfig {
    /// The default configuration with another frame limit.
    pub fn with_frame_limit(frame_limit: usize) -> SyncConfig {
        SyncConfig {
            frame_limit,
            ..SyncConfig::default()
        }
    }

    /// The configuration with every field clamped to its range.
    pub fn effective(&self) -> SyncConfig {
        SyncConfig {
            frame_limit: self.frame_limit.clamp(MIN_FRAME_LIMIT, MAX_MESSAGE_BYTES),
            max_rounds: self.max_rounds,
            branching: self.branching.clamp(2, MAX_BRANCHING),
            id_list_threshold: self.id_list_threshold.clamp(1, MAX_BRANCHING),
        }
    }
}

/// Why a sync message was refused, or a reconciliation stopped.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SyncError {
    /// A reconciliation message with no version byte.
    #[error("empty reconciliation message")]
    Empty,
    /// A reconciliation version this implementation does not speak.
    #[error("unsupported reconciliation version 0x{0:02x}")]
    UnsupportedVersion(u8),
    /// The input ends inside a field.
    #[error("input ends inside the {0}")]
    Truncated(&'static str),
    /// A field that breaks the layout.
    #[error("malformed input: {0}")]
    Malformed(&'static str),
    /// Range bounds that do not strictly ascend, or a range after the infinite bound.
    #[error("range bounds out of order")]
    OutOfOrder,
    /// A range mode number that does not exist.
    #[error("unknown range mode {0}")]
    UnknownMode(u64),
    /// A range mode this side must not receive here.
    #[error("unexpected range mode: {0}")]
    UnexpectedMode(&'static str),
    /// Input larger than its limit.
    #[error("{len} bytes, more than the {max} allowed")]
    Oversized {
        /// Bytes received.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A list longer than its limit.
    #[error("{what}: {len} entries, more than the {max} allowed")]
    TooMany {
        /// Which list.
        what: &'static str,
        /// Entries received.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The peer kept the reconciliation going past the round limit.
    #[error("reconciliation did not finish within {0} rounds")]
    TooManyRounds(u32),
    /// A reply arrived after the reconciliation finished.
    #[error("reconciliation already finished")]
    Finished,
    /// An envelope that is not CBOR of the supported subset.
    #[error("not valid CBOR: {0}")]
    Cbor(#[from] CborError),
    /// An envelope whose re-encoding differs.
    #[error("not in deterministic CBOR form")]
    NonCanonical,
    /// An envelope with a tag this implementation does not know.
    #[error("unknown message tag {0}")]
    UnknownTag(u64),
}

impl SyncError {
    /// A short stable code, as used in [`SyncResponse::Refused`].
    pub fn code(&self) -> &'static str {
        match self {
            SyncError::UnsupportedVersion(_) => "unsupported_version",
            SyncError::Empty
            | SyncError::Truncated(_)
            | SyncError::Malformed(_)
            | SyncError::OutOfOrder
            | SyncError::UnknownMode(_)
            | SyncError::UnexpectedMode(_) => "malformed",
            SyncError::Oversized { .. } => "too_large",
            SyncError::TooMany { .. } => "too_many",
            SyncError::TooManyRounds(_) => "too_many_rounds",
            SyncError::Finished => "finished",
            SyncError::Cbor(_) => "invalid_cbor",
            SyncError::NonCanonical => "non_canonical",
            SyncError::UnknownTag(_) => "unknown_tag",
        }
    }
}

/// The request-response protocol name of a network: `/maillon/<network id hex>/sync/1`.
pub fn protocol_name(network: &NetworkId) -> String {
    format!("/maillon/{}/sync/1", network.to_hex())
}
