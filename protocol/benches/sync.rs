//! Benchmarks of set reconciliation: 100,000 items against 100,000 differing by 1,000 (time
//! and bytes), two identical sets of 100,000 (bytes), the state digest from the set's sums
//! against the `v1` digest (sort and hash every id), and, as the floor in the same run,
//! SHA-256 over as many ids as the set holds.
//!
//! Run with `cargo bench -p maillon-protocol --bench sync`. Under `cargo test --benches`
//! every benchmark runs once on small inputs.

use std::hint::black_box;

use criterion::Criterion;
use maillon_protocol::ids::{sha256, RecordId, Timestamp};
use maillon_protocol::state::state_digest_of_sum;
use maillon_protocol::sync::{respond, Reconciler, SyncConfig, SyncItem, SyncSet};
use maillon_protocol::testkit::{SplitMix64, T0};

/// Items per set and differences: the figures when benchmarking, small in test mode.
fn sizes() -> (usize, usize) {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--bench") && !has("--test") {
        (100_000, 1_000)
    } else {
        (2_000, 20)
    }
}

fn random_item(rng: &mut SplitMix64) -> SyncItem {
    let mut id = [0u8; 32];
    for chunk in id.chunks_exact_mut(8) {
        chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    let created = Timestamp(T0.0 + rng.below(365 * 86_400_000));
    SyncItem::new(created, RecordId(id))
}

/// Two sets of `n` items each, `diff / 2` unique to each side, spread across a year.
fn pair(n: usize, diff: usize) -> (SyncSet, SyncSet) {
    let mut rng = SplitMix64::new(42);
    let common: Vec<SyncItem> = (0..n - diff / 2).map(|_| random_item(&mut rng)).collect();
    let mut a: SyncSet = common.iter().copied().collect();
    let mut b = a.clone();
    a.extend((0..diff / 2).map(|_| random_item(&mut rng)));
    b.extend((0..diff / 2).map(|_| random_item(&mut rng)));
    (a, b)
}

/// Runs a full reconciliation; returns the bytes exchanged (both directions) and rounds.
fn reconcile(a: &SyncSet, b: &SyncSet) -> (usize, u32, usize) {
    let config = SyncConfig::default();
    let (mut reconciler, mut message) = Reconciler::initiate(a, config);
    let (mut bytes, mut learned) = (0, 0);
    loop {
        let reply = respond(b, &message, &config).expect("respond");
        bytes += message.len() + reply.len();
        let progress = reconciler.receive(a, &reply).expect("receive");
        learned += progress.have.len() + progress.need.len();
        match progress.next {
            Some(next) => message = next,
            None => return (bytes, reconciler.rounds(), learned),
        }
    }
}

fn main() {
    let (n, diff) = sizes();
    let (a, b) = pair(n, diff);
    let (same, _) = pair(n, 0);
    let (bytes, rounds, learned) = reconcile(&a, &b);
    assert_eq!(learned, diff);
    println!("reconcile {n} vs {n}, {diff} differences: {bytes} bytes in {rounds} rounds");
    let (bytes, rounds, _) = reconcile(&same, &same.clone());
    println!("reconcile {n} identical: {bytes} bytes in {rounds} rounds");

    let mut criterion = Criterion::default().sample_size(10).configure_from_args();
    criterion.bench_function(&format!("sync/reconcile_{n}_diff_{diff}"), |bencher| {
        bencher.iter(|| black_box(reconcile(&a, &b)))
    });
    criterion.bench_function(&format!("sync/reconcile_{n}_identical"), |bencher| {
        bencher.iter(|| black_box(reconcile(&same, &same)))
    });
    let ids: Vec<RecordId> = a.iter().map(|item| item.id).collect();
    criterion.bench_function(&format!("sync/sha256_over_{n}_ids"), |bencher| {
        bencher.iter(|| {
            for id in &ids {
                black_box(sha256(&[&id.0]));
            }
        })
    });
    criterion.bench_function(&format!("sync/state_digest_from_sums_{n}"), |bencher| {
        bencher.iter(|| black_box(state_digest_of_sum(&a.sum(), a.len() as u64)))
    });
    // What a node's status did before the v2 digest: copy the ids, sort them, hash them all.
    criterion.bench_function(&format!("sync/state_digest_v1_sorted_{n}"), |bencher| {
        bencher.iter(|| {
            let mut sorted: Vec<RecordId> = a.iter().map(|item| item.id).collect();
            sorted.sort_unstable();
            let mut parts: Vec<&[u8]> = vec![b"maillon/digest/v1\0"];
            parts.extend(sorted.iter().map(|id| &id.0[..]));
            black_box(sha256(&parts))
        })
    });
    criterion.bench_function(&format!("sync/build_set_{n}"), |bencher| {
        bencher.iter(|| black_box(a.iter().copied().collect::<SyncSet>()))
    });
    criterion.final_summary();
}
