//! The limits measured in the same run: signature verification over the same records, one
//! core and every core, and a plain sled insert loop.

use std::time::{Duration, Instant};

use maillon_protocol::ids::{sha256, NetworkId};
use maillon_protocol::Record;

use super::{thousands, BenchResult};

/// Rates in records per second.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `Record::verify_many` on one thread.
    pub verify_one_core: f64,
    /// `Record::verify_many` split over every core.
    pub verify_all_cores: f64,
    /// Cores used for `verify_all_cores`.
    pub cores: usize,
    /// sled inserts of the records' wire bytes under random 32-byte keys, one flush at the end.
    pub sled_insert: f64,
}

impl Limits {
    /// The binding limit: the smaller of verification on every core and sled inserts.
    pub fn binding(&self) -> f64 {
        self.verify_all_cores.min(self.sled_insert)
    }

    /// A one-line description.
    pub fn describe(&self) -> String {
        format!(
            "verify {}/s (1 core), {}/s ({} cores); sled insert {}/s",
            thousands(self.verify_one_core as u64),
            thousands(self.verify_all_cores as u64),
            self.cores,
            thousands(self.sled_insert as u64)
        )
    }
}

/// Measures the limits on `wires` (verification on at most `sample` of them, spread evenly;
/// sled on all of them).
pub fn measure(wires: &[Vec<u8>], network: &NetworkId, sample: usize) -> BenchResult<Limits> {
    let step = wires.len().div_ceil(sample.max(1)).max(1);
    let records: Vec<Record> = wires
        .iter()
        .step_by(step)
        .map(|w| Record::decode(w, network))
        .collect::<Result<_, _>>()?;
    let refs: Vec<&Record> = records.iter().collect();
    let started = Instant::now();
    let results = Record::verify_many(&refs);
    let one = refs.len() as f64 / started.elapsed().as_secs_f64();
    if results.iter().any(Result::is_err) {
        return Err("a benchmark record failed verification".into());
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = refs.len().div_ceil(cores).max(1);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for part in refs.chunks(chunk) {
            scope.spawn(move || Record::verify_many(part));
        }
    });
    let all = refs.len() as f64 / started.elapsed().as_secs_f64();
    Ok(Limits {
        verify_one_core: one,
        verify_all_cores: all,
        cores,
        sled_insert: sled_insert_rate(wires)?,
    })
}

/// Inserts every value under a random 32-byte key into a fresh sled store, flushes once;
/// returns values per second.
pub fn sled_insert_rate(values: &[Vec<u8>]) -> BenchResult<f64> {
    let dir = tempfile::tempdir()?;
    let db = sled::open(dir.path().join("db"))?;
    let keys: Vec<[u8; 32]> = (0..values.len() as u64)
        .map(|i| sha256(&[&i.to_be_bytes()]))
        .collect();
    let started = Instant::now();
    for (key, value) in keys.iter().zip(values) {
        db.insert(key, value.as_slice())?;
    }
    db.flush()?;
    Ok(values.len() as f64 / started.elapsed().as_secs_f64())
}

/// The median time of one sled insert of `value` followed by a flush, over `times` tries.
pub fn sled_flush_latency(value: &[u8], times: u64) -> BenchResult<Duration> {
    let dir = tempfile::tempdir()?;
    let db = sled::open(dir.path().join("db"))?;
    let mut all = Vec::new();
    for i in 0..times {
        let started = Instant::now();
        db.insert(sha256(&[&i.to_be_bytes()]), value)?;
        db.flush()?;
        all.push(started.elapsed());
    }
    all.sort();
    Ok(super::percentile(&all, 50.0).unwrap_or_default())
}

/// The mean time of one `Record::verify` over the records.
pub fn verify_latency(wires: &[Vec<u8>], network: &NetworkId) -> BenchResult<Duration> {
    let records: Vec<Record> = wires
        .iter()
        .map(|w| Record::decode(w, network))
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    for record in &records {
        record.verify()?;
    }
    Ok(started.elapsed() / records.len().max(1) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_measured_on_valid_records() {
        let network = crate::generator::generate(3, 5);
        let id = network.records[0].header().network;
        let wires: Vec<Vec<u8>> = network.records.iter().map(Record::to_wire).collect();
        let limits = measure(&wires, &id, 10).unwrap();
        assert!(limits.verify_one_core > 0.0 && limits.sled_insert > 0.0);
        assert!(limits.describe().contains("sled insert"));
        let mut bad = wires.clone();
        let last = bad[1].len() - 1;
        bad[1][last] ^= 1;
        assert!(measure(&bad, &id, 100).is_err());
    }
}
