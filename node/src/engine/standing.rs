//! The node's admission policy: records whose effect needs a member in good standing
//! (listings, transactions, complaints, sponsorships) are refused when their author was
//! not in good standing at the record's creation time, by this node's membership index.
//!
//! The protocol accepts such records (they are valid but have no effect, docs/PROTOCOL.md
//! section 8.1). A node refuses them at its edges (API, gossip, pushes) so that they are
//! not stored or relayed at all. Records fetched during reconciliation are exempt: sync
//! converges on the protocol's monotone rule, and a record that an honest peer holds
//! passed this policy where it entered.

use maillon_protocol::ids::{PublicKey, Timestamp};
use maillon_protocol::kinds::PolicyLevel;
use maillon_protocol::{Kind, Record};
use thiserror::Error;

use crate::membership_index::MembershipIndex;

/// The author was not in good standing when they signed.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
#[error("the author {author} was not a member in good standing at {} ms since 1970", created.0)]
pub struct StandingRefusal {
    /// The record's author.
    pub author: PublicKey,
    /// The record's creation time.
    pub created: Timestamp,
}

/// Whether a record of this kind needs its author in good standing.
pub fn needs_good_standing(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Listing
            | Kind::ListingTombstone
            | Kind::Sponsorship
            | Kind::TransactionOpen
            | Kind::TransactionAnswer
            | Kind::TransactionMessage
            | Kind::TransactionClose
            | Kind::Complaint
    )
}

/// Applies the policy with the index as it is.
pub fn check_standing(record: &Record, index: &MembershipIndex) -> Result<(), StandingRefusal> {
    let header = record.header();
    if !needs_good_standing(header.kind)
        || index.in_good_standing_at(&header.author, header.created)
    {
        return Ok(());
    }
    Err(StandingRefusal {
        author: header.author,
        created: header.created,
    })
}

/// Records a node under a Limit policy may sign per day, as this node counts them where
/// records enter (its announcements, bumps and policies).
pub const LIMITED_NODE_RECORDS_PER_DAY: usize = 4;

/// The author is a node that this node's operator limited or suspended.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum NodePolicyRefusal {
    /// Suspended: every new record is refused.
    #[error("the node {0} is suspended by this node's policy: its new records are ignored")]
    Suspended(PublicKey),
    /// Limited, and over its daily allowance.
    #[error("the node {0} is limited by this node's policy: at most {LIMITED_NODE_RECORDS_PER_DAY} of its records a day")]
    Limited(PublicKey),
    /// A join introduced by a node that has introduced its daily quota of joins already.
    #[error("the node {0} has introduced {1} joins in the last day, this node's quota: its next ones wait until tomorrow")]
    IntroductionQuota(PublicKey, usize),
}

/// Joins one node may introduce in a day, as this node counts them where records enter,
/// unless the configuration says otherwise (`network.joins_per_introducer_per_day`). A site
/// takes a few candidacies a day; a flood from one node stops here (docs/PROTOCOL.md 9.2,
/// "Introduced joins").
pub const DEFAULT_JOINS_PER_INTRODUCER_PER_DAY: usize = 50;

/// The joins each introducing node brought in recently through this node's edges (API,
/// gossip, pushes; not sync): their arrival times over the last day, per node, counted
/// since this node started. Arrival, not creation, so that backdated joins count too.
#[derive(Debug)]
pub struct Introductions {
    per_day: usize,
    recent: std::collections::HashMap<PublicKey, std::collections::VecDeque<Timestamp>>,
}

impl Introductions {
    /// No join noted yet; at most `per_day` joins per introducer in a day.
    pub fn new(per_day: usize) -> Introductions {
        Introductions {
            per_day,
            recent: Default::default(),
        }
    }

    /// Notes a join introduced by `node` and stored at `arrived` from an edge.
    pub fn note(&mut self, node: PublicKey, arrived: Timestamp) {
        self.recent.entry(node).or_default().push_back(arrived);
    }

    /// Refuses a join introduced by `node` when `node` is suspended by this node's policy,
    /// or has brought in its quota of joins within a day before `now`.
    pub fn check(
        &mut self,
        node: PublicKey,
        now: Timestamp,
        suspended: bool,
    ) -> Result<(), NodePolicyRefusal> {
        if suspended {
            return Err(NodePolicyRefusal::Suspended(node));
        }
        let since = now.minus_ms(Timestamp::DAY_MS);
        let recent = self.recent.entry(node).or_default();
        while recent.front().is_some_and(|t| *t < since) {
            recent.pop_front();
        }
        let in_day = recent.iter().filter(|t| **t >= since).count();
        if in_day >= self.per_day {
            return Err(NodePolicyRefusal::IntroductionQuota(node, self.per_day));
        }
        Ok(())
    }
}

/// Refuses records signed by a node key that `this_node` suspends, and, for a node it
/// limits, records beyond [`LIMITED_NODE_RECORDS_PER_DAY`] in the last day
/// (`signed_last_day` counts those already stored). Like the standing policy, it applies
/// where records enter, not to records fetched during reconciliation, so sync still agrees.
pub fn check_node_policy<E>(
    record: &Record,
    index: &MembershipIndex,
    this_node: &PublicKey,
    signed_last_day: impl FnOnce(&PublicKey) -> Result<usize, E>,
) -> Result<Result<(), NodePolicyRefusal>, E> {
    let author = record.header().author;
    let level = index
        .node_policies_of(this_node)
        .iter()
        .find(|p| p.target == author)
        .map(|p| p.level);
    Ok(match level {
        Some(PolicyLevel::Suspend) => Err(NodePolicyRefusal::Suspended(author)),
        Some(PolicyLevel::Limit) if signed_last_day(&author)? >= LIMITED_NODE_RECORDS_PER_DAY => {
            Err(NodePolicyRefusal::Limited(author))
        }
        _ => Ok(()),
    })
}
