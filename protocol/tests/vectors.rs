//! Checks docs/protocol/vectors/: the files match what the generator produces today, and
//! every case in them holds when read back through the public API alone.

#![allow(clippy::unwrap_used)]

mod vector_gen;

use std::path::PathBuf;

use maillon_protocol::ids::{NetworkId, PublicKey, Timestamp};
use maillon_protocol::state::{Applied, ApplyError};
use maillon_protocol::trust::{trust_paths, TrustQuery};
use maillon_protocol::validate::{validate, Verdict};
use maillon_protocol::{Record, RecordSet, SecretKey};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol/vectors")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn network(v: &Value) -> NetworkId {
    NetworkId::from_hex(v["network"].as_str().unwrap()).unwrap()
}

#[test]
fn the_files_are_what_the_generator_produces() {
    for (name, expected) in vector_gen::generate() {
        assert_eq!(
            load(name),
            expected,
            "{name} is stale: run `cargo run -p maillon-protocol --example vectors`"
        );
    }
}

#[test]
fn keys_derive_from_their_seeds() {
    for key in load("keys.json")["keys"].as_array().unwrap() {
        let seed: [u8; 32] = bytes(&key["seed"]).try_into().unwrap();
        assert_eq!(
            SecretKey::from_seed(seed).public_key().to_hex(),
            key["public_key"].as_str().unwrap()
        );
    }
}

#[test]
fn every_kind_has_a_valid_record_whose_parts_check_out() {
    let file = load("records.json");
    let net = network(&file);
    let records = file["records"].as_array().unwrap();
    assert_eq!(records.len(), maillon_protocol::Kind::ALL.len());
    for r in records {
        let record = Record::decode(&bytes(&r["wire"]), &net).unwrap();
        assert_eq!(record.header_bytes(), bytes(&r["header"]).as_slice());
        assert_eq!(record.body_bytes().unwrap(), bytes(&r["body"]).as_slice());
        assert_eq!(record.signing_bytes(), bytes(&r["signing_bytes"]));
        assert_eq!(record.id().to_hex(), r["id"].as_str().unwrap());
        assert_eq!(
            record.signature().to_hex(),
            r["signature"].as_str().unwrap()
        );
        assert_eq!(record.header().kind as u64, r["kind"].as_u64().unwrap());
        record.verify().unwrap();
    }
    let labels = file["label_actions"].as_array().unwrap();
    assert_eq!(labels.len(), 8, "one label per action");
    for (code, r) in labels.iter().enumerate() {
        let record = Record::decode(&bytes(&r["wire"]), &net).unwrap();
        record.verify().unwrap();
        assert_eq!(record.id().to_hex(), r["id"].as_str().unwrap());
        let Some(maillon_protocol::Body::ModerationLabel(label)) = record.body() else {
            panic!("not a label: {r}")
        };
        assert_eq!(label.action as u64, code as u64);
        assert_eq!(r["action"].as_u64(), Some(code as u64));
    }
}

fn network_state() -> (RecordSet, Timestamp) {
    let file = load("network.json");
    let now = Timestamp(file["now_ms"].as_u64().unwrap());
    let charter = Record::decode_any_network(&bytes(&file["charter"])).unwrap();
    let mut set = RecordSet::new(charter, now).unwrap();
    for wire in file["records"].as_array().unwrap().iter().skip(1) {
        let result = set.apply_wire(&bytes(wire), now);
        assert_eq!(result, Ok(Applied::Inserted));
    }
    set.refresh(now);
    (set, now)
}

#[test]
fn the_network_gives_the_expected_statuses_and_paths() {
    let file = load("network.json");
    let (set, _) = network_state();
    assert_eq!(hex::encode(set.digest()), file["digest"].as_str().unwrap());
    // The digest from its definition: the tag, the ids' sum and their number (3.2).
    let from_definition = maillon_protocol::ids::sha256(&[
        maillon_protocol::state::DIGEST_TAG,
        &bytes(&file["digest_sum"]),
        &(file["records"].as_array().unwrap().len() as u64).to_le_bytes(),
    ]);
    assert_eq!(
        hex::encode(from_definition),
        file["digest"].as_str().unwrap()
    );
    let table = set.membership();
    let mut names = std::collections::BTreeSet::new();
    for entry in file["statuses"].as_array().unwrap() {
        let key = PublicKey::from_hex(entry["key"].as_str().unwrap()).unwrap();
        let status = table.status(&key);
        assert_eq!(
            status.name(),
            entry["status"].as_str().unwrap(),
            "{}",
            entry["label"]
        );
        assert_eq!(
            table.strikes(&key) as u64,
            entry["strikes"].as_u64().unwrap()
        );
        assert_eq!(
            table.admitted_at(&key).map(|t| t.0),
            entry["admitted_at"].as_u64()
        );
        assert_eq!(detail(&status), entry["detail"], "{}", entry["label"]);
        names.insert(status.name());
    }
    for expected in ["founder", "member", "probation", "candidate", "expelled"] {
        assert!(names.contains(expected), "the network shows no {expected}");
    }
    let mut retired = 0;
    for entry in file["keys"].as_array().unwrap() {
        let key = PublicKey::from_hex(entry["key"].as_str().unwrap()).unwrap();
        let label = &entry["label"];
        assert_eq!(table.identity(&key).to_hex(), entry["identity"], "{label}");
        let bindings: Vec<String> = table
            .bindings_of(&key)
            .iter()
            .map(|id| id.to_hex())
            .collect();
        assert_eq!(serde_json::json!(bindings), entry["bindings"], "{label}");
        assert_eq!(
            table.retired_at(&key).map(|t| t.0),
            entry["retired_at_ms"].as_u64(),
            "{label}"
        );
        retired += usize::from(!entry["retired_at_ms"].is_null());
    }
    assert!(retired > 0, "the vectors show no retired key");
    let unknown = PublicKey::from_hex(file["unknown"]["key"].as_str().unwrap()).unwrap();
    assert_eq!(table.status(&unknown).name(), file["unknown"]["status"]);
    assert_eq!(file["unknown"]["status"], "unknown");
    let later = &file["later"];
    let (mut lapsed_set, _) = network_state();
    lapsed_set.refresh(Timestamp(later["now_ms"].as_u64().unwrap()));
    let key = PublicKey::from_hex(later["key"].as_str().unwrap()).unwrap();
    let status = lapsed_set.membership().status(&key);
    assert_eq!(
        (status.name(), detail(&status)),
        ("lapsed", later["detail"].clone())
    );
    assert_eq!(later["status"], "lapsed");
    let mut truncated = false;
    for q in file["trust"].as_array().unwrap() {
        let from = PublicKey::from_hex(q["from"].as_str().unwrap()).unwrap();
        let to = PublicKey::from_hex(q["to"].as_str().unwrap()).unwrap();
        let bounds = TrustQuery {
            max_visited: q["max_visited"].as_u64().unwrap() as usize,
            ..TrustQuery::default()
        };
        let report = trust_paths(table, &from, &to, bounds);
        assert_eq!(Some(report.truncated), q["truncated"].as_bool());
        truncated |= report.truncated;
        assert_eq!(report.distance.map(u64::from), q["distance"].as_u64());
        assert_eq!(
            report.independent_paths as u64,
            q["independent_paths"].as_u64().unwrap()
        );
        let paths: Vec<Vec<String>> = report
            .paths
            .iter()
            .map(|p| p.iter().map(|k| k.to_hex()).collect())
            .collect();
        assert_eq!(serde_json::to_value(paths).unwrap(), q["paths"]);
    }
    assert!(truncated, "a query shows a truncated search");
}

