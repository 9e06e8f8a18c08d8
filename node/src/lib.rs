//! Maillon's node engine. Until the node issue lands it holds the deterministic network
//! generator that the demo, the tests and the benchmarks share.
//!
//! # Layout
//! - [`config`]: TOML and environment configuration, validated in two stages.
//! - [`generator`]: a deterministic, realistic network from a seed.
//! - [`init`]: `maillon init`, founding or joining a network.
//! - [`ingest`]: the ingest pipeline, its validation state and the parking lot.
//! - [`store`]: durable record storage (sled) behind the `Store` trait, with a memory twin.

pub mod config;
pub mod generator;
pub mod ingest;
pub mod init;
pub mod store;
