//! Record bodies as readable JSON for the export: field names as in docs/PROTOCOL.md
//! section 7, keys, ids and hashes in hex, enumerations by name, times in ms since 1970.

use maillon_protocol::ids::{BlobHash, PublicKey, RecordId};
use maillon_protocol::kinds::{ComplaintSubject, Position};
use maillon_protocol::{Body, Signature};
use serde_json::{json, Value};

/// A decoded body as JSON.
pub fn body_json(body: &Body) -> Value {
    match body {
        Body::Charter(c) => json!({
            "name": c.name,
            "founders": keys(&c.founders),
            "council": keys(&c.council),
            "council_threshold": c.council_threshold,
            "sponsors_required": c.sponsors_required,
            "sponsor_quota": c.sponsor_quota,
            "strike_penalty": c.strike_penalty,
            "probation_grace_ms": c.probation_grace_ms,
            "answer_deadline_ms": c.answer_deadline_ms,
            "max_clock_skew_ms": c.max_clock_skew_ms,
            "recovery_threshold": c.recovery_threshold,
            "bumps_per_node_per_day": c.bumps_per_node_per_day,
            "rules": c.rules,
        }),
        Body::NodeAnnouncement(n) => json!({
            "name": n.name,
            "region": n.region,
            "postcode": n.postcode,
            "addresses": n.addresses,
            "operator": n.operator.to_hex(),
            "operator_signature": n.operator_signature.to_hex(),
        }),
        Body::NodePolicy(p) => json!({
            "target": p.target.to_hex(),
            "level": name(&p.level),
            "reason": p.reason,
        }),
        Body::Profile(p) => json!({
            "display_name": p.display_name,
            "home_node": p.home_node.to_hex(),
            "town": p.town,
            "postcode": p.postcode,
            "position": position(&p.position),
            "about": p.about,
        }),
        Body::Join(j) => json!({ "accepted_rules_hash": hex::encode(j.accepted_rules_hash) }),
        Body::Sponsorship(s) => json!({
            "candidate": s.candidate.to_hex(),
            "relation": name(&s.relation),
            "note": s.note,
        }),
        Body::SponsorshipWithdrawal(w) => json!({
            "sponsorship": w.sponsorship.to_hex(),
            "reason": w.reason,
        }),
        Body::Erasure(e) => json!({ "reason": e.reason }),
        Body::KeyRotation(k) => json!({
            "new_key": k.new_key.to_hex(),
            "new_key_signature": k.new_key_signature.to_hex(),
        }),
        Body::KeyRecovery(k) => json!({
            "old_key": k.old_key.to_hex(),
            "sponsorships": ids(&k.sponsorships),
            "sponsor_signatures": cosignatures(&k.sponsor_signatures),
        }),
        Body::Listing(l) => json!({
            "series": l.series.map(|s| s.to_hex()),
            "intent": name(&l.intent),
            "category": name(&l.category),
            "category_fr": l.category.label_fr(),
            "title": l.title,
            "description": l.description,
            "price_cents": l.price_cents,
            "town": l.town,
            "postcode": l.postcode,
            "position": position(&l.position),
            "photos": l.photos.iter().map(BlobHash::to_hex).collect::<Vec<_>>(),
        }),
        Body::ListingTombstone(t) => json!({ "series": t.series.to_hex(), "reason": t.reason }),
        Body::Bump(b) => json!({ "series": b.series.to_hex() }),
        Body::TransactionOpen(o) => json!({ "listing": o.listing.to_hex(), "message": o.message }),
        Body::TransactionAnswer(a) => json!({
            "transaction": a.transaction.to_hex(),
            "message": a.message,
        }),
        Body::TransactionMessage(m) => json!({
            "transaction": m.transaction.to_hex(),
            "message": m.message,
        }),
        Body::TransactionClose(c) => json!({
            "transaction": c.transaction.to_hex(),
            "outcome": name(&c.outcome),
            "rating": c.rating,
            "review": c.review,
        }),
        Body::Complaint(c) => {
            let (subject, target) = match &c.subject {
                ComplaintSubject::Listing(id) => ("listing", id.to_hex()),
                ComplaintSubject::Transaction(id) => ("transaction", id.to_hex()),
                ComplaintSubject::Member(key) => ("member", key.to_hex()),
            };
            json!({
                "subject": { "kind": subject, "target": target },
                "reason": name(&c.reason),
                "text": c.text,
            })
        }
        Body::ModeratorAppointment(a) => json!({
            "moderator": a.moderator.to_hex(),
            "action": name(&a.action),
            "council_signatures": cosignatures(&a.council_signatures),
        }),
        Body::ModerationLabel(l) => json!({
            "action": name(&l.action),
            "target": hex::encode(l.target),
            "reason": l.reason,
            "correction": l.correction,
            "required_sponsors": l.required_sponsors,
            "complaint": l.complaint.map(|c| c.to_hex()),
        }),
        Body::LabelRetraction(r) => json!({ "label": r.label.to_hex(), "reason": r.reason }),
    }
}

/// An enumeration value by name, in snake case ("SecondHand" gives "second_hand").
fn name(value: &impl std::fmt::Debug) -> String {
    let debug = format!("{value:?}");
    let mut out = String::with_capacity(debug.len() + 4);
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn position(p: &Position) -> Value {
    json!({ "lat_microdeg": p.lat_microdeg, "lon_microdeg": p.lon_microdeg })
}

fn keys(keys: &[PublicKey]) -> Vec<String> {
    keys.iter().map(PublicKey::to_hex).collect()
}

fn ids(ids: &[RecordId]) -> Vec<String> {
    ids.iter().map(RecordId::to_hex).collect()
}

fn cosignatures(signatures: &[(PublicKey, Signature)]) -> Vec<Value> {
    signatures
        .iter()
        .map(|(key, sig)| json!({ "key": key.to_hex(), "signature": sig.to_hex() }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use maillon_protocol::kinds::{Category, Relation};

    #[test]
    fn enumerations_are_named_in_snake_case() {
        assert_eq!(name(&Category::SecondHand), "second_hand");
        assert_eq!(name(&Relation::Friend), "friend");
    }
}
