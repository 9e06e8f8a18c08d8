//! Trust paths: hand-checked graphs and a comparison with a naive search.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeSet, HashMap, VecDeque};

use maillon_protocol::ids::{PublicKey, RecordId, Timestamp};
use maillon_protocol::membership::{Facts, MembershipTable, Rules, SponsorshipFact};
use maillon_protocol::trust::{trust_paths, TrustQuery};
use proptest::prelude::*;

fn k(n: u8) -> PublicKey {
    PublicKey([n; 32])
}

fn rules() -> Rules {
    Rules {
        founders: vec![k(1), k(2), k(3)],
        sponsors_required: 3,
        sponsor_quota: 50,
        strike_penalty: 5,
        probation_grace_ms: 0,
        recovery_threshold: 3,
    }
}

fn table(admissions: &[(u8, [u8; 3])]) -> MembershipTable {
    let mut facts = Facts::default();
    for (i, (who, sponsors)) in admissions.iter().enumerate() {
        facts.joins.push((k(*who), Timestamp(i as u64)));
        for (j, s) in sponsors.iter().enumerate() {
            let mut id = [0u8; 32];
            id[0] = i as u8;
            id[1] = j as u8;
            facts.sponsorships.push(SponsorshipFact {
                id: RecordId(id),
                sponsor: k(*s),
                candidate: k(*who),
                created: Timestamp(i as u64),
                expires: Timestamp(1_000_000),
            });
        }
    }
    MembershipTable::compute(&rules(), &facts, Timestamp(1_000))
}

fn keys(ns: &[u8]) -> Vec<PublicKey> {
    ns.iter().map(|n| k(*n)).collect()
}

#[test]
fn shortest_paths_and_independent_paths_on_a_known_graph() {
    let t = table(&[
        (10, [1, 2, 3]),
        (11, [1, 2, 3]),
        (20, [10, 11, 1]),
        (21, [10, 11, 2]),
        (30, [20, 21, 3]),
    ]);
    let report = trust_paths(&t, &k(1), &k(30), TrustQuery::default());
    assert_eq!(report.distance, Some(2));
    assert_eq!(report.paths, vec![keys(&[1, 20, 30])]);
    // Greedy: 1-20-30, then 1-10-3-30, then 1-11-21-30; then 1's neighbours are used up.
    assert_eq!(report.independent_paths, 3);
    assert!(!report.truncated);
    let report = trust_paths(&t, &k(10), &k(11), TrustQuery::default());
    assert_eq!(report.distance, Some(2));
    assert_eq!(
        report.paths,
        vec![keys(&[10, 1, 11]), keys(&[10, 2, 11]), keys(&[10, 3, 11])]
    );
    assert_eq!(
        report.independent_paths, 5,
        "1, 2, 3, 20 and 21 each join them; capped at 5"
    );
}

#[test]
fn a_direct_edge_counts_once() {
    let t = table(&[(10, [1, 2, 3])]);
    let report = trust_paths(&t, &k(1), &k(10), TrustQuery::default());
    assert_eq!(report.distance, Some(1));
    assert_eq!(report.paths, vec![keys(&[1, 10])]);
    // 1-10 directly, then 1-?-10 needs a common neighbour of 1 and 10 other than each other:
    // none (the founders are not linked to each other), so 1-10 is the only path.
    assert_eq!(report.independent_paths, 1);
}

#[test]
fn unknown_keys_and_the_hop_bound_give_no_path() {
    let t = table(&[(10, [1, 2, 3]), (20, [10, 1, 2]), (30, [20, 1, 2])]);
    assert_eq!(
        trust_paths(&t, &k(1), &k(99), TrustQuery::default()).distance,
        None
    );
    let tight = TrustQuery {
        max_hops: 1,
        ..TrustQuery::default()
    };
    assert_eq!(trust_paths(&t, &k(3), &k(30), tight).distance, None);
    assert_eq!(
        trust_paths(&t, &k(3), &k(30), TrustQuery::default()).distance,
        Some(3)
    );
    let same = trust_paths(&t, &k(10), &k(10), TrustQuery::default());
    assert_eq!((same.distance, same.paths), (Some(0), vec![keys(&[10])]));
}

