//! What moderation does, from the records: the labels in force and their effects on
//! listings, transactions and members, each complaint's status, and the public log.
//!
//! Every node computes the same [`Moderation`] from the same records (docs/PROTOCOL.md,
//! section 9.4): a label has effect only if its author was a moderator appointed by the
//! council when they signed it, and stops having effect when a moderator retracts it
//! (expulsions excepted, section 9.1.3).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::ids::{PublicKey, RecordId, Timestamp};
use crate::kinds::{Body, Charter, Complaint, LabelAction, ModerationLabel};
use crate::membership::{effective_labels, Moderators};
use crate::record::Record;

/// A correction note a moderator attached to a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correction {
    /// The label.
    pub label: RecordId,
    /// The note shown with the listing.
    pub note: String,
    /// When.
    pub at: Timestamp,
}

/// Where a complaint stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ComplaintStatus {
    /// No moderator has acted on it yet.
    Received,
    /// A moderator took it up (the latest take-up in force).
    InProgress {
        /// The moderator.
        moderator: PublicKey,
        /// When.
        since: Timestamp,
    },
    /// A moderator acted on it: every label in force that names it, oldest first, other
    /// than take-ups. Closing labels carry the outcome in their reason.
    Closed {
        /// The latest of those labels' times.
        at: Timestamp,
        /// The labels.
        outcome: Vec<RecordId>,
    },
}

/// One line of the public moderation log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// The label's id.
    pub label: RecordId,
    /// Its author, a moderator when they signed it.
    pub moderator: PublicKey,
    /// When.
    pub at: Timestamp,
    /// The label itself: action, target, reason.
    pub body: ModerationLabel,
    /// The retraction that ended it, if any: (retraction id, time, reason).
    pub retracted: Option<(RecordId, Timestamp, String)>,
}

/// The moderation state of the network.
#[derive(Clone, Debug, Default)]
pub struct Moderation {
    moderators: Option<Moderators>,
    hidden: HashMap<RecordId, RecordId>,
    corrections: HashMap<RecordId, Vec<Correction>>,
    cancelled: HashMap<RecordId, RecordId>,
    warnings: HashMap<PublicKey, Vec<RecordId>>,
    complaints: BTreeMap<RecordId, (Timestamp, PublicKey, Complaint)>,
    statuses: HashMap<RecordId, ComplaintStatus>,
    log: Vec<LogEntry>,
}

