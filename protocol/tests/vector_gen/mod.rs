//! Generates the JSON test vectors of docs/protocol/vectors/. Shared by the `vectors`
//! example, which writes the files, and the `vectors` test, which checks them.

pub mod invalid;
pub mod invitations;
pub mod scenario;

use std::collections::BTreeMap;

use maillon_protocol::kinds::Kind;
use maillon_protocol::membership::Status;
use maillon_protocol::sync::item::Accumulator;
use maillon_protocol::trust::{trust_paths, TrustQuery};
use maillon_protocol::Record;
use serde_json::{json, Value};

/// File name → contents.
pub fn generate() -> BTreeMap<&'static str, Value> {
    let s = scenario::build();
    let mut files = BTreeMap::new();
    files.insert("keys.json", keys(&s));
    files.insert("records.json", records(&s));
    files.insert("network.json", network(&s));
    files.insert("invalid.json", invalid::cases(&s));
    files.insert("invitations.json", invitations::cases(&s));
    files
}

/// The numbers a status carries, by name.
pub fn status_detail(status: &Status) -> Value {
    match status {
        Status::Founder | Status::Member | Status::Unknown => json!({}),
        Status::Probation { since, until } => json!({ "since_ms": since.0, "until_ms": until.0 }),
        Status::Lapsed {
            since,
            sponsors,
            required,
        } => json!({ "since_ms": since.0, "sponsors": sponsors, "required": required }),
        Status::Candidate { sponsors, required } => {
            json!({ "sponsors": sponsors, "required": required })
        }
        Status::Expelled { at } => json!({ "at_ms": at.0 }),
    }
}

pub fn record_json(record: &Record) -> Value {
    let h = record.header();
    json!({
        "kind": h.kind as u64,
        "kind_name": h.kind.name(),
        "author": h.author.to_hex(),
        "wire": hex::encode(record.to_wire()),
        "header": hex::encode(record.header_bytes()),
        "body": record.body_bytes().map(hex::encode),
        "signing_bytes": hex::encode(record.signing_bytes()),
        "id": record.id().to_hex(),
        "signature": record.signature().to_hex(),
    })
}

fn keys(s: &scenario::Scenario) -> Value {
    let keys: Vec<Value> = s
        .keys
        .iter()
        .map(|(label, key)| json!({ "label": label, "seed": hex::encode(key.seed()), "public_key": key.public_key().to_hex() }))
        .collect();
    json!({
        "description": "Ed25519 keys of the vectors: the RFC 8032 seed and its public key. Seeds are SHA-256(\"maillon/testkit/v1\\0\" || label).",
        "keys": keys,
    })
}

fn records(s: &scenario::Scenario) -> Value {
    let mut samples = Vec::new();
    for kind in Kind::ALL {
        let record = s
            .log
            .iter()
            .find(|r| r.header().kind == *kind && r.body().is_some());
        let record = record.unwrap_or_else(|| panic!("the scenario has no {kind:?}"));
        samples.push(record_json(record));
    }
    json!({
        "description": "One valid record of every kind, with its header, body, signing bytes, id and signature, then one ModerationLabel per action (label_actions, with its action code). Each verifies under the network of network.json.",
        "network": s.signer.network.to_hex(),
        "records": samples,
        "label_actions": label_actions(s),
    })
}

/// A label of every action, signed by the scenario's moderator, on targets of the scenario.
fn label_actions(s: &scenario::Scenario) -> Vec<Value> {
    use maillon_protocol::kinds::{LabelAction, ModerationLabel};
    let first = |kind: Kind| {
        s.log
            .iter()
            .find(|r| {
                // For a listing, a first version (no refs).
                r.header().kind == kind && (kind != Kind::Listing || r.header().refs.is_empty())
            })
            .map(|r| r.id())
            .unwrap_or_else(|| panic!("the scenario has no {kind:?}"))
    };
    let moderator = s
        .keys
        .iter()
        .find(|(l, _)| l == "moderator")
        .expect("a moderator")
        .1
        .clone();
    let member = s
        .keys
        .iter()
        .find(|(l, _)| l == "carl")
        .expect("carl")
        .1
        .public_key();
    let (listing, open, complaint) = (
        first(Kind::Listing),
        first(Kind::TransactionOpen),
        first(Kind::Complaint),
    );
    LabelAction::ALL
        .iter()
        .map(|action| {
            let (target, complaint, required, correction) = match action {
                LabelAction::HideListing => (listing.0, None, None, ""),
                LabelAction::CorrectListing => (listing.0, None, None, "Le prix est de 40 €."),
                LabelAction::CancelTransaction => (open.0, None, None, ""),
                LabelAction::WarnMember | LabelAction::ExpelMember => (member.0, None, None, ""),
                LabelAction::RequireSponsors => (member.0, None, Some(4), ""),
                LabelAction::TakeUpComplaint | LabelAction::CloseComplaint => {
                    (complaint.0, Some(complaint), None, "")
                }
            };
            let body = ModerationLabel {
                action: *action,
                target,
                reason: "Décision de modération.".into(),
                correction: correction.into(),
                required_sponsors: required,
                complaint,
            };
            let record = s.signer.sign(&moderator, body, s.now, None);
            let mut sample = record_json(&record);
            sample["action"] = json!(*action as u64);
            sample
        })
        .collect()
}