/// The numbers of a status as the vectors write them.
fn detail(status: &maillon_protocol::membership::Status) -> serde_json::Value {
    vector_gen::status_detail(status)
}

#[test]
fn every_invalid_case_is_refused_at_its_stage_for_its_reason() {
    let file = load("invalid.json");
    let net = network(&file);
    let (set, now) = network_state();
    for case in file["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (stage, verdict, reason) = (
            case["stage"].as_str().unwrap(),
            case["verdict"].as_str().unwrap(),
            case["reason"].as_str().unwrap(),
        );
        let wire = bytes(&case["wire"]);
        let decoded = Record::decode(&wire, &net);
        if stage == "decode" {
            assert_eq!(decoded.err().map(|e| e.code()), Some(reason), "{name}");
            continue;
        }
        let record = decoded.unwrap_or_else(|e| panic!("{name}: {e}"));
        if stage == "signature" {
            assert_eq!(
                record.verify().err().map(|e| e.code()),
                Some(reason),
                "{name}"
            );
            continue;
        }
        record.verify().unwrap_or_else(|e| panic!("{name}: {e}"));
        match validate(&record, &set, now) {
            Ok(Verdict::MissingRefs(_)) => {
                assert_eq!((verdict, reason), ("park", "missing_refs"), "{name}")
            }
            Ok(Verdict::Valid) => panic!("{name} was accepted"),
            Err(invalid) => {
                assert_eq!(invalid.code(), reason, "{name}");
                assert_eq!(invalid.is_permanent(), verdict == "reject", "{name}");
            }
        }
        let mut copy = set.clone();
        assert!(
            !matches!(
                copy.apply(record, now),
                Ok(Applied::Inserted) | Err(ApplyError::Decode(_))
            ),
            "{name}"
        );
    }
}

#[test]
fn the_invitation_reads_and_the_bad_ones_are_refused_for_their_reason() {
    use maillon_protocol::invitation::SignedInvitation;
    let file = load("invitations.json");
    let valid = &file["valid"];
    let now = Timestamp(valid["now_ms"].as_u64().unwrap());
    let read = SignedInvitation::from_bytes(&bytes(&valid["bytes"]), now).unwrap();
    let invitation = read.invitation();
    assert_eq!(invitation.network(), network(&file));
    assert_eq!(invitation.body_bytes(), bytes(&valid["body"]));
    assert_eq!(invitation.signing_bytes(), bytes(&valid["signing_bytes"]));
    assert_eq!(
        read.signature().to_hex(),
        valid["signature"].as_str().unwrap()
    );
    assert_eq!(
        invitation.inviter_key().to_hex(),
        valid["inviter"].as_str().unwrap()
    );
    assert_eq!(invitation.charter.to_wire(), bytes(&valid["charter"]));
    assert_eq!(invitation.inviter.to_wire(), bytes(&valid["announcement"]));
    let text = valid["text"].as_str().unwrap();
    assert_eq!(read.to_text(), text);
    assert_eq!(SignedInvitation::from_text(text, now).unwrap(), read);
    let code = read.short_code();
    assert_eq!(code.to_string(), valid["short_code"].as_str().unwrap());
    assert_eq!(
        SignedInvitation::from_text_with_code(text, code, now).unwrap(),
        read
    );
    for case in file["invalid"].as_array().unwrap() {
        let now = Timestamp(case["now_ms"].as_u64().unwrap());
        let refused =
            SignedInvitation::from_bytes(&bytes(&case["bytes"]), now).map_err(|e| e.code());
        assert_eq!(
            refused.err(),
            Some(case["reason"].as_str().unwrap()),
            "{}",
            case["name"]
        );
    }
}
