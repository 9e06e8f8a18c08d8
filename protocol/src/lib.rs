//! Maillon's protocol core: every signed record, its canonical encoding, and the trust
//! rules of the network, as pure functions.
//!
//! This crate does no IO, spawns nothing and reads no clock or randomness: times and keys
//! are arguments. The node, the web UI and any other implementation share it.
//!
//! # Layout
//! - [`cbor`]: the deterministic CBOR subset codec.
//! - [`ids`]: newtypes for keys, ids, hashes and times; domain-separated hashing.
//! - [`signature`]: Ed25519 with `verify_strict` semantics, single and batched.
//! - [`record`]: header, wire form, signing bytes, strict decoding.
//! - [`kinds`]: every record kind's body and context-free rules.
//! - [`links`]: keys linked by the key bindings a record references.
//! - [`validate`]: the rules a record must meet against the current state ([`StateView`]).
//! - [`membership`]: who is a member, as a least fixpoint from the founders.
//! - [`invitation`]: the signed invitation one node gives a new node to join the network.
//! - [`effects`]: the standing-dependent effects of records (publishing, nodes, bumps).
//! - [`moderation`]: labels in force and their effects, complaint statuses, the public log.
//! - [`trust`]: shortest sponsorship paths and independent paths between two members.
//! - [`testkit`]: deterministic keys, charters and records for tests, vectors and tools.
//! - [`viability`]: whether a charter lets anyone be admitted and recovered, with the numbers.
//! - [`state`]: [`RecordSet`], an in-memory record set that implements [`StateView`].
//! - [`sync`]: range-based set reconciliation and the sync request-response messages.
//! - [`error`]: decoding errors.

pub mod cbor;
pub mod effects;
pub mod error;
mod fields;
pub mod ids;
pub mod invitation;
pub mod kinds;
pub mod links;
pub mod membership;
pub mod moderation;
pub mod record;
pub mod signature;
pub mod state;
pub mod sync;
pub mod testkit;
pub mod trust;
pub mod validate;
pub mod viability;

/// The version of the protocol this crate implements (docs/PROTOCOL.md, "Maillon protocol,
/// version 1"): the records, the validation rules, the gossip topics and the sync messages.
/// Nodes of one protocol version interoperate whatever their release; the identify
/// protocol names it (`/maillon/<network id hex>/<version>`).
pub const PROTOCOL_VERSION: u32 = 1;

pub use error::DecodeError;
pub use ids::{BlobHash, BodyHash, NetworkId, PublicKey, RecordId, Timestamp};
pub use kinds::{Body, Kind};
pub use record::{Draft, Header, Record};
pub use signature::{SecretKey, Signature, SignatureError};
pub use state::RecordSet;
pub use validate::{Invalid, StateView, Verdict};
