//! The facts membership depends on, extracted from a record set: joins, sponsorships,
//! withdrawals, effective expulsions and requirements, and key bindings.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::ids::{PublicKey, RecordId, Timestamp};
use crate::kinds::{AppointmentAction, Body, Charter, LabelAction};
use crate::record::Record;

/// The charter's numbers that membership uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    /// Founders' keys.
    pub founders: Vec<PublicKey>,
    /// Default sponsors required.
    pub sponsors_required: u64,
    /// Base sponsoring quota.
    pub sponsor_quota: u64,
    /// Quota lost per strike.
    pub strike_penalty: u64,
    /// Probation grace period in ms.
    pub probation_grace_ms: u64,
    /// Distinct sponsors' signatures a recovery needs.
    pub recovery_threshold: u64,
}

impl Rules {
    /// The rules of a charter.
    pub fn of(charter: &Charter) -> Rules {
        Rules {
            founders: charter.founders.clone(),
            sponsors_required: charter.sponsors_required,
            sponsor_quota: charter.sponsor_quota,
            strike_penalty: charter.strike_penalty,
            probation_grace_ms: charter.probation_grace_ms,
            recovery_threshold: charter.recovery_threshold,
        }
    }
}

/// One sponsorship record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SponsorshipFact {
    /// The record id.
    pub id: RecordId,
    /// The signer.
    pub sponsor: PublicKey,
    /// The candidate.
    pub candidate: PublicKey,
    /// Creation time.
    pub created: Timestamp,
    /// Expiry: the sponsorship must be used to admit the candidate before it.
    pub expires: Timestamp,
}

/// A key bound to an existing identity by a rotation or a recovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindingFact {
    /// The key that held the identity (any key of it).
    pub old_key: PublicKey,
    /// The new key.
    pub new_key: PublicKey,
    /// Creation time of the binding record.
    pub created: Timestamp,
    /// Its id, to break ties.
    pub id: RecordId,
    /// A recovery's co-signing keys; empty for a rotation.
    pub signers: Vec<PublicKey>,
}

impl BindingFact {
    /// The binding a KeyRotation or KeyRecovery record makes (their bodies are never erased).
    pub fn of(record: &Record) -> Option<BindingFact> {
        let h = record.header();
        match record.body() {
            Some(Body::KeyRotation(k)) => Some(BindingFact {
                old_key: h.author,
                new_key: k.new_key,
                created: h.created,
                id: record.id(),
                signers: Vec::new(),
            }),
            Some(Body::KeyRecovery(k)) => Some(BindingFact {
                old_key: k.old_key,
                new_key: h.author,
                created: h.created,
                id: record.id(),
                signers: k.sponsor_signatures.iter().map(|(key, _)| *key).collect(),
            }),
            _ => None,
        }
    }

    /// Whether the binding is a recovery.
    pub fn is_recovery(&self) -> bool {
        !self.signers.is_empty()
    }
}

/// Everything the membership rule reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Join records: (author, created).
    pub joins: Vec<(PublicKey, Timestamp)>,
    /// Sponsorship records.
    pub sponsorships: Vec<SponsorshipFact>,
    /// Withdrawals: (sponsorship id, author, created).
    pub withdrawals: Vec<(RecordId, PublicKey, Timestamp)>,
    /// Effective expulsion labels: (target, created).
    pub expulsions: Vec<(PublicKey, Timestamp)>,
    /// Effective require-more-sponsors labels: (target, count, created).
    pub requirements: Vec<(PublicKey, u64, Timestamp)>,
    /// Key rotations and recoveries.
    pub bindings: Vec<BindingFact>,
}

/// When each moderator held office, from the appointment records.
#[derive(Clone, Debug, Default)]
pub struct Moderators {
    /// Per moderator: appointment changes sorted by (time, id).
    changes: HashMap<PublicKey, Vec<(Timestamp, RecordId, AppointmentAction)>>,
}

