//! Maillon's node engine. Until the node issue lands it holds the deterministic network
//! generator that the demo, the tests and the benchmarks share.
//!
//! # Layout
//! - [`generator`]: a deterministic, realistic network from a seed.

pub mod generator;
