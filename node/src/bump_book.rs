//! Which bumps take effect (docs/PROTOCOL.md 9.2, "Effective bumps"), kept up to date as
//! bump records arrive in any order, for the listing pages and the search order alike: each node's bumps in (created, id) order, with the
//! charter's limit per node over any 24 hours. A bump that sorts after its node's last one
//! (the usual case) is judged from the running window; one that arrives out of order makes
//! that node's bumps judged again by [`effective_bumps`], so the result is the protocol's
//! whatever the arrival order. Whether the signer is an announced node is asked when read.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use maillon_protocol::effects::{effective_bumps_within, BumpFact};
use maillon_protocol::{PublicKey, RecordId, Timestamp};

/// One bump record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bumped {
    id: RecordId,
    created: Timestamp,
    expires: Timestamp,
    series: RecordId,
}

/// One node's bumps and the running window of its effective ones.
#[derive(Debug, Default)]
struct NodeBumps {
    /// In (created, id) order.
    bumps: Vec<Bumped>,
    /// Creation times of the effective bumps in the last 24 hours before the last bump.
    window: VecDeque<Timestamp>,
    effective: BTreeSet<RecordId>,
}

/// Every bump, and which are effective.
#[derive(Debug, Default)]
pub struct BumpBook {
    per_day: u64,
    nodes: HashMap<PublicKey, NodeBumps>,
    /// The bumps of each listing.
    by_series: HashMap<RecordId, Vec<(PublicKey, Bumped)>>,
}

impl BumpBook {
    /// An empty book for a charter allowing `per_day` effective bumps per node in any 24
    /// hours.
    pub fn new(per_day: u64) -> BumpBook {
        BumpBook {
            per_day,
            ..BumpBook::default()
        }
    }

    /// Adds a bump record of `node` on `series`; the listings whose bumps may have changed
    /// effect: this one, or, for a bump that arrived out of order, all of `node`'s.
    pub fn add(
        &mut self,
        node: PublicKey,
        id: RecordId,
        created: Timestamp,
        expires: Timestamp,
        series: RecordId,
    ) -> Vec<RecordId> {
        let bump = Bumped {
            id,
            created,
            expires,
            series,
        };
        let per_day = self.per_day;
        let book = self.nodes.entry(node).or_default();
        if book.bumps.iter().any(|b| b.id == id) {
            return Vec::new();
        }
        let in_order = book
            .bumps
            .last()
            .is_none_or(|last| (last.created, last.id) < (created, id));
        let touched = if in_order {
            book.bumps.push(bump);
            let day_before = created.minus_ms(Timestamp::DAY_MS);
            while book.window.front().is_some_and(|t| *t <= day_before) {
                book.window.pop_front();
            }
            if (book.window.len() as u64) < per_day {
                book.window.push_back(created);
                book.effective.insert(id);
            }
            vec![series]
        } else {
            let at = book
                .bumps
                .partition_point(|b| (b.created, b.id) < (created, id));
            book.bumps.insert(at, bump);
            judge_again(book, node, per_day);
            let mut all: Vec<RecordId> = book.bumps.iter().map(|b| b.series).collect();
            all.sort();
            all.dedup();
            all
        };
        self.by_series.entry(series).or_default().push((node, bump));
        touched
    }

    /// The charter's limit this book applies.
    pub fn per_day(&self) -> u64 {
        self.per_day
    }

    /// Every listing with a bump.
    pub fn series(&self) -> impl Iterator<Item = &RecordId> {
        self.by_series.keys()
    }

    /// The newest effective bump of `series` in force at `now` and signed by a node that
    /// `announced` accepts: when it was signed and when it ends.
    pub fn in_force(
        &self,
        series: &RecordId,
        now: Timestamp,
        announced: impl Fn(&PublicKey) -> bool,
    ) -> Option<(Timestamp, Timestamp)> {
        self.by_series
            .get(series)?
            .iter()
            .filter(|(node, bump)| {
                bump.expires > now
                    && announced(node)
                    && self
                        .nodes
                        .get(node)
                        .is_some_and(|b| b.effective.contains(&bump.id))
            })
            .map(|(_, bump)| (bump.created, bump.expires))
            .max()
    }
}

