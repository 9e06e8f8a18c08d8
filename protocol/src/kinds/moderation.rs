//! Moderation kinds: complaints, moderator appointments, labels and their retraction.

use super::{header_rules, BodyFields};
use crate::cbor::Value;
use crate::error::DecodeError;
use crate::fields::{put, Fields};
use crate::ids::{NetworkId, PublicKey, RecordId, Timestamp};
use crate::record::Header;
use crate::signature::Signature;

/// What a complaint is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ComplaintSubject {
    /// A listing series id.
    Listing(RecordId),
    /// A transaction id.
    Transaction(RecordId),
    /// A member key.
    Member(PublicKey),
}

/// Why a member complains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ComplaintReason {
    /// Suspected scam.
    Scam = 0,
    /// The other party does not answer.
    NoAnswer = 1,
    /// Inappropriate content or behaviour.
    Inappropriate = 2,
    /// Wrong information in a listing.
    WrongInformation = 3,
    /// Anything else, told in the text.
    Other = 4,
}

impl ComplaintReason {
    /// Every reason, in code order.
    pub const ALL: [ComplaintReason; 5] = [
        ComplaintReason::Scam,
        ComplaintReason::NoAnswer,
        ComplaintReason::Inappropriate,
        ComplaintReason::WrongInformation,
        ComplaintReason::Other,
    ];
}

/// A member files a complaint for the moderators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Complaint {
    /// What it is about.
    pub subject: ComplaintSubject,
    /// Why.
    pub reason: ComplaintReason,
    /// The complainant's account, 1..=2000 bytes.
    pub text: String,
}

impl BodyFields for Complaint {
    fn to_value(&self) -> Value {
        let (code, bytes) = match &self.subject {
            ComplaintSubject::Listing(id) => (0, id.0),
            ComplaintSubject::Transaction(id) => (1, id.0),
            ComplaintSubject::Member(key) => (2, key.0),
        };
        Value::Array(vec![
            put::uint(code),
            put::bytes(&bytes),
            put::uint(self.reason as u64),
            put::text(&self.text),
        ])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 4, "complaint")?;
        let code = f.uint_in("subject_kind", 0, 2)?;
        let bytes = f.bytes32("subject")?;
        let subject = match code {
            0 => ComplaintSubject::Listing(RecordId(bytes)),
            1 => ComplaintSubject::Transaction(RecordId(bytes)),
            _ => ComplaintSubject::Member(PublicKey(bytes)),
        };
        Ok(Complaint {
            subject,
            reason: ComplaintReason::ALL[f.uint_in("reason", 0, 4)? as usize],
            text: f.text("text", 1, 2000)?,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::no_expiry(header)
    }
}

/// Appoint or remove a moderator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppointmentAction {
    /// The key becomes a moderator.
    Appoint = 0,
    /// The key stops being a moderator.
    Remove = 1,
}

/// Domain tag of the statement council members co-sign.
pub const APPOINTMENT_TAG: &[u8] = b"maillon/appointment/v1\0";

/// The bytes each council member signs: the tag, the network, the moderator, the action
/// as one byte and the record's creation time as 8 big-endian bytes.
pub fn appointment_message(
    network: &NetworkId,
    moderator: &PublicKey,
    action: AppointmentAction,
    created: Timestamp,
) -> Vec<u8> {
    [
        APPOINTMENT_TAG,
        &network.0,
        &moderator.0,
        &[action as u8],
        &created.0.to_be_bytes(),
    ]
    .concat()
}

/// The council appoints or removes a moderator. Author: a council member, whose record
/// signature counts as one council signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModeratorAppointment {
    /// The moderator's key.
    pub moderator: PublicKey,
    /// Appoint or remove.
    pub action: AppointmentAction,
    /// Other council members' signatures over [`appointment_message`], keys ascending, ≤ 32.
    pub council_signatures: Vec<(PublicKey, Signature)>,
}

impl BodyFields for ModeratorAppointment {
    fn to_value(&self) -> Value {
        Value::Array(vec![
            put::key(&self.moderator),
            put::uint(self.action as u64),
            put::cosignatures(&self.council_signatures),
        ])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 3, "moderator_appointment")?;
        Ok(ModeratorAppointment {
            moderator: f.key("moderator")?,
            action: if f.uint_in("action", 0, 1)? == 0 {
                AppointmentAction::Appoint
            } else {
                AppointmentAction::Remove
            },
            council_signatures: f.cosignatures("council_signatures", 32)?,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::no_expiry(header)?;
        if self
            .council_signatures
            .iter()
            .any(|(k, _)| *k == header.author)
        {
            return Err(DecodeError::Inconsistent(
                "the author's own signature is the record's",
            ));
        }
        Ok(())
    }
}

/// What a moderation label does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LabelAction {
    /// Hide a listing series (target: series id).
    HideListing = 0,
    /// Correct a listing's information with a note (target: series id).
    CorrectListing = 1,
    /// Cancel a transaction (target: transaction id).
    CancelTransaction = 2,
    /// Warn a member (target: member key).
    WarnMember = 3,
    /// Require more sponsors for a candidate or member (target: key).
    RequireSponsors = 4,
    /// Expel a member, for good (target: member key).
    ExpelMember = 5,
    /// Take up a complaint: a moderator is handling it (target and `complaint`: the
    /// complaint's id). No effect but the complaint's status.
    TakeUpComplaint = 6,
    /// Close a complaint, with the outcome in the reason (target and `complaint`: the
    /// complaint's id). No effect but the complaint's status.
    CloseComplaint = 7,
}

