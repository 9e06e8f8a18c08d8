//! Benchmarks of the protocol core: record signature verification (single, batched, and
//! decode + verify from wire bytes) against raw ed25519-dalek in the same run, the full
//! membership computation on synthetic networks of 150,000 and 1,000,000 keys, and
//! trust-path queries on the 1,000,000-key table (criterion plus a percentile table).
//!
//! Run with `cargo bench -p maillon-protocol`. Results and goals: docs/PERFORMANCE.md.
//! Under `cargo test --benches` (criterion's test mode) every benchmark runs once on small
//! inputs.

mod support;

use std::cell::OnceCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use ed25519_dalek::{Signature as RawSignature, VerifyingKey};
use maillon_protocol::membership::{MembershipTable, Status};
use maillon_protocol::record::Record;
use maillon_protocol::trust::{self, TrustQuery};

use support::report::{self, trust_latency, Recorder, TrustLatency};
use support::Network;

/// Records in a batch, and distinct signers among the record fixtures.
const BATCH: usize = 1024;

/// Input sizes: the figures when benchmarking, tiny ones in test mode.
struct Sizes {
    medium: usize,
    large: usize,
    trust_pairs: usize,
    interleave_rounds: usize,
}

impl Sizes {
    fn from_args() -> Sizes {
        let args: Vec<String> = std::env::args().collect();
        let has = |flag: &str| args.iter().any(|a| a == flag);
        if has("--bench") && !has("--test") && !has("--list") {
            Sizes {
                medium: 150_000,
                large: 1_000_000,
                trust_pairs: 10_000,
                interleave_rounds: 20,
            }
        } else {
            Sizes {
                medium: 2_000,
                large: 10_000,
                trust_pairs: 100,
                interleave_rounds: 1,
            }
        }
    }
}

/// A generated network and its computed table, checked for sanity.
struct Computed {
    net: Network,
    table: MembershipTable,
}

fn computed(members: usize, seed: u64) -> Computed {
    let start = Instant::now();
    let net = support::network(members, seed);
    let generated = start.elapsed();
    let start = Instant::now();
    let table = MembershipTable::compute(&net.rules, &net.facts, net.now);
    let first = start.elapsed();
    let mut counts = [0usize; 6];
    for key in &net.keys {
        let slot = match table.status(key) {
            Status::Founder | Status::Member => 0,
            Status::Probation { .. } => 1,
            Status::Candidate { .. } => 2,
            Status::Expelled { .. } => 3,
            Status::Unknown => 4,
            Status::Lapsed { .. } => 5,
        };
        counts[slot] += 1;
    }
    let f = &net.facts;
    println!(
        "\nnetwork {members}: generated in {generated:.2?}, first compute {first:.2?}; \
         {} joins, {} sponsorships ({} replacements), {} withdrawals, {} expulsions, \
         {} requirement raises; founder/member {}, probation {}, lapsed {}, candidate {} \
         ({} generated as pending), expelled {}, unknown {}",
        f.joins.len() + net.rules.founders.len(),
        f.sponsorships.len(),
        net.replacements,
        f.withdrawals.len(),
        f.expulsions.len(),
        f.requirements.len(),
        counts[0],
        counts[1],
        counts[5],
        counts[2],
        net.pending,
        counts[3],
        counts[4],
    );
    assert!(
        counts[0] * 100 > net.keys.len() * 95,
        "fewer than 95 % of generated keys are members: the benchmark would not measure real work"
    );
    Computed { net, table }
}

