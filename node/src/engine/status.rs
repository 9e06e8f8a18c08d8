//! The node's status: what `GET /api/v1/status` and `maillon status` report.

use std::collections::BTreeMap;

use maillon_protocol::sync::SyncSet;
use maillon_protocol::Kind;
use serde::Serialize;

use super::Engine;
use crate::store::StoreError;

/// A node's status.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct NodeStatus {
    /// The network id, hex.
    pub network_id: String,
    /// The node's libp2p peer id, once the network runs.
    pub peer_id: Option<String>,
    /// The node's key, hex.
    pub node_key: String,
    /// The node's display name.
    pub node_name: String,
    /// Records held.
    pub records: u64,
    /// Records held per kind name.
    pub records_per_kind: BTreeMap<String, u64>,
    /// Members in good standing (founders, members, probation).
    pub members: u64,
    /// Connected peers.
    pub peers: u64,
    /// Whether this node is an announced node in the records it holds: its newest
    /// announcement's operator is in good standing. Other nodes keep it as a peer only then.
    pub announced: bool,
    /// The state digest (docs/PROTOCOL.md 3.2): SHA-256 over its tag, the sum of the ids of
    /// every record held and their number, hex.
    pub state_digest: String,
    /// The same formula under its own tag over the records held as bare headers, hex:
    /// with an equal `state_digest`, equal exactly when the same bodies are held
    /// (docs/PROTOCOL.md 10.9).
    pub erased_digest: String,
    /// Free space on the data folder's volume.
    pub storage: StorageStatus,
    /// The protocol version this node speaks (`maillon_protocol::PROTOCOL_VERSION`).
    pub protocol_version: u32,
    /// The store format this node writes (`store::FORMAT_VERSION`).
    pub store_format: u32,
    /// The release of the running binary.
    pub version: String,
    /// The git commit the binary was built from, when known.
    pub commit: Option<String>,
}

/// Free space on the data folder's volume against the floor (`store.min_free_mib`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct StorageStatus {
    /// MiB free, if the system says.
    pub free_mib: Option<u64>,
    /// The floor in MiB: at or under it new records are refused (0: none).
    pub floor_mib: u64,
    /// `ample`, `low` (under twice the floor) or `full` (at or under the floor).
    pub state: &'static str,
}

impl From<crate::store::space::SpaceReport> for StorageStatus {
    fn from(report: crate::store::space::SpaceReport) -> StorageStatus {
        use crate::store::space::SpaceState;
        StorageStatus {
            free_mib: report.free_bytes.map(|bytes| bytes >> 20),
            floor_mib: report.floor_bytes >> 20,
            state: match report.state {
                SpaceState::Ample => "ample",
                SpaceState::Low => "low",
                SpaceState::Full => "full",
            },
        }
    }
}

/// The state digest of docs/PROTOCOL.md (`maillon_protocol::state::state_digest`): SHA-256
/// over its tag, the sum of the held ids and their number. The set keeps its sums, so this
/// costs O(chunks) and copies nothing.
pub fn state_digest(set: &SyncSet) -> String {
    hex::encode(maillon_protocol::state::state_digest_of_sum(
        &set.sum(),
        set.len() as u64,
    ))
}

/// The erased digest of docs/PROTOCOL.md 10.9 over the set of bare headers, the same way.
pub fn erased_digest(set: &SyncSet) -> String {
    hex::encode(maillon_protocol::state::erased_digest_of_sum(
        &set.sum(),
        set.len() as u64,
    ))
}

impl Engine {
    /// The status, with the network layer's peer id and peer count.
    pub fn status(&self, peer_id: Option<String>, peers: u64) -> Result<NodeStatus, StoreError> {
        let counts = self.kind_counts();
        let records_per_kind = Kind::ALL
            .iter()
            .filter(|kind| counts[**kind as usize] > 0)
            .map(|kind| (kind_name(*kind), counts[*kind as usize]))
            .collect();
        let (members, announced) = {
            let index = self.index();
            (
                index.members_in_good_standing() as u64,
                index.announced_nodes().contains_key(&self.node_key()),
            )
        };
        let erased_digest = erased_digest(&self.erased_set());
        let (records, state_digest) = {
            let set = self.sync_set();
            (set.len() as u64, state_digest(&set))
        };
        Ok(NodeStatus {
            network_id: self.network().to_hex(),
            peer_id,
            node_key: self.node_key().to_hex(),
            node_name: self.name().to_string(),
            records,
            records_per_kind,
            members,
            peers,
            announced,
            state_digest,
            erased_digest,
            storage: self.store().free_space().into(),
            protocol_version: maillon_protocol::PROTOCOL_VERSION,
            store_format: crate::store::FORMAT_VERSION.0,
            version: crate::version::VERSION.to_string(),
            commit: crate::version::COMMIT.map(str::to_string),
        })
    }
}

/// A kind's name in snake case, as the API reports it.
pub fn kind_name(kind: Kind) -> String {
    let debug = format!("{kind:?}");
    let mut name = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_lowercase());
    }
    name
}
