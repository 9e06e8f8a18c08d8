//! Tests of [`Moderation`]: offices, retractions, effects and complaint statuses.

use super::*;
use crate::kinds::{AppointmentAction, ComplaintReason, ComplaintSubject, LabelRetraction};
use crate::testkit::{self, Signer, DAY, T0};
use crate::SecretKey;

struct World {
    signer: Signer,
    council: Vec<SecretKey>,
    moderator: SecretKey,
    outsider: SecretKey,
    member: SecretKey,
    records: Vec<Record>,
}

impl World {
    fn new() -> World {
        let council: Vec<SecretKey> = ["c1", "c2", "c3"].iter().map(|l| testkit::key(l)).collect();
        let refs: Vec<&SecretKey> = council.iter().collect();
        let signer = Signer::new(testkit::charter(&refs, &refs, 2));
        let moderator = testkit::key("moderator");
        let appointment = signer.appoint(
            &council[0],
            &[&council[1]],
            moderator.public_key(),
            AppointmentAction::Appoint,
            T0,
        );
        World {
            signer,
            council,
            moderator,
            outsider: testkit::key("outsider"),
            member: testkit::key("member"),
            records: vec![appointment],
        }
    }

    fn label(
        &mut self,
        by: &SecretKey,
        action: LabelAction,
        target: [u8; 32],
        complaint: Option<RecordId>,
        at: Timestamp,
    ) -> RecordId {
        let body = ModerationLabel {
            action,
            target,
            reason: format!("{action:?}"),
            correction: if action == LabelAction::CorrectListing {
                "Le prix est de 50 €.".into()
            } else {
                String::new()
            },
            required_sponsors: None,
            complaint,
        };
        let record = self.signer.sign(by, body, at, None);
        let id = record.id();
        self.records.push(record);
        id
    }

    fn retract(&mut self, by: &SecretKey, label: RecordId, at: Timestamp) {
        let body = LabelRetraction {
            label,
            reason: "Erreur.".into(),
        };
        let record = self.signer.sign(by, body, at, None);
        self.records.push(record);
    }

    fn complaint(&mut self, about: RecordId, at: Timestamp) -> RecordId {
        let body = Complaint {
            subject: ComplaintSubject::Listing(about),
            reason: ComplaintReason::Scam,
            text: "Il demande un paiement d'avance.".into(),
        };
        let record = self.signer.sign(&self.member, body, at, None);
        let id = record.id();
        self.records.push(record);
        id
    }

    fn moderation(&self) -> Moderation {
        Moderation::compute(&self.signer.charter, &self.records)
    }
}

#[test]
fn only_labels_signed_in_office_take_effect() {
    let mut w = World::new();
    let series = RecordId([1; 32]);
    let (moderator, outsider) = (w.moderator.clone(), w.outsider.clone());
    let forged = w.label(
        &outsider,
        LabelAction::HideListing,
        series.0,
        None,
        T0.plus_ms(1),
    );
    assert_eq!(w.moderation().hidden_by(&series), None);
    assert!(
        w.moderation().log_entry(&forged).is_none(),
        "not in the log"
    );
    let real = w.label(
        &moderator,
        LabelAction::HideListing,
        series.0,
        None,
        T0.plus_ms(2),
    );
    let m = w.moderation();
    assert_eq!(m.hidden_by(&series), Some(real));
    assert_eq!(m.log().len(), 1);
    assert_eq!(m.moderators_at(T0.plus_ms(2)), vec![moderator.public_key()]);
    assert!(!m.is_moderator_at(&outsider.public_key(), T0.plus_ms(2)));
}

#[test]
fn a_removed_moderator_s_later_labels_have_no_effect_and_earlier_ones_stay() {
    let mut w = World::new();
    let moderator = w.moderator.clone();
    let before = RecordId([1; 32]);
    let after = RecordId([2; 32]);
    w.label(
        &moderator,
        LabelAction::HideListing,
        before.0,
        None,
        T0.plus_ms(DAY),
    );
    let removal = w.signer.appoint(
        &w.council[1],
        &[&w.council[2]],
        moderator.public_key(),
        AppointmentAction::Remove,
        T0.plus_ms(2 * DAY),
    );
    w.records.push(removal);
    w.label(
        &moderator,
        LabelAction::HideListing,
        after.0,
        None,
        T0.plus_ms(3 * DAY),
    );
    let m = w.moderation();
    assert!(m.hidden_by(&before).is_some());
    assert_eq!(m.hidden_by(&after), None);
    assert!(m.moderators_at(T0.plus_ms(3 * DAY)).is_empty());
}

