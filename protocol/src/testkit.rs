//! Deterministic builders for keys, charters and signed records, shared by tests, test
//! vectors, benchmarks and the network generator. Pure like the rest of the crate: keys
//! come from labels, times are arguments.

use crate::ids::{sha256, NetworkId, PublicKey, RecordId, Timestamp};
use crate::kinds::{
    appointment_message, join_introduction_message, key_binding_message, node_operator_message,
    AppointmentAction, Body, Category, Charter, Erasure, Intent, Join, KeyRecovery, KeyRotation,
    LabelAction, Listing, ModerationLabel, ModeratorAppointment, NodeAnnouncement, Position,
    Profile, Relation, Sponsorship, SponsorshipWithdrawal,
};
use crate::record::{Draft, Record};
use crate::signature::SecretKey;

/// The key whose seed is SHA-256 of `label`.
pub fn key(label: &str) -> SecretKey {
    SecretKey::from_seed(sha256(&[b"maillon/testkit/v1\0", label.as_bytes()]))
}

/// 2026-01-01T00:00:00Z, the epoch of generated data.
pub const T0: Timestamp = Timestamp(1_767_225_600_000);

/// One day.
pub const DAY: u64 = Timestamp::DAY_MS;

/// The label of the test network's introducing node key.
pub const INTRODUCER_LABEL: &str = "testkit-introducer";

/// A charter with the design's defaults: 3 sponsors, quota 20, penalty 5, 30 days of grace,
/// 7 days to answer, 5 minutes of clock skew, 3 sponsors to recover a key.
pub fn charter(founders: &[&SecretKey], council: &[&SecretKey], council_threshold: u64) -> Charter {
    let mut founders: Vec<PublicKey> = founders.iter().map(|k| k.public_key()).collect();
    founders.sort();
    let mut council: Vec<PublicKey> = council.iter().map(|k| k.public_key()).collect();
    council.sort();
    Charter {
        name: "Maillon".into(),
        founders,
        council,
        council_threshold,
        sponsors_required: 3,
        sponsor_quota: 20,
        strike_penalty: 5,
        probation_grace_ms: 30 * DAY,
        answer_deadline_ms: 7 * DAY,
        max_clock_skew_ms: 300_000,
        recovery_threshold: 3,
        bumps_per_node_per_day: 20,
        rules: "1. Répondre à toute personne qui ouvre une transaction avec vous, dans le délai.\n\
                2. Ne parrainer que des personnes connues dans la vie réelle.\n\
                3. Publier des annonces honnêtes, au juste prix.\n\
                4. Régler les différends avec courtoisie ; la modération tranche."
            .into(),
    }
}

/// Signs records for one network.
#[derive(Clone, Debug)]
pub struct Signer {
    /// The network.
    pub network: NetworkId,
    /// The charter.
    pub charter: Charter,
}

impl Signer {
    /// A signer for the network of `charter`.
    pub fn new(charter: Charter) -> Signer {
        Signer {
            network: charter.network_id(),
            charter,
        }
    }

    /// Signs any body. Panics if the body breaks a context-free rule: test data must be valid.
    pub fn sign(
        &self,
        key: &SecretKey,
        body: impl Into<Body>,
        created: Timestamp,
        expires: Option<Timestamp>,
    ) -> Record {
        self.sign_linked(key, body, created, expires, &[])
    }

    /// Signs any body whose refs also name the key bindings `bindings`.
    pub fn sign_linked(
        &self,
        key: &SecretKey,
        body: impl Into<Body>,
        created: Timestamp,
        expires: Option<Timestamp>,
        bindings: &[RecordId],
    ) -> Record {
        Record::sign_linked(
            key,
            &self.network,
            Draft {
                body: body.into(),
                created,
                expires,
            },
            bindings,
        )
        .unwrap_or_else(|e| panic!("test record breaks a context-free rule: {e}"))
    }

    /// The charter record, signed by `founder`.
    pub fn charter_record(&self, founder: &SecretKey) -> Record {
        Record::sign_charter(founder, self.charter.clone(), T0)
            .unwrap_or_else(|e| panic!("test charter is invalid: {e}"))
    }

    /// The key of the node that introduces the test joins.
    pub fn introducer(&self) -> SecretKey {
        key(INTRODUCER_LABEL)
    }

    /// The introducing node's announcement (vouched for by itself, created at [`T0`]):
    /// a world must hold it before the joins it introduces.
    pub fn introduction(&self) -> Record {
        let node = self.introducer();
        self.announce_node(&node, &node, "Nœud d'accueil", T0)
    }

    /// A join accepting the charter's rules, introduced by [`Signer::introduction`].
    pub fn join(&self, key: &SecretKey, at: Timestamp) -> Record {
        self.join_through(key, &self.introducer(), self.introduction().id(), at)
    }

    /// A join introduced by the node `node` whose announcement is `introduction`.
    pub fn join_through(
        &self,
        key: &SecretKey,
        node: &SecretKey,
        introduction: RecordId,
        at: Timestamp,
    ) -> Record {
        let message = join_introduction_message(&self.network, &key.public_key(), at);
        self.sign(
            key,
            Join {
                accepted_rules_hash: self.charter.rules_hash(),
                introduction,
                introducer_signature: node.sign(&message),
            },
            at,
            None,
        )
    }

    /// A profile in Valence.
    pub fn profile(
        &self,
        key: &SecretKey,
        name: &str,
        home_node: PublicKey,
        at: Timestamp,
    ) -> Record {
        let body = Profile {
            display_name: name.into(),
            home_node,
            town: "Valence".into(),
            postcode: "26000".into(),
            position: Position {
                lat_microdeg: 44_933_330,
                lon_microdeg: 4_900_000,
            },
            about: String::new(),
        };
        self.sign(key, body, at, None)
    }

