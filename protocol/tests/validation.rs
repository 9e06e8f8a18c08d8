//! State rules: one test per refusal reason, plus the accepted paths they guard.

#![allow(clippy::unwrap_used)]

mod support;

use maillon_protocol::ids::RecordId;
use maillon_protocol::kinds::*;
use maillon_protocol::membership::Status;
use maillon_protocol::state::{Applied, ApplyError};
use maillon_protocol::testkit::{self, DAY};
use maillon_protocol::{effects, Invalid};
use support::World;

fn refused(result: Result<Applied, ApplyError>) -> Invalid {
    match result {
        Err(ApplyError::Invalid(invalid)) => invalid,
        other => panic!("expected a state refusal, got {other:?}"),
    }
}

#[test]
fn a_new_member_joins_with_three_sponsors_and_publishes() {
    let mut w = World::new();
    let anne = w.member("anne");
    assert_eq!(w.status(&anne), Status::Member);
    let listing = w.listing(&anne, "Vélo de ville");
    assert_eq!(w.try_apply(listing), Ok(Applied::Duplicate));
}

#[test]
fn records_from_the_future_wait() {
    let mut w = World::new();
    let at = w.now.plus_ms(10 * 60_000);
    let record = w
        .signer
        .profile(&w.founders[0].clone(), "Marie", w.key(0), at);
    let invalid = refused(w.try_apply(record));
    assert_eq!(
        invalid,
        Invalid::FromTheFuture {
            ahead_ms: 600_000,
            max_ms: 300_000
        }
    );
    assert!(!invalid.is_permanent());
}

#[test]
fn unknown_authors_wait_and_candidates_publish_without_effect() {
    let mut w = World::new();
    let bob = testkit::key("bob");
    let at = w.tick(1000);
    let early = w.signer.listing(&bob, "Tondeuse", at);
    let invalid = refused(w.try_apply(early.clone()));
    assert_eq!(invalid, Invalid::UnknownAuthor);
    assert!(!invalid.is_permanent(), "the join may still arrive");
    let at = w.tick(1000);
    w.apply(w.signer.join(&bob, at));
    w.apply(early.clone());
    let table = w.set.membership();
    assert!(!effects::in_good_standing_at(
        table,
        &bob.public_key(),
        early.header().created
    ));
    // A candidate's sponsorship is stored but does not count.
    let carl = testkit::key("carl");
    let at = w.tick(1000);
    w.apply(w.signer.join(&carl, at));
    let f = w.founders.clone();
    for sponsor in [&f[0], &f[1], &bob] {
        let at = w.tick(1000);
        w.apply(w.signer.sponsor(sponsor, carl.public_key(), at));
    }
    assert_eq!(
        w.status(&carl),
        Status::Candidate {
            sponsors: 2,
            required: 3
        }
    );
}

#[test]
fn a_join_must_accept_the_charters_rules() {
    let mut w = World::new();
    let bob = testkit::key("bob");
    let at = w.tick(1000);
    let Some(Body::Join(mut body)) = w.signer.join(&bob, at).body().cloned() else {
        unreachable!()
    };
    body.accepted_rules_hash = [0; 32];
    let join = w.signer.sign(&bob, Join { ..body }, at, None);
    assert_eq!(refused(w.try_apply(join)), Invalid::WrongRules);
}

#[test]
fn a_join_is_introduced_by_a_node_that_signed_it() {
    let mut w = World::new();
    let bob = testkit::key("bob");
    let at = w.tick(1000);
    let introduction = w.signer.introduction().id();
    // Signed by another key than the announcing node's: refused for good.
    let forged = w
        .signer
        .join_through(&bob, &testkit::key("someone"), introduction, at);
    assert!(matches!(
        refused(w.try_apply(forged)),
        Invalid::BadCosignature {
            field: "introducer",
            ..
        }
    ));
    // Through a node not held yet: parked until its announcement arrives.
    let node = testkit::key("another-node");
    let announcement = w.signer.announce_node(&node, &node, "Autre", at);
    let through = w.signer.join_through(&bob, &node, announcement.id(), at);
    assert_eq!(
        w.try_apply(through.clone()),
        Ok(Applied::Parked(vec![announcement.id()]))
    );
    w.apply(announcement);
    w.apply(through);
}

