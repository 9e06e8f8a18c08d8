//! Each kind's state rules, as listed in docs/PROTOCOL.md ("Validation").

use super::support::*;
use super::{Invalid, StateView};
use crate::kinds::{Body, Kind, LabelAction};
use crate::membership::Status;
use crate::record::Record;

/// Dispatches to the rules of the record's kind.
pub(super) fn check(record: &Record, body: &Body, state: &dyn StateView) -> Result<(), Invalid> {
    let h = record.header();
    let network = state.network();
    match body {
        Body::Charter(_) => Ok(()),
        Body::NodeAnnouncement(n) => {
            verify_signature(
                &n.operator,
                &operator_msg(&network, &h.author),
                &n.operator_signature,
            )
            .map_err(|error| Invalid::BadCosignature {
                field: "operator",
                error,
            })?;
            if state.status(&n.operator).may_sponsor() {
                Ok(())
            } else {
                Err(Invalid::NotAllowed {
                    kind: h.kind,
                    status: state.status(&n.operator).name(),
                })
            }
        }
        Body::Profile(_) | Body::KeyRotation(_) => {
            author_may(record, state, |s| {
                s.is_in_good_standing() || matches!(s, Status::Candidate { .. })
            })?;
            if let Body::KeyRotation(k) = body {
                verify_signature(
                    &k.new_key,
                    &binding_msg(&network, &h.author, &k.new_key),
                    &k.new_key_signature,
                )
                .map_err(|error| Invalid::BadCosignature {
                    field: "new_key",
                    error,
                })?;
            }
            Ok(())
        }
        Body::Join(j) => {
            author_may(record, state, |_| true)?;
            if j.accepted_rules_hash == state.charter().rules_hash() {
                Ok(())
            } else {
                Err(Invalid::WrongRules)
            }
        }
        Body::Sponsorship(s) => {
            author_may(record, state, Status::may_sponsor)?;
            if matches!(state.status(&s.candidate), Status::Expelled { .. }) {
                return Err(Invalid::CandidateExpelled);
            }
            Ok(())
        }
        Body::SponsorshipWithdrawal(w) => {
            let sponsorship = referenced(state, &w.sponsorship, Kind::Sponsorship, "sponsorship")?;
            if same_identity(state, &sponsorship.header().author, &h.author) {
                Ok(())
            } else {
                Err(Invalid::WrongAuthor { who: "the sponsor" })
            }
        }
        Body::Listing(l) => {
            author_may(record, state, Status::is_in_good_standing)?;
            if let Some(series) = &l.series {
                let first = listing_series(state, series)?;
                if !same_identity(state, &first.header().author, &h.author) {
                    return Err(Invalid::WrongAuthor {
                        who: "the listing's author",
                    });
                }
                if h.created <= first.header().created {
                    return Err(Invalid::VersionNotNewer);
                }
            }
            Ok(())
        }
        Body::ListingTombstone(t) => {
            let first = listing_series(state, &t.series)?;
            if same_identity(state, &first.header().author, &h.author) {
                Ok(())
            } else {
                Err(Invalid::WrongAuthor {
                    who: "the listing's author",
                })
            }
        }
        Body::Bump(b) => {
            listing_series(state, &b.series)?;
            check_bump(record, state)
        }
        Body::TransactionOpen(o) => {
            author_may(record, state, Status::is_in_good_standing)?;
            let listing = listing_series(state, &o.listing)?;
            if same_identity(state, &listing.header().author, &h.author) {
                return Err(Invalid::WrongAuthor {
                    who: "someone other than the listing's author",
                });
            }
            Ok(())
        }
        Body::TransactionAnswer(a) => {
            let (author, _) = transaction_parties(state, &a.transaction)?;
            if same_identity(state, &author, &h.author) {
                Ok(())
            } else {
                Err(Invalid::WrongAuthor {
                    who: "the listing's author",
                })
            }
        }
        Body::TransactionMessage(m) => check_party(state, &m.transaction, &h.author),
        Body::TransactionClose(c) => check_party(state, &c.transaction, &h.author),
        Body::Complaint(c) => {
            author_may(record, state, Status::is_in_good_standing)?;
            if let Some((id, kind, expected)) = subject_ref(&c.subject) {
                referenced(state, &id, kind, expected)?;
            }
            Ok(())
        }
        Body::ModeratorAppointment(a) => {
            let charter = state.charter();
            if !charter.council.contains(&h.author) {
                return Err(Invalid::NotCouncil);
            }
            if a.council_signatures
                .iter()
                .any(|(k, _)| !charter.council.contains(k))
            {
                return Err(Invalid::NotCouncil);
            }
            let message = appointment_msg(&network, &a.moderator, a.action, h.created);
            let signers = cosigners(&a.council_signatures, &message, "council")?;
            let found = signers.len() + 1;
            if (found as u64) < charter.council_threshold {
                return Err(Invalid::CouncilThreshold {
                    found,
                    required: charter.council_threshold,
                });
            }
            Ok(())
        }
        Body::ModerationLabel(l) => {
            if !state.is_moderator_at(&h.author, h.created) {
                return Err(Invalid::NotModerator);
            }
            match l.action {
                LabelAction::HideListing | LabelAction::CorrectListing => {
                    listing_series(state, &crate::ids::RecordId(l.target)).map(|_| ())
                }
                LabelAction::CancelTransaction => {
                    let id = crate::ids::RecordId(l.target);
                    referenced(state, &id, Kind::TransactionOpen, "transaction open").map(|_| ())
                }
                _ => Ok(()),
            }?;
            if let Some(complaint) = &l.complaint {
                referenced(state, complaint, Kind::Complaint, "complaint")?;
            }
            Ok(())
        }
        Body::LabelRetraction(r) => {
            let label = referenced(state, &r.label, Kind::ModerationLabel, "moderation label")?;
            if label_is_expulsion(&label) {
                return Err(Invalid::ExpulsionIsPermanent);
            }
            if !state.is_moderator_at(&h.author, h.created) {
                return Err(Invalid::NotModerator);
            }
            Ok(())
        }
        Body::NodePolicy(_) => {
            if state.is_announced_node(&h.author) {
                Ok(())
            } else {
                Err(Invalid::NotAnnouncedNode)
            }
        }
        Body::Erasure(_) => Ok(()),
        Body::KeyRecovery(k) => check_recovery(record, k, state),
    }
}

