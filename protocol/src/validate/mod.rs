//! The rules a well-formed, correctly signed record must meet against the current state.
//!
//! [`validate`] is a pure function of the record, a read-only [`StateView`] and the time.
//!
//! Architecture rule: acceptance is *monotone*. A rule may only read the record, the charter,
//! the records it names in its refs, and facts that never become false as records are added
//! (whether a key is known, an erasure time). So a record valid on one node is valid on every
//! node that holds its refs, whatever order records arrived in, and the record sets of nodes
//! converge. Rules that depend on standing that can change (is the author a member now? was
//! the label's author a moderator?) are not acceptance rules: they decide a record's
//! *effect*, computed by pure functions of the whole set ([`crate::membership`],
//! [`crate::effects`]).
//!
//! A record whose refs are not all known yet is not invalid: the verdict says which refs to
//! fetch, and the caller parks it. Failures are permanent ([`Invalid::is_permanent`]: the
//! sender is at fault) or transient (the record may become acceptable later).

mod rules;

use thiserror::Error;

use crate::ids::{NetworkId, PublicKey, RecordId, Timestamp};
use crate::kinds::{
    appointment_message, key_binding_message, node_operator_message, Body, Charter,
    ComplaintSubject, Kind, LabelAction,
};
use crate::links::Links;
use crate::record::Record;
use crate::signature;

/// What a validator may ask of the state. Implemented by the node's store and by
/// [`crate::RecordSet`]. Every answer is monotone: it never turns from yes to no, or from
/// a time to no time, as records are added.
pub trait StateView {
    /// The network's charter.
    fn charter(&self) -> &Charter;
    /// The network id.
    fn network(&self) -> NetworkId;
    /// A stored record.
    fn record(&self, id: &RecordId) -> Option<Record>;
    /// Whether `key` is a founder, on the council, has joined, has announced a node, was
    /// named in a moderator appointment, or was bound to an identity by a rotation or recovery.
    fn is_known_author(&self, key: &PublicKey) -> bool;
    /// The time of the latest held erasure that covers `key` (docs/PROTOCOL.md 8.5), if any.
    fn erased_at(&self, key: &PublicKey) -> Option<Timestamp>;
}

/// A record that meets the rules, or one that must wait for its refs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Valid against the state.
    Valid,
    /// These refs are unknown: park the record and fetch them.
    MissingRefs(Vec<RecordId>),
}

/// Why a record is refused by the state rules.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Invalid {
    /// Created too far in the future.
    #[error("created {ahead_ms} ms in the future, more than the charter's {max_ms} ms")]
    FromTheFuture {
        /// How far ahead.
        ahead_ms: u64,
        /// The limit.
        max_ms: u64,
    },
    /// A body for a record its author has erased. The bare header is acceptable.
    #[error("the author erased this record's body")]
    ErasedBody,
    /// A record without a body that no erasure covers.
    #[error("record has no body and no erasure covers it")]
    MissingBody,
    /// The author has not joined, founded, announced a node or been bound to an identity.
    #[error("the author is not known to the network")]
    UnknownAuthor,
    /// A join accepting other rules than the charter's.
    #[error("the join accepts rules other than the charter's")]
    WrongRules,
    /// A ref that is not of the kind the body says.
    #[error("ref {id} must be a {expected}")]
    WrongRefKind {
        /// The ref.
        id: RecordId,
        /// What it must be.
        expected: &'static str,
    },
    /// Someone other than the right author acts on a record.
    #[error("only {who} may do this")]
    WrongAuthor {
        /// Who may.
        who: &'static str,
    },
    /// A new listing version not newer than the first.
    #[error("a new version must be newer than the first version")]
    VersionNotNewer,
    /// A co-signature or binding signature that does not verify.
    #[error("the {field} signature does not verify: {error}")]
    BadCosignature {
        /// Which signature.
        field: &'static str,
        /// Why.
        error: signature::SignatureError,
    },
    /// An appointment author or co-signer who is not on the council.
    #[error("a signer is not on the council")]
    NotCouncil,
    /// Fewer council signatures than the charter requires.
    #[error("{found} council signatures, {required} required")]
    CouncilThreshold {
        /// Signatures found.
        found: usize,
        /// Signatures required.
        required: u64,
    },
    /// A retraction of an expulsion.
    #[error("an expulsion cannot be retracted")]
    ExpulsionIsPermanent,
    /// A recovery co-signer without a referenced sponsorship of the identity.
    #[error("each recovery co-signer must have sponsored the identity")]
    NotASponsor,
    /// Too few recovery co-signatures.
    #[error("{found} sponsor signatures, {required} required")]
    RecoveryThreshold {
        /// Signatures found.
        found: usize,
        /// Signatures required.
        required: u64,
    },
}

