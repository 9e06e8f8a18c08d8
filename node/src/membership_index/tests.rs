//! The index against the protocol's full recomputation, on random histories fed in random
//! orders and batches; and what marks it dirty and stale.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use maillon_protocol::effects;
use maillon_protocol::ids::{PublicKey, Timestamp};
use maillon_protocol::kinds::{Body, NodePolicy};
use maillon_protocol::membership::{Facts, MembershipTable, Rules, Status};
use maillon_protocol::testkit::{self, Signer, DAY, T0};
use maillon_protocol::trust::{trust_paths, TrustQuery};
use maillon_protocol::Record;

use super::world::World;
use super::MembershipIndex;

/// The records a node holds at the end: erasures have dropped the bodies of their
/// identity's erasable records created up to them.
fn stored(records: &[Record], table: &MembershipTable) -> Vec<Record> {
    let mut erased: HashMap<PublicKey, Timestamp> = HashMap::new();
    for r in records {
        if let Some(Body::Erasure(_)) = r.body() {
            let at = erased
                .entry(table.identity(&r.header().author))
                .or_default();
            *at = (*at).max(r.header().created);
        }
    }
    let erased_body = |r: &Record| {
        let h = r.header();
        h.kind.is_erasable()
            && erased
                .get(&table.identity(&h.author))
                .is_some_and(|at| h.created <= *at)
    };
    records
        .iter()
        .map(|r| {
            if erased_body(r) {
                r.without_body()
            } else {
                r.clone()
            }
        })
        .collect()
}

/// Per identity, the home node of its newest profile still holding a body.
fn reference_homes(stored: &[Record], table: &MembershipTable) -> HashMap<PublicKey, PublicKey> {
    let mut newest: HashMap<PublicKey, (Timestamp, maillon_protocol::RecordId, PublicKey)> =
        HashMap::new();
    for r in stored {
        if let Some(Body::Profile(p)) = r.body() {
            let entry = (r.header().created, r.id(), p.home_node);
            let slot = newest
                .entry(table.identity(&r.header().author))
                .or_insert(entry);
            if (slot.0, slot.1) < (entry.0, entry.1) {
                *slot = entry;
            }
        }
    }
    newest.into_iter().map(|(k, v)| (k, v.2)).collect()
}

/// Feeds the history in a random order, in random batches with refreshes between them, with
/// a few repeats; an erased profile arrives with its body (before the erasure) or without
/// it (after). With `at_now`, every refresh is at `now` and nothing is ever stale, so the
/// final refresh recomputes only what the dirty marks ask for; otherwise the interim
/// refreshes are at random times and any change of time recomputes.
fn feed(world: &mut World, stored: &[Record], now: Timestamp, at_now: bool) -> MembershipIndex {
    let staleness = if at_now { u64::MAX } else { 0 };
    let mut index = MembershipIndex::new(world.signer.charter.clone()).with_staleness_ms(staleness);
    let mut order: Vec<usize> = (0..stored.len()).collect();
    world.rng().shuffle(&mut order);
    let end = world.now.0;
    for (n, i) in order.iter().enumerate() {
        let with_body = World::is_profile(&world.records[*i]) && world.rng().below(2) == 0;
        index.note(if with_body {
            &world.records[*i]
        } else {
            &stored[*i]
        });
        if world.rng().below(8) == 0 {
            let j = order[world.rng().below(n as u64 + 1) as usize];
            index.note(&stored[j]);
        }
        if at_now {
            index.refresh(now);
            assert_nothing_missed(&index, now);
        } else if !at_now && world.rng().below(12) == 0 {
            let at = T0.0 + world.rng().below(end - T0.0 + 1);
            index.refresh(Timestamp(at));
        }
    }
    index
}

/// After a refresh at `now` that recomputed only what the dirty marks asked for, a forced
/// recomputation of everything finds the same: no note failed to mark what it changed.
fn assert_nothing_missed(index: &MembershipIndex, now: Timestamp) {
    let mut forced = index.clone();
    forced.table_dirty = true;
    forced.refresh(now);
    assert_eq!(forced.table().statuses(), index.table().statuses());
    assert_eq!(forced.derived.announced, index.derived.announced);
    assert_eq!(forced.derived.policies, index.derived.policies);
    assert_eq!(forced.derived.homes, index.derived.homes);
}

