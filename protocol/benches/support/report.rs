//! Same-run bookkeeping: per-benchmark means recorded from inside criterion's timing loop,
//! and the trust-path latency distribution, which criterion cannot report as percentiles.

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Bencher;
use maillon_protocol::ids::PublicKey;
use maillon_protocol::membership::MembershipTable;
use maillon_protocol::trust::{self, TrustQuery};

use super::Rng;

/// Total time and iterations per benchmark, over every call criterion made (warm-up included).
#[derive(Default)]
pub struct Recorder {
    entries: RefCell<Vec<(String, Duration, u64)>>,
}

impl Recorder {
    /// Times `routine` for criterion and records the same measurements.
    pub fn time<O>(&self, b: &mut Bencher<'_>, name: &str, mut routine: impl FnMut() -> O) {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(routine());
            }
            let elapsed = start.elapsed();
            self.add(name, elapsed, iters);
            elapsed
        });
    }

    /// Adds `iters` iterations that took `elapsed` in total to `name`.
    pub fn add(&self, name: &str, elapsed: Duration, iters: u64) {
        let mut entries = self.entries.borrow_mut();
        match entries.iter_mut().find(|(n, _, _)| n == name) {
            Some((_, total, count)) => {
                *total += elapsed;
                *count += iters;
            }
            None => entries.push((name.to_string(), elapsed, iters)),
        }
    }

    /// Runs `a` and `b` alternately for `rounds` rounds (swapping which goes first each
    /// round) and records each one's time under its name: an A/B comparison that drift of a
    /// shared host affects equally, unlike two criterion benchmarks taken a minute apart.
    pub fn interleave(
        &self,
        rounds: usize,
        (name_a, iters_a, mut a): (&str, u64, impl FnMut()),
        (name_b, iters_b, mut b): (&str, u64, impl FnMut()),
    ) {
        let time = |f: &mut dyn FnMut()| {
            let start = Instant::now();
            f();
            start.elapsed()
        };
        for round in 0..rounds {
            if round % 2 == 0 {
                self.add(name_a, time(&mut a), iters_a);
                self.add(name_b, time(&mut b), iters_b);
            } else {
                self.add(name_b, time(&mut b), iters_b);
                self.add(name_a, time(&mut a), iters_a);
            }
        }
    }

    /// Mean seconds per iteration of `name`, if it ran.
    pub fn mean(&self, name: &str) -> Option<f64> {
        let entries = self.entries.borrow();
        let (_, total, count) = entries.iter().find(|(n, _, _)| n == name)?;
        Some(total.as_secs_f64() / *count as f64)
    }
}

