//! The effects of records whose force depends on standing, which can change as records
//! arrive: who may publish at a time, which nodes are announced, which node policies and
//! bumps are in force. Like membership, each is a pure function of the record set.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::ids::{PublicKey, RecordId, Timestamp};
use crate::kinds::{Body, Charter, NodeAnnouncement, NodePolicy};
use crate::membership::{MembershipTable, Status};
use crate::record::Record;

/// Whether `key` was in good standing at `at`: a founder, or admitted at or before `at`,
/// and neither expelled nor lapsed (probation ended without sponsors) at or before `at`;
/// and the key was not retired by a recovery at or before `at`.
/// Listings, transactions and complaints have effect only when their author was in good
/// standing at their creation time; sponsorships count only from the sponsor's admission on
/// (see [`crate::membership`]).
pub fn in_good_standing_at(table: &MembershipTable, key: &PublicKey, at: Timestamp) -> bool {
    if table.retired_at(key).is_some_and(|since| since <= at) {
        return false;
    }
    match table.status(key) {
        Status::Founder => true,
        Status::Expelled { at: x } => x > at && table.admitted_at(key).is_some_and(|t| t <= at),
        Status::Lapsed { since, .. } => {
            since > at && table.admitted_at(key).is_some_and(|t| t <= at)
        }
        Status::Member | Status::Probation { .. } => {
            table.admitted_at(key).is_some_and(|t| t <= at)
        }
        Status::Candidate { .. } | Status::Unknown => false,
    }
}

/// Announced nodes: for each node key, its newest announcement (by creation time, then id),
/// kept only while the operator is in good standing now.
pub fn announced_nodes<'a>(
    records: impl IntoIterator<Item = &'a Record>,
    table: &MembershipTable,
) -> HashMap<PublicKey, NodeAnnouncement> {
    let mut newest: HashMap<PublicKey, (Timestamp, RecordId, NodeAnnouncement)> = HashMap::new();
    for record in records {
        let Some(Body::NodeAnnouncement(a)) = record.body() else {
            continue;
        };
        let key = (record.header().created, record.id());
        let entry = newest.entry(record.header().author);
        let replace = match &entry {
            std::collections::hash_map::Entry::Occupied(o) => (o.get().0, o.get().1) < key,
            std::collections::hash_map::Entry::Vacant(_) => true,
        };
        if replace {
            entry.insert_entry((key.0, key.1, a.clone()));
        }
    }
    newest
        .into_iter()
        .filter(|(_, (_, _, a))| table.status(&a.operator).is_in_good_standing())
        .map(|(node, (_, _, a))| (node, a))
        .collect()
}

/// Node policies in force: the newest per (node, target), from announced nodes only.
pub fn node_policies<'a>(
    records: impl IntoIterator<Item = &'a Record>,
    nodes: &HashSet<PublicKey>,
) -> HashMap<(PublicKey, PublicKey), NodePolicy> {
    let mut newest: HashMap<(PublicKey, PublicKey), ((Timestamp, RecordId), NodePolicy)> =
        HashMap::new();
    for record in records {
        let Some(Body::NodePolicy(p)) = record.body() else {
            continue;
        };
        let author = record.header().author;
        if !nodes.contains(&author) {
            continue;
        }
        let order = (record.header().created, record.id());
        let slot = newest
            .entry((author, p.target))
            .or_insert((order, p.clone()));
        if slot.0 < order {
            *slot = (order, p.clone());
        }
    }
    newest.into_iter().map(|(k, (_, p))| (k, p)).collect()
}

/// One bump record, as [`effective_bumps`] reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BumpFact {
    /// The record id.
    pub id: RecordId,
    /// The signing node.
    pub node: PublicKey,
    /// Creation time.
    pub created: Timestamp,
}

/// Bumps in force: signed by an announced node, and within the charter's limit of bumps per
/// node in any 24 hours, counting that node's bumps in (created, id) order.
pub fn effective_bumps(
    charter: &Charter,
    nodes: &HashSet<PublicKey>,
    bumps: &[BumpFact],
) -> BTreeSet<RecordId> {
    effective_bumps_within(charter.bumps_per_node_per_day, nodes, bumps)
}

/// [`effective_bumps`] for a limit of `per_day` bumps per node in any 24 hours.
pub fn effective_bumps_within(
    per_day: u64,
    nodes: &HashSet<PublicKey>,
    bumps: &[BumpFact],
) -> BTreeSet<RecordId> {
    let mut by_node: HashMap<PublicKey, Vec<BumpFact>> = HashMap::new();
    for bump in bumps.iter().filter(|b| nodes.contains(&b.node)) {
        by_node.entry(bump.node).or_default().push(*bump);
    }
    let mut effective = BTreeSet::new();
    for list in by_node.values_mut() {
        list.sort_by_key(|b| (b.created, b.id));
        let mut window: Vec<Timestamp> = Vec::new();
        for bump in list.iter() {
            let day_before = bump.created.minus_ms(Timestamp::DAY_MS);
            window.retain(|t| *t > day_before);
            if (window.len() as u64) < per_day {
                window.push(bump.created);
                effective.insert(bump.id);
            }
        }
    }
    effective
}

/// Keys whose records are accepted: founders, council, joined keys, announcing nodes,
/// appointed moderators, and keys bound by a rotation or recovery. Grows monotonically with the record set.
pub fn known_authors<'a>(
    charter: &Charter,
    records: impl IntoIterator<Item = &'a Record>,
) -> HashSet<PublicKey> {
    let mut known: HashSet<PublicKey> = charter
        .founders
        .iter()
        .chain(&charter.council)
        .copied()
        .collect();
    for record in records {
        match record.body() {
            Some(Body::Join(_) | Body::NodeAnnouncement(_) | Body::KeyRecovery(_)) => {
                known.insert(record.header().author);
            }
            Some(Body::KeyRotation(k)) => {
                known.insert(k.new_key);
            }
            Some(Body::ModeratorAppointment(a)) => {
                known.insert(a.moderator);
            }
            _ => {}
        }
    }
    known
}