fn naive_neighbours(t: &MembershipTable, key: &PublicKey) -> BTreeSet<PublicKey> {
    t.sponsors(key).into_iter().chain(t.sponsees(key)).collect()
}

fn naive_distance(t: &MembershipTable, from: PublicKey, to: PublicKey) -> Option<u32> {
    let mut dist = HashMap::from([(from, 0u32)]);
    let mut queue = VecDeque::from([from]);
    while let Some(node) = queue.pop_front() {
        if node == to {
            return Some(dist[&node]);
        }
        for n in naive_neighbours(t, &node) {
            if !dist.contains_key(&n) {
                dist.insert(n, dist[&node] + 1);
                queue.push_back(n);
            }
        }
    }
    None
}

fn naive_shortest_paths(
    t: &MembershipTable,
    from: PublicKey,
    to: PublicKey,
    d: u32,
) -> Vec<Vec<PublicKey>> {
    fn walk(
        t: &MembershipTable,
        path: &mut Vec<PublicKey>,
        to: PublicKey,
        d: u32,
        out: &mut Vec<Vec<PublicKey>>,
    ) {
        let last = *path.last().unwrap();
        if path.len() as u32 == d + 1 {
            if last == to {
                out.push(path.clone());
            }
            return;
        }
        for n in naive_neighbours(t, &last) {
            if !path.contains(&n) {
                path.push(n);
                walk(t, path, to, d, out);
                path.pop();
            }
        }
    }
    let mut out = Vec::new();
    walk(t, &mut vec![from], to, d, &mut out);
    out.sort();
    out
}

fn random_network() -> impl Strategy<Value = Vec<(u8, [u8; 3])>> {
    proptest::collection::vec(any::<[u16; 3]>(), 1..40).prop_map(|choices| {
        let mut members: Vec<u8> = vec![1, 2, 3];
        let mut admissions = Vec::new();
        for (i, c) in choices.into_iter().enumerate() {
            let who = 10 + i as u8;
            let mut picked: Vec<u8> = Vec::new();
            for x in c {
                let mut candidate = members[x as usize % members.len()];
                while picked.contains(&candidate) {
                    candidate = members[(members.iter().position(|m| *m == candidate).unwrap()
                        + 1)
                        % members.len()];
                }
                picked.push(candidate);
            }
            admissions.push((who, [picked[0], picked[1], picked[2]]));
            members.push(who);
        }
        admissions
    })
}

proptest! {
    #[test]
    fn paths_are_real_shortest_and_sorted(admissions in random_network(), a in 0usize..64, b in 0usize..64) {
        let t = table(&admissions);
        let all: Vec<u8> = [1u8, 2, 3].into_iter().chain(admissions.iter().map(|(w, _)| *w)).collect();
        let (from, to) = (k(all[a % all.len()]), k(all[b % all.len()]));
        let report = trust_paths(&t, &from, &to, TrustQuery::default());
        let expected = naive_distance(&t, from, to).filter(|d| *d <= 6);
        prop_assert_eq!(report.distance, expected);
        for path in &report.paths {
            prop_assert_eq!(path.len() as u32, expected.unwrap() + 1);
            prop_assert_eq!(path[0], from);
            prop_assert_eq!(*path.last().unwrap(), to);
            for pair in path.windows(2) {
                prop_assert!(naive_neighbours(&t, &pair[0]).contains(&pair[1]));
            }
        }
        if let Some(d) = expected.filter(|d| *d <= 4) {
            let mut all = naive_shortest_paths(&t, from, to, d);
            all.truncate(3);
            prop_assert_eq!(&report.paths, &all);
        }
        if from != to && expected.is_some() {
            prop_assert!(report.independent_paths >= 1);
            let degree = naive_neighbours(&t, &from).len().min(naive_neighbours(&t, &to).len()) as u32;
            prop_assert!(report.independent_paths <= degree.min(5));
        }
    }
}

#[test]
fn a_zero_cap_counts_no_independent_path() {
    let t = table(&[(10, [1, 2, 3])]);
    let none = TrustQuery {
        max_independent: 0,
        ..TrustQuery::default()
    };
    let report = trust_paths(&t, &k(1), &k(10), none);
    assert_eq!((report.distance, report.independent_paths), (Some(1), 0));
}
