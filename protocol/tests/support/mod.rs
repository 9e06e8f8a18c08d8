//! A small world for state-rule tests: three founders on a council of threshold 2.

#![allow(dead_code)]

use maillon_protocol::ids::{PublicKey, Timestamp};
use maillon_protocol::kinds::{AppointmentAction, Body};
use maillon_protocol::membership::Status;
use maillon_protocol::state::{Applied, ApplyError};
use maillon_protocol::testkit::{self, Signer, DAY, T0};
use maillon_protocol::{Record, RecordSet, SecretKey};

pub struct World {
    pub signer: Signer,
    pub set: RecordSet,
    pub founders: Vec<SecretKey>,
    pub now: Timestamp,
    pub log: Vec<Record>,
}

impl World {
    pub fn new() -> World {
        let founders: Vec<SecretKey> = (1..=3)
            .map(|i| testkit::key(&format!("founder-{i}")))
            .collect();
        let refs: Vec<&SecretKey> = founders.iter().collect();
        let signer = Signer::new(testkit::charter(&refs, &refs, 2));
        let charter = signer.charter_record(&founders[0]);
        let set = RecordSet::new(charter.clone(), T0).unwrap();
        let mut world = World {
            signer,
            set,
            founders,
            now: T0.plus_ms(DAY),
            log: vec![charter],
        };
        // The node that introduces the joins (docs/PROTOCOL.md 7.3).
        world.apply(world.signer.introduction());
        world
    }

    pub fn tick(&mut self, ms: u64) -> Timestamp {
        self.now = self.now.plus_ms(ms);
        self.now
    }

    pub fn try_apply(&mut self, record: Record) -> Result<Applied, ApplyError> {
        let result = self.set.apply(record.clone(), self.now);
        if result == Ok(Applied::Inserted) {
            self.log.push(record);
        }
        result
    }

    pub fn apply(&mut self, record: Record) -> Record {
        assert_eq!(
            self.try_apply(record.clone()),
            Ok(Applied::Inserted),
            "{:?}",
            record.header().kind
        );
        record
    }

    pub fn status(&self, key: &SecretKey) -> Status {
        self.set.membership().status(&key.public_key())
    }

    /// A new member sponsored by the three founders.
    pub fn member(&mut self, label: &str) -> SecretKey {
        let sponsors: Vec<SecretKey> = self.founders.clone();
        self.member_by(label, &sponsors.iter().collect::<Vec<_>>())
    }

    pub fn member_by(&mut self, label: &str, sponsors: &[&SecretKey]) -> SecretKey {
        let key = testkit::key(label);
        let at = self.tick(1000);
        self.apply(self.signer.join(&key, at));
        for sponsor in sponsors {
            let at = self.tick(1000);
            self.apply(self.signer.sponsor(sponsor, key.public_key(), at));
        }
        key
    }

    /// Appoints `moderator` with two council signatures.
    pub fn moderator(&mut self, label: &str) -> SecretKey {
        let key = testkit::key(label);
        let at = self.tick(1000);
        let record = self.signer.appoint(
            &self.founders[0],
            &[&self.founders[1]],
            key.public_key(),
            AppointmentAction::Appoint,
            at,
        );
        self.apply(record);
        key
    }

    pub fn listing(&mut self, author: &SecretKey, title: &str) -> Record {
        let at = self.tick(1000);
        let record = self.signer.listing(author, title, at);
        self.apply(record)
    }

    pub fn sign(&mut self, key: &SecretKey, body: impl Into<Body>) -> Record {
        let at = self.tick(1000);
        self.signer.sign(key, body, at, None)
    }

    pub fn key(&self, i: usize) -> PublicKey {
        self.founders[i].public_key()
    }
}
