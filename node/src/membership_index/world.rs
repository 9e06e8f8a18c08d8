//! A random history for the index's tests: joins, sponsorships (also between candidates),
//! withdrawals, appointments, member labels and retractions, rotations and recoveries, node
//! announcements and policies, profiles, listings and erasures, from a seed.
//!
//! Records are signed correctly but not validated: the index and the protocol's full
//! recomputation read the same facts either way, and invalid-looking cases (a label by a
//! moderator not in office, a binding to a taken key) are what the tests want to cover.

use maillon_protocol::ids::{PublicKey, RecordId, Timestamp};
use maillon_protocol::kinds::{
    AppointmentAction, Body, LabelAction, LabelRetraction, NodePolicy, PolicyLevel,
};
use maillon_protocol::testkit::{self, Signer, SplitMix64, DAY, T0};
use maillon_protocol::{Record, SecretKey};

/// A sponsorship the history may withdraw or use for a recovery.
struct Sponsored {
    id: RecordId,
    sponsor: SecretKey,
    candidate: PublicKey,
}

/// The history being generated.
pub(super) struct World {
    /// Signs for the network (three founders, who are also the council, threshold 2).
    pub(super) signer: Signer,
    /// Every record, the charter first.
    pub(super) records: Vec<Record>,
    /// Every key the history mentions.
    pub(super) keys: Vec<PublicKey>,
    /// The node keys.
    pub(super) nodes: Vec<SecretKey>,
    /// The time of the last record.
    pub(super) now: Timestamp,
    rng: SplitMix64,
    founders: Vec<SecretKey>,
    /// Founders and joined keys (rotated keys replace their old key).
    actors: Vec<SecretKey>,
    /// Keys that have not joined yet.
    strangers: Vec<SecretKey>,
    moderators: Vec<SecretKey>,
    sponsorships: Vec<Sponsored>,
    /// Labels and their authors.
    labels: Vec<(RecordId, SecretKey)>,
    fresh: u32,
}

impl World {
    /// A network with no record but the charter.
    pub(super) fn new(seed: u64) -> World {
        let founders: Vec<SecretKey> = (1..=3)
            .map(|i| testkit::key(&format!("founder-{i}")))
            .collect();
        let refs: Vec<&SecretKey> = founders.iter().collect();
        let signer = Signer::new(testkit::charter(&refs, &refs, 2));
        let strangers: Vec<SecretKey> = (0..14).map(|i| testkit::key(&format!("k-{i}"))).collect();
        let moderators: Vec<SecretKey> =
            (0..2).map(|i| testkit::key(&format!("modo-{i}"))).collect();
        let nodes: Vec<SecretKey> = (0..3).map(|i| testkit::key(&format!("node-{i}"))).collect();
        let keys = founders
            .iter()
            .chain(&strangers)
            .chain(&moderators)
            .chain(&nodes)
            .map(SecretKey::public_key)
            .collect();
        World {
            records: vec![signer.charter_record(&founders[0])],
            signer,
            keys,
            nodes,
            now: T0,
            rng: SplitMix64::new(seed),
            actors: founders.clone(),
            founders,
            strangers,
            moderators,
            sponsorships: Vec::new(),
            labels: Vec::new(),
            fresh: 0,
        }
    }

    /// A history of `steps` random steps.
    pub(super) fn random(seed: u64, steps: usize) -> World {
        let mut world = World::new(seed);
        for _ in 0..steps {
            world.step();
        }
        world
    }

    /// The rng, for the tests' own choices.
    pub(super) fn rng(&mut self) -> &mut SplitMix64 {
        &mut self.rng
    }

    fn actor(&mut self) -> SecretKey {
        self.rng.pick(&self.actors).clone()
    }

    fn push(&mut self, record: Record) {
        self.records.push(record);
    }

    fn fresh_key(&mut self) -> SecretKey {
        self.fresh += 1;
        let key = testkit::key(&format!("fresh-{}", self.fresh));
        self.keys.push(key.public_key());
        key
    }

    /// One random record, a little later than the last.
    pub(super) fn step(&mut self) {
        self.now = self.now.plus_ms(1 + self.rng.below(2 * DAY));
        match self.rng.below(100) {
            0..=14 => self.join(),
            15..=44 => self.sponsor(),
            45..=49 => self.withdraw(),
            50..=54 => self.appoint(),
            55..=61 => self.label(),
            62..=64 => self.retract(),
            65..=67 => self.rotate(),
            68..=69 => self.recover(),
            70..=74 => self.announce(),
            75..=78 => self.policy(),
            79..=86 => self.profile(),
            87..=95 => self.listing(),
            _ => self.erase(),
        }
    }

    fn join(&mut self) {
        if self.strangers.is_empty() {
            return self.sponsor();
        }
        let i = self.rng.below(self.strangers.len() as u64) as usize;
        let key = self.strangers.swap_remove(i);
        self.push(self.signer.join(&key, self.now));
        self.actors.push(key);
    }

