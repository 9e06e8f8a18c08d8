//! The membership computation: earliest admission times from the founders outwards, then
//! each key's current status, strikes and quota.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::facts::{Facts, Identities, Rules};
use super::Status;
use crate::ids::{PublicKey, RecordId, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EdgeClass {
    /// Not withdrawn and within the sponsor's quota.
    Counted,
    /// Not withdrawn but beyond the sponsor's (reduced) quota.
    OverQuota,
    /// Withdrawn at this time.
    Withdrawn(Timestamp),
    /// Expired before its candidate joined: it never could count, and takes no quota.
    Unused,
}

#[derive(Clone, Copy, Debug)]
struct Edge {
    sponsor: u32,
    candidate: u32,
    created: Timestamp,
    expires: Timestamp,
    id: RecordId,
    class: EdgeClass,
    /// End of the window in which the edge can help admit its candidate.
    usable_until: Timestamp,
}

/// Compressed adjacency: `targets[offsets[i]..offsets[i + 1]]` are node `i`'s entries.
#[derive(Clone, Debug, Default)]
pub(crate) struct Adjacency {
    offsets: Vec<u32>,
    targets: Vec<u32>,
}

impl Adjacency {
    fn build(nodes: usize, pairs: impl Iterator<Item = (u32, u32)> + Clone) -> Adjacency {
        let mut offsets = vec![0u32; nodes + 1];
        for (from, _) in pairs.clone() {
            offsets[from as usize + 1] += 1;
        }
        for i in 0..nodes {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut targets = vec![0u32; offsets[nodes] as usize];
        for (from, to) in pairs {
            targets[fill[from as usize] as usize] = to;
            fill[from as usize] += 1;
        }
        Adjacency { offsets, targets }
    }

    pub(crate) fn of(&self, node: u32) -> &[u32] {
        &self.targets
            [self.offsets[node as usize] as usize..self.offsets[node as usize + 1] as usize]
    }
}

/// Every key's status at one time, with what the trust paths need.
#[derive(Clone, Debug)]
pub struct MembershipTable {
    pub(super) now: Timestamp,
    pub(super) identities: Identities,
    pub(super) index: HashMap<PublicKey, u32>,
    pub(super) keys: Vec<PublicKey>,
    pub(super) status: Vec<Status>,
    pub(super) strikes: Vec<u32>,
    pub(super) quota: Vec<u64>,
    pub(super) admitted: Vec<Option<Timestamp>>,
    /// Identities whose candidacy expired at `now`, in key order (9.1.9).
    pub(super) expired_candidacies: Vec<PublicKey>,
    /// Current support: sponsor → sponsee, both admitted and not expelled.
    pub(super) sponsees: Adjacency,
    /// Current support: sponsee → sponsor.
    pub(super) sponsors: Adjacency,
}

struct Builder<'a> {
    rules: &'a Rules,
    now: Timestamp,
    identities: Identities,
    index: HashMap<PublicKey, u32>,
    keys: Vec<PublicKey>,
    joined: Vec<Option<Timestamp>>,
    expelled: Vec<Option<Timestamp>>,
    requirements: HashMap<u32, Vec<(Timestamp, u64)>>,
    edges: Vec<Edge>,
    strikes: Vec<u32>,
    strike_time: Vec<Timestamp>,
    quota: Vec<u64>,
}

impl Builder<'_> {
    fn intern(&mut self, key: &PublicKey) -> u32 {
        let identity = self.identities.resolve(key);
        if let Some(&i) = self.index.get(&identity) {
            return i;
        }
        let i = self.keys.len() as u32;
        self.index.insert(identity, i);
        self.keys.push(identity);
        self.joined.push(None);
        self.expelled.push(None);
        i
    }

    /// The founders' node indices (founders are interned first).
    fn founder_nodes(&self) -> Vec<u32> {
        self.rules
            .founders
            .iter()
            .map(|f| self.index[&self.identities.resolve(f)])
            .collect()
    }

    fn required_at(&self, node: u32, at: Timestamp) -> u64 {
        let raised = self.requirements.get(&node).map_or(0, |list| {
            list.iter()
                .filter(|(t, _)| *t <= at)
                .map(|(_, n)| *n)
                .max()
                .unwrap_or(0)
        });
        raised.max(self.rules.sponsors_required)
    }

    fn read_facts(&mut self, facts: &Facts) {
        let now = self.now;
        let expected = self.rules.founders.len() + facts.joins.len();
        self.index.reserve(expected);
        self.keys.reserve(expected);
        self.joined.reserve(expected);
        self.expelled.reserve(expected);
        for founder in &self.rules.founders.clone() {
            self.intern(founder);
        }
        let identities = &self.identities;
        let counts = |key: &PublicKey, at: &Timestamp| *at <= now && identities.counts(key, *at);
        let joins: Vec<_> = facts.joins.iter().filter(|(k, t)| counts(k, t)).collect();
        let withdrawals: Vec<_> = facts
            .withdrawals
            .iter()
            .filter(|(_, author, t)| counts(author, t))
            .collect();
        for (key, at) in joins {
            let i = self.intern(key) as usize;
            self.joined[i] = Some(self.joined[i].map_or(*at, |t| t.min(*at)));
        }
        for (key, at) in facts.expulsions.iter().filter(|(_, t)| *t <= now) {
            let i = self.intern(key) as usize;
            self.expelled[i] = Some(self.expelled[i].map_or(*at, |t| t.min(*at)));
        }
        for (key, count, at) in facts.requirements.iter().filter(|(_, _, t)| *t <= now) {
            let i = self.intern(key);
            self.requirements.entry(i).or_default().push((*at, *count));
        }
        let mut withdrawn: HashMap<RecordId, Vec<(PublicKey, Timestamp)>> = HashMap::new();
        for (id, author, at) in withdrawals {
            withdrawn
                .entry(*id)
                .or_default()
                .push((self.identities.resolve(author), *at));
        }
        // Id order, keeping the first of equal ids: the order a stable sort by id gives.
        // Sorting (id, position) pairs by value saves chasing two pointers per comparison.
        let mut order: Vec<(RecordId, usize)> = facts
            .sponsorships
            .iter()
            .enumerate()
            .filter(|(_, s)| s.created <= now && self.identities.counts(&s.sponsor, s.created))
            .map(|(position, s)| (s.id, position))
            .collect();
        order.sort_unstable();
        order.dedup_by_key(|(id, _)| *id);
        self.edges.reserve(order.len());
        for (_, position) in order {
            let s = &facts.sponsorships[position];
            let sponsor = self.intern(&s.sponsor);
            let candidate = self.intern(&s.candidate);
            if sponsor == candidate {
                continue;
            }
            let identity = self.keys[sponsor as usize];
            let withdrawal = withdrawn.get(&s.id).and_then(|list| {
                list.iter()
                    .filter(|(who, _)| *who == identity)
                    .map(|(_, t)| *t)
                    .min()
            });
            let class = withdrawal.map_or(EdgeClass::Counted, EdgeClass::Withdrawn);
            self.edges.push(Edge {
                sponsor,
                candidate,
                created: s.created,
                expires: s.expires,
                id: s.id,
                class,
                usable_until: s.expires,
            });
        }
    }

    /// Strikes, quotas, and each edge's class and usable window.
    fn apply_accountability(&mut self) {
        let nodes = self.keys.len();
        self.strikes = vec![0; nodes];
        self.strike_time = vec![Timestamp(0); nodes];
        let mut struck: Vec<(u32, u32)> = Vec::new();
        let founders = self.founder_nodes();
        for edge in &self.edges {
            let Some(expelled_at) = self.expelled[edge.candidate as usize] else {
                continue;
            };
            let standing = match edge.class {
                EdgeClass::Withdrawn(t) => t > expelled_at,
                _ => true,
            };
            // A strike needs a real sponsorship: by a founder or a joined key, created before
            // the expulsion, not withdrawn before it, and open when the candidate joined.
            let sponsor_known =
                founders.contains(&edge.sponsor) || self.joined[edge.sponsor as usize].is_some();
            let was_open = self.joined[edge.candidate as usize].is_some_and(|j| j < edge.expires);
            if edge.created < expelled_at && standing && sponsor_known && was_open {
                struck.push((edge.sponsor, edge.candidate));
                let s = edge.sponsor as usize;
                self.strike_time[s] = self.strike_time[s].max(expelled_at);
            }
        }
        struck.sort_unstable();
        struck.dedup();
        for (sponsor, _) in struck {
            self.strikes[sponsor as usize] += 1;
        }
        self.quota = self
            .strikes
            .iter()
            .map(|s| {
                self.rules
                    .sponsor_quota
                    .saturating_sub(*s as u64 * self.rules.strike_penalty)
            })
            .collect();
        // Ids are unique after `read_facts`, so no two keys are equal and an unstable sort
        // gives the same order as a stable one.
        self.edges
            .sort_unstable_by_key(|e| (e.sponsor, e.created, e.id));
        let mut start = 0;
        while start < self.edges.len() {
            let sponsor = self.edges[start].sponsor;
            let mut used = 0u64;
            let mut i = start;
            while i < self.edges.len() && self.edges[i].sponsor == sponsor {
                let quota = self.quota[sponsor as usize];
                let edge = &mut self.edges[i];
                let joined = self.joined[edge.candidate as usize];
                let open = edge.expires > self.now || joined.is_some_and(|j| j < edge.expires);
                if !matches!(edge.class, EdgeClass::Withdrawn(_)) && !open {
                    edge.class = EdgeClass::Unused;
                } else if !matches!(edge.class, EdgeClass::Withdrawn(_)) {
                    edge.class = if used < quota {
                        EdgeClass::Counted
                    } else {
                        EdgeClass::OverQuota
                    };
                    used += 1;
                }
                i += 1;
            }
            start = i;
        }
        for edge in &mut self.edges {
            let mut end = edge.expires;
            match edge.class {
                EdgeClass::Withdrawn(t) => end = end.min(t),
                EdgeClass::OverQuota => end = end.min(self.strike_time[edge.sponsor as usize]),
                EdgeClass::Unused => end = edge.created,
                EdgeClass::Counted => {}
            }
            if let Some(t) = self.expelled[edge.sponsor as usize] {
                end = end.min(t);
            }
            edge.usable_until = end;
        }
    }

    /// Earliest admission times: a Dijkstra-like sweep where a candidate is admitted at the
    /// first arrival that brings enough live sponsorships.
    fn admission_times(&self) -> Vec<Option<Timestamp>> {
        let nodes = self.keys.len();
        let by_sponsor = Adjacency::build(
            nodes,
            self.edges
                .iter()
                .enumerate()
                .map(|(i, e)| (e.sponsor, i as u32)),
        );
        let mut admitted: Vec<Option<Timestamp>> = vec![None; nodes];
        let mut arrivals: Vec<Vec<u32>> = vec![Vec::new(); nodes];
        let mut alive: Vec<u32> = Vec::new();
        let mut heap: BinaryHeap<Reverse<(Timestamp, u32, u32)>> = BinaryHeap::new();
        let expand =
            |node: u32, at: Timestamp, admitted: &[Option<Timestamp>], heap: &mut BinaryHeap<_>| {
                for &e in by_sponsor.of(node) {
                    let edge = &self.edges[e as usize];
                    let c = edge.candidate as usize;
                    let (None, Some(joined)) = (admitted[c], self.joined[c]) else {
                        continue;
                    };
                    let start = edge.created.max(at).max(joined);
                    let before_expulsion = self.expelled[c].is_none_or(|x| start < x);
                    let open = start < candidacy_end(joined);
                    if start < edge.usable_until && start <= self.now && before_expulsion && open {
                        heap.push(Reverse((start, edge.candidate, e)));
                    }
                }
            };
        let founders = self.founder_nodes();
        for &f in &founders {
            admitted[f as usize] = Some(Timestamp(0));
        }
        for &f in &founders {
            expand(f, Timestamp(0), &admitted, &mut heap);
        }
        while let Some(Reverse((at, candidate, edge))) = heap.pop() {
            if admitted[candidate as usize].is_some() {
                continue;
            }
            let list = &mut arrivals[candidate as usize];
            list.push(edge);
            alive.clear();
            alive.extend(
                list.iter()
                    .map(|&e| &self.edges[e as usize])
                    .filter(|e| e.usable_until > at)
                    .map(|e| e.sponsor),
            );
            alive.sort_unstable();
            alive.dedup();
            if alive.len() as u64 >= self.required_at(candidate, at) {
                admitted[candidate as usize] = Some(at);
                arrivals[candidate as usize] = Vec::new();
                expand(candidate, at, &admitted, &mut heap);
            }
        }
        admitted
    }
}