#[test]
fn a_retraction_lifts_a_label_but_never_an_expulsion() {
    let mut w = World::new();
    let moderator = w.moderator.clone();
    let series = RecordId([1; 32]);
    let member = w.member.public_key();
    let hide = w.label(
        &moderator,
        LabelAction::HideListing,
        series.0,
        None,
        T0.plus_ms(1),
    );
    let warn = w.label(
        &moderator,
        LabelAction::WarnMember,
        member.0,
        None,
        T0.plus_ms(2),
    );
    let expel = w.label(
        &moderator,
        LabelAction::ExpelMember,
        member.0,
        None,
        T0.plus_ms(3),
    );
    w.retract(&moderator, hide, T0.plus_ms(4));
    w.retract(&moderator, expel, T0.plus_ms(5));
    let m = w.moderation();
    assert_eq!(m.hidden_by(&series), None);
    assert_eq!(m.warnings(&member), &[warn]);
    let entry = m.log_entry(&hide).unwrap();
    assert_eq!(
        entry.retracted.as_ref().map(|r| r.2.as_str()),
        Some("Erreur.")
    );
    assert_eq!(m.log_entry(&expel).unwrap().retracted, None);
    assert_eq!(m.log()[0].label, expel, "newest first");
}

#[test]
fn corrections_and_cancellations_are_kept_per_target() {
    let mut w = World::new();
    let moderator = w.moderator.clone();
    let series = RecordId([1; 32]);
    let transaction = RecordId([3; 32]);
    let fix = w.label(
        &moderator,
        LabelAction::CorrectListing,
        series.0,
        None,
        T0.plus_ms(1),
    );
    let cancel = w.label(
        &moderator,
        LabelAction::CancelTransaction,
        transaction.0,
        None,
        T0.plus_ms(2),
    );
    let m = w.moderation();
    assert_eq!(m.corrections(&series).len(), 1);
    assert_eq!(m.corrections(&series)[0].label, fix);
    assert_eq!(m.corrections(&series)[0].note, "Le prix est de 50 €.");
    assert_eq!(m.cancelled_by(&transaction), Some(cancel));
    assert_eq!(m.cancelled_by(&series), None);
    assert!(m.corrections(&transaction).is_empty());
}

#[test]
fn a_complaint_is_received_then_in_progress_then_closed_with_its_outcome() {
    let mut w = World::new();
    let moderator = w.moderator.clone();
    let series = RecordId([1; 32]);
    let complaint = w.complaint(series, T0.plus_ms(10));
    assert_eq!(
        w.moderation().complaint_status(&complaint),
        Some(ComplaintStatus::Received)
    );
    assert_eq!(w.moderation().complaint_status(&RecordId([9; 32])), None);
    w.label(
        &moderator,
        LabelAction::TakeUpComplaint,
        complaint.0,
        Some(complaint),
        T0.plus_ms(20),
    );
    assert_eq!(
        w.moderation().complaint_status(&complaint),
        Some(ComplaintStatus::InProgress {
            moderator: moderator.public_key(),
            since: T0.plus_ms(20)
        })
    );
    let hide = w.label(
        &moderator,
        LabelAction::HideListing,
        series.0,
        Some(complaint),
        T0.plus_ms(30),
    );
    let close = w.label(
        &moderator,
        LabelAction::CloseComplaint,
        complaint.0,
        Some(complaint),
        T0.plus_ms(40),
    );
    let expected = ComplaintStatus::Closed {
        at: T0.plus_ms(40),
        outcome: vec![hide, close],
    };
    assert_eq!(w.moderation().complaint_status(&complaint), Some(expected));
    // Retracting both actions sends it back to the moderator who took it up.
    w.retract(&moderator, hide, T0.plus_ms(50));
    w.retract(&moderator, close, T0.plus_ms(51));
    assert!(matches!(
        w.moderation().complaint_status(&complaint),
        Some(ComplaintStatus::InProgress { .. })
    ));
    assert_eq!(w.moderation().complaints().count(), 1);
}

#[test]
fn the_result_does_not_depend_on_the_order_of_the_records() {
    let mut w = World::new();
    let moderator = w.moderator.clone();
    let series = RecordId([1; 32]);
    let complaint = w.complaint(series, T0.plus_ms(10));
    w.label(
        &moderator,
        LabelAction::TakeUpComplaint,
        complaint.0,
        Some(complaint),
        T0.plus_ms(20),
    );
    let hide = w.label(
        &moderator,
        LabelAction::HideListing,
        series.0,
        Some(complaint),
        T0.plus_ms(30),
    );
    w.label(
        &moderator,
        LabelAction::WarnMember,
        w.member.public_key().0,
        Some(complaint),
        T0.plus_ms(30),
    );
    let forward = w.moderation();
    w.records.reverse();
    let backward = w.moderation();
    assert_eq!(
        forward.complaint_status(&complaint),
        backward.complaint_status(&complaint)
    );
    assert_eq!(forward.log(), backward.log());
    assert_eq!(backward.hidden_by(&series), Some(hide));
}
