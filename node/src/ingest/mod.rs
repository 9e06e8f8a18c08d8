//! The ingest pipeline: from wire bytes to durably stored records.
//!
//! - [`pipeline`]: the steps, from decoding to the flushed store.
//! - [`state`]: what validation needs, kept beside the store.
//! - [`outcome`]: the one classification of outcomes: code, HTTP status, gossip verdict.
//! - [`parking`]: records waiting for their refs, bounded.
//! - [`repair`]: dropping or restoring a held body to agree with a peer's copy.

pub mod outcome;
pub mod parking;
pub mod pipeline;
pub mod repair;
pub mod state;