impl MembershipTable {
    /// Computes every key's status at `now` from the facts of a record set.
    pub fn compute(rules: &Rules, facts: &Facts, now: Timestamp) -> MembershipTable {
        let mut b = Builder {
            rules,
            now,
            identities: Identities::from_facts(rules, facts),
            index: HashMap::new(),
            keys: Vec::new(),
            joined: Vec::new(),
            expelled: Vec::new(),
            requirements: HashMap::new(),
            edges: Vec::new(),
            strikes: Vec::new(),
            strike_time: Vec::new(),
            quota: Vec::new(),
        };
        b.read_facts(facts);
        b.apply_accountability();
        let admitted = b.admission_times();
        Self::finish(b, admitted)
    }

    fn finish(b: Builder<'_>, admitted: Vec<Option<Timestamp>>) -> MembershipTable {
        let nodes = b.keys.len();
        let in_good_stead =
            |i: u32| admitted[i as usize].is_some() && b.expelled[i as usize].is_none();
        let support_pairs = b
            .edges
            .iter()
            .filter(|e| {
                e.class == EdgeClass::Counted
                    && in_good_stead(e.sponsor)
                    && in_good_stead(e.candidate)
            })
            .map(|e| (e.sponsor, e.candidate));
        let mut pairs: Vec<(u32, u32)> = support_pairs.collect();
        pairs.sort_unstable();
        pairs.dedup();
        let sponsees = Adjacency::build(nodes, pairs.iter().copied());
        let sponsors = Adjacency::build(nodes, pairs.iter().map(|(a, c)| (*c, *a)));
        let by_candidate = Adjacency::build(
            nodes,
            b.edges
                .iter()
                .enumerate()
                .map(|(i, e)| (e.candidate, i as u32)),
        );
        let founders = b.founder_nodes();
        let status = (0..nodes as u32)
            .map(|i| {
                if let Some(at) = b.expelled[i as usize] {
                    Status::Expelled { at }
                } else if founders.contains(&i) {
                    Status::Founder
                } else if let Some(since) = admitted[i as usize] {
                    Self::admitted_status(
                        &b,
                        i,
                        since,
                        sponsors.of(i).len() as u64,
                        by_candidate.of(i),
                    )
                } else if b.joined[i as usize].is_some_and(|j| candidacy_end(j) <= b.now) {
                    // The candidacy expired (9.1.9): the key is no longer a candidate.
                    Status::Unknown
                } else if b.joined[i as usize].is_some() {
                    let live = by_candidate
                        .of(i)
                        .iter()
                        .map(|&e| &b.edges[e as usize])
                        .filter(|e| {
                            e.class == EdgeClass::Counted
                                && e.expires > b.now
                                && in_good_stead(e.sponsor)
                        })
                        .map(|e| e.sponsor)
                        .collect::<std::collections::BTreeSet<_>>()
                        .len();
                    Status::Candidate {
                        sponsors: live as u32,
                        required: b.required_at(i, b.now) as u32,
                    }
                } else {
                    Status::Unknown
                }
            })
            .collect();
        let mut expired_candidacies: Vec<PublicKey> = (0..nodes)
            .filter(|&i| {
                admitted[i].is_none()
                    && b.expelled[i].is_none()
                    && b.joined[i].is_some_and(|j| candidacy_end(j) <= b.now)
            })
            .map(|i| b.keys[i])
            .collect();
        expired_candidacies.sort_unstable();
        MembershipTable {
            expired_candidacies,
            now: b.now,
            identities: b.identities,
            index: b.index,
            keys: b.keys,
            status,
            strikes: b.strikes,
            quota: b.quota,
            admitted,
            sponsees,
            sponsors,
        }
    }