/// Judges all of one node's bumps again, by the protocol's function, and rebuilds the
/// running window from the effective ones.
fn judge_again(book: &mut NodeBumps, node: PublicKey, per_day: u64) {
    let facts: Vec<BumpFact> = book
        .bumps
        .iter()
        .map(|b| BumpFact {
            id: b.id,
            node,
            created: b.created,
        })
        .collect();
    let nodes: HashSet<PublicKey> = [node].into();
    book.effective = effective_bumps_within(per_day, &nodes, &facts);
    let last = book.bumps.last().map_or(Timestamp(0), |b| b.created);
    let day_before = last.minus_ms(Timestamp::DAY_MS);
    book.window = book
        .bumps
        .iter()
        .filter(|b| book.effective.contains(&b.id) && b.created > day_before)
        .map(|b| b.created)
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600_000;

    fn id(n: u8) -> RecordId {
        RecordId([n; 32])
    }

    /// Bumps 1..=4 of one node, an hour apart, with a limit of 2 per day, added in `order`.
    fn book_in(order: &[u8]) -> BumpBook {
        let mut book = BumpBook::new(2);
        for &n in order {
            let created = Timestamp(u64::from(n) * HOUR);
            book.add(
                PublicKey([1; 32]),
                id(n),
                created,
                created.plus_ms(48 * HOUR),
                id(100 + n),
            );
        }
        book
    }

    fn effective(book: &BumpBook) -> Vec<u8> {
        (1..=4)
            .filter(|n| {
                book.in_force(&id(100 + n), Timestamp(5 * HOUR), |_| true)
                    .is_some()
            })
            .collect()
    }

    #[test]
    fn the_daily_limit_keeps_the_first_bumps_whatever_the_arrival_order() {
        assert_eq!(effective(&book_in(&[1, 2, 3, 4])), vec![1, 2]);
        assert_eq!(effective(&book_in(&[4, 3, 2, 1])), vec![1, 2]);
        assert_eq!(effective(&book_in(&[3, 1, 4, 2, 2])), vec![1, 2]);
    }

    #[test]
    fn a_bump_counts_only_while_in_force_and_signed_by_an_announced_node() {
        let book = book_in(&[1]);
        let series = id(101);
        assert_eq!(
            book.in_force(&series, Timestamp(2 * HOUR), |_| true),
            Some((Timestamp(HOUR), Timestamp(49 * HOUR)))
        );
        assert_eq!(book.in_force(&series, Timestamp(49 * HOUR), |_| true), None);
        assert_eq!(book.in_force(&series, Timestamp(2 * HOUR), |_| false), None);
    }

    #[test]
    fn the_window_slides_after_a_day_and_after_a_late_arrival() {
        let mut book = book_in(&[2, 1]);
        let later = Timestamp(26 * HOUR);
        book.add(
            PublicKey([1; 32]),
            id(9),
            later,
            later.plus_ms(HOUR),
            id(109),
        );
        assert!(
            book.in_force(&id(109), later, |_| true).is_some(),
            "a day later, room again"
        );
        let same_hour = Timestamp(26 * HOUR + 1);
        book.add(
            PublicKey([1; 32]),
            id(10),
            same_hour,
            same_hour.plus_ms(HOUR),
            id(110),
        );
        book.add(
            PublicKey([1; 32]),
            id(11),
            same_hour.plus_ms(1),
            same_hour.plus_ms(HOUR),
            id(111),
        );
        assert!(book.in_force(&id(110), same_hour, |_| true).is_some());
        assert!(
            book.in_force(&id(111), same_hour, |_| true).is_none(),
            "the window is full"
        );
    }
}
