//! Strikes and bans. A peer that sends invalid data gets a strike; at `max_strikes` it is
//! banned for a while. A ban happens once: strikes and bans against a peer already banned
//! are ignored, since messages it sent before the ban may still be in the queues.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::PeerId;

/// What a strike did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strike {
    /// Counted: the peer's strikes so far.
    Counted(u32),
    /// The strike made the peer reach the limit: ban it now.
    Ban,
    /// The peer is banned already: nothing to do.
    AlreadyBanned,
}

/// The strikes and bans of this node's peers.
#[derive(Debug)]
pub struct Penalties {
    strikes: HashMap<PeerId, u32>,
    banned: HashMap<PeerId, Instant>,
    max_strikes: u32,
    duration: Duration,
}

impl Penalties {
    /// Bans after `max_strikes` strikes, for `duration`.
    pub fn new(max_strikes: u32, duration: Duration) -> Penalties {
        Penalties {
            strikes: HashMap::new(),
            banned: HashMap::new(),
            max_strikes: max_strikes.max(1),
            duration,
        }
    }

    /// Counts a strike against `peer`; [`Strike::Ban`] when the peer must be banned (the
    /// ban is already recorded).
    pub fn strike(&mut self, peer: PeerId, now: Instant) -> Strike {
        if self.is_banned(&peer, now) {
            return Strike::AlreadyBanned;
        }
        let strikes = self.strikes.entry(peer).or_insert(0);
        *strikes += 1;
        if *strikes < self.max_strikes {
            return Strike::Counted(*strikes);
        }
        self.ban(peer, now);
        Strike::Ban
    }

    /// Records a ban of `peer` from `now`; `false` if it was banned already.
    pub fn ban(&mut self, peer: PeerId, now: Instant) -> bool {
        if self.is_banned(&peer, now) {
            return false;
        }
        self.strikes.remove(&peer);
        self.banned.insert(peer, now + self.duration);
        true
    }

    /// Whether `peer` is banned at `now`.
    pub fn is_banned(&self, peer: &PeerId, now: Instant) -> bool {
        self.banned.get(peer).is_some_and(|until| *until > now)
    }

    /// Whether `peer` is banned or its ban has not been lifted yet.
    pub fn holds_ban(&self, peer: &PeerId) -> bool {
        self.banned.contains_key(peer)
    }

    /// Lifts the bans that are over at `now`; returns their peers.
    pub fn lift_expired(&mut self, now: Instant) -> Vec<PeerId> {
        let over: Vec<PeerId> = self
            .banned
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(peer, _)| *peer)
            .collect();
        for peer in &over {
            self.banned.remove(peer);
        }
        over
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_strikes_bans_once_and_the_ban_ends() {
        let mut penalties = Penalties::new(3, Duration::from_secs(60));
        let (peer, other) = (PeerId::random(), PeerId::random());
        let start = Instant::now();
        let outcomes: Vec<Strike> = (0..8).map(|_| penalties.strike(peer, start)).collect();
        assert_eq!(
            outcomes,
            [
                Strike::Counted(1),
                Strike::Counted(2),
                Strike::Ban,
                Strike::AlreadyBanned,
                Strike::AlreadyBanned,
                Strike::AlreadyBanned,
                Strike::AlreadyBanned,
                Strike::AlreadyBanned,
            ]
        );
        assert!(!penalties.ban(peer, start), "a second ban is refused");
        assert_eq!(penalties.strike(other, start), Strike::Counted(1));
        assert!(penalties
            .lift_expired(start + Duration::from_secs(59))
            .is_empty());
        let later = start + Duration::from_secs(60);
        assert_eq!(penalties.lift_expired(later), vec![peer]);
        assert!(!penalties.is_banned(&peer, later));
        assert_eq!(penalties.strike(peer, later), Strike::Counted(1));
    }
}
