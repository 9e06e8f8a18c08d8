//! Acceptance and erasure do not depend on arrival order, for histories in which people
//! rotate and recover keys (docs/PROTOCOL.md 8.1, 8.5, 8.6 "Linked keys").
//!
//! A random history mixes rotations, recoveries, competing bindings, profiles, listings and
//! their versions, tombstones, withdrawals, transactions and erasures, signed by any of a
//! person's keys, sometimes without the binding refs that link the keys. It is delivered in
//! several random orders to fresh record sets, the way a node applies records (parked and
//! transient refusals retried, an erased body replaced by its bare header). Every order must
//! end with the same records, the same bodies held, and the same records refused for good.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use maillon_protocol::kinds::{
    ListingTombstone, Outcome, SponsorshipWithdrawal, TransactionAnswer, TransactionClose,
    TransactionOpen,
};
use maillon_protocol::state::{Applied, ApplyError, Repair};
use maillon_protocol::sync::{respond, Reconciler, SyncConfig, SyncItem, SyncSet};
use maillon_protocol::testkit::{self, Signer, SplitMix64, DAY, T0};
use maillon_protocol::{Invalid, Record, RecordId, RecordSet, SecretKey, Timestamp};
use proptest::prelude::*;

/// One person: their keys in the order they got them, the bindings that gave them the later
/// keys, and (for members) the founders' sponsorships of their first key.
struct Person {
    keys: Vec<SecretKey>,
    bindings: Vec<RecordId>,
    sponsorships: Vec<(usize, RecordId)>,
}

struct History {
    signer: Signer,
    rng: SplitMix64,
    now: Timestamp,
    people: Vec<Person>,
    founders: usize,
    listings: Vec<(usize, RecordId)>,
    opens: Vec<(usize, RecordId)>,
    records: Vec<Record>,
    fresh: usize,
}

impl History {
    fn new(seed: u64) -> History {
        let founder_keys: Vec<SecretKey> = (0..3)
            .map(|i| testkit::key(&format!("order-founder-{i}")))
            .collect();
        let refs: Vec<&SecretKey> = founder_keys.iter().collect();
        let signer = Signer::new(testkit::charter(&refs, &refs, 2));
        let charter = signer.charter_record(&founder_keys[0]);
        let people = founder_keys
            .into_iter()
            .map(|key| Person {
                keys: vec![key],
                bindings: vec![],
                sponsorships: vec![],
            })
            .collect();
        let mut history = History {
            signer,
            rng: SplitMix64::new(seed),
            now: T0.plus_ms(DAY),
            people,
            founders: 3,
            listings: vec![],
            opens: vec![],
            records: vec![charter],
            fresh: 0,
        };
        let introduction = history.signer.introduction();
        history.push(introduction);
        for _ in 0..3 {
            history.member();
        }
        history
    }

    fn tick(&mut self) -> Timestamp {
        self.now = self.now.plus_ms(1000);
        self.now
    }

    fn fresh_key(&mut self) -> SecretKey {
        self.fresh += 1;
        testkit::key(&format!("order-key-{}", self.fresh))
    }

    fn push(&mut self, record: Record) -> RecordId {
        let id = record.id();
        self.records.push(record);
        id
    }

    /// A member sponsored by the three founders' first keys.
    fn member(&mut self) {
        let key = self.fresh_key();
        let at = self.tick();
        self.push(self.signer.join(&key, at));
        let mut sponsorships = Vec::new();
        for founder in 0..self.founders {
            let at = self.tick();
            let record = self
                .signer
                .sponsor(&self.people[founder].keys[0], key.public_key(), at);
            sponsorships.push((founder, self.push(record)));
        }
        self.people.push(Person {
            keys: vec![key],
            bindings: vec![],
            sponsorships,
        });
    }

    fn any_person(&mut self) -> usize {
        self.rng.below(self.people.len() as u64) as usize
    }

    fn any_member(&mut self) -> usize {
        self.founders + self.rng.below((self.people.len() - self.founders) as u64) as usize
    }

    fn any_key(&mut self, person: usize) -> SecretKey {
        let keys = &self.people[person].keys;
        keys[self.rng.below(keys.len() as u64) as usize].clone()
    }

