//! The one task that owns the [`Swarm`]: it runs swarm events, client commands, stored
//! records to publish, and a periodic tick for gating, bans, redialling and relays.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::SwarmEvent;
use libp2p::{autonat, dcutr, identify, kad, mdns, ping, relay, PeerId, Swarm};
use tokio::sync::{broadcast, mpsc, oneshot, watch, Semaphore};

use super::behaviour::{Behaviour, BehaviourEvent};
use super::client::{Client, Command, NetworkError};
use super::gating::{peer_id_of, Gate, GateVerdict};
use super::links::{dialled_address, LinkReport, Links, PeerLink, Reachability, Relays};
use super::penalties::{Penalties, Strike};
use super::redial::Redial;
use super::retry;
use super::{gossip, serve, NetworkEvent, NetworkSettings};
use crate::blobs::BlobStore;
use crate::engine::{Engine, Origin, StoredEvent};
use crate::ingest::pipeline::Submitted;

/// The event loop's state.
pub struct EventLoop {
    pub(super) swarm: Swarm<Behaviour>,
    pub(super) commands: mpsc::Receiver<Command>,
    pub(super) client: Client,
    pub(super) engine: Engine,
    pub(super) blobs: BlobStore,
    pub(super) settings: NetworkSettings,
    pub(super) gate: Gate,
    pub(super) events: mpsc::Sender<NetworkEvent>,
    pub(super) pending: HashMap<OutboundRequestId, oneshot::Sender<Result<Vec<u8>, NetworkError>>>,
    pub(super) penalties: Penalties,
    pub(super) policy_blocked: HashSet<PeerId>,
    pub(super) strangers: HashSet<PeerId>,
    pub(super) gossip_slots: Arc<Semaphore>,
    pub(super) retry_slots: Arc<Semaphore>,
    pub(super) serve_slots: Arc<Semaphore>,
    pub(super) redial: Redial,
    pub(super) links: Links,
    pub(super) relays: Relays,
    pub(super) reachability: Reachability,
}