/// Asserts the index answers what the full recomputation over `stored` answers at `now`.
fn assert_equivalent(
    world: &mut World,
    index: &MembershipIndex,
    stored: &[Record],
    now: Timestamp,
) {
    let charter = &world.signer.charter;
    let facts = Facts::from_records(charter, stored);
    let table = MembershipTable::compute(&Rules::of(charter), &facts, now);
    assert_eq!(index.table().statuses(), table.statuses());
    assert_eq!(
        index.members_in_good_standing(),
        table.good_standing_count()
    );
    let homes = reference_homes(stored, &table);
    let keys = world.keys.clone();
    for &key in &keys {
        let m = index.member(&key);
        assert_eq!(m.identity, table.identity(&key));
        assert_eq!(m.status, table.status(&key), "{key:?}");
        assert_eq!(m.admitted_at, table.admitted_at(&key));
        assert_eq!(m.strikes, table.strikes(&key));
        assert_eq!(m.quota, table.quota(&key));
        assert_eq!(m.sponsors, table.sponsors(&key));
        assert_eq!(m.sponsees, table.sponsees(&key));
        assert_eq!(m.home_node, homes.get(&m.identity).copied());
        let at = Timestamp(T0.0 + world.rng().below(now.0.saturating_sub(T0.0) + 1));
        assert_eq!(
            index.in_good_standing_at(&key, at),
            effects::in_good_standing_at(&table, &key, at)
        );
    }
    for _ in 0..40 {
        let from = *world.rng().pick(&keys);
        let to = *world.rng().pick(&keys);
        let expected = trust_paths(&table, &from, &to, TrustQuery::default());
        assert_eq!(index.trust(&from, &to), expected);
    }
    assert_nodes_equivalent(world, index, stored, &table);
}

fn assert_nodes_equivalent(
    world: &World,
    index: &MembershipIndex,
    stored: &[Record],
    table: &MembershipTable,
) {
    let announced = effects::announced_nodes(stored, table);
    assert_eq!(index.announced_nodes(), &announced);
    let nodes: HashSet<PublicKey> = announced.keys().copied().collect();
    let mut policies: HashMap<PublicKey, BTreeMap<PublicKey, NodePolicy>> = HashMap::new();
    for ((node, target), policy) in effects::node_policies(stored, &nodes) {
        policies.entry(node).or_default().insert(target, policy);
    }
    for node in &world.nodes {
        let node = node.public_key();
        let expected: Vec<NodePolicy> = policies
            .remove(&node)
            .map(|by_target| by_target.into_values().collect())
            .unwrap_or_default();
        assert_eq!(index.node_policies_of(&node), expected);
    }
}

#[test]
fn the_index_equals_the_full_recomputation_in_any_order() {
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut announced = 0;
    for seed in 0..200u64 {
        let mut world = World::random(seed, 100 + (seed as usize % 5) * 20);
        let charter = world.signer.charter.clone();
        // Mostly after the last record, sometimes in the middle of the history.
        let now = if world.rng().below(3) == 0 {
            let span = world.now.0 - T0.0;
            Timestamp(T0.0 + world.rng().below(span))
        } else {
            world.now.plus_ms(world.rng().below(100 * DAY))
        };
        let facts = Facts::from_records(&charter, &world.records);
        let table = MembershipTable::compute(&Rules::of(&charter), &facts, now);
        let stored = stored(&world.records, &table);
        let mut index = feed(&mut world, &stored, now, seed % 2 == 0);
        index.refresh(now);
        assert!(!index.is_dirty());
        assert_eq!(index.computed_at(), Some(now));
        assert_equivalent(&mut world, &index, &stored, now);
        for (_, status) in index.table().statuses() {
            *seen.entry(status.name()).or_default() += 1;
        }
        announced += index.announced_nodes().len();
    }
    // The histories reach every status the rule has, and announce nodes.
    for name in [
        "founder",
        "member",
        "probation",
        "lapsed",
        "candidate",
        "expelled",
    ] {
        assert!(
            seen.get(name).is_some_and(|n| *n > 0),
            "no {name} in {seen:?}"
        );
    }
    assert!(announced > 0);
}

/// Three founders, a council of them, and a member all three sponsor.
fn network() -> (Signer, Vec<maillon_protocol::SecretKey>, Vec<Record>) {
    let founders: Vec<_> = (1..=3)
        .map(|i| testkit::key(&format!("founder-{i}")))
        .collect();
    let refs: Vec<_> = founders.iter().collect();
    let signer = Signer::new(testkit::charter(&refs, &refs, 2));
    let anne = testkit::key("anne");
    let mut records = vec![signer.join(&anne, T0.plus_ms(DAY))];
    for (i, f) in founders.iter().enumerate() {
        records.push(signer.sponsor(f, anne.public_key(), T0.plus_ms(DAY + 1000 * i as u64 + 1)));
    }
    (signer, founders, records)
}

#[test]
fn a_listing_or_a_repeat_does_not_dirty_the_index() {
    let (signer, _, records) = network();
    let anne = testkit::key("anne");
    let mut index = MembershipIndex::new(signer.charter.clone());
    assert!(index.is_dirty());
    for r in &records {
        index.note(r);
    }
    assert!(index.refresh(T0.plus_ms(2 * DAY)));
    assert!(!index.is_dirty());
    assert_eq!(index.member(&anne.public_key()).status, Status::Member);
    index.note(&signer.listing(&anne, "Armoire", T0.plus_ms(2 * DAY)));
    index.note(&records[1]);
    assert!(!index.is_dirty());
    assert!(!index.refresh(T0.plus_ms(2 * DAY + 1000)));
    index.note(&signer.profile(&anne, "Anne", anne.public_key(), T0.plus_ms(2 * DAY)));
    assert!(index.is_dirty());
    assert!(index.refresh(T0.plus_ms(2 * DAY + 2000)));
    assert_eq!(index.computed_at(), Some(T0.plus_ms(2 * DAY)));
    assert_eq!(
        index.member(&anne.public_key()).home_node,
        Some(anne.public_key())
    );
}

