//! How each peer is connected — directly, through a relay, or over a hole punched through
//! both routers — and which peers offer a relay this node can listen through.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use libp2p::core::ConnectedPoint;
use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId};
use serde::Serialize;

/// How a connection to a peer was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// Through a third node's relay service.
    Relayed,
    /// A plain connection, dialled by one side.
    Direct,
    /// A direct connection opened by hole punching (DCUtR) after a relayed one.
    HolePunched,
}

impl Link {
    /// The word used by the status API and the operator page.
    pub fn name(self) -> &'static str {
        match self {
            Link::Relayed => "relayed",
            Link::Direct => "direct",
            Link::HolePunched => "hole_punched",
        }
    }
}

/// A connected peer and its best link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PeerLink {
    /// The peer.
    pub peer: String,
    /// Its best connection: hole-punched, then direct, then relayed.
    pub link: Link,
}

/// Whether this node can be dialled from outside, as AutoNAT last found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reachability {
    /// Not known yet.
    Unknown,
    /// Other nodes dialled it back.
    Public,
    /// Behind a router or firewall: reached through relays.
    Private,
}

impl Reachability {
    /// From AutoNAT's status.
    pub fn of(status: &libp2p::autonat::NatStatus) -> Reachability {
        match status {
            libp2p::autonat::NatStatus::Public(_) => Reachability::Public,
            libp2p::autonat::NatStatus::Private => Reachability::Private,
            libp2p::autonat::NatStatus::Unknown => Reachability::Unknown,
        }
    }
}

/// What the status API and the operator page show of the network's links.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkReport {
    /// Whether this node can be dialled from outside.
    pub reachability: Reachability,
    /// Relays this node listens through, as peer ids.
    pub relays: Vec<String>,
    /// Connected peers that pass the gate, with their best link, by peer id.
    pub peers: Vec<PeerLink>,
}

/// Every open connection's kind, per peer, and when each last answered a ping.
#[derive(Debug, Default)]
pub struct Links {
    open: HashMap<PeerId, HashMap<ConnectionId, Link>>,
    punched: HashSet<ConnectionId>,
    heard: HashMap<ConnectionId, Instant>,
    closing: HashSet<ConnectionId>,
}

impl Links {
    /// Notes a new connection, opened at `now`.
    pub fn established(
        &mut self,
        peer: PeerId,
        connection: ConnectionId,
        relayed: bool,
        now: Instant,
    ) {
        self.heard.insert(connection, now);
        let link = if relayed {
            Link::Relayed
        } else if self.punched.remove(&connection) {
            Link::HolePunched
        } else {
            Link::Direct
        };
        self.open.entry(peer).or_default().insert(connection, link);
    }

    /// Notes that DCUtR opened `connection` by hole punching (before or after the swarm
    /// reports it established).
    pub fn hole_punched(&mut self, peer: PeerId, connection: ConnectionId) {
        match self
            .open
            .get_mut(&peer)
            .and_then(|open| open.get_mut(&connection))
        {
            Some(link) => *link = Link::HolePunched,
            None => {
                self.punched.insert(connection);
            }
        }
    }

    /// Notes that a connection answered a ping at `now`.
    pub fn answered(&mut self, connection: ConnectionId, now: Instant) {
        if let Some(heard) = self.heard.get_mut(&connection) {
            *heard = now;
        }
    }

    /// Notes that a dead connection is being closed: it no longer counts as a link.
    pub fn closing(&mut self, connection: ConnectionId) {
        self.closing.insert(connection);
    }

    /// The connections not yet closing that answered no ping for longer than `limit`:
    /// dead links.
    pub fn silent(&self, now: Instant, limit: Duration) -> Vec<ConnectionId> {
        let mut silent: Vec<ConnectionId> = self
            .heard
            .iter()
            .filter(|(connection, _)| !self.closing.contains(connection))
            .filter(|(_, heard)| now.saturating_duration_since(**heard) > limit)
            .map(|(connection, _)| *connection)
            .collect();
        silent.sort();
        silent
    }

    /// Notes a closed connection.
    pub fn closed(&mut self, peer: &PeerId, connection: ConnectionId) {
        self.punched.remove(&connection);
        self.heard.remove(&connection);
        self.closing.remove(&connection);
        if let Some(open) = self.open.get_mut(peer) {
            open.remove(&connection);
            if open.is_empty() {
                self.open.remove(peer);
            }
        }
    }

    /// A peer's best link among connections not being closed, if it has one.
    pub fn best(&self, peer: &PeerId) -> Option<Link> {
        self.open
            .get(peer)?
            .iter()
            .filter(|(connection, _)| !self.closing.contains(connection))
            .map(|(_, link)| *link)
            .max()
    }
}

/// Peers that offer a relay service, and the relays this node listens through.
#[derive(Debug, Default)]
pub struct Relays {
    offered: HashMap<PeerId, Multiaddr>,
    listening: HashMap<PeerId, libp2p::core::transport::ListenerId>,
}

impl Relays {
    /// Notes that `peer`, reached at `address`, offers a relay.
    pub fn offered(&mut self, peer: PeerId, address: Multiaddr) {
        self.offered.insert(peer, address);
    }

    /// Forgets a relay's listener (closed, or the relay went away).
    pub fn listener_closed(&mut self, listener: libp2p::core::transport::ListenerId) {
        self.listening.retain(|_, id| *id != listener);
    }