#[test]
fn records_with_unknown_refs_are_parked_not_refused() {
    let mut w = World::new();
    let missing = RecordId([5; 32]);
    let withdrawal = w.sign(
        &w.founders[0].clone(),
        SponsorshipWithdrawal {
            sponsorship: missing,
            reason: String::new(),
        },
    );
    assert_eq!(w.try_apply(withdrawal), Ok(Applied::Parked(vec![missing])));
}

#[test]
fn only_the_sponsor_withdraws_and_only_sponsorships() {
    let mut w = World::new();
    let anne = w.member("anne");
    let sponsorship = w
        .log
        .iter()
        .rev()
        .find(|r| r.header().kind == Kind::Sponsorship)
        .unwrap()
        .clone();
    let by_other = w.sign(
        &anne,
        SponsorshipWithdrawal {
            sponsorship: sponsorship.id(),
            reason: String::new(),
        },
    );
    assert_eq!(
        refused(w.try_apply(by_other)),
        Invalid::WrongAuthor { who: "the sponsor" }
    );
    let listing = w.listing(&anne, "Livres anciens");
    let wrong = w.sign(
        &anne,
        SponsorshipWithdrawal {
            sponsorship: listing.id(),
            reason: String::new(),
        },
    );
    assert!(matches!(
        refused(w.try_apply(wrong)),
        Invalid::WrongRefKind {
            expected: "sponsorship",
            ..
        }
    ));
}

#[test]
fn listing_versions_tombstones_and_their_authors() {
    let mut w = World::new();
    let anne = w.member("anne");
    let bob = w.member("bob");
    let first = w.listing(&anne, "Armoire");
    let Some(Body::Listing(body)) = first.body().cloned() else {
        panic!()
    };
    let version = Listing {
        series: Some(first.id()),
        price_cents: Some(5_000),
        ..body.clone()
    };
    let expires = Some(w.now.plus_ms(30 * DAY));
    let at = w.tick(1000);
    let by_bob = w.signer.sign(&bob, version.clone(), at, expires);
    assert_eq!(
        refused(w.try_apply(by_bob)),
        Invalid::WrongAuthor {
            who: "the listing's author"
        }
    );
    let older = w
        .signer
        .sign(&anne, version.clone(), first.header().created, expires);
    assert_eq!(refused(w.try_apply(older)), Invalid::VersionNotNewer);
    let at = w.tick(1000);
    let newer = w.signer.sign(&anne, version.clone(), at, expires);
    w.apply(newer.clone());
    // A version of a version is refused: series name first versions only.
    let nested = Listing {
        series: Some(newer.id()),
        ..body
    };
    let at = w.tick(1000);
    let nested = w.signer.sign(&anne, nested, at, expires);
    assert!(matches!(
        refused(w.try_apply(nested)),
        Invalid::WrongRefKind { .. }
    ));
    let tomb = ListingTombstone {
        series: first.id(),
        reason: "Vendu".into(),
    };
    let by_bob = w.sign(&bob, tomb.clone());
    assert!(matches!(
        refused(w.try_apply(by_bob)),
        Invalid::WrongAuthor { .. }
    ));
    let by_anne = w.sign(&anne, tomb);
    w.apply(by_anne);
}

#[test]
fn transactions_follow_the_parties() {
    let mut w = World::new();
    let anne = w.member("anne");
    let bob = w.member("bob");
    let carl = w.member("carl");
    let listing = w.listing(&anne, "Poussette");
    let own = w.sign(
        &anne,
        TransactionOpen {
            listing: listing.id(),
            message: "Moi-même".into(),
        },
    );
    assert!(matches!(
        refused(w.try_apply(own)),
        Invalid::WrongAuthor { .. }
    ));
    let open = w.sign(
        &bob,
        TransactionOpen {
            listing: listing.id(),
            message: "Bonjour, toujours disponible ?".into(),
        },
    );
    let open = w.apply(open);
    let answer_by_bob = w.sign(
        &bob,
        TransactionAnswer {
            transaction: open.id(),
            message: "Oui".into(),
        },
    );
    assert!(matches!(
        refused(w.try_apply(answer_by_bob)),
        Invalid::WrongAuthor { .. }
    ));
    let answer = w.sign(
        &anne,
        TransactionAnswer {
            transaction: open.id(),
            message: "Oui, venez samedi.".into(),
        },
    );
    w.apply(answer);
    let intruder = w.sign(
        &carl,
        TransactionMessage {
            transaction: open.id(),
            message: "Et moi ?".into(),
        },
    );
    assert_eq!(
        refused(w.try_apply(intruder)),
        Invalid::WrongAuthor {
            who: "a party to the transaction"
        }
    );
    let close = TransactionClose {
        transaction: open.id(),
        outcome: Outcome::Completed,
        rating: Some(5),
        review: "Parfait".into(),
    };
    let close = w.sign(&bob, close);
    w.apply(close);
}