impl Moderators {
    /// Reads appointments whose author is on the council. Records in a set have passed
    /// validation, so co-signatures and the threshold were checked on entry.
    pub fn from_records<'a>(
        charter: &Charter,
        records: impl IntoIterator<Item = &'a Record>,
    ) -> Moderators {
        let mut changes: HashMap<PublicKey, Vec<_>> = HashMap::new();
        for record in records {
            if let Some(Body::ModeratorAppointment(a)) = record.body() {
                if charter.council.contains(&record.header().author) {
                    changes.entry(a.moderator).or_default().push((
                        record.header().created,
                        record.id(),
                        a.action,
                    ));
                }
            }
        }
        for list in changes.values_mut() {
            list.sort_by_key(|(t, id, _)| (*t, *id));
        }
        Moderators { changes }
    }

    /// Whether `key` was a moderator at `at`: the latest change at or before `at` appointed it.
    pub fn is_moderator_at(&self, key: &PublicKey, at: Timestamp) -> bool {
        self.changes.get(key).is_some_and(|list| {
            list.iter()
                .rev()
                .find(|(t, _, _)| *t <= at)
                .is_some_and(|(_, _, a)| *a == AppointmentAction::Appoint)
        })
    }

    /// Every key that has ever been appointed.
    pub fn keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.changes.keys()
    }
}

/// Ids of labels that are in force: signed by a moderator in office at the label's time and
/// not retracted by a moderator in office at the retraction's time. Expulsions cannot be
/// retracted.
pub fn effective_labels<'a>(
    moderators: &Moderators,
    records: &[&'a Record],
) -> BTreeMap<RecordId, &'a Record> {
    let mut labels = BTreeMap::new();
    let mut retracted = HashSet::new();
    for record in records {
        let header = record.header();
        match record.body() {
            Some(Body::ModerationLabel(_))
                if moderators.is_moderator_at(&header.author, header.created) =>
            {
                labels.insert(record.id(), *record);
            }
            Some(Body::LabelRetraction(r))
                if moderators.is_moderator_at(&header.author, header.created) =>
            {
                retracted.insert(r.label);
            }
            _ => {}
        }
    }
    labels.retain(|id, record| {
        let expel = matches!(record.body(), Some(Body::ModerationLabel(l)) if l.action == LabelAction::ExpelMember);
        expel || !retracted.contains(id)
    });
    labels
}

impl Facts {
    /// Extracts the facts from a record set. Erased bodies are skipped; an erasure does not
    /// change membership because joins and sponsorships carry no personal data and are
    /// never erased (see docs/PROTOCOL.md, "Erasure").
    pub fn from_records<'a>(
        charter: &Charter,
        records: impl IntoIterator<Item = &'a Record>,
    ) -> Facts {
        let records: Vec<&Record> = records.into_iter().collect();
        let moderators = Moderators::from_records(charter, records.iter().copied());
        let mut facts = Facts::default();
        for (_, label) in effective_labels(&moderators, &records) {
            let Some(Body::ModerationLabel(l)) = label.body() else {
                continue;
            };
            let created = label.header().created;
            match l.action {
                LabelAction::ExpelMember => facts.expulsions.push((PublicKey(l.target), created)),
                LabelAction::RequireSponsors => facts.requirements.push((
                    PublicKey(l.target),
                    l.required_sponsors.unwrap_or(0),
                    created,
                )),
                _ => {}
            }
        }
        for record in records {
            let h = record.header();
            match record.body() {
                Some(Body::Join(_)) => facts.joins.push((h.author, h.created)),
                Some(Body::Sponsorship(s)) => facts.sponsorships.push(SponsorshipFact {
                    id: record.id(),
                    sponsor: h.author,
                    candidate: s.candidate,
                    created: h.created,
                    expires: h.expires.unwrap_or(h.created),
                }),
                Some(Body::SponsorshipWithdrawal(w)) => {
                    facts.withdrawals.push((w.sponsorship, h.author, h.created))
                }
                Some(Body::KeyRotation(_) | Body::KeyRecovery(_)) => {
                    facts.bindings.extend(BindingFact::of(record))
                }
                _ => {}
            }
        }
        facts
    }
}