    /// The relayed listen addresses still to open: one per offered relay not yet used.
    pub fn to_listen(&self) -> Vec<(PeerId, Multiaddr)> {
        let mut wanted: Vec<(PeerId, Multiaddr)> = self
            .offered
            .iter()
            .filter(|(peer, _)| !self.listening.contains_key(peer))
            .map(|(peer, address)| (*peer, circuit_through(address, peer)))
            .collect();
        wanted.sort();
        wanted
    }

    /// The relays this node listens through.
    pub fn listening_through(&self) -> Vec<PeerId> {
        let mut relays: Vec<PeerId> = self.listening.keys().copied().collect();
        relays.sort();
        relays
    }

    /// Notes a relayed listener opened through `relay`.
    pub fn listening(&mut self, relay: PeerId, listener: libp2p::core::transport::ListenerId) {
        self.listening.insert(relay, listener);
    }

    /// Addresses at which `target` may be reached through the relays this node knows.
    pub fn addresses_of(&self, target: &PeerId) -> Vec<Multiaddr> {
        let mut addresses: Vec<Multiaddr> = self
            .offered
            .iter()
            .filter(|(relay, _)| *relay != target)
            .map(|(relay, address)| {
                circuit_through(address, relay).with(libp2p::multiaddr::Protocol::P2p(*target))
            })
            .collect();
        addresses.sort();
        addresses
    }
}

/// `address/p2p/relay/p2p-circuit`, without a second `/p2p/relay` when `address` has one.
fn circuit_through(address: &Multiaddr, relay: &PeerId) -> Multiaddr {
    use libp2p::multiaddr::Protocol;
    let mut circuit = address.clone();
    if super::peer_of(address).is_none() {
        circuit.push(Protocol::P2p(*relay));
    }
    circuit.with(Protocol::P2pCircuit)
}

/// The remote address of a connection we dialled, worth dialling again; `None` for an
/// inbound connection, whose remote port is ephemeral.
pub fn dialled_address(endpoint: &ConnectedPoint) -> Option<Multiaddr> {
    match endpoint {
        ConnectedPoint::Dialer { address, .. } => Some(address.clone()),
        ConnectedPoint::Listener { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_shows_its_best_link_and_a_punched_hole_is_named_whatever_the_event_order() {
        let mut links = Links::default();
        let peer = PeerId::random();
        let relayed = ConnectionId::new_unchecked(1);
        let punched = ConnectionId::new_unchecked(2);
        let now = Instant::now();
        links.established(peer, relayed, true, now);
        assert_eq!(links.best(&peer), Some(Link::Relayed));
        links.hole_punched(peer, punched);
        links.established(peer, punched, false, now);
        assert_eq!(links.best(&peer), Some(Link::HolePunched));
        links.closed(&peer, punched);
        assert_eq!(links.best(&peer), Some(Link::Relayed));
        let later = ConnectionId::new_unchecked(3);
        links.established(peer, later, false, now);
        assert_eq!(links.best(&peer), Some(Link::Direct));
        links.hole_punched(peer, later);
        assert_eq!(links.best(&peer), Some(Link::HolePunched));
        links.closed(&peer, later);
        links.closed(&peer, relayed);
        assert_eq!(links.best(&peer), None);
    }

    #[test]
    fn a_connection_that_answers_no_ping_for_too_long_is_silent() {
        let mut links = Links::default();
        let peer = PeerId::random();
        let (quiet, lively) = (
            ConnectionId::new_unchecked(1),
            ConnectionId::new_unchecked(2),
        );
        let start = Instant::now();
        links.established(peer, quiet, false, start);
        links.established(peer, lively, false, start);
        let limit = Duration::from_secs(20);
        links.answered(lively, start + Duration::from_secs(15));
        assert!(links.silent(start + limit, limit).is_empty());
        assert_eq!(
            links.silent(start + Duration::from_secs(21), limit),
            vec![quiet]
        );
        links.closing(quiet);
        assert!(links
            .silent(start + Duration::from_secs(21), limit)
            .is_empty());
        assert_eq!(
            links.best(&peer),
            Some(Link::Direct),
            "the lively one remains"
        );
        links.closed(&peer, quiet);
        assert!(links
            .silent(start + Duration::from_secs(30), limit)
            .is_empty());
        assert_eq!(
            links.silent(start + Duration::from_secs(36), limit),
            vec![lively]
        );
        links.closing(lively);
        assert_eq!(links.best(&peer), None, "a closing link does not count");
    }

    #[test]
    fn relayed_addresses_go_through_every_other_relay() {
        let mut relays = Relays::default();
        let relay = PeerId::random();
        let target = PeerId::random();
        relays.offered(relay, "/ip4/10.1.0.1/tcp/4001".parse().unwrap());
        let expected: Multiaddr = format!("/ip4/10.1.0.1/tcp/4001/p2p/{relay}/p2p-circuit")
            .parse()
            .unwrap();
        assert_eq!(relays.to_listen(), vec![(relay, expected.clone())]);
        assert_eq!(
            relays.addresses_of(&target),
            vec![expected.with(libp2p::multiaddr::Protocol::P2p(target))]
        );
        assert!(relays.addresses_of(&relay).is_empty(), "not through itself");
        relays.listening(relay, libp2p::core::transport::ListenerId::next());
        assert!(relays.to_listen().is_empty());
    }
}
