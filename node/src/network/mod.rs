//! The node's network: one task owns the libp2p `Swarm` ([`event_loop`]); every other
//! task holds a cloneable [`Client`]. Records travel live over gossipsub ([`gossip`]) and
//! are repaired by request-response sync ([`sync_driver`], [`transfer`], [`serve`]), over TCP with
//! noise and yamux, with identify, Kademlia and optional mDNS ([`behaviour`]). Only
//! announced nodes are kept as peers ([`gating`]). Photos are fetched by hash
//! ([`blob_fetch`]).

pub mod behaviour;
pub mod blob_fetch;
pub mod client;
pub mod codec;
pub mod event_loop;
pub mod gating;
pub mod gossip;
pub mod links;
pub mod penalties;
pub mod redial;
pub mod repair_sync;
pub mod retry;
pub mod serve;
pub mod sync_driver;
pub mod sync_log;
pub mod sync_progress;
pub mod transfer;
pub mod transport;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::{noise, yamux, Multiaddr, PeerId, SwarmBuilder};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;

pub use client::{Client, NetworkError};

use crate::blobs::BlobStore;
use crate::engine::Engine;
pub use behaviour::RelayLimits;
use behaviour::{Behaviour, BehaviourSettings};
use event_loop::EventLoop;
use gating::Gate;
pub use links::{Link, LinkReport, PeerLink, Reachability};
use redial::Redial;
pub use redial::RedialSettings;

/// Tells the sync driver what happened.
#[derive(Clone, Debug)]
pub enum NetworkEvent {
    /// A first connection to a peer was established.
    PeerConnected(PeerId),
}

/// The network's settings, validated.
#[derive(Clone, Debug)]
pub struct NetworkSettings {
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Bootstrap peers, each with a `/p2p/<peer id>` suffix.
    pub bootstrap: Vec<Multiaddr>,
    /// Whether mDNS runs.
    pub mdns: bool,
    /// Whether only announced nodes are kept as peers.
    pub gating: bool,
    /// How long an unknown peer may stay connected.
    pub gating_grace: Duration,
    /// How often to sync with a random peer.
    pub sync_interval: Duration,
    /// Gossipsub heartbeat.
    pub heartbeat: Duration,
    /// Timeout of one sync request.
    pub request_timeout: Duration,
    /// Misbehaviours that ban a peer.
    pub max_strikes: u32,
    /// How long a ban lasts.
    pub ban_duration: Duration,
    /// How often each connection is pinged; a dead link is closed after
    /// `ping_interval + ping_timeout` at most.
    pub ping_interval: Duration,
    /// How long a ping may go unanswered before the connection is closed.
    pub ping_timeout: Duration,
    /// When and how often other nodes are dialled again.
    pub redial: RedialSettings,
    /// The relay service this node offers to nodes behind routers, if any.
    pub relay: Option<RelayLimits>,
    /// Whether, once AutoNAT finds this node unreachable, it listens through relays.
    pub use_relays: bool,
    /// Addresses where this node is reachable from outside, stated by its operator (a box
    /// with a forwarded port); they are announced to peers as they are.
    pub external_addresses: Vec<Multiaddr>,
    /// Whether AutoNAT counts private addresses (a LAN, or tests in network namespaces).
    pub autonat_private_addresses: bool,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            listen: Vec::new(),
            bootstrap: Vec::new(),
            mdns: false,
            gating: true,
            gating_grace: Duration::from_secs(30),
            sync_interval: Duration::from_secs(60),
            heartbeat: Duration::from_millis(700),
            request_timeout: Duration::from_secs(60),
            max_strikes: 3,
            ban_duration: Duration::from_secs(3600),
            ping_interval: Duration::from_secs(10),
            ping_timeout: Duration::from_secs(10),
            redial: RedialSettings::default(),
            relay: None,
            use_relays: true,
            external_addresses: Vec::new(),
            autonat_private_addresses: false,
        }
    }
}

