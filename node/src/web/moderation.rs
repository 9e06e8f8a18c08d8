//! The moderation index: complaints, appointments, labels and retractions kept in memory,
//! and the protocol's [`Moderation`] computed from them when first read after a change.
//! A full recomputation is exact and cheap for the thousands of such records a network
//! holds; being lazy, a burst of arrivals (a cold sync) costs one computation, not one each.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use maillon_protocol::kinds::Charter;
use maillon_protocol::moderation::Moderation;
use maillon_protocol::{Kind, Record, RecordId};

/// Every kind the moderation index reads.
pub const KINDS: &[Kind] = &[
    Kind::Complaint,
    Kind::ModeratorAppointment,
    Kind::ModerationLabel,
    Kind::LabelRetraction,
];

/// The moderation records and what they add up to.
#[derive(Debug)]
pub struct ModerationIndex {
    charter: Charter,
    records: Vec<Record>,
    ids: HashSet<RecordId>,
    /// The state, or `None` when a change came since it was computed.
    computed: Mutex<Option<Arc<Moderation>>>,
}

impl ModerationIndex {
    /// An index of these records (others are ignored).
    pub fn new(charter: Charter, records: impl IntoIterator<Item = Record>) -> ModerationIndex {
        let mut index = ModerationIndex {
            charter,
            records: Vec::new(),
            ids: HashSet::new(),
            computed: Mutex::new(None),
        };
        for record in records {
            index.keep(record);
        }
        index
    }

    /// Takes in one record; returns whether the moderation state changed.
    pub fn apply(&mut self, record: &Record) -> bool {
        if !self.keep(record.clone()) {
            return false;
        }
        self.invalidate();
        true
    }

    /// Forgets the complaints of `keys` (one identity) made up to `until`: their bodies are
    /// erased. Returns whether the moderation state changed.
    pub fn apply_erasure(
        &mut self,
        keys: &[maillon_protocol::PublicKey],
        until: maillon_protocol::Timestamp,
    ) -> bool {
        let before = self.records.len();
        self.records.retain(|r| {
            let h = r.header();
            !(h.kind == Kind::Complaint && keys.contains(&h.author) && h.created <= until)
        });
        if self.records.len() == before {
            return false;
        }
        self.ids = self.records.iter().map(Record::id).collect();
        self.invalidate();
        true
    }

    fn keep(&mut self, record: Record) -> bool {
        let wanted = KINDS.contains(&record.header().kind) && record.body().is_some();
        if wanted && self.ids.insert(record.id()) {
            self.records.push(record);
            return true;
        }
        false
    }

    fn invalidate(&mut self) {
        *self.computed.get_mut().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The current state, cheap to clone and read without holding the index; computed here
    /// if a record arrived since the last time.
    pub fn current(&self) -> Arc<Moderation> {
        let mut computed = self.computed.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            computed
                .get_or_insert_with(|| Arc::new(Moderation::compute(&self.charter, &self.records))),
        )
    }

    /// A held moderation record.
    pub fn record(&self, id: &RecordId) -> Option<&Record> {
        self.records.iter().find(|r| r.id() == *id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use maillon_protocol::kinds::{
        AppointmentAction, Complaint, ComplaintReason, ComplaintSubject, LabelAction,
    };
    use maillon_protocol::moderation::ComplaintStatus;
    use maillon_protocol::testkit::{self, Signer, T0};

    #[test]
    fn labels_complaints_and_erasures_change_the_state() {
        let council = testkit::key("council");
        let signer = Signer::new(testkit::charter(&[&council], &[&council], 1));
        let moderator = testkit::key("moderator");
        let member = testkit::key("member");
        let appoint = signer.appoint(
            &council,
            &[],
            moderator.public_key(),
            AppointmentAction::Appoint,
            T0,
        );
        let mut index = ModerationIndex::new(signer.charter.clone(), [appoint.clone()]);
        assert!(!index.apply(&appoint), "a duplicate changes nothing");
        let complaint = signer.sign(
            &member,
            Complaint {
                subject: ComplaintSubject::Member(moderator.public_key()),
                reason: ComplaintReason::Other,
                text: "Rien de grave.".into(),
            },
            T0.plus_ms(1),
            None,
        );
        assert!(index.apply(&complaint));
        assert_eq!(
            index.current().complaint_status(&complaint.id()),
            Some(ComplaintStatus::Received)
        );
        let warn = signer.member_label(
            &moderator,
            LabelAction::WarnMember,
            member.public_key(),
            None,
            T0.plus_ms(2),
        );
        assert!(index.apply(&warn));
        assert_eq!(index.current().warnings(&member.public_key()), &[warn.id()]);
        assert!(index.record(&warn.id()).is_some());
        let listing = signer.listing(&member, "Table", T0.plus_ms(3));
        assert!(!index.apply(&listing), "other kinds are ignored");
        assert!(
            !index.apply(&signer.erase(&member, T0.plus_ms(4))),
            "erasures come as keys"
        );
        assert!(index.apply_erasure(&[member.public_key()], T0.plus_ms(4)));
        assert_eq!(index.current().complaint_status(&complaint.id()), None);
    }
}
