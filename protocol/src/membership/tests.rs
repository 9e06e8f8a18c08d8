//! Membership rule tests on hand-built facts: admission, Sybil rings, probation, expulsion
//! cascades, strikes, requirements and order independence.

use proptest::prelude::*;

use super::*;
use crate::ids::{PublicKey, RecordId, Timestamp};

const DAY: u64 = Timestamp::DAY_MS;

fn k(n: u8) -> PublicKey {
    PublicKey([n; 32])
}

fn t(days: u64) -> Timestamp {
    Timestamp(1_000 * DAY + days * DAY)
}

fn rules() -> Rules {
    Rules {
        founders: vec![k(1), k(2), k(3)],
        sponsors_required: 3,
        sponsor_quota: 20,
        strike_penalty: 5,
        probation_grace_ms: 30 * DAY,
        recovery_threshold: 3,
    }
}

#[derive(Default)]
struct Net {
    facts: Facts,
    next_id: u32,
}

impl Net {
    fn join(&mut self, who: u8, day: u64) -> &mut Self {
        self.facts.joins.push((k(who), t(day)));
        self
    }

    fn sponsor(&mut self, sponsor: u8, candidate: u8, day: u64) -> RecordId {
        self.next_id += 1;
        let mut id = [0u8; 32];
        id[..4].copy_from_slice(&self.next_id.to_be_bytes());
        let id = RecordId(id);
        self.facts.sponsorships.push(SponsorshipFact {
            id,
            sponsor: k(sponsor),
            candidate: k(candidate),
            created: t(day),
            expires: t(day + 90),
        });
        id
    }

    /// Candidate joins on `day` and is sponsored by each of `sponsors` the same day.
    fn admit(&mut self, who: u8, sponsors: &[u8], day: u64) -> &mut Self {
        self.join(who, day);
        for s in sponsors {
            self.sponsor(*s, who, day);
        }
        self
    }

    fn status(&self, who: u8, day: u64) -> Status {
        MembershipTable::compute(&rules(), &self.facts, t(day)).status(&k(who))
    }

    fn table(&self, day: u64) -> MembershipTable {
        MembershipTable::compute(&rules(), &self.facts, t(day))
    }
}

#[test]
fn founders_are_founders_and_strangers_unknown() {
    let net = Net::default();
    assert_eq!(net.status(1, 0), Status::Founder);
    assert_eq!(net.status(9, 0), Status::Unknown);
}

#[test]
fn three_sponsors_admit_and_progress_is_counted() {
    let mut net = Net::default();
    net.join(10, 0);
    net.sponsor(1, 10, 1);
    net.sponsor(2, 10, 2);
    assert_eq!(
        net.status(10, 3),
        Status::Candidate {
            sponsors: 2,
            required: 3
        }
    );
    net.sponsor(3, 10, 4);
    assert_eq!(
        net.status(10, 3),
        Status::Candidate {
            sponsors: 2,
            required: 3
        },
        "not before day 4"
    );
    assert_eq!(net.status(10, 4), Status::Member);
    assert_eq!(net.table(5).admitted_at(&k(10)), Some(t(4)));
}

#[test]
fn sponsorships_without_a_join_do_not_admit() {
    let mut net = Net::default();
    for s in [1, 2, 3] {
        net.sponsor(s, 10, 0);
    }
    assert_eq!(net.status(10, 1), Status::Unknown);
    net.join(10, 5);
    assert_eq!(
        net.status(10, 5),
        Status::Member,
        "admitted once joined, sponsorships still open"
    );
}

#[test]
fn a_ring_of_candidates_never_gets_in() {
    let mut net = Net::default();
    let ring = [20u8, 21, 22, 23, 24, 25];
    for (i, who) in ring.iter().enumerate() {
        net.join(*who, 0);
        for offset in 1..=4 {
            net.sponsor(*who, ring[(i + offset) % ring.len()], 0);
        }
    }
    // One real member vouches for one of them: still two short, and the ring adds nothing.
    net.sponsor(1, 20, 1);
    let table = net.table(10);
    for who in ring {
        assert!(
            matches!(table.status(&k(who)), Status::Candidate { .. }),
            "{who} got in"
        );
    }
    assert_eq!(
        table.status(&k(20)),
        Status::Candidate {
            sponsors: 1,
            required: 3
        }
    );
}

#[test]
fn admission_cascades_through_new_members() {
    let mut net = Net::default();
    net.admit(10, &[1, 2, 3], 0)
        .admit(11, &[1, 2, 3], 0)
        .admit(12, &[1, 2, 3], 0);
    net.admit(20, &[10, 11, 12], 1);
    assert_eq!(net.status(20, 1), Status::Member);
}

