//! The parking lot: records whose refs are not stored yet wait here, bounded in count,
//! bytes and age, until their refs arrive. Pure: times are passed in.

use std::collections::{BTreeSet, HashMap};

use maillon_protocol::ids::{RecordId, Timestamp};

/// Bounds of the parking lot. Nothing in it grows past them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParkingLimits {
    /// Records parked at most.
    pub max_records: usize,
    /// Wire bytes parked at most.
    pub max_bytes: usize,
    /// How long a record may wait, in ms.
    pub max_age_ms: u64,
}

impl Default for ParkingLimits {
    fn default() -> Self {
        ParkingLimits {
            max_records: 10_000,
            max_bytes: 32 << 20,
            max_age_ms: 3_600_000,
        }
    }
}

/// What parking a record did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParkOutcome {
    /// Parked; these older records were evicted to make room.
    Parked {
        /// Evicted to stay within the limits, oldest first.
        evicted: Vec<RecordId>,
    },
    /// Already waiting.
    AlreadyParked,
    /// Larger than the whole lot may hold: not parked.
    TooLarge,
}

#[derive(Clone, Debug)]
struct Parked {
    wire: Vec<u8>,
    missing: BTreeSet<RecordId>,
    parked_at: Timestamp,
}

/// Records waiting for their refs.
#[derive(Clone, Debug, Default)]
pub struct ParkingLot {
    limits: ParkingLimits,
    parked: HashMap<RecordId, Parked>,
    waiting_on: HashMap<RecordId, BTreeSet<RecordId>>,
    by_age: BTreeSet<(Timestamp, RecordId)>,
    bytes: usize,
}

impl ParkingLot {
    /// An empty lot with these limits.
    pub fn new(limits: ParkingLimits) -> ParkingLot {
        ParkingLot {
            limits,
            ..ParkingLot::default()
        }
    }

    /// Records waiting.
    pub fn len(&self) -> usize {
        self.parked.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.parked.is_empty()
    }

    /// Wire bytes waiting.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The refs some parked record waits for: what to fetch from peers.
    pub fn wanted(&self) -> Vec<RecordId> {
        let mut ids: Vec<RecordId> = self.waiting_on.keys().copied().collect();
        ids.sort();
        ids
    }

    /// Parks a record until every id in `missing` has arrived.
    pub fn park(
        &mut self,
        id: RecordId,
        wire: Vec<u8>,
        missing: &[RecordId],
        now: Timestamp,
    ) -> ParkOutcome {
        if self.parked.contains_key(&id) {
            return ParkOutcome::AlreadyParked;
        }
        if wire.len() > self.limits.max_bytes || self.limits.max_records == 0 {
            return ParkOutcome::TooLarge;
        }
        let mut evicted = self.expire(now);
        while self.parked.len() >= self.limits.max_records
            || self.bytes + wire.len() > self.limits.max_bytes
        {
            let Some(&(_, oldest)) = self.by_age.iter().next() else {
                break;
            };
            self.remove(&oldest);
            evicted.push(oldest);
        }
        for missing_id in missing {
            self.waiting_on.entry(*missing_id).or_default().insert(id);
        }
        self.bytes += wire.len();
        self.by_age.insert((now, id));
        self.parked.insert(
            id,
            Parked {
                wire,
                missing: missing.iter().copied().collect(),
                parked_at: now,
            },
        );
        ParkOutcome::Parked { evicted }
    }

    /// Notes that `arrived` is now stored. Returns the records no longer waiting for anything,
    /// removed from the lot, in the order they were parked.
    pub fn arrived(&mut self, arrived: &RecordId) -> Vec<(RecordId, Vec<u8>)> {
        let Some(waiters) = self.waiting_on.remove(arrived) else {
            return Vec::new();
        };
        let mut ready = Vec::new();
        for waiter in waiters {
            let Some(parked) = self.parked.get_mut(&waiter) else {
                continue;
            };
            parked.missing.remove(arrived);
            if parked.missing.is_empty() {
                ready.push((parked.parked_at, waiter));
            }
        }
        ready.sort();
        ready
            .into_iter()
            .filter_map(|(_, id)| self.remove(&id).map(|p| (id, p.wire)))
            .collect()
    }