#[test]
fn appointments_need_the_council_threshold_and_valid_signatures() {
    let mut w = World::new();
    let anne = w.member("anne");
    let (f0, f1) = (w.founders[0].clone(), w.founders[1].clone());
    let at = w.tick(1000);
    let alone = w
        .signer
        .appoint(&f0, &[], anne.public_key(), AppointmentAction::Appoint, at);
    assert_eq!(
        refused(w.try_apply(alone)),
        Invalid::CouncilThreshold {
            found: 1,
            required: 2
        }
    );
    let outsider = w.signer.appoint(
        &anne,
        &[&f1],
        anne.public_key(),
        AppointmentAction::Appoint,
        at,
    );
    assert_eq!(refused(w.try_apply(outsider)), Invalid::NotCouncil);
    let with_outsider = w.signer.appoint(
        &f0,
        &[&anne],
        anne.public_key(),
        AppointmentAction::Appoint,
        at,
    );
    assert_eq!(refused(w.try_apply(with_outsider)), Invalid::NotCouncil);
    // A co-signature over another time does not count.
    let good = w.signer.appoint(
        &f0,
        &[&f1],
        anne.public_key(),
        AppointmentAction::Appoint,
        at,
    );
    let stale = w.signer.appoint(
        &f0,
        &[&f1],
        anne.public_key(),
        AppointmentAction::Appoint,
        at.plus_ms(1),
    );
    let Some(Body::ModeratorAppointment(mut body)) = good.body().cloned() else {
        panic!()
    };
    let Some(Body::ModeratorAppointment(stale_body)) = stale.body().cloned() else {
        panic!()
    };
    body.council_signatures = stale_body.council_signatures;
    let forged = w.signer.sign(&f0, body, at, None);
    assert!(matches!(
        refused(w.try_apply(forged)),
        Invalid::BadCosignature {
            field: "council",
            ..
        }
    ));
    w.apply(good);
}

#[test]
fn labels_take_effect_only_from_a_moderator_in_office() {
    let mut w = World::new();
    let anne = w.member("anne");
    let bob = w.member("bob");
    let raise =
        |w: &mut World, by: &maillon_protocol::SecretKey, target: &maillon_protocol::SecretKey| {
            let at = w.tick(1000);
            let record = w.signer.member_label(
                by,
                LabelAction::RequireSponsors,
                target.public_key(),
                Some(5),
                at,
            );
            w.apply(record)
        };
    raise(&mut w, &anne, &bob);
    assert_eq!(
        w.status(&bob),
        Status::Member,
        "a member's label has no effect"
    );
    let moderator = w.moderator("modo");
    raise(&mut w, &moderator, &bob);
    assert!(matches!(w.status(&bob), Status::Probation { .. }));
    let (f0, f1) = (w.founders[0].clone(), w.founders[1].clone());
    let at = w.tick(1000);
    w.apply(w.signer.appoint(
        &f0,
        &[&f1],
        moderator.public_key(),
        AppointmentAction::Remove,
        at,
    ));
    raise(&mut w, &moderator, &anne);
    assert_eq!(
        w.status(&anne),
        Status::Member,
        "a removed moderator's label has no effect"
    );
    assert!(
        matches!(w.status(&bob), Status::Probation { .. }),
        "labels signed in office stay"
    );
}

#[test]
fn expulsion_is_permanent_and_other_labels_can_be_retracted() {
    let mut w = World::new();
    let anne = w.member("anne");
    let moderator = w.moderator("modo");
    let at = w.tick(1000);
    let raise = w.apply(w.signer.member_label(
        &moderator,
        LabelAction::RequireSponsors,
        anne.public_key(),
        Some(4),
        at,
    ));
    assert!(matches!(w.status(&anne), Status::Probation { .. }));
    let retract = w.sign(
        &moderator,
        LabelRetraction {
            label: raise.id(),
            reason: "Erreur".into(),
        },
    );
    w.apply(retract);
    assert_eq!(w.status(&anne), Status::Member);
    let at = w.tick(1000);
    let expel = w.apply(w.signer.member_label(
        &moderator,
        LabelAction::ExpelMember,
        anne.public_key(),
        None,
        at,
    ));
    assert!(matches!(w.status(&anne), Status::Expelled { .. }));
    let retract = w.sign(
        &moderator,
        LabelRetraction {
            label: expel.id(),
            reason: "Pardon".into(),
        },
    );
    assert_eq!(refused(w.try_apply(retract)), Invalid::ExpulsionIsPermanent);
    let at = w.tick(1000);
    let late = w.apply(w.signer.listing(&anne, "Encore moi", at));
    assert!(!effects::in_good_standing_at(
        w.set.membership(),
        &anne.public_key(),
        late.header().created
    ));
    let f = w.founders.clone();
    for sponsor in &f {
        let at = w.tick(1000);
        w.apply(w.signer.sponsor(sponsor, anne.public_key(), at));
    }
    assert!(
        matches!(w.status(&anne), Status::Expelled { .. }),
        "expulsion is for good"
    );
}

