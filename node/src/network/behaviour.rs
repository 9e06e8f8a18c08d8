//! The composed libp2p behaviour: gossipsub, sync request-response, identify, Kademlia,
//! optional mDNS, ping (dead links are noticed and closed), the pieces that reach nodes
//! behind routers (AutoNAT, circuit relay v2 client and optional server, DCUtR hole
//! punching), and the block list used for bans, gating and operator suspensions.

// The derive generates `BehaviourEvent`, whose variants carry no documentation.
#![allow(missing_docs)]

use std::time::Duration;

use libp2p::allow_block_list::{self, BlockedPeers};
use libp2p::identity::Keypair;
use libp2p::kad::{self, store::MemoryStore};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{autonat, dcutr, gossipsub, identify, mdns, ping, relay, StreamProtocol};
use maillon_protocol::ids::NetworkId;
use maillon_protocol::sync::protocol_name;

use super::codec::FrameCodec;
use super::gossip;

/// Everything the swarm runs.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Bans and suspensions.
    pub blocked: allow_block_list::Behaviour<BlockedPeers>,
    /// The live path.
    pub gossipsub: gossipsub::Behaviour,
    /// The repair path.
    pub sync: request_response::Behaviour<FrameCodec>,
    /// Addresses and keys of peers.
    pub identify: identify::Behaviour,
    /// Peer discovery from the bootstrap list.
    pub kademlia: kad::Behaviour<MemoryStore>,
    /// Peer discovery on the LAN, when enabled.
    pub mdns: Toggle<mdns::tokio::Behaviour>,
    /// Liveness: a connection whose pings go unanswered is closed.
    pub ping: ping::Behaviour,
    /// Whether this node can be dialled from outside.
    pub autonat: autonat::Behaviour,
    /// Reaching and being reached through a relay.
    pub relay_client: relay::client::Behaviour,
    /// The relay service this node offers, when its configuration says so.
    pub relay_server: Toggle<relay::Behaviour>,
    /// Hole punching over a relayed connection.
    pub dcutr: dcutr::Behaviour,
}

/// Knobs of the behaviour.
#[derive(Clone, Debug)]
pub struct BehaviourSettings {
    /// Gossipsub heartbeat.
    pub heartbeat: Duration,
    /// Whether mDNS runs.
    pub mdns: bool,
    /// Timeout of one sync request.
    pub request_timeout: Duration,
    /// How often each connection is pinged.
    pub ping_interval: Duration,
    /// How long a ping may go unanswered.
    pub ping_timeout: Duration,
    /// The relay service offered to other nodes, if any.
    pub relay: Option<RelayLimits>,
    /// Whether AutoNAT may count private addresses (tests and LANs).
    pub autonat_private_addresses: bool,
}

/// The bounds of the relay service a reachable node offers to nodes behind routers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayLimits {
    /// Reservations held at once, all nodes together.
    pub max_reservations: usize,
    /// Relayed connections at once, all nodes together.
    pub max_circuits: usize,
    /// Relayed connections at once for one node.
    pub max_circuits_per_peer: usize,
    /// How long one relayed connection may last before it is closed (it is then redialled).
    pub max_circuit_duration: Duration,
    /// Bytes one relayed connection may carry before it is closed.
    pub max_circuit_bytes: u64,
}

impl Default for RelayLimits {
    fn default() -> Self {
        RelayLimits {
            max_reservations: 64,
            max_circuits: 32,
            max_circuits_per_peer: 4,
            max_circuit_duration: Duration::from_secs(30 * 60),
            max_circuit_bytes: 64 << 20,
        }
    }
}

impl RelayLimits {
    fn config(&self) -> relay::Config {
        relay::Config {
            max_reservations: self.max_reservations,
            max_reservations_per_peer: 2,
            max_circuits: self.max_circuits,
            max_circuits_per_peer: self.max_circuits_per_peer,
            max_circuit_duration: self.max_circuit_duration,
            max_circuit_bytes: self.max_circuit_bytes,
            ..relay::Config::default()
        }
    }
}

impl Behaviour {
    /// Builds the behaviour for a network and a node key.
    pub fn new(
        key: &Keypair,
        relay_client: relay::client::Behaviour,
        network: &NetworkId,
        settings: &BehaviourSettings,
    ) -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
        let peer_id = key.public().to_peer_id();
        let sync_protocol = StreamProtocol::try_from_owned(protocol_name(network))?;
        let kad_protocol =
            StreamProtocol::try_from_owned(format!("/maillon/{}/kad/1", network.to_hex()))?;
        let mut kademlia = kad::Behaviour::with_config(
            peer_id,
            MemoryStore::new(peer_id),
            kad::Config::new(kad_protocol),
        );
        kademlia.set_mode(Some(kad::Mode::Server));
        let mdns = if settings.mdns {
            Some(mdns::tokio::Behaviour::new(
                mdns::Config::default(),
                peer_id,
            )?)
        } else {
            None
        };
        Ok(Behaviour {
            blocked: allow_block_list::Behaviour::default(),
            gossipsub: gossip::behaviour(network, settings.heartbeat)?,
            sync: request_response::Behaviour::with_codec(
                FrameCodec,
                [(sync_protocol, ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(settings.request_timeout)
                    .with_max_concurrent_streams(64),
            ),
            identify: identify::Behaviour::new(identify::Config::new(
                format!(
                    "/maillon/{}/{}",
                    network.to_hex(),
                    maillon_protocol::PROTOCOL_VERSION
                ),
                key.public(),
            )),
            kademlia,
            mdns: mdns.into(),
            ping: ping::Behaviour::new(
                ping::Config::new()
                    .with_interval(settings.ping_interval)
                    .with_timeout(settings.ping_timeout),
            ),
            autonat: autonat::Behaviour::new(
                peer_id,
                autonat::Config {
                    boot_delay: Duration::from_secs(5),
                    retry_interval: Duration::from_secs(60),
                    refresh_interval: Duration::from_secs(300),
                    only_global_ips: !settings.autonat_private_addresses,
                    ..autonat::Config::default()
                },
            ),
            relay_client,
            relay_server: settings
                .relay
                .as_ref()
                .map(|limits| relay::Behaviour::new(peer_id, limits.config()))
                .into(),
            dcutr: dcutr::Behaviour::new(peer_id),
        })
    }
}
