//! The node's membership and trust index: the protocol's pure membership functions, fed
//! record by record instead of from a whole record set.
//!
//! # Design
//! - Facts are kept per record in amortised O(1) ([`MembershipIndex::note`]): joins,
//!   sponsorships, withdrawals and key bindings as the protocol's `Facts` hold them; council
//!   appointments, member labels and retractions as records (they are few, and which labels
//!   are in force depends on the moderators in office, so that is decided at refresh); the
//!   newest announcement per node, policy per (node, target) and profile per author; the
//!   latest erasure per author. The store is never read again.
//! - The [`MembershipTable`] is not maintained incrementally: admission times are a least
//!   fixpoint over time, and one record can move many of them. [`MembershipIndex::refresh`]
//!   recomputes it from the kept facts with `MembershipTable::compute`, at most once per
//!   call, and only when a fact it reads has changed or when `now` has moved by more than
//!   the staleness bound since the last computation (statuses depend on the time:
//!   probation grace, expiry). Announced nodes, policies in force and home nodes are
//!   derived at the same refresh, or alone when only their own facts changed.
//! - Callers batch refreshes, for example once per ingest batch. Between two refreshes the
//!   queries answer as of the last one.
//! - The table can also be recomputed away from the index ([`MembershipIndex::table_job`],
//!   [`TableJob::compute`], [`MembershipIndex::install`]): the job holds a copy of the facts,
//!   so the engine computes it without holding the index's lock, and the writer goes on
//!   noting records meanwhile. A table computed from older facts is installed all the same
//!   (queries answer as of it), and the index stays dirty until a job taken after the last
//!   change is installed.
//!
//! The result equals the protocol's full recomputation over the same records (the tests
//! check this on random histories in random orders).

mod derived;
mod kept;

use std::collections::HashMap;

use maillon_protocol::effects;
use maillon_protocol::ids::{PublicKey, Timestamp};
use maillon_protocol::kinds::{Charter, NodeAnnouncement, NodePolicy};
use maillon_protocol::membership::{Facts, MembershipTable, Rules, Status};
use maillon_protocol::trust::{trust_paths, TrustQuery, TrustReport};
use maillon_protocol::Record;

use derived::Derived;
use kept::{Change, Kept};

/// How far `now` may move from the last computation before a refresh recomputes: 60 s.
pub const DEFAULT_STALENESS_MS: u64 = 60_000;

/// One key's standing and neighbourhood, as of the last refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberSummary {
    /// The identity the key belongs to (itself unless bound by a rotation or recovery).
    pub identity: PublicKey,
    /// The identity's status.
    pub status: Status,
    /// When the identity was admitted, if ever.
    pub admitted_at: Option<Timestamp>,
    /// Sponsors whose sponsorship currently supports it, in key order.
    pub sponsors: Vec<PublicKey>,
    /// Keys it currently supports, in key order.
    pub sponsees: Vec<PublicKey>,
    /// The home node of its newest profile (over all its keys), unless erased.
    pub home_node: Option<PublicKey>,
    /// Expelled members it had sponsored.
    pub strikes: u32,
    /// How many of its sponsorships count at once.
    pub quota: u64,
}

/// Membership, trust and node standing, kept up to date record by record.
#[derive(Clone, Debug)]
pub struct MembershipIndex {
    charter: Charter,
    rules: Rules,
    staleness_ms: u64,
    kept: Kept,
    table: MembershipTable,
    derived: Derived,
    computed_at: Option<Timestamp>,
    table_dirty: bool,
    derived_dirty: bool,
    /// Counts the notes that changed a fact the table reads.
    generation: u64,
}

/// A recomputation of the membership table taken from an index: the facts as they were,
/// computed without the index.
#[derive(Clone, Debug)]
pub struct TableJob {
    rules: Rules,
    facts: Facts,
    now: Timestamp,
    generation: u64,
}

/// A table computed by a [`TableJob`], to install in the index it came from.
#[derive(Clone, Debug)]
pub struct ComputedTable {
    table: MembershipTable,
    now: Timestamp,
    generation: u64,
}

impl TableJob {
    /// Computes the table: as long as a full computation, and needs no lock.
    pub fn compute(self) -> ComputedTable {
        ComputedTable {
            table: MembershipTable::compute(&self.rules, &self.facts, self.now),
            now: self.now,
            generation: self.generation,
        }
    }
}

impl MembershipIndex {
    /// An empty index for the network of `charter`. Until the first refresh the table is
    /// that of no records at time 0, and the index is dirty.
    pub fn new(charter: Charter) -> Self {
        let rules = Rules::of(&charter);
        let table = MembershipTable::compute(&rules, &Facts::default(), Timestamp(0));
        MembershipIndex {
            charter,
            rules,
            staleness_ms: DEFAULT_STALENESS_MS,
            kept: Kept::default(),
            table,
            derived: Derived::default(),
            computed_at: None,
            table_dirty: true,
            derived_dirty: true,
            generation: 0,
        }
    }

    /// The same index with another staleness bound, in ms (0: recompute whenever `now`
    /// changes).
    pub fn with_staleness_ms(mut self, staleness_ms: u64) -> Self {
        self.staleness_ms = staleness_ms;
        self
    }

    /// Keeps the facts of a stored record, in any order; a record noted twice counts once.
    /// Marks the index dirty only when something it derives can change.
    pub fn note(&mut self, record: &Record) {
        match self.kept.note(&self.charter, record) {
            Change::Nothing => {}
            Change::Table => {
                self.table_dirty = true;
                self.generation += 1;
            }
            Change::Derived => self.derived_dirty = true,
        }
    }