fn check_party(
    state: &dyn StateView,
    transaction: &crate::ids::RecordId,
    author: &crate::ids::PublicKey,
) -> Result<(), Invalid> {
    let (listing_author, opener) = transaction_parties(state, transaction)?;
    if same_identity(state, &listing_author, author) || same_identity(state, &opener, author) {
        Ok(())
    } else {
        Err(Invalid::WrongAuthor {
            who: "a party to the transaction",
        })
    }
}

fn check_bump(record: &Record, state: &dyn StateView) -> Result<(), Invalid> {
    let h = record.header();
    if !state.is_announced_node(&h.author) {
        return Err(Invalid::NotAnnouncedNode);
    }
    let day_before = h.created.minus_ms(crate::ids::Timestamp::DAY_MS);
    let count = state.bumps_between(&h.author, day_before, h.created);
    if count as u64 >= state.charter().bumps_per_node_per_day {
        return Err(Invalid::BumpRateExceeded { count });
    }
    Ok(())
}

fn check_recovery(
    record: &Record,
    k: &crate::kinds::KeyRecovery,
    state: &dyn StateView,
) -> Result<(), Invalid> {
    let h = record.header();
    let old_status = state.status(&k.old_key);
    if matches!(old_status, Status::Expelled { .. }) {
        return Err(Invalid::AuthorExpelled);
    }
    let message = binding_msg(&state.network(), &k.old_key, &h.author);
    let signers = cosigners(&k.sponsor_signatures, &message, "sponsor")?;
    let required = state.charter().recovery_threshold;
    if (signers.len() as u64) < required {
        return Err(Invalid::RecoveryThreshold {
            found: signers.len(),
            required,
        });
    }
    let sponsors = state.sponsors(&k.old_key);
    let sponsor_identities: Vec<_> = sponsors.iter().map(|s| state.identity(s)).collect();
    if signers
        .iter()
        .any(|s| !sponsor_identities.contains(&state.identity(s)))
    {
        return Err(Invalid::NotASponsor);
    }
    Ok(())
}