fn network(s: &scenario::Scenario) -> Value {
    let table = s.set.membership();
    let label_of = |key: &maillon_protocol::PublicKey| {
        s.keys
            .iter()
            .find(|(_, k)| k.public_key() == *key)
            .map(|(l, _)| l.clone())
            .unwrap_or_else(|| key.to_hex())
    };
    let statuses: Vec<Value> = table
        .statuses()
        .into_iter()
        .map(|(key, status)| {
            json!({
                "key": key.to_hex(),
                "label": label_of(&key),
                "status": status.name(),
                "detail": status_detail(&status),
                "admitted_at": table.admitted_at(&key).map(|t| t.0),
                "strikes": table.strikes(&key),
                "quota": table.quota(&key),
                "sponsors": table.sponsors(&key).iter().map(|k| k.to_hex()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let keys: Vec<Value> = s
        .keys
        .iter()
        .map(|(label, secret)| {
            let key = secret.public_key();
            json!({
                "key": key.to_hex(),
                "label": label,
                "identity": table.identity(&key).to_hex(),
                "bindings": table.bindings_of(&key).iter().map(|id| id.to_hex()).collect::<Vec<_>>(),
                "retired_at_ms": table.retired_at(&key).map(|t| t.0),
            })
        })
        .collect();
    let mut s2 = scenario::build();
    let pairs = [
        ("founder-1", "eve"),
        ("anne", "carl"),
        ("eve", "hugo"),
        ("founder-2", "ring-1"),
        ("bob-2", "fred"),
    ];
    let query = |s2: &mut scenario::Scenario, a: &str, b: &str, max_visited: usize| {
        let (ka, kb) = (s2.pk(a), s2.pk(b));
        let bounds = TrustQuery {
            max_visited,
            ..TrustQuery::default()
        };
        let report = trust_paths(table, &ka, &kb, bounds);
        json!({
            "from": ka.to_hex(),
            "to": kb.to_hex(),
            "from_label": a,
            "to_label": b,
            "max_visited": max_visited,
            "distance": report.distance,
            "paths": report.paths.iter().map(|p| p.iter().map(|k| k.to_hex()).collect::<Vec<_>>()).collect::<Vec<_>>(),
            "independent_paths": report.independent_paths,
            "truncated": report.truncated,
        })
    };
    let mut queries: Vec<Value> = pairs
        .iter()
        .map(|(a, b)| query(&mut s2, a, b, TrustQuery::default().max_visited))
        .collect();
    // A search allowed to visit 3 keys only gives up, and says so.
    queries.push(query(&mut s2, "founder-1", "hugo", 3));
    // Later, once hugo's probation is over: lapsed.
    let mut later_set = s.set.clone();
    let hugo = s2.pk("hugo");
    let Status::Probation { until, .. } = table.status(&hugo) else {
        panic!("hugo is on probation in the scenario")
    };
    let later = until.plus_ms(1);
    later_set.refresh(later);
    let later_status = later_set.membership().status(&hugo);
    let nobody = maillon_protocol::testkit::key("nobody").public_key();
    // CANDIDACY_MS after now, every candidate of the scenario has expired (9.1.9).
    let expiry_now = s.now.plus_ms(maillon_protocol::membership::CANDIDACY_MS);
    let mut expiry_set = s.set.clone();
    expiry_set.refresh(expiry_now);
    let expiry_table = expiry_set.membership();
    let mut dropping = maillon_protocol::membership::Dropping::of(expiry_table);
    dropping.settle(s.log.iter());
    let expired: Vec<Value> = expiry_table
        .expired_candidacies()
        .iter()
        .map(|key| json!({ "key": key.to_hex(), "label": label_of(key) }))
        .collect();
    json!({
        "description": "A small network: apply the records in order (every one is valid at that point), then compute membership at now_ms. Every key of the scenario with its identity, the applied bindings of that identity and the time a recovery retired it (section 9.1.2). The expected status of every identity (with its detail: probation since and until, a candidate's or lapsed key's counted sponsors and requirement, an expulsion's time), of a key the network does not know, of the probation key once its probation is over (later), and some trust queries (max_hops 6, max_paths 3, max_independent 5, max_visited as given) follow. Under expiry: at its now_ms (CANDIDACY_MS after now_ms), the identities whose candidacy expired, in key order, and the ids of the records every node drops for them (section 9.1.9), in id order.",
        "network": s.signer.network.to_hex(),
        "charter": hex::encode(s.log[0].to_wire()),
        "records": s.log.iter().map(|r| hex::encode(r.to_wire())).collect::<Vec<_>>(),
        "now_ms": s.now.0,
        "digest": hex::encode(s.set.digest()),
        "digest_sum": hex::encode(id_sum(s.log.iter().map(|r| r.id())).to_bytes()),
        "statuses": statuses,
        "keys": keys,
        "unknown": { "key": nobody.to_hex(), "status": table.status(&nobody).name() },
        "later": {
            "now_ms": later.0,
            "key": hugo.to_hex(),
            "label": "hugo",
            "status": later_status.name(),
            "detail": status_detail(&later_status),
        },
        "trust": queries,
        "expiry": {
            "now_ms": expiry_now.0,
            "expired_candidacies": expired,
            "dropped": dropping.dropped().iter().map(|id| id.to_hex()).collect::<Vec<_>>(),
        },
    })
}

/// The sum modulo 2^256 of the ids held, an input of the state digest (docs/PROTOCOL.md 3.2).
fn id_sum(ids: impl Iterator<Item = maillon_protocol::RecordId>) -> Accumulator {
    let mut sum = Accumulator::default();
    ids.for_each(|id| sum.add(&id));
    sum
}