impl Moderation {
    /// Computes everything from the records of kinds 13 to 16 (others are ignored).
    pub fn compute<'a>(charter: &Charter, records: impl IntoIterator<Item = &'a Record>) -> Self {
        let records: Vec<&Record> = records.into_iter().collect();
        let moderators = Moderators::from_records(charter, records.iter().copied());
        let in_force = effective_labels(&moderators, &records);
        let mut moderation = Moderation {
            log: public_log(&moderators, &records),
            ..Moderation::default()
        };
        for record in &records {
            if let Some(Body::Complaint(c)) = record.body() {
                let h = record.header();
                moderation
                    .complaints
                    .insert(record.id(), (h.created, h.author, c.clone()));
            }
        }
        let mut ordered: Vec<&Record> = in_force.values().copied().collect();
        ordered.sort_by_key(|r| (r.header().created, r.id()));
        for label in ordered {
            moderation.apply(label);
        }
        moderation.moderators = Some(moderators);
        moderation
    }

    fn apply(&mut self, record: &Record) {
        let Some(Body::ModerationLabel(l)) = record.body() else {
            return;
        };
        let (id, at) = (record.id(), record.header().created);
        let target = RecordId(l.target);
        match l.action {
            LabelAction::HideListing => {
                self.hidden.insert(target, id);
            }
            LabelAction::CorrectListing => {
                self.corrections
                    .entry(target)
                    .or_default()
                    .push(Correction {
                        label: id,
                        note: l.correction.clone(),
                        at,
                    });
            }
            LabelAction::CancelTransaction => {
                self.cancelled.insert(target, id);
            }
            LabelAction::WarnMember => {
                self.warnings
                    .entry(PublicKey(l.target))
                    .or_default()
                    .push(id);
            }
            LabelAction::RequireSponsors | LabelAction::ExpelMember => {}
            LabelAction::TakeUpComplaint | LabelAction::CloseComplaint => {}
        }
        if let Some(complaint) = l.complaint {
            let status = self
                .statuses
                .entry(complaint)
                .or_insert(ComplaintStatus::Received);
            // Labels come oldest first: an action closes the complaint (and a later one
            // joins the outcome); a take-up only moves a complaint not yet acted on.
            match (status, l.action) {
                (ComplaintStatus::Closed { .. }, LabelAction::TakeUpComplaint) => {}
                (status, LabelAction::TakeUpComplaint) => {
                    *status = ComplaintStatus::InProgress {
                        moderator: record.header().author,
                        since: at,
                    }
                }
                (ComplaintStatus::Closed { at: last, outcome }, _) => {
                    *last = at;
                    outcome.push(id);
                }
                (status, _) => {
                    *status = ComplaintStatus::Closed {
                        at,
                        outcome: vec![id],
                    }
                }
            }
        }
    }

    /// Whether `key` is a moderator at `at`.
    pub fn is_moderator_at(&self, key: &PublicKey, at: Timestamp) -> bool {
        self.moderators
            .as_ref()
            .is_some_and(|m| m.is_moderator_at(key, at))
    }

    /// The moderators in office at `at`, in key order.
    pub fn moderators_at(&self, at: Timestamp) -> Vec<PublicKey> {
        let Some(moderators) = &self.moderators else {
            return Vec::new();
        };
        let mut keys: Vec<PublicKey> = moderators
            .keys()
            .filter(|k| moderators.is_moderator_at(k, at))
            .copied()
            .collect();
        keys.sort();
        keys
    }

    /// The label hiding a listing series, if one is in force.
    pub fn hidden_by(&self, series: &RecordId) -> Option<RecordId> {
        self.hidden.get(series).copied()
    }

    /// The corrections in force on a listing series, oldest first.
    pub fn corrections(&self, series: &RecordId) -> &[Correction] {
        self.corrections.get(series).map_or(&[], Vec::as_slice)
    }

    /// The label cancelling a transaction, if one is in force.
    pub fn cancelled_by(&self, transaction: &RecordId) -> Option<RecordId> {
        self.cancelled.get(transaction).copied()
    }

    /// The warnings in force on a key, oldest first.
    pub fn warnings(&self, key: &PublicKey) -> &[RecordId] {
        self.warnings.get(key).map_or(&[], Vec::as_slice)
    }

    /// A complaint's status; `None` for an unknown complaint.
    pub fn complaint_status(&self, complaint: &RecordId) -> Option<ComplaintStatus> {
        self.complaints.contains_key(complaint).then(|| {
            self.statuses
                .get(complaint)
                .cloned()
                .unwrap_or(ComplaintStatus::Received)
        })
    }

    /// Every complaint: id, time, complainant and body, in id order.
    pub fn complaints(
        &self,
    ) -> impl Iterator<Item = (&RecordId, &(Timestamp, PublicKey, Complaint))> {
        self.complaints.iter()
    }

    /// The public log: every label signed in office, newest first, with its retraction.
    pub fn log(&self) -> &[LogEntry] {
        &self.log
    }

    /// One entry of the log.
    pub fn log_entry(&self, label: &RecordId) -> Option<&LogEntry> {
        self.log.iter().find(|e| e.label == *label)
    }
}

/// Labels signed in office, newest first, each with the first counting retraction.
fn public_log(moderators: &Moderators, records: &[&Record]) -> Vec<LogEntry> {
    let in_office = |r: &Record| moderators.is_moderator_at(&r.header().author, r.header().created);
    let mut retractions: HashMap<RecordId, (RecordId, Timestamp, String)> = HashMap::new();
    let mut sorted: Vec<&&Record> = records.iter().collect();
    sorted.sort_by_key(|r| (r.header().created, r.id()));
    for record in &sorted {
        if let Some(Body::LabelRetraction(r)) = record.body() {
            if in_office(record) {
                retractions.entry(r.label).or_insert((
                    record.id(),
                    record.header().created,
                    r.reason.clone(),
                ));
            }
        }
    }
    let mut seen = HashSet::new();
    let mut log: Vec<LogEntry> = sorted
        .iter()
        .filter(|r| in_office(r) && seen.insert(r.id()))
        .filter_map(|record| match record.body() {
            Some(Body::ModerationLabel(l)) => Some(LogEntry {
                label: record.id(),
                moderator: record.header().author,
                at: record.header().created,
                body: l.clone(),
                retracted: if l.action == LabelAction::ExpelMember {
                    None
                } else {
                    retractions.get(&record.id()).cloned()
                },
            }),
            _ => None,
        })
        .collect();
    log.reverse();
    log
}

#[cfg(test)]
mod tests;