impl LabelAction {
    /// Every action, in code order.
    pub const ALL: [LabelAction; 8] = [
        LabelAction::HideListing,
        LabelAction::CorrectListing,
        LabelAction::CancelTransaction,
        LabelAction::WarnMember,
        LabelAction::RequireSponsors,
        LabelAction::ExpelMember,
        LabelAction::TakeUpComplaint,
        LabelAction::CloseComplaint,
    ];

    /// Whether the action only records how a complaint is handled.
    pub fn handles_complaint(self) -> bool {
        matches!(
            self,
            LabelAction::TakeUpComplaint | LabelAction::CloseComplaint
        )
    }

    /// Whether the target is a record id (listing or transaction) rather than a key.
    pub fn targets_record(self) -> bool {
        matches!(
            self,
            LabelAction::HideListing | LabelAction::CorrectListing | LabelAction::CancelTransaction
        )
    }
}

/// A moderator's signed decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModerationLabel {
    /// What it does.
    pub action: LabelAction,
    /// A record id or a key, as the action says.
    pub target: [u8; 32],
    /// The reason, shown in the public log, 1..=1000 bytes.
    pub reason: String,
    /// The correction note, 1..=2000 bytes for `CorrectListing`, empty otherwise.
    pub correction: String,
    /// For `RequireSponsors`: the count required, 2..=16; `None` otherwise.
    pub required_sponsors: Option<u64>,
    /// The complaint that led to it, if any; then also a ref.
    pub complaint: Option<RecordId>,
}

impl BodyFields for ModerationLabel {
    fn to_value(&self) -> Value {
        Value::Array(vec![
            put::uint(self.action as u64),
            put::bytes(&self.target),
            put::text(&self.reason),
            put::text(&self.correction),
            put::opt_uint(self.required_sponsors),
            put::opt_id(&self.complaint),
        ])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 6, "moderation_label")?;
        let action = LabelAction::ALL[f.uint_in("action", 0, 7)? as usize];
        let target = f.bytes32("target")?;
        let reason = f.text("reason", 1, 1000)?;
        let correction = f.text("correction", 0, 2000)?;
        let required_sponsors = f.opt_uint("required_sponsors")?;
        let complaint = f.opt_record_id("complaint")?;
        if action.handles_complaint() && complaint.map(|c| c.0) != Some(target) {
            return Err(DecodeError::Inconsistent(
                "taking up or closing a complaint names the complaint as target and complaint",
            ));
        }
        if (action == LabelAction::CorrectListing) == correction.is_empty() {
            return Err(DecodeError::Inconsistent(
                "a correction note goes with, and only with, a correction",
            ));
        }
        match (action, required_sponsors) {
            (LabelAction::RequireSponsors, Some(n)) if (2..=16).contains(&n) => {}
            (LabelAction::RequireSponsors, Some(n)) => {
                return Err(DecodeError::OutOfRange {
                    field: "required_sponsors",
                    value: n as i128,
                })
            }
            (LabelAction::RequireSponsors, None) | (_, Some(_)) => {
                return Err(DecodeError::Inconsistent(
                    "required_sponsors goes with, and only with, require_sponsors",
                ))
            }
            _ => {}
        }
        Ok(ModerationLabel {
            action,
            target,
            reason,
            correction,
            required_sponsors,
            complaint,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::no_expiry(header)
    }
}

/// A moderator retracts a label. An expulsion cannot be retracted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelRetraction {
    /// The label; also the only ref.
    pub label: RecordId,
    /// Why, 1..=1000 bytes.
    pub reason: String,
}

impl BodyFields for LabelRetraction {
    fn to_value(&self) -> Value {
        Value::Array(vec![put::id(&self.label), put::text(&self.reason)])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 2, "label_retraction")?;
        Ok(LabelRetraction {
            label: f.record_id("label")?,
            reason: f.text("reason", 1, 1000)?,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::no_expiry(header)
    }
}
