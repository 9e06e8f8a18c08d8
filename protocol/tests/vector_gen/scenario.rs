//! The small network the vectors describe: every record kind, an expulsion cascade, a Sybil
//! ring, a probation, a raised requirement, a rotation, a recovery and an erasure.

use maillon_protocol::ids::{PublicKey, RecordId, Timestamp};
use maillon_protocol::kinds::*;
use maillon_protocol::state::Applied;
use maillon_protocol::testkit::{self, Signer, DAY, T0};
use maillon_protocol::{Record, RecordSet, SecretKey};

pub struct Scenario {
    pub signer: Signer,
    pub set: RecordSet,
    pub keys: Vec<(String, SecretKey)>,
    pub log: Vec<Record>,
    pub now: Timestamp,
}

impl Scenario {
    fn key(&mut self, label: &str) -> SecretKey {
        if let Some((_, k)) = self.keys.iter().find(|(l, _)| l == label) {
            return k.clone();
        }
        let key = testkit::key(label);
        self.keys.push((label.to_string(), key.clone()));
        key
    }

    fn tick(&mut self) -> Timestamp {
        self.now = self.now.plus_ms(60_000);
        self.now
    }

    fn push(&mut self, record: Record) -> Record {
        let result = self.set.apply(record.clone(), self.now);
        assert_eq!(result, Ok(Applied::Inserted), "{:?}", record.header().kind);
        self.log.push(record.clone());
        record
    }

    fn sign(&mut self, key: &SecretKey, body: impl Into<Body>, expires_in: Option<u64>) -> Record {
        let at = self.tick();
        let record = self
            .signer
            .sign(key, body, at, expires_in.map(|ms| at.plus_ms(ms)));
        self.push(record)
    }

    fn join(&mut self, label: &str) -> SecretKey {
        let key = self.key(label);
        let at = self.tick();
        let record = self.signer.join(&key, at);
        self.push(record);
        key
    }

    fn sponsor(&mut self, sponsor: &str, candidate: &str) -> Record {
        let (s, c) = (self.key(sponsor), self.key(candidate));
        let at = self.tick();
        let record = self.signer.sponsor(&s, c.public_key(), at);
        self.push(record)
    }

    fn member(&mut self, label: &str, sponsors: [&str; 3]) -> SecretKey {
        let key = self.join(label);
        for s in sponsors {
            self.sponsor(s, label);
        }
        key
    }

    fn label(&mut self, action: LabelAction, target: &str, required: Option<u64>) -> Record {
        let (m, t) = (self.key("moderator"), self.key(target));
        let at = self.tick();
        let record = self
            .signer
            .member_label(&m, action, t.public_key(), required, at);
        self.push(record)
    }

    pub fn pk(&mut self, label: &str) -> PublicKey {
        self.key(label).public_key()
    }
}

