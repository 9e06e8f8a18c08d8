//! Redialling: the addresses this node knows for other nodes, and when to dial each again.
//! A node with fewer connected peers than it wants dials the nodes it knows, each with its
//! own exponential backoff, for ever: a router that reboots or a line that drops for an
//! afternoon must never leave a node alone. Pure bookkeeping: time is passed in.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::{Multiaddr, PeerId};

/// How redialling behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedialSettings {
    /// Connected peers under which this node dials the others it knows.
    pub min_peers: usize,
    /// The first wait after a failed dial; it doubles at each failure.
    pub first_backoff: Duration,
    /// The longest wait between two dials of one peer.
    pub max_backoff: Duration,
    /// How long a dial may stay unanswered before it counts as failed.
    pub dial_timeout: Duration,
}

impl Default for RedialSettings {
    fn default() -> Self {
        RedialSettings {
            min_peers: 8,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            dial_timeout: Duration::from_secs(30),
        }
    }
}

/// Addresses kept for one peer at most; the newest replace the oldest.
const ADDRESSES_PER_PEER: usize = 8;

#[derive(Debug, Default)]
struct Known {
    addresses: Vec<Multiaddr>,
    failures: u32,
    next_dial: Option<Instant>,
    dialing_since: Option<Instant>,
}

/// The address book and each peer's backoff.
#[derive(Debug)]
pub struct Redial {
    settings: RedialSettings,
    known: HashMap<PeerId, Known>,
}

impl Redial {
    /// An empty book.
    pub fn new(settings: RedialSettings) -> Redial {
        Redial {
            settings,
            known: HashMap::new(),
        }
    }

    /// Notes an address where a peer can be dialled. Relayed addresses are kept too: a node
    /// behind a router is reached through them.
    pub fn add_address(&mut self, peer: PeerId, address: Multiaddr) {
        let known = self.known.entry(peer).or_default();
        if let Some(position) = known.addresses.iter().position(|a| *a == address) {
            known.addresses.remove(position);
        }
        known.addresses.insert(0, address);
        known.addresses.truncate(ADDRESSES_PER_PEER);
    }

    /// Notes an address learnt second-hand (identify, an announcement), after those
    /// already known; a known address keeps its place.
    pub fn add_address_if_new(&mut self, peer: PeerId, address: Multiaddr) {
        let known = self.known.entry(peer).or_default();
        if !known.addresses.contains(&address) && known.addresses.len() < ADDRESSES_PER_PEER {
            known.addresses.push(address);
        }
    }

    /// The addresses known for a peer, the most recently confirmed first.
    pub fn addresses(&self, peer: &PeerId) -> Vec<Multiaddr> {
        self.known
            .get(peer)
            .map(|k| k.addresses.clone())
            .unwrap_or_default()
    }

    /// Notes that a connection to a peer was established: its backoff starts again.
    pub fn connected(&mut self, peer: &PeerId) {
        if let Some(known) = self.known.get_mut(peer) {
            known.failures = 0;
            known.next_dial = None;
            known.dialing_since = None;
        }
    }

    /// Notes that the last connection to a peer closed: dial it again soon.
    pub fn disconnected(&mut self, peer: &PeerId, now: Instant) {
        if let Some(known) = self.known.get_mut(peer) {
            known.dialing_since = None;
            known.next_dial = Some(now + self.settings.first_backoff);
        }
    }

    /// Notes that dialling a peer failed: wait longer before the next try.
    pub fn dial_failed(&mut self, peer: &PeerId, now: Instant) {
        let first = self.settings.first_backoff;
        let max = self.settings.max_backoff;
        if let Some(known) = self.known.get_mut(peer) {
            known.dialing_since = None;
            known.failures = known.failures.saturating_add(1);
            let wait = first
                .checked_mul(1u32 << known.failures.min(16))
                .unwrap_or(max)
                .min(max);
            known.next_dial = Some(now + wait);
        }
    }

    /// The current wait before a peer is dialled again, for logs and the status page.
    pub fn failures(&self, peer: &PeerId) -> u32 {
        self.known.get(peer).map_or(0, |k| k.failures)
    }

