//! The ingest pipeline: from wire bytes to durably stored records.
//!
//! - [`pipeline`]: the steps, from decoding to the flushed store.
//! - [`state`]: what validation needs, kept beside the store.
//! - [`parking`]: records waiting for their refs, bounded.

pub mod parking;
pub mod pipeline;
pub mod state;