#[test]
fn a_table_computed_away_from_the_index_leaves_it_dirty_if_facts_changed_meanwhile() {
    let (signer, founders, records) = network();
    let anne = testkit::key("anne");
    let now = T0.plus_ms(2 * DAY);
    let mut index = MembershipIndex::new(signer.charter.clone());
    index.note(&records[0]);
    index.note(&records[1]);
    // The job is taken with one sponsorship of the three anne needs...
    let job = index.table_job(now).expect("the index is dirty");
    for r in &records[2..] {
        index.note(r);
    }
    // ...so its table, installed after the other two were noted, is already behind.
    index.install(job.compute());
    assert!(index.is_dirty());
    assert_ne!(index.member(&anne.public_key()).status, Status::Member);
    assert!(index.refresh(now));
    assert!(!index.is_dirty());
    assert_eq!(index.member(&anne.public_key()).status, Status::Member);
    // A job taken after the last change leaves it clean, and nothing is left to do.
    index.note(&signer.sponsor(&founders[0], testkit::key("bruno").public_key(), now));
    let job = index
        .table_job(now)
        .expect("a sponsorship dirties the table");
    index.install(job.compute());
    index.refresh_derived();
    assert!(!index.is_dirty());
    assert!(index.table_job(now).is_none());
}

#[test]
fn a_later_refresh_lapses_a_probation_when_the_grace_ends() {
    let (signer, founders, records) = network();
    let anne = testkit::key("anne").public_key();
    let mut index = MembershipIndex::new(signer.charter.clone());
    for r in &records {
        index.note(r);
    }
    let withdrawn_at = T0.plus_ms(10 * DAY);
    index.note(&signer.withdraw(&founders[0], records[1].id(), withdrawn_at));
    assert!(index.is_dirty());
    index.refresh(withdrawn_at.plus_ms(DAY));
    let until = withdrawn_at.plus_ms(30 * DAY);
    let probation = Status::Probation {
        since: withdrawn_at,
        until,
    };
    assert_eq!(index.member(&anne).status, probation);
    assert!(index.in_good_standing_at(&anne, withdrawn_at.plus_ms(DAY)));
    assert!(!index.refresh(withdrawn_at.plus_ms(DAY + 30_000)));
    assert!(index.refresh(until.minus_ms(1)));
    assert_eq!(index.member(&anne).status, probation);
    // Within the staleness bound nothing is recomputed, even across the grace's end.
    assert!(!index.refresh(until.plus_ms(30_000)));
    assert_eq!(index.member(&anne).status, probation);
    assert!(index.refresh(until.plus_ms(61_000)));
    assert_eq!(index.computed_at(), Some(until.plus_ms(61_000)));
    assert!(matches!(index.member(&anne).status, Status::Lapsed { since, .. } if since == until));
    assert!(!index.in_good_standing_at(&anne, until.plus_ms(1)));
    assert_eq!(index.members_in_good_standing(), 3);
}

#[test]
fn an_erasure_removes_the_home_node_of_profiles_up_to_it() {
    let (signer, _, records) = network();
    let anne = testkit::key("anne");
    let node = testkit::key("node-0").public_key();
    let mut index = MembershipIndex::new(signer.charter.clone());
    for r in &records {
        index.note(r);
    }
    let at = T0.plus_ms(3 * DAY);
    index.note(&signer.profile(&anne, "Anne", node, at));
    index.refresh(at);
    assert_eq!(index.member(&anne.public_key()).home_node, Some(node));
    index.note(&signer.erase(&anne, at));
    assert!(index.is_dirty());
    index.refresh(at);
    assert_eq!(index.member(&anne.public_key()).home_node, None);
    index.note(&signer.profile(&anne, "Anne", node, at.plus_ms(1)));
    index.refresh(at);
    assert_eq!(index.member(&anne.public_key()).home_node, Some(node));
}

/// Times a refresh on generated networks: `cargo test --release -p maillon-node --lib
/// refresh_timing -- --ignored --nocapture`.
#[test]
#[ignore]
fn refresh_timing() {
    for members in [1_000, 10_000, 50_000] {
        let network = crate::generator::generate(7, members);
        let charter = network.signer.charter.clone();
        let mut index = MembershipIndex::new(charter.clone());
        let start = Instant::now();
        for r in &network.records {
            index.note(r);
        }
        let noted = start.elapsed();
        let start = Instant::now();
        index.refresh(network.now);
        let refreshed = start.elapsed();
        let start = Instant::now();
        let facts = Facts::from_records(&charter, &network.records);
        let table = MembershipTable::compute(&Rules::of(&charter), &facts, network.now);
        let full = start.elapsed();
        assert_eq!(index.table().statuses(), table.statuses());
        println!(
            "{members} members, {} records: note all {noted:?}, refresh {refreshed:?}, \
             full recomputation {full:?}",
            network.records.len()
        );
    }
}