#[test]
fn node_records_need_a_known_node_and_policies_need_an_announced_one() {
    let mut w = World::new();
    let anne = w.member("anne");
    let node = testkit::key("node-valence");
    let policy = NodePolicy {
        target: w.key(0),
        level: PolicyLevel::Suspend,
        reason: "Spam".into(),
    };
    let early = w.sign(&node, policy.clone());
    assert_eq!(refused(w.try_apply(early)), Invalid::UnknownAuthor);
    let at = w.tick(1000);
    let mut bad = w.signer.announce_node(&node, &anne, "Valence", at);
    let Some(Body::NodeAnnouncement(mut body)) = bad.body().cloned() else {
        panic!()
    };
    body.operator_signature = anne.sign(b"something else");
    bad = w.signer.sign(&node, body, at, None);
    assert!(matches!(
        refused(w.try_apply(bad)),
        Invalid::BadCosignature {
            field: "operator",
            ..
        }
    ));
    w.apply(w.signer.announce_node(&node, &anne, "Valence", at));
    let later = w.sign(&node, policy);
    w.apply(later);
    let nodes = w.set.announced_nodes();
    assert!(nodes.contains(&node.public_key()));
    let policies = effects::node_policies(w.set.records(), &nodes);
    assert_eq!(
        policies[&(node.public_key(), w.key(0))].level,
        PolicyLevel::Suspend
    );
    // A node whose operator is expelled is no longer announced, and its policies lapse.
    let moderator = w.moderator("modo");
    let at = w.tick(1000);
    w.apply(w.signer.member_label(
        &moderator,
        LabelAction::ExpelMember,
        anne.public_key(),
        None,
        at,
    ));
    let nodes = w.set.announced_nodes();
    assert!(nodes.is_empty());
    assert!(effects::node_policies(w.set.records(), &nodes).is_empty());
}

#[test]
fn bumps_are_rate_limited_per_node_and_day() {
    let mut w = World::new();
    let anne = w.member("anne");
    let node = testkit::key("node-valence");
    let at = w.tick(1000);
    w.apply(w.signer.announce_node(&node, &anne, "Valence", at));
    let listing = w.listing(&anne, "Chambre à louer");
    let limit = w.signer.charter.bumps_per_node_per_day;
    let mut bumps = Vec::new();
    let mut bump = |w: &mut World| {
        let at = w.tick(1000);
        let record = w.apply(w.signer.sign(
            &node,
            Bump {
                series: listing.id(),
            },
            at,
            Some(at.plus_ms(DAY)),
        ));
        bumps.push(effects::BumpFact {
            id: record.id(),
            node: node.public_key(),
            created: at,
        });
    };
    for _ in 0..=limit {
        bump(&mut w);
    }
    w.tick(DAY);
    bump(&mut w);
    let effective = effects::effective_bumps(&w.signer.charter, &w.set.announced_nodes(), &bumps);
    assert_eq!(
        effective.len() as u64,
        limit + 1,
        "one over the limit, then one the next day"
    );
    assert!(!effective.contains(&bumps[limit as usize].id));
    assert!(effective.contains(&bumps.last().unwrap().id));
    let unannounced = std::collections::HashSet::new();
    assert!(effects::effective_bumps(&w.signer.charter, &unannounced, &bumps).is_empty());
}