    /// The person's bindings, or (one time in four) none: a record that relies on a link
    /// it does not reference.
    fn links(&mut self, person: usize) -> Vec<RecordId> {
        if self.rng.below(4) == 0 {
            vec![]
        } else {
            self.people[person].bindings.clone()
        }
    }

    fn step(&mut self) {
        match self.rng.below(11) {
            0 => self.rotate(),
            1 => self.recover(),
            2 => self.competing_binding(),
            3 => {
                let person = self.any_person();
                let key = self.any_key(person);
                let at = self.tick();
                let home = self.people[0].keys[0].public_key();
                self.push(self.signer.profile(&key, "Personne", home, at));
            }
            4 => {
                let person = self.any_person();
                let key = self.any_key(person);
                let at = self.tick();
                let id = self.push(self.signer.listing(&key, "Vélo", at));
                self.listings.push((person, id));
            }
            5 => self.listing_change(),
            6 => self.withdrawal(),
            7 => self.erasure(),
            8 => self.open(),
            _ => self.answer_or_close(),
        }
    }

    fn rotate(&mut self) {
        let person = self.any_person();
        let old = self.people[person].keys.last().unwrap().clone();
        let new = self.fresh_key();
        let at = self.tick();
        let id = self.push(self.signer.rotate(&old, &new, at));
        self.people[person].keys.push(new);
        self.people[person].bindings.push(id);
    }

    /// A member recovers with the founders' signatures (their latest keys) on a key of
    /// theirs, linking the founders' and their own keys unless `links` drops them.
    fn recover(&mut self) {
        let person = self.any_member();
        let old = self.any_key(person).public_key();
        let new = self.fresh_key();
        let signers: Vec<SecretKey> = (0..self.founders)
            .map(|f| self.people[f].keys.last().unwrap().clone())
            .collect();
        let sponsorships: Vec<RecordId> = self.people[person]
            .sponsorships
            .iter()
            .map(|(_, id)| *id)
            .collect();
        let mut bindings = self.links(person);
        for founder in 0..self.founders {
            bindings.extend(self.people[founder].bindings.clone());
        }
        if sponsorships.len() + bindings.len() > 16 {
            return;
        }
        let at = self.tick();
        let signer_refs: Vec<&SecretKey> = signers.iter().collect();
        let mut record = self
            .signer
            .recover(old, &new, &signer_refs, &sponsorships, at);
        if !bindings.is_empty() {
            let body = record.body().unwrap().clone();
            record = self.signer.sign_linked(&new, body, at, None, &bindings);
        }
        let id = self.push(record);
        self.people[person].keys.push(new);
        self.people[person].bindings.push(id);
    }

    /// Someone binds one of their keys to a key another person already holds: the two
    /// bindings compete in section 9.1.2.
    fn competing_binding(&mut self) {
        let (a, b) = (self.any_person(), self.any_person());
        if a == b {
            return;
        }
        let old = self.any_key(a);
        let new = self.any_key(b);
        let at = self.tick();
        self.push(self.signer.rotate(&old, &new, at));
    }

    fn listing_change(&mut self) {
        if self.listings.is_empty() {
            return;
        }
        let (person, series) = self.listings[self.rng.below(self.listings.len() as u64) as usize];
        let key = self.any_key(person);
        let links = self.links(person);
        let at = self.tick();
        let record = if self.rng.below(2) == 0 {
            let mut version = self.signer.listing(&key, "Vélo révisé", at);
            let Some(maillon_protocol::Body::Listing(mut body)) = version.body().cloned() else {
                unreachable!()
            };
            body.series = Some(series);
            version = self
                .signer
                .sign_linked(&key, body, at, version.header().expires, &links);
            version
        } else {
            let tombstone = ListingTombstone {
                series,
                reason: String::new(),
            };
            self.signer.sign_linked(&key, tombstone, at, None, &links)
        };
        self.push(record);
    }

    fn withdrawal(&mut self) {
        let member = self.any_member();
        let (founder, sponsorship) = self.people[member].sponsorships[0];
        let key = self.any_key(founder);
        let links = self.links(founder);
        let at = self.tick();
        let body = SponsorshipWithdrawal {
            sponsorship,
            reason: String::new(),
        };
        let record = self.signer.sign_linked(&key, body, at, None, &links);
        self.push(record);
    }