/// Maps every key to its identity: the first key of a chain of rotations and recoveries.
#[derive(Clone, Debug, Default)]
pub struct Identities {
    alias: HashMap<PublicKey, PublicKey>,
    /// The applied binding that bound each new key.
    applied: HashMap<PublicKey, RecordId>,
    /// Keys a recovery took out of use, from the recovery's creation time.
    retired: HashMap<PublicKey, Timestamp>,
}

impl Identities {
    /// Applies bindings in (created, id) order. A binding is skipped when its new key is a
    /// founder, was bound by an earlier binding, or is already the root of an identity that
    /// has aliases, and a recovery is skipped when its co-signers are fewer distinct
    /// identities, as they stand at that point, than the charter's recovery threshold.
    /// A key's own join does not stop a binding:
    /// the holder of the new key signed the binding (a rotation carries the new key's
    /// signature, a recovery is authored by it), so the binding is its holder's choice, and
    /// which bindings apply depends only on the bindings themselves.
    ///
    /// An applied recovery retires, from its creation time, every key its identity had
    /// before it (docs/PROTOCOL.md 9.1.2): a lost or stolen key stops counting.
    pub fn from_facts(rules: &Rules, facts: &Facts) -> Identities {
        let mut taken: HashSet<PublicKey> = rules.founders.iter().copied().collect();
        let mut bindings = facts.bindings.clone();
        bindings.sort_by_key(|b| (b.created, b.id));
        let mut identities = Identities::default();
        for binding in bindings {
            if taken.contains(&binding.new_key) {
                continue;
            }
            let root = identities.resolve(&binding.old_key);
            if root == binding.new_key {
                continue;
            }
            if binding.is_recovery() {
                let signers: HashSet<PublicKey> = binding
                    .signers
                    .iter()
                    .map(|k| identities.resolve(k))
                    .collect();
                if (signers.len() as u64) < rules.recovery_threshold {
                    continue;
                }
                let mut before = identities.aliases_of(&root);
                before.push(root);
                for key in before {
                    identities.retired.entry(key).or_insert(binding.created);
                }
            }
            identities.alias.insert(binding.new_key, root);
            identities.applied.insert(binding.new_key, binding.id);
            taken.insert(binding.new_key);
            // A root with aliases can never be bound elsewhere: that would split its identity.
            taken.insert(root);
        }
        identities
    }

    /// The identity `key` belongs to.
    pub fn resolve(&self, key: &PublicKey) -> PublicKey {
        self.alias.get(key).copied().unwrap_or(*key)
    }

    /// Keys bound to `identity` besides itself.
    pub fn aliases_of(&self, identity: &PublicKey) -> Vec<PublicKey> {
        let mut keys: Vec<PublicKey> = self
            .alias
            .iter()
            .filter(|(_, root)| *root == identity)
            .map(|(k, _)| *k)
            .collect();
        keys.sort();
        keys
    }

    /// The applied bindings that bound keys to `key`'s identity, ascending: the refs that
    /// link its keys (docs/PROTOCOL.md 8.6).
    pub fn bindings_of(&self, key: &PublicKey) -> Vec<RecordId> {
        let root = self.resolve(key);
        let mut ids: Vec<RecordId> = self
            .aliases_of(&root)
            .iter()
            .filter_map(|k| self.applied.get(k).copied())
            .collect();
        ids.sort();
        ids
    }

    /// Since when a recovery took `key` out of use, if one did.
    pub fn retired_at(&self, key: &PublicKey) -> Option<Timestamp> {
        self.retired.get(key).copied()
    }

    /// Whether a record `key` signed at `at` counts: not after a recovery retired the key.
    pub fn counts(&self, key: &PublicKey, at: Timestamp) -> bool {
        self.retired_at(key).is_none_or(|since| at < since)
    }
}