impl EventLoop {
    /// Runs until `shutdown` turns true or every client is gone.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut stored = self.engine.subscribe();
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        // Every 10 s; a node with enough peers looks for others every 300 s only.
        let mut bootstrap = tokio::time::interval(Duration::from_secs(10));
        let mut bootstraps: u64 = 0;
        self.refresh_gate();
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => break,
                },
                event = stored.recv() => self.on_stored(event),
                _ = tick.tick() => self.on_tick(),
                _ = bootstrap.tick() => {
                    bootstraps += 1;
                    if self.short_of_peers() || bootstraps % 30 == 0 {
                        // No known peer yet is not an error: Kademlia retries next time.
                        let _ = self.swarm.behaviour_mut().kademlia.bootstrap();
                    }
                }
                changed = shutdown.changed() => if changed.is_err() || *shutdown.borrow() { break },
            }
        }
        tracing::info!("network event loop stopped");
    }

    fn on_stored(&mut self, event: Result<StoredEvent, broadcast::error::RecvError>) {
        match event {
            Ok(StoredEvent {
                record,
                origin: Origin::Local,
                ..
            }) => {
                let family = record.header().kind.family();
                let topic = gossip::topic(&self.engine.network(), family);
                if let Err(error) = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(topic, record.to_wire())
                {
                    // With no peer yet, sync delivers the record later.
                    tracing::debug!(%error, "record not published on gossip");
                }
            }
            Ok(StoredEvent { record, .. }) => {
                use maillon_protocol::Kind;
                if matches!(
                    record.header().kind,
                    Kind::NodeAnnouncement | Kind::NodePolicy
                ) {
                    self.refresh_gate();
                }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "publication lagged; sync will deliver the missed records"
                );
            }
            Err(broadcast::error::RecvError::Closed) => {}
        }
    }

    fn on_tick(&mut self) {
        let now = Instant::now();
        for peer in self.penalties.lift_expired(now) {
            tracing::info!(%peer, "ban over");
            self.swarm
                .behaviour_mut()
                .gossipsub
                .remove_blacklisted_peer(&peer);
            if !self.policy_blocked.contains(&peer) {
                self.swarm.behaviour_mut().blocked.unblock_peer(peer);
            }
        }
        self.refresh_gate();
        // Only invalid records lower a gossip score (`gossip::score_params`): a score under
        // the graylist means invalid records, never a dead or slow link.
        let graylist = gossip::score_thresholds().graylist_threshold;
        let connected: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in connected {
            let score = self
                .swarm
                .behaviour()
                .gossipsub
                .peer_score(&peer)
                .unwrap_or(0.0);
            if score < graylist {
                self.ban(peer, &format!("invalid records (gossip score {score:.1})"));
            } else if self.gate.verdict(&peer, now) == GateVerdict::Refused {
                tracing::info!(%peer, "disconnecting a peer that is not an announced node");
                let _ = self.swarm.disconnect_peer_id(peer);
            }
        }
        self.close_dead_links(now);
        self.redial_due(now);
        self.listen_through_relays();
    }

    /// Closes every connection that answered no ping for `ping_interval + ping_timeout`:
    /// a dead link (a partition, a rebooted router) is noticed within that time.
    fn close_dead_links(&mut self, now: Instant) {
        let limit = self.settings.ping_interval + self.settings.ping_timeout;
        for connection in self.links.silent(now, limit) {
            tracing::info!(?connection, "closing a connection that answered no ping");
            self.links.closing(connection);
            // A graceful close may wait on the dead socket until TCP_USER_TIMEOUT; the
            // link stops counting now, and the peer is redialled meanwhile.
            let _ = self.swarm.close_connection(connection);
        }
    }

    /// Whether fewer announced nodes than `min_peers` are connected.
    fn short_of_peers(&self) -> bool {
        let now = Instant::now();
        let connected = self
            .swarm
            .connected_peers()
            .filter(|peer| self.links.best(peer).is_some())
            .filter(|peer| self.gate.verdict(peer, now) == GateVerdict::Allowed)
            .count();
        connected < self.settings.redial.min_peers
    }

    /// Dials the known nodes whose backoff ran out, while this node is short of peers.
    fn redial_due(&mut self, now: Instant) {
        let links = &self.links;
        let gate = &self.gate;
        let penalties = &self.penalties;
        let connected_count = self
            .swarm
            .connected_peers()
            .filter(|peer| links.best(peer).is_some())
            .filter(|peer| gate.verdict(peer, now) == GateVerdict::Allowed)
            .count();
        let due = self.redial.due(
            now,
            connected_count,
            &|peer| links.best(peer).is_some(),
            &|peer| gate.may_dial(peer) && !penalties.holds_ban(peer),
        );
        for (peer, mut addresses) in due {
            addresses.extend(self.relays.addresses_of(&peer));
            tracing::debug!(%peer, addresses = addresses.len(), "dialling a known node");
            let options = DialOpts::peer_id(peer)
                .addresses(addresses)
                .condition(PeerCondition::NotDialing)
                .build();
            if let Err(error) = self.swarm.dial(options) {
                tracing::debug!(%peer, %error, "dial refused at once");
                self.redial.dial_failed(&peer, now);
            }
        }
    }

    /// Once AutoNAT finds this node unreachable, listens through every relay it knows.
    fn listen_through_relays(&mut self) {
        if !self.settings.use_relays || self.reachability != Reachability::Private {
            return;
        }
        for (relay, address) in self.relays.to_listen() {
            if !self.swarm.is_connected(&relay) {
                continue;
            }
            match self.swarm.listen_on(address.clone()) {
                Ok(listener) => {
                    tracing::info!(%relay, %address, "listening through a relay");
                    self.relays.listening(relay, listener);
                }
                Err(error) => tracing::warn!(%relay, %error, "cannot listen through a relay"),
            }
        }
    }

    fn link_report(&self) -> LinkReport {
        let now = Instant::now();
        let mut peers: Vec<PeerLink> = self
            .swarm
            .connected_peers()
            .filter(|p| self.gate.verdict(p, now) == GateVerdict::Allowed)
            .filter_map(|peer| {
                self.links.best(peer).map(|link| PeerLink {
                    peer: peer.to_string(),
                    link,
                })
            })
            .collect();
        peers.sort_by(|a, b| a.peer.cmp(&b.peer));
        LinkReport {
            reachability: self.reachability,
            relays: self
                .relays
                .listening_through()
                .iter()
                .map(PeerId::to_string)
                .collect(),
            peers,
        }
    }

    /// Recomputes the gate from the membership index, and keeps the block list in step
    /// with this node's suspensions.
    /// A stranger gets no gossip, sends none that counts, and is in no mesh until it is an
    /// announced node: gossipsub treats it as blacklisted meanwhile.
    fn hold_back_gossip_if_stranger(&mut self, peer: PeerId) {
        if self.gate.verdict(&peer, Instant::now()) != GateVerdict::Allowed
            && self.strangers.insert(peer)
        {
            self.swarm.behaviour_mut().gossipsub.blacklist_peer(&peer);
        }
    }

    /// Lets the gossip of strangers that became announced nodes through.
    fn release_announced_strangers(&mut self) {
        let now = Instant::now();
        let announced: Vec<PeerId> = self
            .strangers
            .iter()
            .filter(|peer| self.gate.verdict(peer, now) == GateVerdict::Allowed)
            .copied()
            .collect();
        for peer in announced {
            self.strangers.remove(&peer);
            if !self.penalties.holds_ban(&peer) {
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .remove_blacklisted_peer(&peer);
            }
        }
    }

    fn refresh_gate(&mut self) {
        self.gate
            .refresh(&self.engine.index_as_is(), &self.engine.node_key());
        self.release_announced_strangers();
        let this_peer = *self.swarm.local_peer_id();
        for (node, announcement) in self.engine.index_as_is().announced_nodes() {
            let Some(peer) = peer_id_of(node) else {
                continue;
            };
            if peer == this_peer {
                continue;
            }
            // A website among the addresses is for members' browsers, not for libp2p.
            let stated = announcement
                .addresses
                .iter()
                .filter(|a| maillon_protocol::kinds::SiteAddress::from_address(a).is_none())
                .filter_map(|a| a.parse().ok());
            // A node behind a router is reached through the relays this node knows.
            for address in stated.chain(self.relays.addresses_of(&peer)) {
                self.redial.add_address_if_new(peer, address);
            }
        }
        let suspended = self.gate.suspended().clone();
        for peer in suspended.difference(&self.policy_blocked) {
            tracing::info!(%peer, "blocking a node this node's policy suspends");
            self.swarm.behaviour_mut().blocked.block_peer(*peer);
            let _ = self.swarm.disconnect_peer_id(*peer);
        }
        for peer in self.policy_blocked.difference(&suspended) {
            if !self.penalties.holds_ban(peer) {
                self.swarm.behaviour_mut().blocked.unblock_peer(*peer);
            }
        }
        self.policy_blocked = suspended;
    }

    pub(super) fn ban(&mut self, peer: PeerId, reason: &str) {
        if self.penalties.ban(peer, Instant::now()) {
            self.enforce_ban(peer, reason);
        }
    }

    fn enforce_ban(&mut self, peer: PeerId, reason: &str) {
        tracing::warn!(%peer, reason, "banning peer");
        self.swarm.behaviour_mut().blocked.block_peer(peer);
        self.swarm.behaviour_mut().gossipsub.blacklist_peer(&peer);
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    fn penalise(&mut self, peer: PeerId, reason: &str) {
        match self.penalties.strike(peer, Instant::now()) {
            Strike::Counted(strikes) => tracing::info!(%peer, reason, strikes, "peer penalised"),
            Strike::Ban => self.enforce_ban(peer, reason),
            Strike::AlreadyBanned => {}
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Request { peer, bytes, reply } => {
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, bytes);
                self.pending.insert(id, reply);
            }
            Command::Respond { channel, bytes } => {
                // The peer may have gone away; nothing to do then.
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, bytes);
            }
            Command::Report {
                message_id,
                source,
                acceptance,
            } => {
                if acceptance == MessageAcceptance::Reject {
                    self.penalise(source, "invalid record on gossip");
                }
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &source, acceptance);
            }
            Command::Publish {
                family,
                wire,
                reply,
            } => {
                let topic = gossip::topic(&self.engine.network(), family);
                let result = self.swarm.behaviour_mut().gossipsub.publish(topic, wire);
                let _ = reply.send(
                    result
                        .map(|_| ())
                        .map_err(|e| NetworkError::Swarm(e.to_string())),
                );
            }
            Command::Dial { address, reply } => {
                let result = self
                    .swarm
                    .dial(address)
                    .map_err(|e| NetworkError::Swarm(e.to_string()));
                let _ = reply.send(result);
            }
            Command::Peers { reply } => {
                let now = Instant::now();
                let peers = self
                    .swarm
                    .connected_peers()
                    .filter(|p| self.links.best(p).is_some())
                    .filter(|p| self.gate.verdict(p, now) == GateVerdict::Allowed)
                    .copied()
                    .collect();
                let _ = reply.send(peers);
            }
            Command::Links { reply } => {
                let _ = reply.send(self.link_report());
            }
            Command::ListenAddresses { reply } => {
                let _ = reply.send(self.swarm.listeners().cloned().collect());
            }
            Command::Block {
                peer,
                blocked,
                reply,
            } => {
                if blocked {
                    self.swarm.behaviour_mut().blocked.block_peer(peer);
                    let _ = self.swarm.disconnect_peer_id(peer);
                } else {
                    self.swarm.behaviour_mut().blocked.unblock_peer(peer);
                }
                let _ = reply.send(());
            }
            Command::Penalise { peer, reason } => self.penalise(peer, &reason),
            Command::SyncedWith { peer } => self.gate.synced_with(peer),
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(event)) => self.on_gossip(event),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync(event),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                connection_id,
            })) => self.on_identified(peer_id, connection_id, info),
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                connection,
                result: Ok(_),
                ..
            })) => self.links.answered(connection, Instant::now()),
            SwarmEvent::Behaviour(BehaviourEvent::Autonat(autonat::Event::StatusChanged {
                new,
                ..
            })) => {
                self.reachability = Reachability::of(&new);
                tracing::info!(status = ?new, "reachability from outside");
                self.listen_through_relays();
            }
            SwarmEvent::Behaviour(BehaviourEvent::RelayClient(
                relay::client::Event::ReservationReqAccepted { relay_peer_id, .. },
            )) => {
                tracing::info!(relay = %relay_peer_id, "relay reservation accepted");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Dcutr(dcutr::Event {
                remote_peer_id,
                result,
            })) => match result {
                Ok(connection) => {
                    tracing::info!(peer = %remote_peer_id, "hole punched: direct connection");
                    self.links.hole_punched(remote_peer_id, connection);
                }
                Err(error) => {
                    tracing::info!(peer = %remote_peer_id, %error, "hole punching failed; staying relayed");
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                for (peer, address) in found {
                    self.swarm
                        .behaviour_mut()
                        .kademlia
                        .add_address(&peer, address.clone());
                    let _ = self.swarm.dial(address);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kademlia(kad::Event::RoutingUpdated {
                peer,
                addresses,
                ..
            })) => {
                // Nodes found through another: kept in the redial book, dialled from it.
                if self.gate.may_dial(&peer) {
                    for address in addresses.iter() {
                        self.redial.add_address_if_new(peer, address.clone());
                    }
                }
                if !self.swarm.is_connected(&peer) {
                    let _ = self.swarm.dial(peer);
                }
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => {
                self.gate.connected(peer_id, Instant::now());
                self.hold_back_gossip_if_stranger(peer_id);
                self.links.established(
                    peer_id,
                    connection_id,
                    endpoint.is_relayed(),
                    Instant::now(),
                );
                self.redial.connected(&peer_id);
                if let Some(address) = dialled_address(&endpoint) {
                    self.redial.add_address(peer_id, address);
                }
                if num_established.get() == 1 {
                    // A full queue only delays this sync to the next periodic one.
                    let _ = self.events.try_send(NetworkEvent::PeerConnected(peer_id));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                cause,
                ..
            } => {
                self.links.closed(&peer_id, connection_id);
                if num_established == 0 {
                    tracing::info!(peer = %peer_id, cause = ?cause, "peer disconnected");
                    self.gate.disconnected(&peer_id);
                    self.redial.disconnected(&peer_id, Instant::now());
                    if self.strangers.remove(&peer_id) && !self.penalties.holds_ban(&peer_id) {
                        self.swarm
                            .behaviour_mut()
                            .gossipsub
                            .remove_blacklisted_peer(&peer_id);
                    }
                }
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                error,
                ..
            } => {
                tracing::debug!(%peer, %error, "dial failed");
                if !self.swarm.is_connected(&peer) {
                    self.redial.dial_failed(&peer, Instant::now());
                }
            }
            SwarmEvent::ListenerClosed { listener_id, .. } => {
                self.relays.listener_closed(listener_id);
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
            }
            _ => {}
        }
    }

    fn on_identified(
        &mut self,
        peer: PeerId,
        connection: libp2p::swarm::ConnectionId,
        info: identify::Info,
    ) {
        let allowed = self.gate.may_dial(&peer);
        for address in &info.listen_addrs {
            self.swarm
                .behaviour_mut()
                .kademlia
                .add_address(&peer, address.clone());
            if allowed {
                self.redial.add_address_if_new(peer, address.clone());
            }
        }
        let offers_relay = info.protocols.contains(&relay::HOP_PROTOCOL_NAME);
        let reached_at = self.redial.addresses(&peer).into_iter().find(|a| {
            !a.iter()
                .any(|p| matches!(p, libp2p::multiaddr::Protocol::P2pCircuit))
        });
        if offers_relay && allowed {
            if let Some(address) = reached_at {
                tracing::debug!(%peer, ?connection, "peer offers a relay");
                self.relays.offered(peer, address);
                self.listen_through_relays();
            }
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        } = event
        else {
            return;
        };
        let Ok(permit) = Arc::clone(&self.gossip_slots).try_acquire_owned() else {
            // Overloaded: ignore without penalty; sync repairs what is dropped.
            self.engine
                .metrics()
                .record_gossip(crate::ingest::outcome::GossipVerdict::Ignore);
            self.swarm
                .behaviour_mut()
                .gossipsub
                .report_message_validation_result(
                    &message_id,
                    &propagation_source,
                    MessageAcceptance::Ignore,
                );
            return;
        };
        let engine = self.engine.clone();
        let client = self.client.clone();
        let retry_slots = self.retry_slots.clone();
        tokio::spawn(async move {
            let outcome = engine.submit_wire(&message.data, Origin::Gossip).await;
            let verdict = crate::ingest::outcome::classify(&outcome).verdict;
            engine.metrics().record_gossip(verdict);
            client
                .report(message_id, propagation_source, gossip::acceptance(verdict))
                .await;
            drop(permit);
            if retry::is_transient(&outcome) {
                retry::retry(&engine, &retry_slots, &message.data).await;
                return;
            }
            // A parked record waits for refs the relaying peer most likely holds.
            if let Ok(Submitted::Parked { missing, .. }) = outcome {
                let fetched = super::transfer::fetch(&engine, &client, propagation_source, missing);
                if let Err(error) = fetched.await {
                    tracing::debug!(%error, "fetching the refs of a parked record failed");
                }
            }
        });
    }

    fn on_sync(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    self.serve(peer, request, channel);
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(reply) = self.pending.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(reply) = self.pending.remove(&request_id) {
                    let _ = reply.send(Err(NetworkError::Request {
                        peer,
                        reason: error.to_string(),
                    }));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound sync request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn serve(
        &mut self,
        peer: PeerId,
        request: Vec<u8>,
        channel: request_response::ResponseChannel<Vec<u8>>,
    ) {
        let verdict = self.gate.verdict(&peer, Instant::now());
        let Ok(permit) = Arc::clone(&self.serve_slots).try_acquire_owned() else {
            let busy = serve::refusal("rate_limited");
            let _ = self.swarm.behaviour_mut().sync.send_response(channel, busy);
            return;
        };
        let context = serve::ServeContext {
            engine: self.engine.clone(),
            blobs: self.blobs.clone(),
            client: self.client.clone(),
            trusted: verdict == GateVerdict::Allowed,
        };
        tokio::spawn(async move {
            let answer = serve::answer(&context, peer, &request).await;
            context.client.respond(channel, answer).await;
            drop(permit);
        });
    }
}