    fn erasure(&mut self) {
        let person = self.any_member();
        let key = self.any_key(person);
        let links = self.links(person);
        let at = self.tick();
        let body = maillon_protocol::kinds::Erasure {
            reason: String::new(),
        };
        let record = self.signer.sign_linked(&key, body, at, None, &links);
        self.push(record);
    }

    fn open(&mut self) {
        if self.listings.is_empty() {
            return;
        }
        let (_, listing) = self.listings[self.rng.below(self.listings.len() as u64) as usize];
        let person = self.any_person();
        let key = self.any_key(person);
        let at = self.tick();
        let body = TransactionOpen {
            listing,
            message: "Bonjour".into(),
        };
        let id = self.push(self.signer.sign(&key, body, at, None));
        let author = self
            .listings
            .iter()
            .find(|(_, id)| *id == listing)
            .unwrap()
            .0;
        self.opens.push((author, id));
    }

    fn answer_or_close(&mut self) {
        if self.opens.is_empty() {
            return;
        }
        let (author, transaction) = self.opens[self.rng.below(self.opens.len() as u64) as usize];
        let key = self.any_key(author);
        let links = self.links(author);
        let at = self.tick();
        let record = if self.rng.below(2) == 0 {
            let body = TransactionAnswer {
                transaction,
                message: "Oui".into(),
            };
            self.signer.sign_linked(&key, body, at, None, &links)
        } else {
            let body = TransactionClose {
                transaction,
                outcome: Outcome::Completed,
                rating: Some(5),
                review: "Parfait".into(),
            };
            self.signer.sign_linked(&key, body, at, None, &links)
        };
        self.push(record);
    }
}

fn history(seed: u64, steps: usize) -> History {
    let mut history = History::new(seed);
    for _ in 0..steps {
        history.step();
    }
    history
}

/// What a record set ends with after one arrival order.
#[derive(Debug, PartialEq, Eq)]
struct Ending {
    /// Every record held, and whether its body is held.
    held: BTreeMap<RecordId, bool>,
    /// Records refused for good, with their code.
    refused: BTreeMap<RecordId, &'static str>,
    /// Records still parked or refused for now when nothing more can be applied.
    waiting: BTreeSet<RecordId>,
}

/// Applies records as a node does: what is parked or refused for now is retried, an erased
/// body is replaced by its bare header (which a peer holding it would offer), and a
/// permanent refusal is final.
fn replay(charter: Record, pending: Vec<Record>, now: Timestamp) -> Ending {
    replay_set(charter, pending, now).1
}

fn replay_set(charter: Record, mut pending: Vec<Record>, now: Timestamp) -> (RecordSet, Ending) {
    let mut set = RecordSet::new(charter, now).unwrap();
    let mut refused = BTreeMap::new();
    loop {
        let before = pending.len();
        let mut still = Vec::new();
        let mut stripped = false;
        for record in pending {
            match set.apply(record.clone(), now) {
                Ok(Applied::Inserted | Applied::Duplicate) => {}
                Ok(Applied::Parked(_)) => still.push(record),
                Err(ApplyError::Invalid(Invalid::ErasedBody)) => {
                    stripped = true;
                    still.push(record.without_body());
                }
                Err(ApplyError::Invalid(invalid)) if !invalid.is_permanent() => still.push(record),
                Err(error) => {
                    refused.insert(record.id(), error.code());
                }
            }
        }
        pending = still;
        if pending.is_empty() || (pending.len() == before && !stripped) {
            break;
        }
    }
    let ending = Ending {
        held: set
            .records()
            .map(|r| (r.id(), r.body().is_some()))
            .collect(),
        refused,
        waiting: pending.iter().map(|r| r.id()).collect(),
    };
    (set, ending)
}

fn outcome_of(history: &History, order_seed: u64) -> Ending {
    let mut records = history.records[1..].to_vec();
    SplitMix64::new(order_seed).shuffle(&mut records);
    replay(
        history.records[0].clone(),
        records,
        history.now.plus_ms(DAY),
    )
}