impl Invalid {
    /// Whether no later record can make this one valid: the sender is at fault.
    pub fn is_permanent(&self) -> bool {
        !matches!(
            self,
            Invalid::FromTheFuture { .. } | Invalid::MissingBody | Invalid::UnknownAuthor
        )
    }

    /// A short stable code for APIs and test vectors.
    pub fn code(&self) -> &'static str {
        match self {
            Invalid::FromTheFuture { .. } => "from_the_future",
            Invalid::ErasedBody => "erased_body",
            Invalid::MissingBody => "missing_body",
            Invalid::UnknownAuthor => "unknown_author",
            Invalid::WrongRules => "wrong_rules",
            Invalid::WrongRefKind { .. } => "wrong_ref_kind",
            Invalid::WrongAuthor { .. } => "wrong_author",
            Invalid::VersionNotNewer => "version_not_newer",
            Invalid::BadCosignature { .. } => "bad_cosignature",
            Invalid::NotCouncil => "not_council",
            Invalid::CouncilThreshold { .. } => "council_threshold",
            Invalid::ExpulsionIsPermanent => "expulsion_is_permanent",
            Invalid::NotASponsor => "not_a_sponsor",
            Invalid::RecoveryThreshold { .. } => "recovery_threshold",
        }
    }
}

/// Checks a record against the state at `now`. The record must already be decoded for this
/// network and its signature verified.
pub fn validate(
    record: &Record,
    state: &dyn StateView,
    now: Timestamp,
) -> Result<Verdict, Invalid> {
    let header = record.header();
    let max_skew = state.charter().max_clock_skew_ms;
    if header.created.0 > now.0.saturating_add(max_skew) {
        return Err(Invalid::FromTheFuture {
            ahead_ms: header.created.0 - now.0,
            max_ms: max_skew,
        });
    }
    let introduces_author = matches!(
        header.kind,
        Kind::Charter | Kind::Join | Kind::NodeAnnouncement | Kind::KeyRecovery
    );
    if !introduces_author && !state.is_known_author(&header.author) {
        return Err(Invalid::UnknownAuthor);
    }
    let missing: Vec<RecordId> = header
        .refs
        .iter()
        .filter(|id| state.record(id).is_none())
        .copied()
        .collect();
    if !missing.is_empty() {
        return Ok(Verdict::MissingRefs(missing));
    }
    // The kind rules come before the erasure check, so that a body's verdict never depends
    // on whether an erasure arrived first. A bare header has no body to check them against.
    if let Some(body) = record.body() {
        let links = referenced_links(record, body, state)?;
        rules::check(record, body, state, &links)?;
    }
    let erased = header.kind.is_erasable()
        && state
            .erased_at(&header.author)
            .is_some_and(|t| header.created <= t);
    match (record.body().is_some(), erased) {
        (true, true) => Err(Invalid::ErasedBody),
        (false, false) => Err(Invalid::MissingBody),
        // A covered bare header is valid once its refs are held; it has no effect.
        (true, false) | (false, true) => Ok(Verdict::Valid),
    }
}

