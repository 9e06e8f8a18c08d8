//! Writes seed corpora for the fuzz targets: one valid record of every kind the testkit can
//! build, signed with `maillon_protocol::testkit` keys, plus a few with the body erased.
//!
//! Run from `fuzz/`: `cargo run --example seed_corpus` (or pass another output directory).
//! Writes `corpus/record_decode/` (record wire bytes), `corpus/cbor_value/` (record, header
//! and body bytes) and `corpus/body_decode/` (kind index byte + body bytes). The output is
//! deterministic; file names start with `seed-` and existing files are overwritten.

use std::path::{Path, PathBuf};

use maillon_protocol::kinds::{
    AppointmentAction, Bump, Complaint, ComplaintReason, ComplaintSubject, LabelAction,
    LabelRetraction, ListingTombstone, NodePolicy, Outcome, PolicyLevel, TransactionAnswer,
    TransactionClose, TransactionMessage, TransactionOpen,
};
use maillon_protocol::testkit::{self, DAY, T0};
use maillon_protocol::{Body, Draft, Kind, Record, SecretKey};

fn main() {
    let out: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"));

    let founder = testkit::key("founder");
    let council_a = testkit::key("council-a");
    let council_b = testkit::key("council-b");
    let member = testkit::key("member");
    let moderator = testkit::key("moderator");
    let node = testkit::key("node");
    let new_key = testkit::key("member-new");
    let charter = testkit::charter(&[&founder], &[&council_a, &council_b], 2);
    let s = testkit::Signer::new(charter);
    let t1 = T0.plus_ms(DAY);

    let mut records: Vec<(String, Record)> = Vec::new();
    let mut add = |name: &str, record: Record| records.push((name.to_string(), record));

    add("charter", s.charter_record(&founder));
    add("join", s.join(&member, T0));
    add(
        "profile",
        s.profile(&member, "Camille", node.public_key(), T0),
    );
    let sponsorship = s.sponsor(&founder, member.public_key(), T0);
    add("withdraw", s.withdraw(&founder, sponsorship.id(), t1));
    add("sponsor", sponsorship);
    let listing = s.listing(&member, "Armoire en chêne", T0);
    add(
        "appoint",
        s.appoint(
            &council_a,
            &[&council_b],
            moderator.public_key(),
            AppointmentAction::Appoint,
            T0,
        ),
    );
    let label = s.member_label(
        &moderator,
        LabelAction::WarnMember,
        member.public_key(),
        None,
        t1,
    );
    add(
        "announce_node",
        s.announce_node(&node, &founder, "valence-1", T0),
    );
    add("rotate", s.rotate(&member, &new_key, t1));
    // A recovery co-signed by the member's three sponsors, naming their sponsorships.
    let recovery_sponsors = [&founder, &council_a, &council_b];
    let recovery_sponsorships: Vec<_> = recovery_sponsors
        .iter()
        .map(|k| s.sponsor(k, member.public_key(), T0).id())
        .collect();
    add(
        "recover",
        s.recover(
            member.public_key(),
            &new_key,
            &recovery_sponsors,
            &recovery_sponsorships,
            t1,
        ),
    );
    add("erase", s.erase(&member, t1));

    // Kinds the testkit has no helper for: signed directly, skipped (with a note) if a
    // guess at their context-free rules is wrong.
    let series = listing.id();
    let open = try_sign(
        &s,
        &founder,
        TransactionOpen {
            listing: series,
            message: "Bonjour, est-elle toujours disponible ?".into(),
        },
        t1,
    );
    let bodies: Vec<(&str, &SecretKey, Body)> = vec![
        (
            "tombstone",
            &member,
            ListingTombstone {
                series,
                reason: "Vendue.".into(),
            }
            .into(),
        ),
        ("bump", &member, Bump { series }.into()),
        (
            "complaint",
            &founder,
            Complaint {
                subject: ComplaintSubject::Member(member.public_key()),
                reason: ComplaintReason::NoAnswer,
                text: "Aucune réponse depuis deux semaines.".into(),
            }
            .into(),
        ),
        (
            "label_retraction",
            &moderator,
            LabelRetraction {
                label: label.id(),
                reason: "Erreur.".into(),
            }
            .into(),
        ),
        (
            "node_policy",
            &node,
            NodePolicy {
                target: founder.public_key(),
                level: PolicyLevel::Limit,
                reason: "Trop de relances.".into(),
            }
            .into(),
        ),
    ];
    for (name, key, body) in bodies {
        if let Some(r) = try_sign(&s, key, body, t1) {
            add(name, r);
        }
    }
    if let Some(open) = open {
        let tx = open.id();
        let follow: Vec<(&str, &SecretKey, Body)> = vec![
            (
                "tx_answer",
                &member,
                TransactionAnswer {
                    transaction: tx,
                    message: "Oui, passez samedi.".into(),
                }
                .into(),
            ),
            (
                "tx_message",
                &founder,
                TransactionMessage {
                    transaction: tx,
                    message: "Samedi 10 h ?".into(),
                }
                .into(),
            ),
            (
                "tx_close",
                &founder,
                TransactionClose {
                    transaction: tx,
                    outcome: Outcome::Completed,
                    rating: Some(5),
                    review: "Parfait.".into(),
                }
                .into(),
            ),
        ];
        for (name, key, body) in follow {
            if let Some(r) = try_sign(&s, key, body, t1.plus_ms(DAY)) {
                add(name, r);
            }
        }
        add("tx_open", open);
    }
    add("listing", listing);
    add("label", label);

    // Erased forms: header and signature only.
    let erased: Vec<(String, Record)> = records
        .iter()
        .filter(|(n, _)| ["charter", "listing", "sponsor"].contains(&n.as_str()))
        .map(|(n, r)| (format!("{n}_erased"), r.without_body()))
        .collect();
    records.extend(erased);

    let dirs = ["record_decode", "cbor_value", "body_decode"].map(|d| out.join(d));
    for d in &dirs {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("create {}: {e}", d.display()));
    }
    let write = |dir: &Path, name: &str, bytes: &[u8]| {
        let path = dir.join(format!("seed-{name}"));
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    };
    let mut kinds_seen = std::collections::BTreeSet::new();
    for (name, record) in &records {
        let wire = record.to_wire();
        // Every seed must itself pass the decoder, byte for byte.
        let back = Record::decode_any_network(&wire).expect("seed does not decode");
        assert_eq!(back.to_wire(), wire);
        write(&dirs[0], name, &wire);
        write(&dirs[1], name, &wire);
        write(&dirs[1], &format!("{name}_header"), record.header_bytes());
        if let (Some(body), Some(bytes)) = (record.body(), record.body_bytes()) {
            write(&dirs[1], &format!("{name}_body"), bytes);
            let index = Kind::ALL
                .iter()
                .position(|k| *k == body.kind())
                .expect("kind listed");
            let index = u8::try_from(index).expect("fewer than 256 kinds");
            write(&dirs[2], name, &[&[index][..], bytes].concat());
            kinds_seen.insert(format!("{:?}", body.kind()));
        }
    }
    let missing: Vec<String> = Kind::ALL
        .iter()
        .map(|k| format!("{k:?}"))
        .filter(|k| !kinds_seen.contains(k))
        .collect();
    println!(
        "wrote {} records ({} kinds; no seed for: {}) under {}",
        records.len(),
        kinds_seen.len(),
        if missing.is_empty() {
            "-".to_string()
        } else {
            missing.join(", ")
        },
        out.display()
    );
}

/// Signs `body` with no expiry, else with a 30-day or a 1-day expiry; `None` if all break a
/// rule.
fn try_sign(
    s: &testkit::Signer,
    key: &SecretKey,
    body: impl Into<Body>,
    at: maillon_protocol::Timestamp,
) -> Option<Record> {
    let body = body.into();
    let kind = body.kind();
    let mut last = None;
    for expires in [None, Some(at.plus_ms(30 * DAY)), Some(at.plus_ms(DAY))] {
        let draft = Draft {
            body: body.clone(),
            created: at,
            expires,
        };
        match Record::sign(key, &s.network, draft) {
            Ok(r) => return Some(r),
            Err(e) => last = Some(e),
        }
    }
    eprintln!(
        "note: no seed for {kind:?}: {}",
        last.map_or_else(String::new, |e| e.to_string())
    );
    None
}