/// Prints the same-run means and the ratios the goals are stated in.
pub fn summary(
    rec: &Recorder,
    batch: usize,
    [medium, large]: [usize; 2],
    latency: Option<&TrustLatency>,
) {
    let rate = |name: &str, items: usize| rec.mean(name).map(|s| items as f64 / s);
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("\nSame-run summary. \"criterion\": mean over every iteration criterion timed");
    println!("(warm-up included); \"interleaved\": the two routines alternated in one loop.");
    let comparisons = [
        (
            "single, criterion",
            "raw_verify_strict",
            "record_verify",
            1,
            None,
        ),
        (
            "single, interleaved",
            "il_raw_verify_strict",
            "il_record_verify",
            1,
            None,
        ),
        (
            "single vs from_bytes+verify_strict",
            "raw_key_from_bytes_verify_strict",
            "record_verify",
            1,
            None,
        ),
        (
            "wire decode+verify, criterion",
            "raw_verify_strict",
            "record_decode_wire_verify",
            1,
            None,
        ),
        (
            "wire decode+verify, interleaved",
            "il_raw_verify_strict_2",
            "il_record_decode_wire_verify",
            1,
            None,
        ),
        (
            "batch 1024, criterion",
            "raw_verify_batch",
            "record_verify_many",
            batch,
            Some(0.8),
        ),
        (
            "batch 1024, interleaved",
            "il_raw_verify_batch",
            "il_record_verify_many",
            batch,
            Some(0.8),
        ),
    ];
    for (label, raw, ours, items, goal) in comparisons {
        let (Some(raw), Some(ours)) = (rate(raw, items), rate(ours, items)) else {
            continue;
        };
        let goal = goal.map_or(String::new(), |g| {
            format!(" (goal >= {g:.2}: {})", verdict(ours >= g * raw))
        });
        println!(
            "  {label:<36} raw {raw:>7.0}/s  ours {ours:>7.0}/s  ratio {:.3}{goal}",
            ours / raw
        );
    }
    let us = |name: &str, items: usize| rec.mean(name).map(|s| s * 1e6 / items as f64);
    if let (Some(d), Some(c), Some(t)) = (
        us("decompress", 1),
        us("compress", 1),
        us("is_torsion_free", 1),
    ) {
        // What signature.rs adds: canonical checks on A and R (decompress + compress each),
        // VerifyingKey::from_bytes (a third decompress); in a batch also [l]A and [l]R.
        let extra = 3.0 * d + 2.0 * c;
        println!("  parts: decompress {d:.1} µs, compress {c:.1} µs, is_torsion_free {t:.1} µs");
        if let (Some(raw), Some(ours)) = (us("raw_verify_strict", 1), us("record_verify", 1)) {
            let model = raw + extra;
            println!("  model single: raw {raw:.1} + 3 decompress + 2 compress = {model:.1} µs; measured {ours:.1} µs");
        }
        if let (Some(raw), Some(ours)) = (
            us("raw_verify_batch", batch),
            us("record_verify_many", batch),
        ) {
            let model = raw + extra + 2.0 * t;
            println!("  model batch: raw {raw:.1} + 3 decompress + 2 compress + 2 is_torsion_free = {model:.1} µs/item; measured {ours:.1} µs/item");
        }
    }
    for (name, size, goal) in [
        ("compute_medium", medium, 2.0),
        ("compute_large", large, 15.0),
    ] {
        if let Some(s) = rec.mean(name) {
            let ok = verdict(s < goal);
            println!("  membership {size}: {s:.3} s (goal < {goal} s: {ok})");
        }
    }
    if let Some(l) = latency {
        let ok = verdict(l.all.p99 < Duration::from_millis(1));
        println!(
            "  trust {}: p50 {:.1?}, p99 {:.1?} (goal p99 < 1 ms: {ok})",
            large, l.all.p50, l.all.p99
        );
    }
    for name in ["trust_median_path", "trust_no_path"] {
        if let Some(s) = rec.mean(name) {
            println!("  {name} (criterion): {:.1?}", Duration::from_secs_f64(s));
        }
    }
}

/// What the trust-path sample measured.
pub struct TrustLatency {
    /// First pass, every query.
    pub all: Percentiles,
    /// A pair whose distance is the sample's median distance among pairs with a path.
    pub with_path: Option<(PublicKey, PublicKey)>,
    /// A pair with no path within the hop limit.
    pub without_path: Option<(PublicKey, PublicKey)>,
}

/// Latency percentiles of one set of timings.
#[derive(Clone, Copy, Debug, Default)]
pub struct Percentiles {
    pub count: usize,
    pub mean: Duration,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub max: Duration,
}

impl Percentiles {
    fn of(mut times: Vec<Duration>) -> Percentiles {
        if times.is_empty() {
            return Percentiles::default();
        }
        times.sort_unstable();
        let n = times.len();
        let at = |p: f64| times[((n as f64 * p).ceil() as usize).clamp(1, n) - 1];
        Percentiles {
            count: n,
            mean: times.iter().sum::<Duration>() / n as u32,
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            p999: at(0.999),
            max: times[n - 1],
        }
    }

    fn row(&self, label: &str) -> String {
        format!(
            "  {label:<28} {:>6}  {:>9.1?}  {:>9.1?}  {:>9.1?}  {:>9.1?}  {:>9.1?}  {:>9.1?}",
            self.count, self.mean, self.p50, self.p90, self.p99, self.p999, self.max
        )
    }
}