/// The links of the key bindings a record references beyond the refs its body declares.
/// Every such ref must be a KeyRotation or KeyRecovery (decoding allowed them only for
/// bodies that link keys).
fn referenced_links(record: &Record, body: &Body, state: &dyn StateView) -> Result<Links, Invalid> {
    let declared = body.declared_refs();
    let mut bindings = Vec::new();
    for id in &record.header().refs {
        if declared.binary_search(id).is_ok() {
            continue;
        }
        match state.record(id) {
            Some(r) if matches!(r.header().kind, Kind::KeyRotation | Kind::KeyRecovery) => {
                bindings.push(r)
            }
            _ => {
                return Err(Invalid::WrongRefKind {
                    id: *id,
                    expected: "key rotation or key recovery",
                })
            }
        }
    }
    Ok(Links::from_bindings(&bindings))
}

/// Helpers the per-kind rules share.
pub(crate) mod support {
    use super::*;

    /// The referenced record, which must exist (refs were checked) and whose header has the
    /// expected kind.
    pub fn referenced(
        state: &dyn StateView,
        id: &RecordId,
        kind: Kind,
        expected: &'static str,
    ) -> Result<Record, Invalid> {
        match state.record(id) {
            Some(r) if r.header().kind == kind => Ok(r),
            _ => Err(Invalid::WrongRefKind { id: *id, expected }),
        }
    }

    /// The first version of a listing series. A first version has no refs (a later version
    /// refs its series), which the header shows even after the body is erased.
    pub fn listing_series(state: &dyn StateView, series: &RecordId) -> Result<Record, Invalid> {
        let record = referenced(state, series, Kind::Listing, "listing's first version")?;
        if record.header().refs.is_empty() {
            Ok(record)
        } else {
            Err(Invalid::WrongRefKind {
                id: *series,
                expected: "listing's first version",
            })
        }
    }

    /// The listing author and opener of a transaction, read from headers only: an open's
    /// only ref is its listing, so both survive erasure of either body.
    pub fn transaction_parties(
        state: &dyn StateView,
        transaction: &RecordId,
    ) -> Result<(PublicKey, PublicKey), Invalid> {
        let open = referenced(
            state,
            transaction,
            Kind::TransactionOpen,
            "transaction open",
        )?;
        let listing = open.header().refs.first().and_then(|id| state.record(id));
        let listing =
            listing
                .filter(|l| l.header().kind == Kind::Listing)
                .ok_or(Invalid::WrongRefKind {
                    id: *transaction,
                    expected: "transaction open on a listing",
                })?;
        Ok((listing.header().author, open.header().author))
    }

    pub use crate::kinds::AppointmentAction;
    pub use crate::signature::verify as verify_signature;

    /// Verifies co-signatures over `message` and returns the signers (distinct, because
    /// decoding requires their keys in ascending order).
    pub fn cosigners(
        pairs: &[(PublicKey, crate::signature::Signature)],
        message: &[u8],
        field: &'static str,
    ) -> Result<Vec<PublicKey>, Invalid> {
        for (key, sig) in pairs {
            verify_signature(key, message, sig)
                .map_err(|error| Invalid::BadCosignature { field, error })?;
        }
        Ok(pairs.iter().map(|(k, _)| *k).collect())
    }

    pub fn label_is_expulsion(record: &Record) -> bool {
        matches!(record.body(), Some(Body::ModerationLabel(l)) if l.action == LabelAction::ExpelMember)
    }

    pub fn subject_ref(subject: &ComplaintSubject) -> Option<(RecordId, Kind, &'static str)> {
        match subject {
            ComplaintSubject::Listing(id) => Some((*id, Kind::Listing, "listing")),
            ComplaintSubject::Transaction(id) => {
                Some((*id, Kind::TransactionOpen, "transaction open"))
            }
            ComplaintSubject::Member(_) => None,
        }
    }

    pub fn appointment_msg(
        network: &NetworkId,
        moderator: &PublicKey,
        action: AppointmentAction,
        created: Timestamp,
    ) -> Vec<u8> {
        appointment_message(network, moderator, action, created)
    }

    pub fn binding_msg(network: &NetworkId, old: &PublicKey, new: &PublicKey) -> Vec<u8> {
        key_binding_message(network, old, new)
    }

    pub fn operator_msg(network: &NetworkId, node: &PublicKey) -> Vec<u8> {
        node_operator_message(network, node)
    }
}
