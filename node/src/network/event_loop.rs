//! The one task that owns the [`Swarm`]: it runs swarm events, client commands, stored
//! records to publish, and a periodic tick for gating and bans.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::SwarmEvent;
use libp2p::{identify, kad, mdns, PeerId, Swarm};
use tokio::sync::{broadcast, mpsc, oneshot, watch, Semaphore};

use super::behaviour::{Behaviour, BehaviourEvent};
use super::client::{Client, Command, NetworkError};
use super::gating::{Gate, GateVerdict};
use super::{gossip, serve, sync_driver, NetworkEvent, NetworkSettings};
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
    pub(super) strikes: HashMap<PeerId, u32>,
    pub(super) banned: HashMap<PeerId, Instant>,
    pub(super) policy_blocked: HashSet<PeerId>,
    pub(super) gossip_slots: Arc<Semaphore>,
    pub(super) serve_slots: Arc<Semaphore>,
}

impl EventLoop {
    /// Runs until `shutdown` turns true or every client is gone.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut stored = self.engine.subscribe();
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let mut bootstrap = tokio::time::interval(Duration::from_secs(300));
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
                    // No known peer yet is not an error: Kademlia retries next time.
                    let _ = self.swarm.behaviour_mut().kademlia.bootstrap();
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
        self.banned.retain(|peer, until| {
            let active = *until > now;
            if !active && !self.policy_blocked.contains(peer) {
                self.swarm.behaviour_mut().blocked.unblock_peer(*peer);
            }
            active
        });
        self.refresh_gate();
        let graylist = gossip::score_thresholds().graylist_threshold;
        let connected: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in connected {
            let score = self
                .swarm
                .behaviour()
                .gossipsub
                .peer_score(&peer)
                .unwrap_or(0.0);
            if score < 0.0 {
                tracing::debug!(%peer, score, "negative gossip score");
            }
            if score < graylist {
                self.ban(peer, &format!("gossip score {score:.1}"));
            } else if self.gate.verdict(&peer, now) == GateVerdict::Refused {
                tracing::info!(%peer, "disconnecting a peer that is not an announced node");
                let _ = self.swarm.disconnect_peer_id(peer);
            }
        }
    }

    /// Recomputes the gate from the membership index, and keeps the block list in step
    /// with this node's suspensions.
    fn refresh_gate(&mut self) {
        self.gate
            .refresh(&self.engine.index_as_is(), &self.engine.node_key());
        let suspended = self.gate.suspended().clone();
        for peer in suspended.difference(&self.policy_blocked) {
            tracing::info!(%peer, "blocking a node this node's policy suspends");
            self.swarm.behaviour_mut().blocked.block_peer(*peer);
            let _ = self.swarm.disconnect_peer_id(*peer);
        }
        for peer in self.policy_blocked.difference(&suspended) {
            if !self.banned.contains_key(peer) {
                self.swarm.behaviour_mut().blocked.unblock_peer(*peer);
            }
        }
        self.policy_blocked = suspended;
    }

    pub(super) fn ban(&mut self, peer: PeerId, reason: &str) {
        tracing::warn!(%peer, reason, "banning peer");
        self.banned
            .insert(peer, Instant::now() + self.settings.ban_duration);
        self.swarm.behaviour_mut().blocked.block_peer(peer);
        self.swarm.behaviour_mut().gossipsub.blacklist_peer(&peer);
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    fn penalise(&mut self, peer: PeerId, reason: &str) {
        let strikes = self.strikes.entry(peer).or_insert(0);
        *strikes += 1;
        tracing::info!(%peer, reason, strikes = *strikes, "peer penalised");
        if *strikes >= self.settings.max_strikes {
            self.strikes.remove(&peer);
            self.ban(peer, reason);
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
                    .filter(|p| self.gate.verdict(p, now) == GateVerdict::Allowed)
                    .copied()
                    .collect();
                let _ = reply.send(peers);
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
                ..
            })) => {
                for address in info.listen_addrs {
                    self.swarm
                        .behaviour_mut()
                        .kademlia
                        .add_address(&peer_id, address);
                }
            }
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
                ..
            })) if !self.swarm.is_connected(&peer) => {
                // A failed dial is retried when Kademlia next updates the route.
                let _ = self.swarm.dial(peer);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                ..
            } => {
                self.gate.connected(peer_id, Instant::now());
                if num_established.get() == 1 {
                    // A full queue only delays this sync to the next periodic one.
                    let _ = self.events.try_send(NetworkEvent::PeerConnected(peer_id));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.gate.disconnected(&peer_id);
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
            }
            _ => {}
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
        tokio::spawn(async move {
            let outcome = engine.submit_wire(&message.data, Origin::Gossip).await;
            client
                .report(message_id, propagation_source, gossip::acceptance(&outcome))
                .await;
            drop(permit);
            // A parked record waits for refs the relaying peer most likely holds.
            if let Ok(Submitted::Parked { missing, .. }) = outcome {
                let fetched = sync_driver::fetch(&engine, &client, propagation_source, missing);
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