/// The generated histories exercise what the property is about: over a few seeds they hold
/// refused records, erased bodies and bindings.
#[test]
fn generated_histories_refuse_erase_and_bind() {
    let (mut refused, mut bare) = (0, 0);
    for seed in 0..8 {
        let outcome = outcome_of(&history(seed, 40), 0);
        refused += outcome.refused.len();
        bare += outcome.held.values().filter(|body| !**body).count();
    }
    assert!(refused > 0, "no history had a refused record");
    assert!(bare > 0, "no history had an erased body");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn refusals_and_held_bodies_do_not_depend_on_arrival_order(seed: u64) {
        let history = history(seed, 40);
        let first = outcome_of(&history, seed ^ 1);
        for order in 2..6u64 {
            let other = outcome_of(&history, seed ^ order);
            prop_assert_eq!(&other.refused, &first.refused, "permanent refusals differ");
            prop_assert_eq!(&other.held, &first.held, "held records or bodies differ");
            prop_assert_eq!(&other.waiting, &first.waiting);
        }
    }
}

/// The erased items of a set: the records it holds as bare headers.
fn erased_items(set: &RecordSet) -> SyncSet {
    let mut items = SyncSet::new();
    for record in set.records().filter(|r| r.body().is_none()) {
        items.insert(SyncItem {
            created: record.header().created,
            id: record.id(),
        });
    }
    items
}

/// Reconciles two erased sets as two nodes do (docs/PROTOCOL.md 10.9): every id held bare
/// on one side and not on the other.
fn erased_difference(a: &RecordSet, b: &RecordSet) -> BTreeSet<RecordId> {
    let (sa, sb) = (erased_items(a), erased_items(b));
    let (mut reconciler, mut message) = Reconciler::initiate(&sa, SyncConfig::default());
    let mut found = BTreeSet::new();
    loop {
        let reply = respond(&sb, &message, &SyncConfig::default()).unwrap();
        let progress = reconciler.receive(&sa, &reply).unwrap();
        found.extend(progress.have);
        found.extend(progress.need);
        match progress.next {
            Some(next) => message = next,
            None => return found,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// A node that missed a body's erasure, or lost a body it should hold, has the same
    /// state digest as its peers but not the same erased digest; reconciling the erased
    /// items finds every such record, and the repair rule mends the damaged node without
    /// harming the sound one.
    #[test]
    fn the_erased_digest_shows_body_disagreements_and_repair_mends_them(seed: u64, damage: u64) {
        let history = history(seed, 40);
        let mut records = history.records[1..].to_vec();
        SplitMix64::new(seed).shuffle(&mut records);
        let (sound, _) = replay_set(history.records[0].clone(), records, history.now.plus_ms(DAY));
        let mut damaged = sound.clone();
        let mut rng = SplitMix64::new(damage);
        let mut changed = BTreeSet::new();
        for original in &history.records {
            let Some(held) = sound.records().find(|r| r.id() == original.id()).cloned() else {
                continue;
            };
            if !held.header().kind.is_erasable() || rng.below(3) != 0 {
                continue;
            }
            // Bare where the network erased it: restore the body (a missed erasure);
            // with its body: drop it (a lost body).
            let form = if held.body().is_none() { original.clone() } else { held.without_body() };
            damaged.force_form(form);
            changed.insert(original.id());
        }
        prop_assert_eq!(damaged.digest(), sound.digest());
        prop_assert_eq!(damaged.erased_digest() == sound.erased_digest(), changed.is_empty());
        prop_assert_eq!(erased_difference(&damaged, &sound), changed.clone());
        for id in &changed {
            let sound_copy = sound.records().find(|r| r.id() == *id).unwrap().clone();
            let damaged_copy = damaged.records().find(|r| r.id() == *id).unwrap().clone();
            // Both sides learn the difference; the sound side keeps its form.
            prop_assert_eq!(sound.clone().repair_with(&damaged_copy), Repair::Keep);
            prop_assert_ne!(damaged.repair_with(&sound_copy), Repair::Keep);
        }
        prop_assert_eq!(damaged.erased_digest(), sound.erased_digest());
        let forms = |s: &RecordSet| s.records().map(|r| (r.id(), r.body().is_some())).collect::<Vec<_>>();
        prop_assert_eq!(forms(&damaged), forms(&sound));
    }
}
