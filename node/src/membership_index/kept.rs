//! The facts the index keeps, updated record by record: what membership, announced nodes,
//! node policies and home nodes are computed from.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use maillon_protocol::ids::{PublicKey, RecordId, Timestamp};
use maillon_protocol::kinds::{Body, Charter, LabelAction, NodeAnnouncement, NodePolicy};
use maillon_protocol::membership::{BindingFact, Facts, SponsorshipFact};
use maillon_protocol::{Header, Record};

/// What noting a record changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Change {
    /// Nothing the index derives.
    Nothing,
    /// A fact the membership table reads.
    Table,
    /// Only what is derived beside the table: announced nodes, policies, home nodes.
    Derived,
}

/// A value with the (created, id) order that decides which of several is newest.
#[derive(Clone, Debug)]
pub(super) struct Newest<T> {
    /// Creation time and id of the record the value comes from.
    pub(super) order: (Timestamp, RecordId),
    /// The value.
    pub(super) value: T,
}

/// Keeps `value` under `key` if it is newer than what the map holds. Returns whether it did.
fn offer<K: std::hash::Hash + Eq, T>(
    map: &mut HashMap<K, Newest<T>>,
    key: K,
    order: (Timestamp, RecordId),
    value: T,
) -> bool {
    match map.entry(key) {
        Entry::Occupied(mut slot) if slot.get().order < order => {
            slot.insert(Newest { order, value });
            true
        }
        Entry::Occupied(_) => false,
        Entry::Vacant(slot) => {
            slot.insert(Newest { order, value });
            true
        }
    }
}

/// Whether a label can change membership: only expulsions and raised requirements can.
fn is_member_label(action: LabelAction) -> bool {
    matches!(
        action,
        LabelAction::ExpelMember | LabelAction::RequireSponsors
    )
}

/// The facts kept so far.
#[derive(Clone, Debug, Default)]
pub(super) struct Kept {
    /// Ids of the records kept, so that a record noted twice counts once.
    seen: HashSet<RecordId>,
    /// Joins, sponsorships, withdrawals and bindings. Expulsions and requirements stay
    /// empty here: they are filled in from `moderation` in each table job's copy.
    pub(super) facts: Facts,
    /// Council appointments, member labels and every retraction: the few records whose
    /// effect depends on which moderators were in office.
    pub(super) moderation: Vec<Record>,
    /// Ids of the member labels in `moderation`.
    member_labels: HashSet<RecordId>,
    /// Newest announcement per node key.
    pub(super) announcements: HashMap<PublicKey, Newest<NodeAnnouncement>>,
    /// Newest policy per authoring node, then per target node.
    pub(super) policies: HashMap<PublicKey, HashMap<PublicKey, Newest<NodePolicy>>>,
    /// Newest profile's home node per author key.
    pub(super) homes: HashMap<PublicKey, Newest<PublicKey>>,
    /// Latest erasure per author key.
    pub(super) erasures: HashMap<PublicKey, Timestamp>,
}

impl Kept {
    /// Keeps the facts a record carries; O(1) amortised. A record without body carries none.
    pub(super) fn note(&mut self, charter: &Charter, record: &Record) -> Change {
        let Some(body) = record.body() else {
            return Change::Nothing;
        };
        if !Self::carries_facts(charter, record.header(), body) || !self.seen.insert(record.id()) {
            return Change::Nothing;
        }
        match body {
            Body::NodeAnnouncement(_)
            | Body::NodePolicy(_)
            | Body::Profile(_)
            | Body::Erasure(_) => self.note_derived(record, body),
            _ => self.note_membership(record, body),
        }
    }

    fn carries_facts(charter: &Charter, header: &Header, body: &Body) -> bool {
        match body {
            Body::Join(_)
            | Body::Sponsorship(_)
            | Body::SponsorshipWithdrawal(_)
            | Body::KeyRotation(_)
            | Body::KeyRecovery(_)
            | Body::LabelRetraction(_)
            | Body::NodeAnnouncement(_)
            | Body::NodePolicy(_)
            | Body::Profile(_)
            | Body::Erasure(_) => true,
            Body::ModeratorAppointment(_) => charter.council.contains(&header.author),
            Body::ModerationLabel(label) => is_member_label(label.action),
            _ => false,
        }
    }

    fn note_membership(&mut self, record: &Record, body: &Body) -> Change {
        let h = record.header();
        let facts = &mut self.facts;
        match body {
            Body::Join(_) => facts.joins.push((h.author, h.created)),
            Body::Sponsorship(s) => facts.sponsorships.push(SponsorshipFact {
                id: record.id(),
                sponsor: h.author,
                candidate: s.candidate,
                created: h.created,
                expires: h.expires.unwrap_or(h.created),
            }),
            Body::SponsorshipWithdrawal(w) => {
                facts.withdrawals.push((w.sponsorship, h.author, h.created))
            }
            Body::KeyRotation(_) | Body::KeyRecovery(_) => {
                facts.bindings.extend(BindingFact::of(record))
            }
            Body::LabelRetraction(r) => {
                self.moderation.push(record.clone());
                // A retraction of a label not (yet) held changes nothing now; if the label
                // arrives later, the label itself marks the table.
                if !self.member_labels.contains(&r.label) {
                    return Change::Nothing;
                }
            }
            Body::ModerationLabel(_) => {
                self.member_labels.insert(record.id());
                self.moderation.push(record.clone());
            }
            Body::ModeratorAppointment(_) => self.moderation.push(record.clone()),
            _ => return Change::Nothing,
        }
        Change::Table
    }

    fn note_derived(&mut self, record: &Record, body: &Body) -> Change {
        let h = record.header();
        let order = (h.created, record.id());
        let changed = match body {
            Body::NodeAnnouncement(a) => offer(&mut self.announcements, h.author, order, a.clone()),
            Body::NodePolicy(p) => offer(
                self.policies.entry(h.author).or_default(),
                p.target,
                order,
                p.clone(),
            ),
            Body::Profile(p) => offer(&mut self.homes, h.author, order, p.home_node),
            Body::Erasure(_) => match self.erasures.entry(h.author) {
                Entry::Occupied(mut at) if *at.get() < h.created => {
                    at.insert(h.created);
                    true
                }
                Entry::Occupied(_) => false,
                Entry::Vacant(at) => {
                    at.insert(h.created);
                    true
                }
            },
            _ => false,
        };
        if changed {
            Change::Derived
        } else {
            Change::Nothing
        }
    }
}
