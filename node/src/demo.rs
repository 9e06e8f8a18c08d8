//! `maillon demo`: the protocol at work on a generated network, until the node and web UI
//! issues turn it into three nodes in one process.

use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args;
use maillon_node::generator;
use maillon_protocol::membership::Status;
use maillon_protocol::state::Applied;
use maillon_protocol::trust::{trust_paths, TrustQuery};
use maillon_protocol::{Record, RecordSet};

/// Options of `maillon demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed of the generated network.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Members to generate besides the three founders (1..=5000).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=5000))]
    members: u64,
}

/// Runs the demo and prints what it found.
pub fn run(args: &DemoArgs) -> Result<()> {
    let started = Instant::now();
    let network = generator::generate(args.seed, args.members as usize);
    println!(
        "Réseau Maillon de démonstration (graine {}) — {}",
        args.seed, network.signer.network
    );
    let wire: Vec<Vec<u8>> = network.records.iter().map(Record::to_wire).collect();
    let verified = verify_all(&network.signer.network, &wire)?;
    println!(
        "{} enregistrements signés, {} signatures vérifiées par lots",
        wire.len(),
        verified
    );
    let mut set = RecordSet::new(Record::decode_any_network(&wire[0])?, network.now)?;
    for bytes in &wire[1..] {
        match set.apply_wire(bytes, network.now)? {
            Applied::Inserted => {}
            other => bail!("record not inserted: {other:?}"),
        }
    }
    print_membership(&set);
    print_trust(&network, &set);
    println!("Empreinte de l'état : {}", hex::encode(set.digest()));
    println!("Terminé en {:.1} s.", started.elapsed().as_secs_f64());
    Ok(())
}

fn verify_all(network: &maillon_protocol::NetworkId, wire: &[Vec<u8>]) -> Result<usize> {
    let records = wire
        .iter()
        .skip(1)
        .map(|b| Record::decode(b, network))
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&Record> = records.iter().collect();
    let failures = Record::verify_many(&refs)
        .into_iter()
        .filter(|r| r.is_err())
        .count();
    if failures > 0 {
        bail!("{failures} signatures do not verify");
    }
    Ok(records.len())
}

fn print_membership(set: &RecordSet) {
    let statuses = set.membership().statuses();
    let count = |name: &str| statuses.iter().filter(|(_, s)| s.name() == name).count();
    println!(
        "Fondateurs : {}, membres : {}, en période probatoire : {}, candidats : {}",
        count("founder"),
        count("member"),
        count("probation"),
        count("candidate")
    );
}

fn print_trust(network: &generator::GeneratedNetwork, set: &RecordSet) {
    let table = set.membership();
    let (Some(first), Some(last)) = (network.keys.get(3), network.keys.last()) else {
        return;
    };
    let report = trust_paths(
        table,
        &first.1.public_key(),
        &last.1.public_key(),
        TrustQuery::default(),
    );
    let label = |key: &maillon_protocol::PublicKey| {
        network
            .keys
            .iter()
            .find(|(_, k)| k.public_key() == *key)
            .map_or("?", |(l, _)| l.as_str())
    };
    match report.distance {
        Some(distance) => {
            println!(
                "Chemin de confiance {} → {} : {} saut(s), {} chemin(s) indépendant(s)",
                first.0, last.0, distance, report.independent_paths
            );
            for path in &report.paths {
                println!(
                    "  {}",
                    path.iter().map(label).collect::<Vec<_>>().join(" → ")
                );
            }
        }
        None => println!("Aucun chemin de confiance entre {} et {}", first.0, last.0),
    }
    debug_assert!(matches!(table.status(&last.1.public_key()), Status::Member));
}