/// The running network's tasks.
pub struct NetworkTasks {
    /// The event loop.
    pub event_loop: JoinHandle<()>,
    /// The sync driver.
    pub sync_driver: JoinHandle<()>,
}

/// The peer id in a multiaddress's `/p2p/` suffix.
pub fn peer_of(address: &Multiaddr) -> Option<PeerId> {
    address.iter().find_map(|part| match part {
        Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}

/// Builds the swarm, listens, dials the bootstrap peers, and spawns the event loop and
/// the sync driver.
pub async fn start(
    engine: Engine,
    blobs: BlobStore,
    key: Keypair,
    settings: NetworkSettings,
    shutdown: watch::Receiver<bool>,
) -> Result<(Client, NetworkTasks), NetworkError> {
    let network = engine.network();
    let behaviour_settings = BehaviourSettings {
        heartbeat: settings.heartbeat,
        mdns: settings.mdns,
        request_timeout: settings.request_timeout,
        ping_interval: settings.ping_interval,
        ping_timeout: settings.ping_timeout,
        relay: settings.relay.clone(),
        autonat_private_addresses: settings.autonat_private_addresses,
    };
    let swarm_error = |e: &dyn std::fmt::Display| NetworkError::Swarm(e.to_string());
    let mut swarm = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_other_transport(|key| {
            transport::tcp_transport(key, settings.ping_interval + settings.ping_timeout)
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        })
        .map_err(|e| swarm_error(&e))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| swarm_error(&e))?
        .with_behaviour(|key, relay_client| {
            Behaviour::new(key, relay_client, &network, &behaviour_settings)
        })
        .map_err(|e| swarm_error(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    for family in gossip::FAMILIES {
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&gossip::topic(&network, family))
            .map_err(|e| swarm_error(&e))?;
    }
    for address in &settings.listen {
        swarm
            .listen_on(address.clone())
            .map_err(|e| swarm_error(&e))?;
    }
    for address in &settings.external_addresses {
        swarm.add_external_address(address.clone());
    }
    let mut bootstrap = HashSet::new();
    let mut redial = Redial::new(settings.redial.clone());
    for address in &settings.bootstrap {
        if let Some(peer) = peer_of(address) {
            bootstrap.insert(peer);
            redial.add_address(peer, address.clone());
            swarm
                .behaviour_mut()
                .kademlia
                .add_address(&peer, address.clone());
        }
        if let Err(error) = swarm.dial(address.clone()) {
            tracing::warn!(%address, %error, "cannot dial a bootstrap peer");
        }
    }
    let peer_id = *swarm.local_peer_id();
    let (commands_tx, commands) = mpsc::channel(1024);
    let (events_tx, events) = mpsc::channel(256);
    let client = Client::new(commands_tx, peer_id);
    let event_loop = EventLoop {
        swarm,
        commands,
        client: client.clone(),
        engine: engine.clone(),
        blobs,
        gate: Gate::new(settings.gating, settings.gating_grace, bootstrap),
        settings: settings.clone(),
        events: events_tx,
        pending: HashMap::new(),
        penalties: penalties::Penalties::new(settings.max_strikes, settings.ban_duration),
        policy_blocked: HashSet::new(),
        strangers: HashSet::new(),
        redial,
        links: links::Links::default(),
        relays: links::Relays::default(),
        reachability: Reachability::Unknown,
        gossip_slots: Arc::new(Semaphore::new(256)),
        retry_slots: Arc::new(Semaphore::new(retry::RETRY_SLOTS)),
        serve_slots: Arc::new(Semaphore::new(32)),
    };
    let tasks = NetworkTasks {
        event_loop: tokio::spawn(event_loop.run(shutdown.clone())),
        sync_driver: tokio::spawn(sync_driver::run(
            engine,
            client.clone(),
            events,
            settings,
            shutdown,
        )),
    };
    Ok((client, tasks))
}