#[test]
fn expired_sponsorships_do_not_admit_but_used_ones_keep_members_in() {
    let mut net = Net::default();
    net.admit(10, &[1, 2, 3], 0);
    net.sponsor(1, 11, 0);
    net.sponsor(2, 11, 0);
    net.sponsor(3, 11, 0);
    net.join(11, 100); // after the 90-day expiry
    assert!(matches!(
        net.status(11, 100),
        Status::Candidate { sponsors: 0, .. }
    ));
    assert_eq!(
        net.status(10, 200),
        Status::Member,
        "expiry after admission changes nothing"
    );
}

#[test]
fn withdrawal_puts_a_member_on_probation_then_lapsed() {
    let mut net = Net::default();
    net.admit(10, &[1, 2, 3], 0);
    let sponsorship = net.facts.sponsorships[0].id;
    net.facts.withdrawals.push((sponsorship, k(1), t(10)));
    let probation = Status::Probation {
        since: t(10),
        until: t(40),
    };
    assert_eq!(net.status(10, 9), Status::Member);
    assert_eq!(net.status(10, 10), probation);
    assert_eq!(net.status(10, 39), probation);
    assert_eq!(
        net.status(10, 40),
        Status::Lapsed {
            since: t(40),
            sponsors: 2,
            required: 3
        }
    );
    // A new sponsor restores membership.
    net.admit(11, &[1, 2, 3], 0);
    net.sponsor(11, 10, 41);
    assert_eq!(net.status(10, 41), Status::Member);
}

#[test]
fn a_withdrawal_by_someone_else_is_ignored() {
    let mut net = Net::default();
    net.admit(10, &[1, 2, 3], 0);
    let sponsorship = net.facts.sponsorships[0].id;
    net.facts.withdrawals.push((sponsorship, k(2), t(10)));
    assert_eq!(net.status(10, 11), Status::Member);
}

#[test]
fn expulsion_is_permanent_strikes_sponsors_and_puts_sponsees_on_probation() {
    let mut net = Net::default();
    net.admit(10, &[1, 2, 3], 0)
        .admit(11, &[1, 2, 3], 0)
        .admit(12, &[1, 2, 3], 0);
    net.admit(20, &[10, 11, 12], 1); // 20 will be expelled
    net.admit(30, &[20, 11, 12], 2); // sponsored by 20
    net.facts.expulsions.push((k(20), t(10)));
    // New sponsorships after the expulsion change nothing.
    net.sponsor(1, 20, 11);
    net.sponsor(2, 20, 11);
    net.sponsor(3, 20, 11);
    let table = net.table(12);
    assert_eq!(table.status(&k(20)), Status::Expelled { at: t(10) });
    for sponsor in [10, 11, 12] {
        assert_eq!(table.strikes(&k(sponsor)), 1, "sponsor {sponsor}");
        assert_eq!(table.quota(&k(sponsor)), 15);
    }
    assert_eq!(
        table.strikes(&k(1)),
        0,
        "late sponsors of an expelled key get no strike"
    );
    assert_eq!(
        table.status(&k(30)),
        Status::Probation {
            since: t(10),
            until: t(40)
        }
    );
    assert_eq!(
        table.status(&k(10)),
        Status::Member,
        "sponsors stay members"
    );
}

#[test]
fn strikes_lower_the_quota_until_sponsorships_stop_counting() {
    let mut rules = rules();
    rules.sponsor_quota = 6;
    rules.strike_penalty = 4;
    let mut net = Net::default();
    net.admit(10, &[1, 2, 3], 0).admit(11, &[1, 2, 3], 0);
    // 10 sponsors 40..=43, each also sponsored by 1 and 2 (whose six sponsorships fit).
    for who in 40..=43 {
        net.admit(who, &[10, 1, 2], 1);
    }
    // 10 also sponsored 50, who is expelled on day 5: one strike, quota 6 - 4 = 2.
    net.admit(50, &[10, 11, 3], 0);
    net.facts.expulsions.push((k(50), t(5)));
    let table = MembershipTable::compute(&rules, &net.facts, t(6));
    assert_eq!(table.strikes(&k(10)), 1);
    assert_eq!(table.quota(&k(10)), 2);
    let on_probation: Vec<u8> = (40..=43)
        .filter(|w| matches!(table.status(&k(*w)), Status::Probation { .. }))
        .collect();
    // 10's sponsorships in (created, id) order: 50 first (day 0), then 40..=43 on day 1; the
    // quota of 2 keeps 50 (expelled, still within quota) and 40.
    assert_eq!(on_probation, vec![41, 42, 43]);
    assert_eq!(table.status(&k(40)), Status::Member);
}