pub fn build() -> Scenario {
    let founders: Vec<SecretKey> = (1..=3)
        .map(|i| testkit::key(&format!("founder-{i}")))
        .collect();
    let refs: Vec<&SecretKey> = founders.iter().collect();
    let signer = Signer::new(testkit::charter(&refs, &refs, 2));
    let charter = signer.charter_record(&founders[0]);
    let mut s = Scenario {
        set: RecordSet::new(charter.clone(), T0).unwrap(),
        signer,
        keys: (1..=3)
            .map(|i| (format!("founder-{i}"), founders[i - 1].clone()))
            .collect(),
        log: vec![charter],
        now: T0,
    };
    // The node that introduces the candidates' joins (docs/PROTOCOL.md 7.3).
    let introduction = s.signer.introduction();
    s.push(introduction);
    let f = ["founder-1", "founder-2", "founder-3"];
    let anne = s.member("anne", f);
    let bob = s.member("bob", f);
    s.member("carl", f);
    s.member("dora", ["anne", "bob", "carl"]);
    let eve = s.member("eve", ["dora", "anne", "bob"]);
    let hugo = s.member("hugo", f);
    // A ring of four candidates who sponsor each other, helped by one real member.
    for who in ["ring-1", "ring-2", "ring-3", "ring-4"] {
        s.join(who);
    }
    for (a, b) in [
        ("ring-1", "ring-2"),
        ("ring-2", "ring-3"),
        ("ring-3", "ring-4"),
        ("ring-4", "ring-1"),
        ("ring-1", "ring-3"),
        ("ring-2", "ring-4"),
    ] {
        let (ka, kb) = (s.key(a), s.key(b));
        let at = s.tick();
        // Ring members are candidates: their sponsorships are stored but never count.
        let record = s.signer.sponsor(&ka, kb.public_key(), at);
        s.push(record);
    }
    s.sponsor("hugo", "ring-1");
    // fred has two of three sponsors.
    s.join("fred");
    s.sponsor("anne", "fred");
    s.sponsor("bob", "fred");
    // The council appoints a moderator.
    let moderator = s.key("moderator");
    let (f1, f2) = (founders[0].clone(), founders[1].clone());
    let at = s.tick();
    let appointment = s.signer.appoint(
        &f1,
        &[&f2],
        moderator.public_key(),
        AppointmentAction::Appoint,
        at,
    );
    s.push(appointment);
    // gina needs four sponsors by a moderator's decision; she has three.
    s.join("gina");
    s.label(LabelAction::RequireSponsors, "gina", Some(4));
    for sponsor in f {
        s.sponsor(sponsor, "gina");
    }
    // A node, its announcement, a listing with a new version, a bump and a tombstone.
    let node = s.key("node-valence");
    let at = s.tick();
    let announcement = s
        .signer
        .announce_node(&node, &anne, "Paroisse Saint-Apollinaire", at);
    s.push(announcement);
    let at = s.tick();
    let profile = s.signer.profile(&anne, "Anne", node.public_key(), at);
    s.push(profile);
    let at = s.tick();
    let listing = s.signer.listing(&anne, "Armoire normande", at);
    let listing = s.push(listing);
    let Some(Body::Listing(body)) = listing.body().cloned() else {
        unreachable!()
    };
    s.sign(
        &anne,
        Listing {
            series: Some(listing.id()),
            price_cents: Some(6_500),
            ..body
        },
        Some(30 * DAY),
    );
    s.sign(
        &node,
        Bump {
            series: listing.id(),
        },
        Some(DAY),
    );
    let open = s.sign(
        &bob,
        TransactionOpen {
            listing: listing.id(),
            message: "Bonjour, est-elle encore disponible ?".into(),
        },
        None,
    );
    s.sign(
        &anne,
        TransactionAnswer {
            transaction: open.id(),
            message: "Oui, passez samedi matin.".into(),
        },
        None,
    );
    s.sign(
        &bob,
        TransactionMessage {
            transaction: open.id(),
            message: "Entendu, à samedi.".into(),
        },
        None,
    );
    let close = TransactionClose {
        transaction: open.id(),
        outcome: Outcome::Completed,
        rating: Some(5),
        review: "Très aimable.".into(),
    };
    s.sign(&bob, close, None);
    s.sign(
        &anne,
        ListingTombstone {
            series: listing.id(),
            reason: "Vendue".into(),
        },
        None,
    );
    let complaint = Complaint {
        subject: ComplaintSubject::Member(s.pk("dora")),
        reason: ComplaintReason::Scam,
        text: "Acompte encaissé, objet jamais livré.".into(),
    };
    s.sign(&eve, complaint, None);
    s.sign(
        &node,
        NodePolicy {
            target: PublicKey([7; 32]),
            level: PolicyLevel::Limit,
            reason: "Trop de relances.".into(),
        },
        None,
    );
    // A warning, retracted; then dora is expelled: anne, bob, carl get a strike, eve goes on
    // probation.
    let warn = s.label(LabelAction::WarnMember, "carl", None);
    s.sign(
        &moderator,
        LabelRetraction {
            label: warn.id(),
            reason: "Malentendu.".into(),
        },
        None,
    );
    s.label(LabelAction::ExpelMember, "dora", None);
    // founder-3 withdraws from hugo: hugo goes on probation.
    let hugo_sponsorship = find_sponsorship(&s, "founder-3", &hugo);
    s.sign(
        &founders[2].clone(),
        SponsorshipWithdrawal {
            sponsorship: hugo_sponsorship,
            reason: String::new(),
        },
        None,
    );
    // bob rotates to a new key; carl's sponsors recover carl onto a new key.
    let bob2 = s.key("bob-2");
    let at = s.tick();
    let rotation = s.signer.rotate(&bob, &bob2, at);
    let rotation = s.push(rotation);
    let carl = s.key("carl");
    let carl2 = s.key("carl-2");
    let sponsorships: Vec<RecordId> = f.iter().map(|sp| find_sponsorship(&s, sp, &carl)).collect();
    let at = s.tick();
    let recovery = s
        .signer
        .recover(carl.public_key(), &carl2, &refs, &sponsorships, at);
    s.push(recovery);
    // bob-2 withdraws bob's sponsorship of fred, naming the rotation that links the two keys
    // (docs/PROTOCOL.md 8.6, "Linked keys").
    let fred = s.key("fred");
    let fred_by_bob = find_sponsorship(&s, "bob", &fred);
    let at = s.tick();
    let withdrawal = SponsorshipWithdrawal {
        sponsorship: fred_by_bob,
        reason: String::new(),
    };
    let withdrawal = s
        .signer
        .sign_linked(&bob2, withdrawal, at, None, &[rotation.id()]);
    s.push(withdrawal);
    // carl's old key, retired by the recovery, sponsors ring-2: stored, but it does not count.
    s.sponsor("carl", "ring-2");
    // eve erases her data.
    let at = s.tick();
    let erasure = s.signer.erase(&eve, at);
    s.push(erasure);
    s.now = s.now.plus_ms(DAY);
    s.set.refresh(s.now);
    s
}

pub fn find_sponsorship(s: &Scenario, sponsor: &str, candidate: &SecretKey) -> RecordId {
    let sponsor = s
        .keys
        .iter()
        .find(|(l, _)| l == sponsor)
        .unwrap()
        .1
        .public_key();
    s.log
        .iter()
        .find(|r| r.header().author == sponsor && matches!(r.body(), Some(Body::Sponsorship(b)) if b.candidate == candidate.public_key()))
        .map(|r| r.id())
        .unwrap()
}