    /// Drops records parked longer than the age limit; returns their ids.
    pub fn expire(&mut self, now: Timestamp) -> Vec<RecordId> {
        let cutoff = now.minus_ms(self.limits.max_age_ms);
        let old: Vec<RecordId> = self
            .by_age
            .iter()
            .take_while(|(t, _)| *t < cutoff)
            .map(|(_, id)| *id)
            .collect();
        for id in &old {
            self.remove(id);
        }
        old
    }

    fn remove(&mut self, id: &RecordId) -> Option<Parked> {
        let parked = self.parked.remove(id)?;
        self.by_age.remove(&(parked.parked_at, *id));
        self.bytes -= parked.wire.len();
        for missing in &parked.missing {
            if let Some(set) = self.waiting_on.get_mut(missing) {
                set.remove(id);
                if set.is_empty() {
                    self.waiting_on.remove(missing);
                }
            }
        }
        Some(parked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(n: u8) -> RecordId {
        RecordId([n; 32])
    }

    fn lot(max_records: usize, max_bytes: usize) -> ParkingLot {
        ParkingLot::new(ParkingLimits {
            max_records,
            max_bytes,
            max_age_ms: 1_000,
        })
    }

    #[test]
    fn a_record_is_released_when_its_last_ref_arrives() {
        let mut lot = lot(10, 1_000);
        lot.park(id(1), vec![1; 10], &[id(100), id(101)], Timestamp(0));
        lot.park(id(2), vec![2; 10], &[id(100)], Timestamp(1));
        assert_eq!(lot.wanted(), vec![id(100), id(101)]);
        let released = lot.arrived(&id(100));
        assert_eq!(released, vec![(id(2), vec![2; 10])]);
        assert_eq!(lot.arrived(&id(101)), vec![(id(1), vec![1; 10])]);
        assert!(lot.is_empty());
        assert_eq!(lot.bytes(), 0);
        assert!(lot.wanted().is_empty());
    }

    #[test]
    fn the_oldest_records_make_room_and_old_ones_expire() {
        let mut lot = lot(2, 25);
        lot.park(id(1), vec![0; 10], &[id(100)], Timestamp(0));
        lot.park(id(2), vec![0; 10], &[id(100)], Timestamp(1));
        assert_eq!(
            lot.park(id(3), vec![0; 10], &[id(101)], Timestamp(2)),
            ParkOutcome::Parked {
                evicted: vec![id(1)]
            }
        );
        assert_eq!(
            lot.park(id(4), vec![0; 20], &[id(101)], Timestamp(3)),
            ParkOutcome::Parked {
                evicted: vec![id(2), id(3)]
            }
        );
        assert_eq!(
            lot.park(id(5), vec![0; 26], &[id(101)], Timestamp(4)),
            ParkOutcome::TooLarge
        );
        assert_eq!(
            lot.park(id(4), vec![0; 1], &[], Timestamp(4)),
            ParkOutcome::AlreadyParked
        );
        assert_eq!(lot.expire(Timestamp(2_000)), vec![id(4)]);
        assert!(lot.is_empty() && lot.wanted().is_empty());
    }

    proptest! {
        #[test]
        fn nothing_grows_past_the_limits(ops in proptest::collection::vec((0u8..40, 0usize..64, 0u8..8, any::<bool>()), 1..300)) {
            let mut lot = lot(16, 256);
            let mut now = Timestamp(0);
            for (n, size, missing, arrive) in ops {
                now = now.plus_ms(7);
                if arrive {
                    let waiting: usize = lot.waiting_on.get(&id(200 + missing)).map_or(0, |s| s.len());
                    let released = lot.arrived(&id(200 + missing));
                    // Each record waits for one ref here, so every waiter is released.
                    prop_assert_eq!(released.len(), waiting);
                    prop_assert!(!lot.waiting_on.contains_key(&id(200 + missing)));
                    prop_assert!(released.iter().all(|(r, _)| !lot.parked.contains_key(r)));
                } else {
                    lot.park(id(n), vec![0; size], &[id(200 + missing)], now);
                }
                prop_assert!(lot.len() <= 16);
                prop_assert!(lot.bytes() <= 256);
                prop_assert_eq!(lot.bytes(), lot.parked.values().map(|p| p.wire.len()).sum::<usize>());
                prop_assert!(lot.waiting_on.values().all(|s| !s.is_empty()));
            }
        }
    }
}
