//! What the index derives beside the membership table, at refresh: announced nodes, the
//! node policies in force, and each identity's home node.

use std::collections::HashMap;

use maillon_protocol::ids::{PublicKey, Timestamp};
use maillon_protocol::kinds::{NodeAnnouncement, NodePolicy};
use maillon_protocol::membership::MembershipTable;

use super::kept::{Kept, Newest};

/// Announced nodes, policies in force and home nodes, as of the last refresh.
#[derive(Clone, Debug, Default)]
pub(super) struct Derived {
    /// Per node key, its newest announcement, while the operator is in good standing.
    pub(super) announced: HashMap<PublicKey, NodeAnnouncement>,
    /// Per announced node, its newest policy per target, in target order.
    pub(super) policies: HashMap<PublicKey, Vec<NodePolicy>>,
    /// Per identity, the home node of its newest profile whose body is not erased.
    pub(super) homes: HashMap<PublicKey, PublicKey>,
}

impl Derived {
    /// Derives everything from the kept facts and a table just computed.
    pub(super) fn compute(kept: &Kept, table: &MembershipTable) -> Derived {
        let announced = announced(kept, table);
        let policies = policies(kept, &announced);
        Derived {
            announced,
            policies,
            homes: homes(kept, table),
        }
    }
}

/// The rule of `effects::announced_nodes`: newest announcement per node, kept while its
/// operator is in good standing at the table's time.
fn announced(kept: &Kept, table: &MembershipTable) -> HashMap<PublicKey, NodeAnnouncement> {
    kept.announcements
        .iter()
        .filter(|(_, a)| table.status(&a.value.operator).is_in_good_standing())
        .map(|(node, a)| (*node, a.value.clone()))
        .collect()
}

/// The rule of `effects::node_policies`: newest policy per (node, target), from announced
/// nodes only.
fn policies(
    kept: &Kept,
    announced: &HashMap<PublicKey, NodeAnnouncement>,
) -> HashMap<PublicKey, Vec<NodePolicy>> {
    announced
        .keys()
        .filter_map(|node| {
            let by_target = kept.policies.get(node)?;
            let mut list: Vec<(PublicKey, NodePolicy)> = by_target
                .iter()
                .map(|(target, p)| (*target, p.value.clone()))
                .collect();
            list.sort_by_key(|(target, _)| *target);
            Some((*node, list.into_iter().map(|(_, p)| p).collect()))
        })
        .collect()
}

/// Each identity's home node: the newest profile over the identity's keys, skipping
/// profiles an erasure by the same identity has removed (created at or before it).
fn homes(kept: &Kept, table: &MembershipTable) -> HashMap<PublicKey, PublicKey> {
    let mut erased: HashMap<PublicKey, Timestamp> = HashMap::new();
    for (author, at) in &kept.erasures {
        let latest = erased.entry(table.identity(author)).or_insert(*at);
        *latest = (*latest).max(*at);
    }
    let mut newest: HashMap<PublicKey, &Newest<PublicKey>> = HashMap::new();
    for (author, profile) in &kept.homes {
        let identity = table.identity(author);
        if erased
            .get(&identity)
            .is_some_and(|at| profile.order.0 <= *at)
        {
            continue;
        }
        let slot = newest.entry(identity).or_insert(profile);
        if slot.order < profile.order {
            *slot = profile;
        }
    }
    newest
        .into_iter()
        .map(|(identity, profile)| (identity, profile.value))
        .collect()
}