    /// A sponsorship valid for 90 days.
    pub fn sponsor(&self, sponsor: &SecretKey, candidate: PublicKey, at: Timestamp) -> Record {
        let body = Sponsorship {
            candidate,
            relation: Relation::Friend,
            note: "Voisins depuis dix ans.".into(),
        };
        self.sign(sponsor, body, at, Some(at.plus_ms(90 * DAY)))
    }

    /// Withdraws a sponsorship.
    pub fn withdraw(&self, sponsor: &SecretKey, sponsorship: RecordId, at: Timestamp) -> Record {
        self.sign(
            sponsor,
            SponsorshipWithdrawal {
                sponsorship,
                reason: String::new(),
            },
            at,
            None,
        )
    }

    /// A first-version listing of a wardrobe for 80 €.
    pub fn listing(&self, author: &SecretKey, title: &str, at: Timestamp) -> Record {
        let body = Listing {
            series: None,
            intent: Intent::Offer,
            category: Category::Furniture,
            title: title.into(),
            description: "Armoire en chêne, bon état, à venir chercher.".into(),
            price_cents: Some(8_000),
            town: "Valence".into(),
            postcode: "26000".into(),
            position: Position {
                lat_microdeg: 44_933_330,
                lon_microdeg: 4_900_000,
            },
            photos: vec![],
        };
        self.sign(author, body, at, Some(at.plus_ms(60 * DAY)))
    }

    /// Council appointment of `moderator`, signed by `author` and co-signed by `cosigners`.
    pub fn appoint(
        &self,
        author: &SecretKey,
        cosigners: &[&SecretKey],
        moderator: PublicKey,
        action: AppointmentAction,
        at: Timestamp,
    ) -> Record {
        let message = appointment_message(&self.network, &moderator, action, at);
        let mut council_signatures: Vec<_> = cosigners
            .iter()
            .map(|k| (k.public_key(), k.sign(&message)))
            .collect();
        council_signatures.sort_by_key(|(k, _)| *k);
        self.sign(
            author,
            ModeratorAppointment {
                moderator,
                action,
                council_signatures,
            },
            at,
            None,
        )
    }

    /// A label on a member key.
    pub fn member_label(
        &self,
        moderator: &SecretKey,
        action: LabelAction,
        target: PublicKey,
        required: Option<u64>,
        at: Timestamp,
    ) -> Record {
        let body = ModerationLabel {
            action,
            target: target.0,
            reason: "Décision de modération.".into(),
            correction: String::new(),
            required_sponsors: required,
            complaint: None,
        };
        self.sign(moderator, body, at, None)
    }

    /// A node announcement vouched for by `operator`.
    pub fn announce_node(
        &self,
        node: &SecretKey,
        operator: &SecretKey,
        name: &str,
        at: Timestamp,
    ) -> Record {
        let addresses = vec!["/ip4/127.0.0.1/tcp/4001".into()];
        self.announce_node_with(node, operator, name, addresses, at)
    }

    /// A node announcement with these addresses (a website among them, for example).
    pub fn announce_node_with(
        &self,
        node: &SecretKey,
        operator: &SecretKey,
        name: &str,
        addresses: Vec<String>,
        at: Timestamp,
    ) -> Record {
        let body = NodeAnnouncement {
            name: name.into(),
            region: "Drôme".into(),
            postcode: "26000".into(),
            addresses,
            operator: operator.public_key(),
            operator_signature: operator
                .sign(&node_operator_message(&self.network, &node.public_key())),
        };
        self.sign(node, body, at, None)
    }

    /// A key rotation from `old` to `new`.
    pub fn rotate(&self, old: &SecretKey, new: &SecretKey, at: Timestamp) -> Record {
        let message = key_binding_message(&self.network, &old.public_key(), &new.public_key());
        self.sign(
            old,
            KeyRotation {
                new_key: new.public_key(),
                new_key_signature: new.sign(&message),
            },
            at,
            None,
        )
    }

    /// A key recovery binding `new` to `old`'s identity, co-signed by `sponsors`, whose
    /// sponsorships of the identity are `sponsorships`.
    pub fn recover(
        &self,
        old: PublicKey,
        new: &SecretKey,
        sponsors: &[&SecretKey],
        sponsorships: &[RecordId],
        at: Timestamp,
    ) -> Record {
        let mut sponsorships = sponsorships.to_vec();
        sponsorships.sort();
        let message = key_binding_message(&self.network, &old, &new.public_key());
        let mut sponsor_signatures: Vec<_> = sponsors
            .iter()
            .map(|k| (k.public_key(), k.sign(&message)))
            .collect();
        sponsor_signatures.sort_by_key(|(k, _)| *k);
        self.sign(
            new,
            KeyRecovery {
                old_key: old,
                sponsorships,
                sponsor_signatures,
            },
            at,
            None,
        )
    }

    /// An erasure by `author`.
    pub fn erase(&self, author: &SecretKey, at: Timestamp) -> Record {
        self.sign(
            author,
            Erasure {
                reason: String::new(),
            },
            at,
            None,
        )
    }
}

/// A small deterministic pseudo-random generator (SplitMix64) for generated test data. It is
/// seeded by the caller, so the crate stays free of ambient randomness. Not for keys: keys
/// come from [`SecretKey::from_seed`] with seeds derived by SHA-256.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i as u64 + 1) as usize);
        }
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}
