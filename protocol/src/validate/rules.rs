//! Each kind's acceptance rules, as listed in docs/PROTOCOL.md ("Validation"). Every rule
//! reads only the record, the charter and the records named in its refs.

use super::support::*;
use super::{Invalid, StateView};
use crate::ids::{PublicKey, RecordId};
use crate::kinds::{Body, KeyRecovery, Kind, LabelAction};
use crate::links::Links;
use crate::record::Record;

/// Dispatches to the rules of the record's kind.
pub(super) fn check(
    record: &Record,
    body: &Body,
    state: &dyn StateView,
    links: &Links,
) -> Result<(), Invalid> {
    let h = record.header();
    let network = state.network();
    match body {
        Body::Charter(_)
        | Body::Profile(_)
        | Body::Sponsorship(_)
        | Body::NodePolicy(_)
        | Body::Erasure(_) => Ok(()),
        Body::NodeAnnouncement(n) => verify_signature(
            &n.operator,
            &operator_msg(&network, &h.author),
            &n.operator_signature,
        )
        .map_err(|error| Invalid::BadCosignature {
            field: "operator",
            error,
        }),
        Body::KeyRotation(k) => verify_signature(
            &k.new_key,
            &binding_msg(&network, &h.author, &k.new_key),
            &k.new_key_signature,
        )
        .map_err(|error| Invalid::BadCosignature {
            field: "new_key",
            error,
        }),
        Body::Join(j) => {
            if j.accepted_rules_hash != state.charter().rules_hash() {
                return Err(Invalid::WrongRules);
            }
            let node = referenced(
                state,
                &j.introduction,
                Kind::NodeAnnouncement,
                "node announcement",
            )?;
            let message = crate::kinds::join_introduction_message(&network, &h.author, h.created);
            verify_signature(&node.header().author, &message, &j.introducer_signature).map_err(
                |error| Invalid::BadCosignature {
                    field: "introducer",
                    error,
                },
            )
        }
        Body::SponsorshipWithdrawal(w) => {
            let sponsorship = referenced(state, &w.sponsorship, Kind::Sponsorship, "sponsorship")?;
            author_is(
                links,
                &sponsorship.header().author,
                &h.author,
                "the sponsor",
            )
        }
        Body::Listing(l) => match &l.series {
            None => Ok(()),
            Some(series) => {
                let first = listing_series(state, series)?;
                author_is(
                    links,
                    &first.header().author,
                    &h.author,
                    "the listing's author",
                )?;
                if h.created <= first.header().created {
                    return Err(Invalid::VersionNotNewer);
                }
                Ok(())
            }
        },
        Body::ListingTombstone(t) => {
            let first = listing_series(state, &t.series)?;
            author_is(
                links,
                &first.header().author,
                &h.author,
                "the listing's author",
            )
        }
        Body::Bump(b) => listing_series(state, &b.series).map(|_| ()),
        Body::TransactionOpen(o) => {
            let listing = listing_series(state, &o.listing)?;
            if links.linked(&listing.header().author, &h.author) {
                return Err(Invalid::WrongAuthor {
                    who: "someone other than the listing's author",
                });
            }
            Ok(())
        }
        Body::TransactionAnswer(a) => {
            let (author, _) = transaction_parties(state, &a.transaction)?;
            author_is(links, &author, &h.author, "the listing's author")
        }
        Body::TransactionMessage(m) => check_party(state, links, &m.transaction, &h.author),
        Body::TransactionClose(c) => check_party(state, links, &c.transaction, &h.author),
        Body::Complaint(c) => match subject_ref(&c.subject) {
            Some((id, Kind::Listing, _)) => listing_series(state, &id).map(|_| ()),
            Some((id, kind, expected)) => referenced(state, &id, kind, expected).map(|_| ()),
            None => Ok(()),
        },
        Body::ModeratorAppointment(a) => {
            let charter = state.charter();
            if !charter.council.contains(&h.author)
                || a.council_signatures
                    .iter()
                    .any(|(k, _)| !charter.council.contains(k))
            {
                return Err(Invalid::NotCouncil);
            }
            let message = appointment_msg(&network, &a.moderator, a.action, h.created);
            let found = cosigners(&a.council_signatures, &message, "council")?.len() + 1;
            if (found as u64) < charter.council_threshold {
                return Err(Invalid::CouncilThreshold {
                    found,
                    required: charter.council_threshold,
                });
            }
            Ok(())
        }
        Body::ModerationLabel(l) => {
            match l.action {
                LabelAction::HideListing | LabelAction::CorrectListing => {
                    listing_series(state, &RecordId(l.target)).map(|_| ())?
                }
                LabelAction::CancelTransaction => referenced(
                    state,
                    &RecordId(l.target),
                    Kind::TransactionOpen,
                    "transaction open",
                )
                .map(|_| ())?,
                _ => {}
            }
            match &l.complaint {
                Some(complaint) => {
                    referenced(state, complaint, Kind::Complaint, "complaint").map(|_| ())
                }
                None => Ok(()),
            }
        }
        Body::LabelRetraction(r) => {
            let label = referenced(state, &r.label, Kind::ModerationLabel, "moderation label")?;
            if label_is_expulsion(&label) {
                return Err(Invalid::ExpulsionIsPermanent);
            }
            Ok(())
        }
        Body::KeyRecovery(k) => check_recovery(record, k, state, links),
    }
}

fn author_is(
    links: &Links,
    expected: &PublicKey,
    author: &PublicKey,
    who: &'static str,
) -> Result<(), Invalid> {
    if links.linked(expected, author) {
        Ok(())
    } else {
        Err(Invalid::WrongAuthor { who })
    }
}

fn check_party(
    state: &dyn StateView,
    links: &Links,
    transaction: &RecordId,
    author: &PublicKey,
) -> Result<(), Invalid> {
    let (listing_author, opener) = transaction_parties(state, transaction)?;
    if links.linked(&listing_author, author) || links.linked(&opener, author) {
        Ok(())
    } else {
        Err(Invalid::WrongAuthor {
            who: "a party to the transaction",
        })
    }
}

/// The co-signers must be exactly the authors of the referenced sponsorships of the old key,
/// counted as distinct people (keys linked by the recovery's bindings count once), and there
/// must be at least the charter's recovery threshold of them.
fn check_recovery(
    record: &Record,
    k: &KeyRecovery,
    state: &dyn StateView,
    links: &Links,
) -> Result<(), Invalid> {
    let message = binding_msg(&state.network(), &k.old_key, &record.header().author);
    let signers = cosigners(&k.sponsor_signatures, &message, "sponsor")?;
    let mut sponsors = Vec::new();
    for id in &k.sponsorships {
        let sponsorship = referenced(state, id, Kind::Sponsorship, "sponsorship")?;
        match sponsorship.body() {
            Some(Body::Sponsorship(s)) if links.linked(&s.candidate, &k.old_key) => {
                sponsors.push(links.representative(&sponsorship.header().author));
            }
            _ => return Err(Invalid::NotASponsor),
        }
    }
    let mut signer_identities: Vec<PublicKey> =
        signers.iter().map(|s| links.representative(s)).collect();
    signer_identities.sort();
    signer_identities.dedup();
    sponsors.sort();
    sponsors.dedup();
    let required = state.charter().recovery_threshold;
    if (signer_identities.len() as u64) < required {
        return Err(Invalid::RecoveryThreshold {
            found: signer_identities.len(),
            required,
        });
    }
    if signer_identities != sponsors {
        return Err(Invalid::NotASponsor);
    }
    Ok(())
}
