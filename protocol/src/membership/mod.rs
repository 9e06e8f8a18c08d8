//! Who is a member: a pure function of the record set and the time, computed as a least
//! fixpoint from the founders.
//!
//! The rule, stated in full in docs/PROTOCOL.md ("Membership"):
//! - Founders are admitted at time 0.
//! - A sponsorship from `a` to `c` is *usable* from `max(created, a's admission, c's join)`
//!   until the earliest of its expiry, its withdrawal, `a`'s expulsion and, when it lies
//!   beyond `a`'s quota, `a`'s latest strike.
//! - A candidate is admitted at the first time `t` at which usable sponsorships from at
//!   least `required(c, t)` distinct admitted sponsors are alive. Computing the earliest such
//!   times from the founders outwards is a least fixpoint: a ring of candidates that only
//!   sponsor each other is never admitted.
//! - An admitted key is a *member* while its *support* (non-withdrawn sponsorships within
//!   quota from admitted, non-expelled sponsors) reaches the requirement, on *probation* for
//!   the grace period after it falls below, and *lapsed* after that, until sponsors bring the
//!   count back up.
//! - An expelled key is expelled for good. Each sponsor of an expelled key gets a strike,
//!   which lowers their quota by the charter's penalty.
//! - A candidacy is open for [`CANDIDACY_MS`] from the join: a candidate not admitted by
//!   then is never admitted on that join; its candidacy has *expired*, and nodes drop its
//!   records (docs/PROTOCOL.md 9.1.9).

mod compute;
mod expiry;
mod facts;
mod table;

pub use compute::MembershipTable;
pub use expiry::Dropping;
pub use facts::{
    effective_labels, BindingFact, Facts, Identities, Moderators, Rules, SponsorshipFact,
};

use crate::ids::Timestamp;

/// How long a candidacy stays open after its join: 90 days, in ms. A candidate not admitted
/// within it is never admitted on that join (docs/PROTOCOL.md 9.1.7 and 9.1.9).
pub const CANDIDACY_MS: u64 = 90 * Timestamp::DAY_MS;

/// A key's standing in the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Named in the charter.
    Founder,
    /// Admitted and sufficiently supported.
    Member,
    /// Admitted, but support fell below the requirement at `since`; lapsed at `until`.
    Probation {
        /// When support fell below the requirement.
        since: Timestamp,
        /// End of the grace period.
        until: Timestamp,
    },
    /// Admitted once, but the probation ended at `since` without enough sponsors. A lapsed
    /// key is not in good standing (it may not publish) but, being admitted and not
    /// expelled, its own sponsorships still count.
    Lapsed {
        /// When the probation ended.
        since: Timestamp,
        /// Sponsorships that count now.
        sponsors: u32,
        /// Sponsorships required now.
        required: u32,
    },
    /// Joined but not admitted.
    Candidate {
        /// Sponsorships that count now.
        sponsors: u32,
        /// Sponsorships required now.
        required: u32,
    },
    /// Expelled by a moderator, for good.
    Expelled {
        /// The expulsion's time.
        at: Timestamp,
    },
    /// Not known to the network.
    Unknown,
}

impl Status {
    /// Founder, member or on probation: may publish listings and transact.
    pub fn is_in_good_standing(&self) -> bool {
        matches!(
            self,
            Status::Founder | Status::Member | Status::Probation { .. }
        )
    }

    /// Founder or member: the statuses the UI offers sponsoring to. (The rule itself counts a
    /// sponsorship from the sponsor's admission on, and stops at an expulsion: see the
    /// module documentation.)
    pub fn may_sponsor(&self) -> bool {
        matches!(self, Status::Founder | Status::Member)
    }

    /// A short stable name, as used in APIs and vectors.
    pub fn name(&self) -> &'static str {
        match self {
            Status::Founder => "founder",
            Status::Member => "member",
            Status::Probation { .. } => "probation",
            Status::Lapsed { .. } => "lapsed",
            Status::Candidate { .. } => "candidate",
            Status::Expelled { .. } => "expelled",
            Status::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests;