#[test]
fn a_raised_requirement_holds_a_candidate_back() {
    let mut net = Net::default();
    net.admit(10, &[1, 2, 3], 0);
    net.join(20, 0);
    net.facts.requirements.push((k(20), 4, t(0)));
    for s in [1, 2, 3] {
        net.sponsor(s, 20, 1);
    }
    assert_eq!(
        net.status(20, 2),
        Status::Candidate {
            sponsors: 3,
            required: 4
        }
    );
    net.sponsor(10, 20, 3);
    assert_eq!(net.status(20, 3), Status::Member);
}

#[test]
fn a_requirement_raised_after_admission_means_probation() {
    let mut net = Net::default();
    net.admit(10, &[1, 2, 3], 0);
    net.facts.requirements.push((k(10), 5, t(7)));
    assert_eq!(
        net.status(10, 8),
        Status::Probation {
            since: t(7),
            until: t(37)
        }
    );
}

#[test]
fn rotated_keys_share_the_identity_and_its_status() {
    let mut net = Net::default();
    net.admit(10, &[1, 2, 3], 0);
    net.facts.bindings.push(BindingFact {
        old_key: k(10),
        new_key: k(99),
        created: t(3),
        id: RecordId([7; 32]),
        signers: vec![],
    });
    // The new key sponsors with the identity's standing.
    net.admit(11, &[1, 2, 99], 4);
    let table = net.table(5);
    assert_eq!(table.identity(&k(99)), k(10));
    assert_eq!(table.status(&k(99)), Status::Member);
    assert_eq!(table.status(&k(11)), Status::Member);
    assert_eq!(table.sponsors(&k(11)), vec![k(1), k(2), k(10)]);
}

#[test]
fn a_binding_to_an_existing_identity_is_ignored() {
    let mut net = Net::default();
    net.admit(10, &[1, 2, 3], 0);
    net.facts.bindings.push(BindingFact {
        old_key: k(10),
        new_key: k(1),
        created: t(3),
        id: RecordId([7; 32]),
        signers: vec![],
    });
    assert_eq!(net.table(4).identity(&k(1)), k(1));
}

fn arbitrary_facts() -> impl Strategy<Value = (Facts, u64)> {
    let sponsorship = (1u8..30, 4u8..30, 0u64..60, 1u64..120);
    (
        proptest::collection::vec((4u8..30, 0u64..60), 0..30),
        proptest::collection::vec(sponsorship, 0..120),
        proptest::collection::vec((0usize..120, 0u64..90), 0..10),
        proptest::collection::vec((4u8..30, 0u64..90), 0..3),
        0u64..120,
    )
        .prop_map(|(joins, sponsorships, withdrawals, expulsions, now)| {
            let mut facts = Facts {
                joins: joins.into_iter().map(|(w, d)| (k(w), t(d))).collect(),
                ..Facts::default()
            };
            for (i, (s, c, d, life)) in sponsorships.into_iter().enumerate() {
                let mut id = [0u8; 32];
                id[0] = i as u8;
                facts.sponsorships.push(SponsorshipFact {
                    id: RecordId(id),
                    sponsor: k(s),
                    candidate: k(c),
                    created: t(d),
                    expires: t(d + life),
                });
            }
            for (i, d) in withdrawals {
                if let Some(s) = facts.sponsorships.get(i).copied() {
                    facts.withdrawals.push((s.id, s.sponsor, t(d)));
                }
            }
            facts.expulsions = expulsions.into_iter().map(|(w, d)| (k(w), t(d))).collect();
            (facts, now)
        })
}

fn shuffled(facts: &Facts, seed: u64) -> Facts {
    let mut rng = crate::testkit::SplitMix64::new(seed);
    let mut out = facts.clone();
    rng.shuffle(&mut out.joins);
    rng.shuffle(&mut out.sponsorships);
    rng.shuffle(&mut out.withdrawals);
    rng.shuffle(&mut out.expulsions);
    out
}

