//! The composed libp2p behaviour: gossipsub, sync request-response, identify, Kademlia,
//! optional mDNS, and the block list used for bans, gating and operator suspensions.

// The derive generates `BehaviourEvent`, whose variants carry no documentation.
#![allow(missing_docs)]

use std::time::Duration;

use libp2p::allow_block_list::{self, BlockedPeers};
use libp2p::identity::Keypair;
use libp2p::kad::{self, store::MemoryStore};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{gossipsub, identify, mdns, StreamProtocol};
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
}

impl Behaviour {
    /// Builds the behaviour for a network and a node key.
    pub fn new(
        key: &Keypair,
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
                format!("/maillon/{}/1", network.to_hex()),
                key.public(),
            )),
            kademlia,
            mdns: mdns.into(),
        })
    }
}