#[test]
fn key_rotation_and_recovery_keep_the_identity() {
    let mut w = World::new();
    let anne = w.member("anne");
    let new_key = testkit::key("anne-2");
    let at = w.tick(1000);
    let mut rotation = w.signer.rotate(&anne, &new_key, at);
    let Some(Body::KeyRotation(mut body)) = rotation.body().cloned() else {
        panic!()
    };
    body.new_key_signature = anne.sign(b"not a binding");
    rotation = w.signer.sign(&anne, body, at, None);
    assert!(matches!(
        refused(w.try_apply(rotation)),
        Invalid::BadCosignature {
            field: "new_key",
            ..
        }
    ));
    w.apply(w.signer.rotate(&anne, &new_key, at));
    assert_eq!(
        w.set.membership().identity(&new_key.public_key()),
        anne.public_key()
    );
    assert_eq!(w.status(&new_key), Status::Member);
    // Anne loses the new key's passphrase: her three sponsors recover her onto a third key.
    let third = testkit::key("anne-3");
    let f = w.founders.clone();
    let sponsorships: Vec<RecordId> = w
        .log
        .iter()
        .filter(
            |r| matches!(r.body(), Some(Body::Sponsorship(s)) if s.candidate == anne.public_key()),
        )
        .map(|r| r.id())
        .collect();
    assert_eq!(sponsorships.len(), 3);
    let at = w.tick(1000);
    let two = w.signer.recover(
        anne.public_key(),
        &third,
        &[&f[0], &f[1]],
        &sponsorships[..2],
        at,
    );
    assert_eq!(
        refused(w.try_apply(two)),
        Invalid::RecoveryThreshold {
            found: 2,
            required: 3
        }
    );
    let bob = w.member("bob");
    let strangers = w.signer.recover(
        anne.public_key(),
        &third,
        &[&f[0], &f[1], &bob],
        &sponsorships,
        at,
    );
    assert_eq!(refused(w.try_apply(strangers)), Invalid::NotASponsor);
    w.apply(w.signer.recover(
        anne.public_key(),
        &third,
        &[&f[0], &f[1], &f[2]],
        &sponsorships,
        at,
    ));
    assert_eq!(
        w.set.membership().identity(&third.public_key()),
        anne.public_key()
    );
    let listing = w.listing(&third, "Publié avec la clé récupérée");
    assert_eq!(listing.header().author, third.public_key());
}

#[test]
fn erasure_drops_bodies_and_refuses_them_again() {
    let mut w = World::new();
    let anne = w.member("anne");
    let at = w.tick(1000);
    let profile = w.apply(w.signer.profile(&anne, "Anne", w.key(0), at));
    let listing = w.listing(&anne, "Manteau d'hiver");
    let at = w.tick(1000);
    w.apply(w.signer.erase(&anne, at));
    for id in [profile.id(), listing.id()] {
        let stored = w.set.records().find(|r| r.id() == id).unwrap();
        assert!(stored.body().is_none(), "body kept after erasure");
    }
    assert_eq!(
        w.status(&anne),
        Status::Member,
        "sponsorships are not erased"
    );
    // A fresh node receiving the full listing again refuses it; the bare header is fine.
    // A node that held the listing before the erasure keeps the bare header: the body
    // offered again is refused as erased (PROTOCOL.md 8.7), the bare header is a duplicate.
    let mut replica = World::new();
    for record in w.log.iter().skip(1) {
        replica.set.apply(record.clone(), w.now).unwrap();
    }
    assert_eq!(
        replica.set.apply(listing.clone(), w.now),
        Err(ApplyError::Invalid(Invalid::ErasedBody))
    );
    assert_eq!(
        replica.set.apply(listing.without_body(), w.now),
        Ok(Applied::Duplicate)
    );
    assert!(replica
        .set
        .records()
        .find(|r| r.id() == listing.id())
        .unwrap()
        .body()
        .is_none());
    assert_eq!(replica.set.digest(), w.set.digest());
    // A node that never had the listing refuses its body; the bare header is fine.
    let mut fresh = World::new();
    for record in w.log.iter().skip(1).filter(|r| r.id() != listing.id()) {
        fresh.set.apply(record.clone(), w.now).unwrap();
    }
    assert_eq!(
        refused(fresh.set.apply(listing.clone(), w.now)),
        Invalid::ErasedBody
    );
    assert_eq!(
        fresh.set.apply(listing.without_body(), w.now),
        Ok(Applied::Inserted)
    );
    // A bare header that no erasure covers is not accepted.
    let held = w.log.len();
    let bob = w.member("bob");
    let other = w.listing(&bob, "Table basse");
    for record in w.log[held..].iter().filter(|r| r.id() != other.id()) {
        fresh.set.apply(record.clone(), w.now).unwrap();
    }
    assert_eq!(
        refused(fresh.set.apply(other.without_body(), w.now)),
        Invalid::MissingBody
    );
}