proptest! {
    #[test]
    fn any_order_of_the_same_facts_gives_the_same_statuses((facts, now) in arbitrary_facts(), seed: u64) {
        let a = MembershipTable::compute(&rules(), &facts, t(now));
        let b = MembershipTable::compute(&rules(), &shuffled(&facts, seed), t(now));
        prop_assert_eq!(a.statuses(), b.statuses());
        for (key, _) in a.statuses() {
            prop_assert_eq!(a.strikes(&key), b.strikes(&key));
            prop_assert_eq!(a.sponsors(&key), b.sponsors(&key));
        }
    }

    #[test]
    fn nobody_is_admitted_without_a_chain_to_the_founders((facts, now) in arbitrary_facts()) {
        let table = MembershipTable::compute(&rules(), &facts, t(now));
        for (key, status) in table.statuses() {
            if matches!(status, Status::Member | Status::Probation { .. }) {
                // An admitted key joined and has an admission time not after now.
                prop_assert!(facts.joins.iter().any(|(j, _)| *j == key));
                prop_assert!(table.admitted_at(&key).is_some_and(|a| a <= t(now)));
            }
            if status == Status::Member {
                prop_assert!(table.sponsors(&key).len() >= 3);
            }
        }
    }
}

#[test]
fn a_join_by_a_bound_key_does_not_undo_the_binding() {
    let mut net = Net::default();
    net.admit(10, &[1, 2, 3], 0);
    net.facts.bindings.push(BindingFact {
        old_key: k(10),
        new_key: k(99),
        created: t(3),
        id: RecordId([7; 32]),
        signers: vec![],
    });
    net.join(99, 5);
    net.join(99, 1);
    let table = net.table(6);
    assert_eq!(table.identity(&k(99)), k(10));
    assert_eq!(table.status(&k(99)), Status::Member);
}

#[test]
fn sponsorships_that_expired_before_the_join_take_no_quota_and_give_no_strike() {
    let mut rules = rules();
    rules.sponsor_quota = 3;
    let mut net = Net::default();
    net.admit(10, &[1, 2, 3], 0);
    // founder 1 used 1 of 3 quota places on 10; two sponsorships expire unused on day 90.
    net.sponsor(1, 20, 0);
    net.sponsor(1, 21, 0);
    // On day 100 founder 1 sponsors 30 and 31: both fit, because the unused ones lapsed.
    net.admit(30, &[1, 2, 3], 100);
    net.admit(31, &[1, 2, 3], 100);
    // 20 joins late and is expelled: founder 1's expired sponsorship of 20 is no strike.
    net.join(20, 120);
    net.facts.expulsions.push((k(20), t(130)));
    let table = MembershipTable::compute(&rules, &net.facts, t(131));
    assert_eq!(table.status(&k(30)), Status::Member);
    assert_eq!(table.status(&k(31)), Status::Member);
    assert_eq!(table.strikes(&k(1)), 0);
}

#[test]
fn a_root_with_aliases_cannot_be_bound_elsewhere() {
    let mut net = Net::default();
    net.admit(10, &[1, 2, 3], 0).admit(11, &[1, 2, 3], 0);
    let binding = |old: u8, new: u8, day: u64, id: u8| BindingFact {
        old_key: k(old),
        new_key: k(new),
        created: t(day),
        id: RecordId([id; 32]),
        signers: vec![],
    };
    net.facts.bindings.push(binding(10, 99, 3, 1));
    net.facts.bindings.push(binding(11, 10, 4, 2));
    let table = net.table(5);
    assert_eq!(table.identity(&k(99)), k(10));
    assert_eq!(
        table.identity(&k(10)),
        k(10),
        "10 holds an identity with aliases"
    );
}

fn recovery(old: u8, new: u8, day: u64, signers: &[u8]) -> BindingFact {
    BindingFact {
        old_key: k(old),
        new_key: k(new),
        created: t(day),
        id: RecordId([new; 32]),
        signers: signers.iter().map(|s| k(*s)).collect(),
    }
}

#[test]
fn a_recovery_whose_signers_are_fewer_people_than_the_threshold_does_not_apply() {
    let mut net = Net::default();
    net.admit(10, &[1, 2, 3], 0);
    // Founder 1 rotated to 41 before the recovery: 1 and 41 are one person.
    net.facts.bindings.push(BindingFact {
        old_key: k(1),
        new_key: k(41),
        created: t(2),
        id: RecordId([41; 32]),
        signers: vec![],
    });
    net.facts.bindings.push(recovery(10, 90, 3, &[1, 41, 2]));
    assert_eq!(
        net.table(4).identity(&k(90)),
        k(90),
        "two signers, not three"
    );
    net.facts.bindings.push(recovery(10, 91, 3, &[1, 2, 3]));
    assert_eq!(net.table(4).identity(&k(91)), k(10));
}