    /// The peers to dial now, with their addresses: when fewer than `min_peers`
    /// (`connected_count`) are connected, every known peer that `may_dial` accepts, is not connected, is not being
    /// dialled, and whose backoff has run out. Each is marked as being dialled.
    pub fn due(
        &mut self,
        now: Instant,
        connected_count: usize,
        connected: &dyn Fn(&PeerId) -> bool,
        may_dial: &dyn Fn(&PeerId) -> bool,
    ) -> Vec<(PeerId, Vec<Multiaddr>)> {
        if connected_count >= self.settings.min_peers {
            return Vec::new();
        }
        let dial_timeout = self.settings.dial_timeout;
        let mut due = Vec::new();
        let mut wanted = self.settings.min_peers - connected_count;
        let mut peers: Vec<&PeerId> = self.known.keys().collect();
        peers.sort();
        let mut timed_out = Vec::new();
        for peer in peers {
            let known = &self.known[peer];
            if wanted == 0 || connected(peer) || !may_dial(peer) || known.addresses.is_empty() {
                continue;
            }
            if let Some(since) = known.dialing_since {
                if now.saturating_duration_since(since) < dial_timeout {
                    continue;
                }
                timed_out.push(*peer);
                continue;
            }
            if known.next_dial.is_some_and(|at| at > now) {
                continue;
            }
            due.push((*peer, known.addresses.clone()));
            wanted -= 1;
        }
        for peer in timed_out {
            self.dial_failed(&peer, now);
        }
        for (peer, _) in &due {
            if let Some(known) = self.known.get_mut(peer) {
                known.dialing_since = Some(now);
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(port: u16) -> Multiaddr {
        format!("/ip4/10.0.0.1/tcp/{port}").parse().unwrap()
    }

    fn book(min_peers: usize) -> Redial {
        Redial::new(RedialSettings {
            min_peers,
            ..RedialSettings::default()
        })
    }

    #[test]
    fn a_failing_peer_is_dialled_again_with_a_doubling_backoff_capped_for_ever() {
        let mut redial = Redial::new(RedialSettings {
            max_backoff: Duration::from_secs(60),
            ..RedialSettings::default()
        });
        let peer = PeerId::random();
        redial.add_address(peer, address(1));
        let start = Instant::now();
        let none = |_: &PeerId| false;
        let all = |_: &PeerId| true;
        assert_eq!(redial.due(start, 0, &none, &all).len(), 1);
        assert!(
            redial.due(start, 0, &none, &all).is_empty(),
            "not twice at once"
        );
        let mut now = start;
        let mut waits = Vec::new();
        for _ in 0..12 {
            redial.dial_failed(&peer, now);
            let mut wait = Duration::ZERO;
            while redial.due(now + wait, 0, &none, &all).is_empty() {
                wait += Duration::from_millis(500);
            }
            waits.push(wait.as_secs());
            now += wait;
        }
        assert_eq!(&waits[..6], &[2, 4, 8, 16, 32, 60]);
        assert!(waits[6..].iter().all(|w| *w == 60), "{waits:?}");
        redial.connected(&peer);
        redial.disconnected(&peer, now);
        assert!(redial.due(now, 0, &none, &all).is_empty());
        assert_eq!(
            redial
                .due(now + Duration::from_secs(1), 0, &none, &all)
                .len(),
            1
        );
    }

    #[test]
    fn only_dials_while_short_of_peers_and_only_peers_it_may_dial() {
        let mut redial = book(2);
        let peers: Vec<PeerId> = (0..4).map(|_| PeerId::random()).collect();
        for (i, peer) in peers.iter().enumerate() {
            redial.add_address(*peer, address(i as u16));
        }
        let now = Instant::now();
        let first_two = |p: &PeerId| *p == peers[0] || *p == peers[1];
        let all = |_: &PeerId| true;
        assert!(
            redial.due(now, 2, &first_two, &all).is_empty(),
            "enough peers"
        );
        let refused = peers[3];
        let none = |_: &PeerId| false;
        let may = |p: &PeerId| *p != refused;
        let due = redial.due(now, 0, &none, &may);
        assert_eq!(due.len(), 2, "as many as are missing");
        assert!(due.iter().all(|(p, _)| *p != refused));
    }

    #[test]
    fn an_unanswered_dial_times_out_and_counts_as_a_failure() {
        let mut redial = Redial::new(RedialSettings {
            dial_timeout: Duration::from_secs(10),
            ..RedialSettings::default()
        });
        let peer = PeerId::random();
        redial.add_address(peer, address(1));
        let now = Instant::now();
        let none = |_: &PeerId| false;
        let all = |_: &PeerId| true;
        assert_eq!(redial.due(now, 0, &none, &all).len(), 1);
        assert!(redial
            .due(now + Duration::from_secs(9), 0, &none, &all)
            .is_empty());
        assert!(redial
            .due(now + Duration::from_secs(10), 0, &none, &all)
            .is_empty());
        assert_eq!(redial.failures(&peer), 1);
        assert_eq!(
            redial
                .due(now + Duration::from_secs(12), 0, &none, &all)
                .len(),
            1
        );
    }

    #[test]
    fn addresses_are_kept_newest_first_and_bounded() {
        let mut redial = book(8);
        let peer = PeerId::random();
        for port in 0..20 {
            redial.add_address(peer, address(port));
        }
        redial.add_address(peer, address(15));
        let kept = redial.addresses(&peer);
        assert_eq!(kept.len(), ADDRESSES_PER_PEER);
        assert_eq!(kept[0], address(15));
        assert_eq!(kept[1], address(19));
    }
}
