//! Maillon's web UI: the member-facing site, rendered on the server in French and English.
//!
//! This crate is a placeholder until the web UI issue: it holds the [`Backend`] trait the
//! node will implement, so the dependency direction protocol ← web-ui ← node is fixed now.
//!
//! # Layout
//! - [`Backend`]: what the UI needs from the node, in protocol types only.

use maillon_protocol::{NetworkId, PublicKey};

/// What the web UI needs from a node. It never sees libp2p or sled.
pub trait Backend: Send + Sync + 'static {
    /// The network this node serves.
    fn network_id(&self) -> NetworkId;
    /// The node's own key.
    fn node_key(&self) -> PublicKey;
}