    /// Brings the index up to `now`: recomputes the table when a fact it reads changed or
    /// when `now` is more than the staleness bound away from the last computation, and the
    /// derived views when the table or their own facts changed. Returns whether anything
    /// was recomputed.
    pub fn refresh(&mut self, now: Timestamp) -> bool {
        if let Some(job) = self.table_job(now) {
            self.install(job.compute());
        }
        self.refresh_derived()
    }

    /// The recomputation of the table that [`MembershipIndex::refresh`] would do at `now`,
    /// if any: when a fact it reads changed, or when `now` is more than the staleness bound
    /// away from the last computation.
    pub fn table_job(&self, now: Timestamp) -> Option<TableJob> {
        let stale = self
            .computed_at
            .is_none_or(|at| now.0.abs_diff(at.0) > self.staleness_ms);
        (self.table_dirty || stale).then(|| self.job(now))
    }

    /// Installs a table computed from a job of this index. It stays dirty if a fact the
    /// table reads was noted after the job was taken.
    pub fn install(&mut self, computed: ComputedTable) {
        self.table = computed.table;
        self.computed_at = Some(computed.now);
        self.table_dirty = computed.generation != self.generation;
        self.derived_dirty = true;
    }

    /// Recomputes the views derived beside the table if their facts or the table changed;
    /// returns whether it did.
    pub fn refresh_derived(&mut self) -> bool {
        if !self.derived_dirty {
            return false;
        }
        self.derived = Derived::compute(&self.kept, &self.table);
        self.derived_dirty = false;
        true
    }

    /// Brings the index to exactly `now`, whatever the staleness bound: for decisions that
    /// must be the protocol's function of the records and the time, such as which
    /// candidacies have expired.
    pub fn refresh_exact(&mut self, now: Timestamp) {
        if self.table_dirty || self.computed_at != Some(now) {
            self.recompute_table(now);
        }
        self.refresh(now);
    }

    fn recompute_table(&mut self, now: Timestamp) {
        let job = self.job(now);
        self.install(job.compute());
    }

    fn job(&self, now: Timestamp) -> TableJob {
        // Which labels are in force depends on the moderators in office: the protocol
        // decides it from the few moderation records kept.
        let moderation = Facts::from_records(&self.charter, &self.kept.moderation);
        let mut facts = self.kept.facts.clone();
        facts.expulsions = moderation.expulsions;
        facts.requirements = moderation.requirements;
        TableJob {
            rules: self.rules.clone(),
            facts,
            now,
            generation: self.generation,
        }
    }

    /// Whether the views derived beside the table wait to be recomputed.
    pub fn derived_dirty(&self) -> bool {
        self.derived_dirty
    }

    /// Whether a noted record changed something the next refresh will recompute.
    pub fn is_dirty(&self) -> bool {
        self.table_dirty || self.derived_dirty
    }

    /// The time of the last table computation, if any.
    pub fn computed_at(&self) -> Option<Timestamp> {
        self.computed_at
    }

    /// The membership table as of the last refresh.
    pub fn table(&self) -> &MembershipTable {
        &self.table
    }

    /// The charter the index was built for.
    pub fn charter(&self) -> &Charter {
        &self.charter
    }

    /// A key's standing, as of the last refresh.
    pub fn member(&self, key: &PublicKey) -> MemberSummary {
        let t = &self.table;
        let identity = t.identity(key);
        MemberSummary {
            identity,
            status: t.status(key),
            admitted_at: t.admitted_at(key),
            sponsors: t.sponsors(key),
            sponsees: t.sponsees(key),
            home_node: self.derived.homes.get(&identity).copied(),
            strikes: t.strikes(key),
            quota: t.quota(key),
        }
    }

    /// Every key of the identity `key` belongs to, as of the last refresh: the identity
    /// (its first key) first, then the keys bound to it by rotations and recoveries.
    pub fn keys_of_identity(&self, key: &PublicKey) -> Vec<PublicKey> {
        self.table.keys_of_identity(key)
    }

    /// Trust paths between two keys with the default bounds of [`TrustQuery`].
    pub fn trust(&self, from: &PublicKey, to: &PublicKey) -> TrustReport {
        self.trust_with(from, to, TrustQuery::default())
    }

    /// Trust paths between two keys with explicit bounds.
    pub fn trust_with(&self, from: &PublicKey, to: &PublicKey, query: TrustQuery) -> TrustReport {
        trust_paths(&self.table, from, to, query)
    }

    /// The identity a key belongs to, and its status: what a page's frame needs.
    pub fn identity_and_status(&self, key: &PublicKey) -> (PublicKey, Status) {
        (self.table.identity(key), self.table.status(key))
    }

    /// Whether `key` was in good standing at `at` (see `effects::in_good_standing_at`).
    pub fn in_good_standing_at(&self, key: &PublicKey, at: Timestamp) -> bool {
        effects::in_good_standing_at(&self.table, key, at)
    }

    /// Announced nodes whose operator is in good standing: the newest announcement per node
    /// key, as `effects::announced_nodes` gives.
    pub fn announced_nodes(&self) -> &HashMap<PublicKey, NodeAnnouncement> {
        &self.derived.announced
    }

    /// The policies in force signed by `node`, newest per target, in target order; empty
    /// unless `node` is announced (as `effects::node_policies` rules).
    pub fn node_policies_of(&self, node: &PublicKey) -> Vec<NodePolicy> {
        self.derived.policies.get(node).cloned().unwrap_or_default()
    }

    /// How many identities are founders, members or on probation.
    pub fn members_in_good_standing(&self) -> usize {
        self.table.good_standing_count()
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod world;