    fn sponsor(&mut self) {
        let sponsor = self.actor();
        // Mostly joined keys, sometimes any key the history knows (old or unjoined ones).
        let candidate = if self.rng.below(5) == 0 {
            *self.rng.pick(&self.keys)
        } else {
            self.actor().public_key()
        };
        if candidate == sponsor.public_key() {
            return;
        }
        let record = self.signer.sponsor(&sponsor, candidate, self.now);
        self.sponsorships.push(Sponsored {
            id: record.id(),
            sponsor,
            candidate,
        });
        self.push(record);
    }

    fn withdraw(&mut self) {
        if self.sponsorships.is_empty() {
            return;
        }
        let i = self.rng.below(self.sponsorships.len() as u64) as usize;
        let (id, sponsor) = (
            self.sponsorships[i].id,
            self.sponsorships[i].sponsor.clone(),
        );
        self.push(self.signer.withdraw(&sponsor, id, self.now));
    }

    fn appoint(&mut self) {
        let a = self.rng.below(3) as usize;
        let b = (a + 1 + self.rng.below(2) as usize) % 3;
        let moderator = if self.rng.below(4) == 0 {
            self.actor().public_key()
        } else {
            self.rng.pick(&self.moderators).public_key()
        };
        let action = if self.rng.below(4) == 0 {
            AppointmentAction::Remove
        } else {
            AppointmentAction::Appoint
        };
        // Now and then an appointment by a key off the council, which has no effect.
        let author = if self.rng.below(8) == 0 {
            self.actor()
        } else {
            self.founders[a].clone()
        };
        if author.public_key() == self.founders[b].public_key() {
            return;
        }
        let record =
            self.signer
                .appoint(&author, &[&self.founders[b]], moderator, action, self.now);
        self.push(record);
    }

    fn label(&mut self) {
        let moderator = self.rng.pick(&self.moderators).clone();
        let target = *self.rng.pick(&self.keys);
        let (action, required) = match self.rng.below(10) {
            0..=2 => (LabelAction::ExpelMember, None),
            3..=6 => (LabelAction::RequireSponsors, Some(4 + self.rng.below(2))),
            _ => (LabelAction::WarnMember, None),
        };
        let record = self
            .signer
            .member_label(&moderator, action, target, required, self.now);
        self.labels.push((record.id(), moderator));
        self.push(record);
    }

    fn retract(&mut self) {
        if self.labels.is_empty() {
            return;
        }
        let (label, author) = self.rng.pick(&self.labels).clone();
        // Mostly by the label's author, who is then likely in office.
        let moderator = if self.rng.below(4) == 0 {
            self.rng.pick(&self.moderators).clone()
        } else {
            author
        };
        let body = LabelRetraction {
            label,
            reason: "Erreur de cible.".into(),
        };
        self.push(self.signer.sign(&moderator, body, self.now, None));
    }

    fn rotate(&mut self) {
        let i = self.rng.below(self.actors.len() as u64) as usize;
        let old = self.actors[i].clone();
        // Sometimes onto a key already in use: the binding must then be skipped.
        let new = if self.rng.below(6) == 0 {
            self.actor()
        } else {
            self.fresh_key()
        };
        if new.public_key() == old.public_key() {
            return;
        }
        self.push(self.signer.rotate(&old, &new, self.now));
        self.actors[i] = new;
    }

    fn recover(&mut self) {
        if self.sponsorships.is_empty() {
            return;
        }
        let i = self.rng.below(self.sponsorships.len() as u64) as usize;
        let (id, sponsor, old) = {
            let s = &self.sponsorships[i];
            (s.id, s.sponsor.clone(), s.candidate)
        };
        let new = self.fresh_key();
        let record = self.signer.recover(old, &new, &[&sponsor], &[id], self.now);
        self.push(record);
        self.actors.push(new);
    }

    fn announce(&mut self) {
        let node = self.rng.pick(&self.nodes).clone();
        let operator = if self.rng.below(5) == 0 && !self.strangers.is_empty() {
            self.rng.pick(&self.strangers).clone()
        } else {
            self.actor()
        };
        let record = self
            .signer
            .announce_node(&node, &operator, "Paroisse Saint-Jean", self.now);
        self.push(record);
    }

    fn policy(&mut self) {
        let node = self.rng.pick(&self.nodes).clone();
        let target = self.rng.pick(&self.nodes).public_key();
        if target == node.public_key() {
            return;
        }
        let level = *self.rng.pick(&[
            PolicyLevel::Normal,
            PolicyLevel::Limit,
            PolicyLevel::Suspend,
        ]);
        let body = NodePolicy {
            target,
            level,
            reason: "Trop de messages.".into(),
        };
        self.push(self.signer.sign(&node, body, self.now, None));
    }

    fn profile(&mut self) {
        let author = self.actor();
        let home = self.rng.pick(&self.nodes).public_key();
        self.push(self.signer.profile(&author, "Anne M.", home, self.now));
    }

    fn listing(&mut self) {
        let author = self.actor();
        self.push(self.signer.listing(&author, "Armoire", self.now));
    }

    fn erase(&mut self) {
        let author = self.actor();
        self.push(self.signer.erase(&author, self.now));
    }

    /// Whether a record is a profile (the only erasable kind the index reads).
    pub(super) fn is_profile(record: &Record) -> bool {
        matches!(record.body(), Some(Body::Profile(_)))
    }
}
