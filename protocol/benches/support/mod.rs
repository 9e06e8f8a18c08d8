//! Synthetic inputs for the benchmarks: a deterministic PRNG, signed records, and membership
//! [`Facts`] shaped like a growing network.

pub mod report;

use maillon_protocol::ids::{PublicKey, RecordId, Timestamp};
use maillon_protocol::membership::{Facts, Rules, SponsorshipFact};
use maillon_protocol::record::Record;
use maillon_protocol::testkit::{self, SplitMix64, DAY, T0};

/// The testkit's SplitMix64 with the helpers the generators below use. `below` is a
/// multiply-shift here (not the testkit's modulo), which the recorded figures depend on.
#[derive(Clone, Debug)]
pub struct Rng(SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(SplitMix64::new(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n` (multiply-shift; the bias is negligible for our sizes).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    pub fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for chunk in out.chunks_exact_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        out
    }
}

/// `count` listings, each signed by its own key `testkit::key("member-{i}")`.
pub fn signed_listings(count: usize) -> Vec<Record> {
    let founder = testkit::key("founder-0");
    let signer = testkit::Signer::new(testkit::charter(&[&founder], &[&founder], 1));
    (0..count)
        .map(|i| {
            let key = testkit::key(&format!("member-{i}"));
            let at = T0.plus_ms(i as u64 * 60_000);
            signer.listing(&key, &format!("Armoire n° {i}"), at)
        })
        .collect()
}

/// A synthetic network: membership facts plus what the benchmarks need to check them.
pub struct Network {
    pub rules: Rules,
    pub facts: Facts,
    pub now: Timestamp,
    /// Every generated identity, founders first, in join order.
    pub keys: Vec<PublicKey>,
    /// Keys generated as candidates that never gather enough sponsors.
    pub pending: usize,
    /// Sponsorships later replacing a withdrawn one.
    pub replacements: usize,
}

/// Most sponsorships the generator gives one sponsor: the charter quota (20) minus one
/// strike's penalty (5), so that no expulsion pushes a sponsorship over quota.
const SPONSOR_CAP: u8 = 15;
/// Days between waves of joins.
const WAVE_DAYS: u64 = 7;
/// New members per wave, as a fraction of the current size (1/8: 12.5 % growth a week).
const GROWTH_DIVISOR: usize = 8;

/// Generates a network of `members` joined keys (founders included).
///
/// - 5 founders; then waves every 7 days, each adding an eighth of the current size (at
///   least one key): 91 waves to reach 150,000 keys, 107 to reach 1,000,000.
/// - Every candidate is sponsored by 3 distinct members of earlier waves, created within 3
///   days of its wave and valid 90 days. The first sponsor is chosen preferentially (the
///   sponsor of a random existing sponsorship: proportional to how many they sponsored) or
///   uniformly; the others preferably among the first sponsor's neighbours (friends of
///   friends), which makes the graph clustered rather than uniform. No sponsor exceeds 15.
/// - 1.5 % of keys are candidates with 0 to 2 sponsors that are never admitted.
/// - 2 % of sponsorships are withdrawn 4 to 64 days later (sooner if `now` is closer; none
///   in the last 5 days); 80 % of those are replaced by a new sponsor 1 to 15 days after the
///   withdrawal, if that is before `now`.
/// - A handful of expulsions (1 per 20,000 keys, at least 5) and requirement raises to 4
///   sponsors (1 per 10,000 keys, at least 5) in the last weeks.
pub fn network(members: usize, seed: u64) -> Network {
    let mut rng = Rng::new(seed);
    let founders = 5usize.min(members);
    let mut waves = Vec::new();
    let mut size = founders;
    while size < members {
        let wave = (size / GROWTH_DIVISOR).clamp(1, members - size);
        waves.push(wave);
        size += wave;
    }
    let wave_time = |w: usize| T0.plus_ms((w as u64 + 1) * WAVE_DAYS * DAY);
    let now = wave_time(waves.len()).plus_ms(3 * DAY);

    let keys: Vec<PublicKey> = (0..members).map(|_| PublicKey(rng.bytes32())).collect();
    let rules = Rules {
        founders: keys[..founders].to_vec(),
        sponsors_required: 3,
        sponsor_quota: 20,
        strike_penalty: 5,
        probation_grace_ms: 30 * DAY,
        recovery_threshold: 3,
    };
    let mut g = Graph {
        facts: Facts::default(),
        given: vec![0; members],
        neighbours: vec![Vec::new(); members],
        eligible: (0..founders as u32).collect(),
        is_eligible: vec![false; members],
        sponsorships: Vec::new(),
        next_id: 0,
    };
    for f in 0..founders {
        g.is_eligible[f] = true;
    }
    let mut pending = 0;
    let mut replacements = 0;
    let mut next = founders;
    for (w, &wave) in waves.iter().enumerate() {
        let at = wave_time(w);
        let mut admitted_now = Vec::with_capacity(wave);
        for c in next..next + wave {
            g.facts
                .joins
                .push((keys[c], at.minus_ms(rng.below(2 * DAY))));
            let is_pending = rng.chance(15);
            let wanted = if is_pending { rng.below(3) as usize } else { 3 };
            let chosen = g.choose_sponsors(&mut rng, c, wanted);
            for &s in &chosen {
                let created = at.plus_ms(rng.below(3 * DAY));
                let id = g.sponsor(&keys, s, c, created);
                if !rng.chance(20) {
                    continue;
                }
                // 4 to 64 days later, and before now: most keys joined in recent waves.
                let room = now.0.saturating_sub(created.0 + 5 * DAY).min(60 * DAY);
                if room == 0 {
                    continue;
                }
                let withdrawn = created.plus_ms(4 * DAY + rng.below(room));
                g.facts.withdrawals.push((id, keys[s as usize], withdrawn));
                let replaced = withdrawn.plus_ms(DAY + rng.below(14 * DAY));
                if rng.chance(800) && replaced < now {
                    if let Some(&r) = g.choose_sponsors(&mut rng, c, 1).first() {
                        g.sponsor(&keys, r, c, replaced);
                        replacements += 1;
                    }
                }
            }
            if is_pending {
                pending += 1;
            } else {
                admitted_now.push(c as u32);
            }
        }
        for c in admitted_now {
            g.is_eligible[c as usize] = true;
            g.eligible.push(c);
        }
        next += wave;
    }
    let labels = |per: usize| (members / per).max(5).min(members - founders);
    for _ in 0..labels(20_000) {
        let target = keys[founders + rng.index(members - founders)];
        let at = now.minus_ms(DAY + rng.below(14 * DAY));
        g.facts.expulsions.push((target, at));
    }
    for _ in 0..labels(10_000) {
        let target = keys[founders + rng.index(members - founders)];
        let at = now.minus_ms(DAY + rng.below(60 * DAY));
        g.facts.requirements.push((target, 4, at));
    }
    Network {
        rules,
        facts: g.facts,
        now,
        keys,
        pending,
        replacements,
    }
}

/// Generator state: who sponsored whom so far.
struct Graph {
    facts: Facts,
    /// Sponsorships given per key.
    given: Vec<u8>,
    /// Sponsors and sponsees per key.
    neighbours: Vec<Vec<u32>>,
    /// Keys admitted in an earlier wave with room under the cap (lazily pruned).
    eligible: Vec<u32>,
    is_eligible: Vec<bool>,
    /// (sponsor, candidate) of every sponsorship, for preferential choice.
    sponsorships: Vec<(u32, u32)>,
    next_id: u64,
}

impl Graph {
    fn sponsor(&mut self, keys: &[PublicKey], s: u32, c: usize, created: Timestamp) -> RecordId {
        self.next_id += 1;
        let id = RecordId(Rng::new(self.next_id ^ 0x05ee_d1d5).bytes32());
        self.facts.sponsorships.push(SponsorshipFact {
            id,
            sponsor: keys[s as usize],
            candidate: keys[c],
            created,
            expires: created.plus_ms(90 * DAY),
        });
        self.given[s as usize] += 1;
        if self.given[s as usize] >= SPONSOR_CAP {
            self.is_eligible[s as usize] = false;
        }
        self.neighbours[s as usize].push(c as u32);
        self.neighbours[c].push(s);
        self.sponsorships.push((s, c as u32));
        id
    }

    /// A uniformly chosen eligible key, pruning full ones; `None` when none is left.
    fn uniform(&mut self, rng: &mut Rng) -> Option<u32> {
        while !self.eligible.is_empty() {
            let i = rng.index(self.eligible.len());
            let s = self.eligible[i];
            if self.is_eligible[s as usize] {
                return Some(s);
            }
            self.eligible.swap_remove(i);
        }
        None
    }

    /// Up to `wanted` distinct eligible sponsors for `c`, none already its neighbour.
    fn choose_sponsors(&mut self, rng: &mut Rng, c: usize, wanted: usize) -> Vec<u32> {
        let mut chosen: Vec<u32> = Vec::with_capacity(wanted);
        let mut attempts = 0;
        while chosen.len() < wanted && attempts < 200 {
            attempts += 1;
            let roll = rng.below(100);
            let s = if !chosen.is_empty() && roll < 60 && attempts < 50 {
                // Friend of a friend: a neighbour of a sponsor already chosen.
                let anchor = chosen[rng.index(chosen.len())] as usize;
                let list = &self.neighbours[anchor];
                let Some(&s) = list.get(rng.index(list.len().max(1))) else {
                    continue;
                };
                s
            } else if roll < 80 && !self.sponsorships.is_empty() && attempts < 50 {
                // Preferential: someone who already sponsors a lot.
                self.sponsorships[rng.index(self.sponsorships.len())].0
            } else {
                let Some(s) = self.uniform(rng) else { break };
                s
            };
            let fresh = !chosen.contains(&s) && !self.neighbours[c].contains(&s);
            if self.is_eligible[s as usize] && s as usize != c && fresh {
                chosen.push(s);
            }
        }
        chosen
    }
}
