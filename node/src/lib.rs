//! Maillon's node engine. Until the node issue lands it holds the deterministic network
//! generator that the demo, the tests and the benchmarks share.
//!
//! # Layout
//! - [`backup`]: backups (through the running node's admin socket), restore and rebuild.
//! - [`bench`]: `maillon bench`, end-to-end benchmarks with same-run limits.
//! - [`bump_book`]: which bumps take effect under the charter's daily limit per node.
//! - [`erasure`]: an erasure's photo deletion and the member's export archive.
//! - [`config`]: TOML and environment configuration, validated in two stages.
//! - [`durable`]: small files written whole or not at all.
//! - [`generator`]: a deterministic, realistic network from a seed.
//! - [`http_server`]: the HTTP server's accept loop, connection cap, timeouts and limits.
//! - [`init`]: `maillon init`, founding or joining a network.
//! - [`founding`]: the founding ceremony: the draft, its pages' backend, the site switch.
//! - [`invitation`]: making invitations, reading them for `init join`, probing bootstraps.
//! - [`mail`]: e-mail to members: addresses, the durable queue, the SMTP sender and its task.
//! - [`announce`]: `maillon announce`, the node's announcement from its operator's code.
//! - [`ingest`]: the ingest pipeline, its validation state and the parking lot.
//! - [`membership_index`]: membership, trust and node standing, kept record by record.
//! - [`metrics`]: Prometheus metrics, `GET /metrics`, and the history behind the operator's chart.
//! - [`search`]: full-text, geographic and trust-filtered listing search (tantivy).
//! - [`web`]: the web UI's backend: social index, accounts, and the site's wiring.
//! - [`store`]: durable record storage (sled) behind the `Store` trait, with a memory twin,
//!   and its format version and migrations.
//! - [`version`]: the binary's version, commit, protocol and store format.

pub mod announce;
pub mod api;
pub mod backup;
pub mod bench;
pub mod blobs;
pub mod bump_book;
pub mod config;
pub mod durable;
pub mod engine;
pub mod erasure;
pub mod founding;
pub mod generator;
pub mod http_server;
pub mod ingest;
pub mod init;
pub mod invitation;
pub mod mail;
pub mod membership_index;
pub mod metrics;
pub mod network;
pub mod node;
pub mod records_file;
pub mod search;
pub mod store;
pub mod version;
pub mod web;