fn signatures(c: &mut Criterion, rec: &Recorder, sizes: &Sizes) {
    let records = support::signed_listings(BATCH);
    let refs: Vec<&Record> = records.iter().collect();
    assert!(Record::verify_many(&refs).iter().all(Result::is_ok));
    let network = records[0].header().network;
    let wires: Vec<Vec<u8>> = records.iter().map(Record::to_wire).collect();
    let messages: Vec<Vec<u8>> = records.iter().map(Record::signing_bytes).collect();
    let message_refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let raw_keys: Vec<[u8; 32]> = records.iter().map(|r| r.header().author.0).collect();
    let keys: Vec<VerifyingKey> = raw_keys
        .iter()
        .map(|k| VerifyingKey::from_bytes(k).expect("valid key"))
        .collect();
    let sigs: Vec<RawSignature> = records
        .iter()
        .map(|r| RawSignature::from_bytes(&r.signature().0))
        .collect();
    let (min, max) = messages.iter().fold((usize::MAX, 0), |(lo, hi), m| {
        (lo.min(m.len()), hi.max(m.len()))
    });
    println!(
        "\nrecord fixtures: {BATCH} listings by {BATCH} distinct keys; signing bytes \
         {min}..={max} bytes, wire {} bytes",
        wires[0].len()
    );

    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let mut i = 0usize;
    let mut next = move || {
        i = (i + 1) % BATCH;
        i
    };
    g.bench_function("raw_verify_strict", |b| {
        rec.time(b, "raw_verify_strict", || {
            let i = next();
            keys[i].verify_strict(message_refs[i], &sigs[i])
        })
    });
    g.bench_function("raw_key_from_bytes_verify_strict", |b| {
        rec.time(b, "raw_key_from_bytes_verify_strict", || {
            let i = next();
            VerifyingKey::from_bytes(&raw_keys[i])
                .and_then(|k| k.verify_strict(message_refs[i], &sigs[i]))
        })
    });
    g.bench_function("record_verify", |b| {
        rec.time(b, "record_verify", || records[next()].verify())
    });
    g.bench_function("record_decode_wire", |b| {
        rec.time(b, "record_decode_wire", || {
            Record::decode(&wires[next()], &network)
        })
    });
    g.bench_function("record_decode_wire_verify", |b| {
        rec.time(b, "record_decode_wire_verify", || {
            Record::decode(&wires[next()], &network).map(|r| r.verify())
        })
    });
    g.finish();

    // The curve operations the protocol's checks add on top of raw verification.
    let points: Vec<EdwardsPoint> = raw_keys
        .iter()
        .map(|k| CompressedEdwardsY(*k).decompress().expect("valid key"))
        .collect();
    let mut g = c.benchmark_group("verify_parts");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    g.bench_function("decompress", |b| {
        rec.time(b, "decompress", || {
            CompressedEdwardsY(raw_keys[next()]).decompress()
        })
    });
    g.bench_function("compress", |b| {
        rec.time(b, "compress", || points[next()].compress())
    });
    g.bench_function("is_torsion_free", |b| {
        rec.time(b, "is_torsion_free", || points[next()].is_torsion_free())
    });
    g.finish();

    let mut g = c.benchmark_group("verify_batch_1024");
    g.throughput(Throughput::Elements(BATCH as u64))
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    g.bench_function("raw_verify_batch", |b| {
        rec.time(b, "raw_verify_batch", || {
            ed25519_dalek::verify_batch(&message_refs, &sigs, &keys)
        })
    });
    g.bench_function("record_verify_many", |b| {
        rec.time(b, "record_verify_many", || Record::verify_many(&refs))
    });
    g.bench_function("record_verify_each", |b| {
        rec.time(b, "record_verify_each", || {
            refs.iter().map(|r| r.verify()).collect::<Vec<_>>()
        })
    });
    g.finish();

    // The same comparisons interleaved, for ratios that host drift does not skew.
    let chunk = 128;
    let singles = |f| cycle(chunk, f);
    let raw = |i: usize| keys[i].verify_strict(message_refs[i], &sigs[i]).is_ok();
    let ours = |i: usize| records[i].verify().is_ok();
    let wire = |i: usize| Record::decode(&wires[i], &network).is_ok_and(|r| r.verify().is_ok());
    let n = chunk as u64;
    let rounds = sizes.interleave_rounds;
    rec.interleave(
        rounds * 2,
        ("il_raw_verify_strict", n, singles(&raw)),
        ("il_record_verify", n, singles(&ours)),
    );
    rec.interleave(
        rounds,
        ("il_raw_verify_strict_2", n, singles(&raw)),
        ("il_record_decode_wire_verify", n, singles(&wire)),
    );
    rec.interleave(
        rounds,
        ("il_raw_verify_batch", 1, || {
            black_box(ed25519_dalek::verify_batch(&message_refs, &sigs, &keys)).expect("valid");
        }),
        ("il_record_verify_many", 1, || {
            black_box(Record::verify_many(&refs));
        }),
    );
}

/// A routine that runs `f` on the next `chunk` record indices, cycling through the batch.
fn cycle(chunk: usize, f: &dyn Fn(usize) -> bool) -> impl FnMut() + '_ {
    let mut start = 0;
    move || {
        for k in 0..chunk {
            assert!(black_box(f((start + k) % BATCH)));
        }
        start = (start + chunk) % BATCH;
    }
}

fn membership(c: &mut Criterion, rec: &Recorder, sizes: &Sizes, large: &OnceCell<Computed>) {
    let mut g = c.benchmark_group("membership_compute");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1));
    let medium = OnceCell::new();
    g.measurement_time(Duration::from_secs(10));
    g.bench_function(format!("{}", sizes.medium), |b| {
        let n = &medium.get_or_init(|| computed(sizes.medium, 150)).net;
        rec.time(b, "compute_medium", || {
            MembershipTable::compute(&n.rules, &n.facts, n.now)
        })
    });
    g.measurement_time(Duration::from_secs(30));
    g.bench_function(format!("{}", sizes.large), |b| {
        let n = &large.get_or_init(|| computed(sizes.large, 1_000)).net;
        rec.time(b, "compute_large", || {
            MembershipTable::compute(&n.rules, &n.facts, n.now)
        })
    });
    g.finish();
}

fn trust(
    c: &mut Criterion,
    rec: &Recorder,
    sizes: &Sizes,
    large: &OnceCell<Computed>,
    latency: &OnceCell<TrustLatency>,
) {
    let latency = || {
        let Computed { net, table } = large.get_or_init(|| computed(sizes.large, 1_000));
        let latency = latency.get_or_init(|| {
            let members: Vec<_> = net
                .keys
                .iter()
                .filter(|k| table.status(k).may_sponsor())
                .copied()
                .collect();
            trust_latency(table, &members, sizes.trust_pairs, 3, 7)
        });
        (table, latency)
    };
    let query = TrustQuery::default();
    let mut g = c.benchmark_group("trust_paths");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g.bench_function(format!("median_path_{}", sizes.large), |b| {
        let (table, latency) = latency();
        let (from, to) = latency.with_path.expect("some pair has a path");
        rec.time(b, "trust_median_path", || {
            trust::trust_paths(table, &from, &to, query)
        })
    });
    g.bench_function(format!("no_path_{}", sizes.large), |b| {
        let (table, latency) = latency();
        let (from, to) = latency.without_path.expect("some pair has no path");
        rec.time(b, "trust_no_path", || {
            trust::trust_paths(table, &from, &to, query)
        })
    });
    g.finish();
}

fn main() {
    let sizes = Sizes::from_args();
    let mut c = Criterion::default().configure_from_args();
    let rec = Recorder::default();
    let large = OnceCell::new();
    let latency = OnceCell::new();
    signatures(&mut c, &rec, &sizes);
    membership(&mut c, &rec, &sizes, &large);
    trust(&mut c, &rec, &sizes, &large, &latency);
    report::summary(&rec, BATCH, [sizes.medium, sizes.large], latency.get());
    c.final_summary();
}