/// Times `pairs` trust queries between deterministic random pairs of `members`, each call
/// on its own, in `passes` passes over the same pairs, and prints the distributions: the
/// first pass, split by whether a path was found, and the per-pair minimum over the passes
/// (which discards time the thread spent preempted on a shared machine).
pub fn trust_latency(
    table: &MembershipTable,
    members: &[PublicKey],
    pairs: usize,
    passes: usize,
    seed: u64,
) -> TrustLatency {
    let mut rng = Rng::new(seed);
    let query = TrustQuery::default();
    let sample: Vec<(PublicKey, PublicKey)> = (0..pairs)
        .map(|_| {
            let a = members[rng.index(members.len())];
            let mut b = members[rng.index(members.len())];
            while b == a && members.len() > 1 {
                b = members[rng.index(members.len())];
            }
            (a, b)
        })
        .collect();
    let mut best = vec![Duration::MAX; pairs];
    let mut first = Vec::with_capacity(pairs);
    let mut distances = Vec::with_capacity(pairs);
    let (mut truncated, mut independent) = (0usize, 0u64);
    for pass in 0..passes.max(1) {
        for (i, (a, b)) in sample.iter().enumerate() {
            let start = Instant::now();
            let report = black_box(trust::trust_paths(table, a, b, query));
            let elapsed = start.elapsed();
            best[i] = best[i].min(elapsed);
            if pass == 0 {
                first.push(elapsed);
                distances.push(report.distance);
                truncated += report.truncated as usize;
                independent += u64::from(report.independent_paths);
            }
        }
    }
    let split = |has_path: bool| -> Vec<Duration> {
        first
            .iter()
            .zip(&distances)
            .filter(|(_, d)| d.is_some() == has_path)
            .map(|(t, _)| *t)
            .collect()
    };
    let all = Percentiles::of(first.clone());
    let found: Vec<(u32, usize)> = distances
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.map(|d| (d, i)))
        .collect();
    let mut sorted: Vec<u32> = found.iter().map(|(d, _)| *d).collect();
    sorted.sort_unstable();
    let median = sorted.get(sorted.len() / 2).copied();
    let with_path = found
        .iter()
        .find(|(d, _)| Some(*d) == median)
        .map(|(_, i)| sample[*i]);
    let without_path = distances
        .iter()
        .position(Option::is_none)
        .map(|i| sample[i]);
    let mut histogram = [0usize; 8];
    for d in &distances {
        histogram[d.map_or(7, |d| (d as usize).min(6))] += 1;
    }

    println!();
    println!("trust_paths latency: {pairs} random member pairs, each call timed alone; {query:?}");
    println!(
        "  {:<28} {:>6}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}",
        "", "calls", "mean", "p50", "p90", "p99", "p99.9", "max"
    );
    println!("{}", all.row("all (pass 1)"));
    println!(
        "{}",
        Percentiles::of(split(true)).row("  with a path (pass 1)")
    );
    println!(
        "{}",
        Percentiles::of(split(false)).row("  without a path (pass 1)")
    );
    println!(
        "{}",
        Percentiles::of(best).row(&format!("all, per-pair min of {passes}"))
    );
    println!(
        "  path within {} hops: {} of {} ({:.1} %), mean distance {:.2}, \
         mean independent paths {:.2}, truncated {}",
        query.max_hops,
        found.len(),
        pairs,
        100.0 * found.len() as f64 / pairs.max(1) as f64,
        sorted.iter().map(|d| f64::from(*d)).sum::<f64>() / sorted.len().max(1) as f64,
        independent as f64 / found.len().max(1) as f64,
        truncated
    );
    let bins: Vec<String> = (1..7)
        .map(|d| format!("{d}: {}", histogram[d]))
        .chain(std::iter::once(format!("none: {}", histogram[7])))
        .collect();
    println!("  distances: {}", bins.join(", "));
    TrustLatency {
        all,
        with_path,
        without_path,
    }
}