    fn admitted_status(
        b: &Builder<'_>,
        i: u32,
        admitted: Timestamp,
        support: u64,
        in_edges: &[u32],
    ) -> Status {
        let required = b.required_at(i, b.now);
        if support >= required {
            return Status::Member;
        }
        let mut since = admitted;
        for &e in in_edges {
            let edge = &b.edges[e as usize];
            let lost = match edge.class {
                EdgeClass::Unused => None,
                EdgeClass::Withdrawn(t) => Some(t),
                EdgeClass::OverQuota => Some(b.strike_time[edge.sponsor as usize]),
                EdgeClass::Counted => b.expelled[edge.sponsor as usize],
            };
            if let Some(t) = lost {
                since = since.max(t);
            }
        }
        if let Some(list) = b.requirements.get(&i) {
            for (t, _) in list {
                since = since.max(*t);
            }
        }
        let until = since.plus_ms(b.rules.probation_grace_ms);
        if b.now < until {
            Status::Probation { since, until }
        } else {
            Status::Lapsed {
                since: until,
                sponsors: support as u32,
                required: required as u32,
            }
        }
    }
}

/// When a candidacy joined at `joined` closes: no sponsorship arrives at or after it.
fn candidacy_end(joined: Timestamp) -> Timestamp {
    joined.plus_ms(super::CANDIDACY_MS)
}