#[test]
fn replies_and_complaints_survive_the_erasure_of_what_they_refer_to() {
    let mut w = World::new();
    let anne = w.member("anne");
    let bob = w.member("bob");
    let listing = w.listing(&anne, "Lit d'enfant");
    let open = w.sign(
        &bob,
        TransactionOpen {
            listing: listing.id(),
            message: "Bonjour".into(),
        },
    );
    let open = w.apply(open);
    // Both erase; the bare headers still name the parties and the first version.
    let at = w.tick(1000);
    w.apply(w.signer.erase(&bob, at));
    let at = w.tick(1000);
    w.apply(w.signer.erase(&anne, at));
    let f0 = w.founders[0].clone();
    let late_member = w.member_by(
        "carl",
        &[&f0, &w.founders[1].clone(), &w.founders[2].clone()],
    );
    let answer = w.sign(
        &anne,
        TransactionAnswer {
            transaction: open.id(),
            message: "Désolée, vendu.".into(),
        },
    );
    w.apply(answer);
    let complaint = Complaint {
        subject: ComplaintSubject::Listing(listing.id()),
        reason: ComplaintReason::WrongInformation,
        text: "Annonce trompeuse".into(),
    };
    let complaint = w.sign(&late_member, complaint);
    w.apply(complaint);
}

#[test]
fn two_keys_of_one_sponsor_count_once_for_a_recovery() {
    let mut w = World::new();
    let f = w.founders.clone();
    let anne = w.member("anne");
    // founder-1 rotates, then sponsors anne again with the new key.
    let f1b = testkit::key("founder-1b");
    let at = w.tick(1000);
    let rotation = w.apply(w.signer.rotate(&f[0], &f1b, at));
    let at = w.tick(1000);
    let again = w.apply(w.signer.sponsor(&f1b, anne.public_key(), at));
    let first = w
        .log
        .iter()
        .find(|r| r.header().author == f[0].public_key() && matches!(r.body(), Some(Body::Sponsorship(s)) if s.candidate == anne.public_key()))
        .unwrap()
        .id();
    let second = w
        .log
        .iter()
        .find(|r| r.header().author == f[1].public_key() && matches!(r.body(), Some(Body::Sponsorship(s)) if s.candidate == anne.public_key()))
        .unwrap()
        .id();
    let at = w.tick(1000);
    let recovery = w.signer.recover(
        anne.public_key(),
        &testkit::key("anne-2"),
        &[&f[0], &f1b, &f[1]],
        &[first, again.id(), second],
        at,
    );
    // Referencing the rotation links founder-1's two keys: they count once.
    let linked = w.signer.sign_linked(
        &testkit::key("anne-2"),
        recovery.body().unwrap().clone(),
        at,
        None,
        &[rotation.id()],
    );
    assert_eq!(
        refused(w.try_apply(linked)),
        Invalid::RecoveryThreshold {
            found: 2,
            required: 3
        }
    );
    // Without the reference acceptance cannot see the link, but the recovery has no
    // effect: membership counts its signers as the identities they are (9.1.2).
    w.apply(recovery);
    let anne_2 = testkit::key("anne-2").public_key();
    assert_eq!(w.set.membership().identity(&anne_2), anne_2);
    assert_eq!(w.set.membership().retired_at(&anne.public_key()), None);
}

#[test]
fn a_lapsed_member_is_not_in_good_standing_after_the_lapse() {
    let mut w = World::new();
    let anne = w.member("anne");
    let sponsorship = w
        .log
        .iter()
        .rev()
        .find(|r| r.header().kind == Kind::Sponsorship)
        .unwrap()
        .clone();
    let author = w
        .founders
        .iter()
        .find(|k| k.public_key() == sponsorship.header().author)
        .unwrap()
        .clone();
    let at = w.tick(1000);
    w.apply(w.signer.withdraw(&author, sponsorship.id(), at));
    let grace = w.signer.charter.probation_grace_ms;
    w.tick(grace + DAY);
    w.set.refresh(w.now);
    let table = w.set.membership();
    assert!(matches!(
        table.status(&anne.public_key()),
        Status::Lapsed { .. }
    ));
    assert!(effects::in_good_standing_at(table, &anne.public_key(), at));
    assert!(!effects::in_good_standing_at(
        table,
        &anne.public_key(),
        w.now
    ));
}
