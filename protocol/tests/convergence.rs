//! Order independence: the same records applied in any order, with parking and retries as a
//! node does, give the same record set, digest and statuses.

#![allow(clippy::unwrap_used)]

mod support;

use maillon_protocol::kinds::LabelAction;
use maillon_protocol::state::{Applied, ApplyError};
use maillon_protocol::testkit::{SplitMix64, DAY};
use maillon_protocol::{Invalid, Record, RecordSet};
use proptest::prelude::*;
use support::World;

/// A history with admissions, a withdrawal, an expulsion cascade, listings, a rotation and
/// an erasure.
fn history() -> World {
    let mut w = World::new();
    let anne = w.member("anne");
    let bob = w.member("bob");
    let carl = w.member("carl");
    let dora = w.member_by("dora", &[&anne, &bob, &carl]);
    let eve = w.member_by("eve", &[&dora, &anne, &bob]);
    let moderator = w.moderator("modo");
    w.listing(&dora, "Cours de piano");
    w.listing(&eve, "Garde d'enfants le mercredi");
    let sponsorship = w
        .log
        .iter()
        .rev()
        .find(|r| r.header().author == anne.public_key())
        .unwrap()
        .id();
    let at = w.tick(1000);
    let withdrawal = w.signer.withdraw(&anne, sponsorship, at);
    w.apply(withdrawal);
    let at = w.tick(1000);
    w.apply(w.signer.member_label(
        &moderator,
        LabelAction::ExpelMember,
        dora.public_key(),
        None,
        at,
    ));
    let new_key = maillon_protocol::testkit::key("bob-2");
    let at = w.tick(1000);
    w.apply(w.signer.rotate(&bob, &new_key, at));
    w.listing(&new_key, "Bois de chauffage");
    let at = w.tick(1000);
    w.apply(w.signer.erase(&carl, at));
    w.tick(DAY);
    w
}

/// Applies records the way a node does: retry what is parked or not yet allowed, and keep
/// the bare header of a body that was erased.
fn replay(
    charter: Record,
    mut pending: Vec<Record>,
    now: maillon_protocol::Timestamp,
) -> RecordSet {
    let mut set = RecordSet::new(charter, now).unwrap();
    loop {
        let before = pending.len();
        let mut still = Vec::new();
        for record in pending {
            match set.apply(record.clone(), now) {
                Ok(Applied::Inserted | Applied::Duplicate) => {}
                Ok(Applied::Parked(_)) => still.push(record),
                Err(ApplyError::Invalid(Invalid::ErasedBody)) => {
                    assert_eq!(set.apply(record.without_body(), now), Ok(Applied::Inserted));
                }
                Err(ApplyError::Invalid(invalid)) if !invalid.is_permanent() => still.push(record),
                Err(other) => panic!("{:?} refused: {other}", record.header().kind),
            }
        }
        pending = still;
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    assert!(
        pending.is_empty(),
        "{} records never applied",
        pending.len()
    );
    set
}

#[test]
fn the_history_is_what_the_tests_below_assume() {
    let w = history();
    let statuses = w.set.membership().statuses();
    let count = |name: &str| statuses.iter().filter(|(_, s)| s.name() == name).count();
    assert_eq!(count("expelled"), 1);
    assert_eq!(count("probation"), 1, "eve lost her expelled sponsor");
    assert_eq!(
        w.log.len(),
        30,
        "the charter, the introducing node and 28 records"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_arrival_order_converges(seed: u64) {
        let w = history();
        let mut records: Vec<Record> = w.log[1..].to_vec();
        SplitMix64::new(seed).shuffle(&mut records);
        let set = replay(w.log[0].clone(), records, w.now);
        prop_assert_eq!(set.digest(), w.set.digest());
        prop_assert_eq!(set.membership().statuses(), w.set.membership().statuses());
        let bodies = |s: &RecordSet| s.records().filter(|r| r.body().is_some()).map(|r| r.id()).collect::<Vec<_>>();
        prop_assert_eq!(bodies(&set), bodies(&w.set));
    }
}
