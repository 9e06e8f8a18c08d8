//! Generates the JSON test vectors of docs/protocol/vectors/. Shared by the `vectors`
//! example, which writes the files, and the `vectors` test, which checks them.

pub mod invalid;
pub mod invitations;
pub mod scenario;

use std::collections::BTreeMap;

use maillon_protocol::kinds::Kind;
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
        "description": "One valid record of every kind, with its header, body, signing bytes, id and signature. Each verifies under the network of network.json.",
        "network": s.signer.network.to_hex(),
        "records": samples,
    })
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
                "admitted_at": table.admitted_at(&key).map(|t| t.0),
                "strikes": table.strikes(&key),
                "quota": table.quota(&key),
                "sponsors": table.sponsors(&key).iter().map(|k| k.to_hex()).collect::<Vec<_>>(),
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
    let queries: Vec<Value> = pairs
        .iter()
        .map(|(a, b)| {
            let (ka, kb) = (s2.pk(a), s2.pk(b));
            let report = trust_paths(table, &ka, &kb, TrustQuery::default());
            json!({
                "from": ka.to_hex(),
                "to": kb.to_hex(),
                "from_label": a,
                "to_label": b,
                "distance": report.distance,
                "paths": report.paths.iter().map(|p| p.iter().map(|k| k.to_hex()).collect::<Vec<_>>()).collect::<Vec<_>>(),
                "independent_paths": report.independent_paths,
            })
        })
        .collect();
    json!({
        "description": "A small network: apply the records in order (every one is valid at that point), then compute membership at now_ms. The expected status of every key and some trust queries (max_hops 6, max_paths 3, max_independent 5) follow.",
        "network": s.signer.network.to_hex(),
        "charter": hex::encode(s.log[0].to_wire()),
        "records": s.log.iter().map(|r| hex::encode(r.to_wire())).collect::<Vec<_>>(),
        "now_ms": s.now.0,
        "digest": hex::encode(s.set.digest()),
        "statuses": statuses,
        "trust": queries,
    })
}