#[test]
fn a_recovery_retires_the_identitys_earlier_keys_from_its_time() {
    let mut net = Net::default();
    net.admit(10, &[1, 2, 3], 0);
    net.facts.bindings.push(recovery(10, 90, 5, &[1, 2, 3]));
    // The old key sponsors after the recovery: it does not count.
    net.admit(20, &[1, 2, 10], 6);
    let table = net.table(7);
    assert_eq!(table.retired_at(&k(10)), Some(t(5)));
    assert_eq!(table.retired_at(&k(90)), None);
    assert!(!matches!(table.status(&k(20)), Status::Member));
    assert!(!crate::effects::in_good_standing_at(&table, &k(10), t(6)));
    assert!(crate::effects::in_good_standing_at(&table, &k(90), t(6)));
    // The new key's sponsorship does count.
    net.admit(21, &[1, 2, 90], 6);
    assert_eq!(net.table(7).status(&k(21)), Status::Member);
}

#[test]
fn a_candidacy_not_admitted_within_its_window_expires_for_good() {
    let mut net = Net::default();
    net.join(10, 0);
    net.sponsor(1, 10, 10);
    net.sponsor(2, 10, 20);
    let window = CANDIDACY_MS / DAY;
    assert!(matches!(
        net.status(10, window - 1),
        Status::Candidate { sponsors: 2, .. }
    ));
    assert!(net.table(window - 1).expired_candidacies().is_empty());
    // At the end of the window the key is no longer a candidate.
    assert_eq!(net.status(10, window), Status::Unknown);
    assert_eq!(net.table(window).expired_candidacies(), &[k(10)]);
    // A third sponsorship after the window admits no one.
    net.sponsor(3, 10, window);
    assert_eq!(net.status(10, window + 1), Status::Unknown);
    assert_eq!(net.table(window + 1).admitted_at(&k(10)), None);
    // Within the window it would have: the same facts with the third a day earlier.
    let mut early = Net::default();
    early.join(10, 0);
    early.sponsor(1, 10, 10);
    early.sponsor(2, 10, 20);
    early.sponsor(3, 10, window - 1);
    assert_eq!(early.status(10, window + 400), Status::Member);
    assert!(early.table(window + 400).expired_candidacies().is_empty());
}

#[test]
fn founders_members_and_expelled_candidates_never_expire() {
    let mut net = Net::default();
    net.admit(10, &[1, 2, 3], 0);
    net.join(11, 0);
    net.facts.expulsions.push((k(11), t(5)));
    let table = net.table(1_000);
    assert_eq!(table.status(&k(1)), Status::Founder);
    assert!(table.expired_candidacies().is_empty());
}

#[test]
fn dropping_takes_the_expired_keys_records_and_what_names_them() {
    use crate::testkit::{self, Signer, T0};
    let founder = testkit::key("founder");
    let member = testkit::key("member");
    let spam = testkit::key("spam");
    let signer = Signer::new(testkit::charter(&[&founder], &[&founder], 1));
    let join = signer.join(&spam, T0.plus_ms(1));
    let profile = signer.profile(&spam, "Spam", founder.public_key(), T0.plus_ms(2));
    let listing = signer.listing(&spam, "Lot de montres", T0.plus_ms(2));
    let complaint = signer.sign(
        &member,
        crate::kinds::Complaint {
            subject: crate::kinds::ComplaintSubject::Listing(listing.id()),
            reason: crate::kinds::ComplaintReason::Scam,
            text: "Arnaque".into(),
        },
        T0.plus_ms(3),
        None,
    );
    let sponsorship = signer.sponsor(&founder, spam.public_key(), T0.plus_ms(4));
    let member_join = signer.join(&member, T0.plus_ms(5));
    let mut facts = Facts::default();
    facts.joins.push((spam.public_key(), T0.plus_ms(1)));
    let rules = Rules {
        founders: vec![founder.public_key()],
        ..rules()
    };
    let table = MembershipTable::compute(&rules, &facts, T0.plus_ms(CANDIDACY_MS + 1));
    let mut dropping = Dropping::of(&table);
    assert!(!dropping.is_empty());
    // The complaint is looked at before the profile it names: settle looks again.
    let records = [
        complaint.clone(),
        join.clone(),
        listing.clone(),
        profile.clone(),
        sponsorship.clone(),
        member_join.clone(),
    ];
    dropping.settle(records.iter());
    let expected: std::collections::BTreeSet<RecordId> =
        [join.id(), listing.id(), profile.id(), complaint.id()]
            .into_iter()
            .collect();
    assert_eq!(dropping.dropped(), &expected);
}
