//! Set reconciliation and the sync messages: exact symmetric differences under any sets and
//! frame limits, byte budgets, bounded messages, and strict decoding of every input.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use maillon_protocol::ids::{BlobHash, NetworkId, RecordId, Timestamp};
use maillon_protocol::state::{state_digest, state_digest_of_sum};
use maillon_protocol::sync::messages::{MAX_FETCH_IDS, MAX_RECORDS_PER_MESSAGE};
use maillon_protocol::sync::{
    protocol_name, respond, Reconciler, SyncConfig, SyncError, SyncItem, SyncRequest, SyncResponse,
    SyncSet, MIN_FRAME_LIMIT,
};
use maillon_protocol::testkit::{SplitMix64, T0};
use proptest::prelude::*;

/// What one full reconciliation produced.
#[derive(Debug, Default)]
struct Outcome {
    have: Vec<RecordId>,
    need: Vec<RecordId>,
    sent: usize,
    received: usize,
    rounds: u32,
}

/// Runs a whole reconciliation of `a` (initiator) against `b`, checking frame limits.
fn reconcile(a: &SyncSet, b: &SyncSet, config_a: SyncConfig, config_b: SyncConfig) -> Outcome {
    let (mut reconciler, mut message) = Reconciler::initiate(a, config_a);
    let mut outcome = Outcome::default();
    loop {
        assert!(message.len() <= config_a.effective().frame_limit);
        outcome.sent += message.len();
        let reply = respond(b, &message, &config_b).unwrap();
        assert!(reply.len() <= config_b.effective().frame_limit);
        outcome.received += reply.len();
        let progress = reconciler.receive(a, &reply).unwrap();
        outcome.have.extend(progress.have);
        outcome.need.extend(progress.need);
        match progress.next {
            Some(next) => message = next,
            None => break,
        }
    }
    outcome.rounds = reconciler.rounds();
    outcome
}

/// Checks that the outcome is exactly the symmetric difference, without repeats.
fn assert_exact(a: &SyncSet, b: &SyncSet, outcome: &Outcome) {
    let ids = |set: &SyncSet| set.iter().map(|i| i.id).collect::<BTreeSet<_>>();
    let (ids_a, ids_b) = (ids(a), ids(b));
    let have: BTreeSet<_> = outcome.have.iter().copied().collect();
    let need: BTreeSet<_> = outcome.need.iter().copied().collect();
    assert_eq!(have.len(), outcome.have.len(), "repeated have");
    assert_eq!(need.len(), outcome.need.len(), "repeated need");
    assert_eq!(have, &ids_a - &ids_b);
    assert_eq!(need, &ids_b - &ids_a);
}

fn random_id(rng: &mut SplitMix64) -> RecordId {
    let mut id = [0u8; 32];
    for chunk in id.chunks_exact_mut(8) {
        chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    RecordId(id)
}

/// How generated items look, to reach the corner cases of bounds.
#[derive(Clone, Copy, Debug)]
struct Shape {
    /// Distinct timestamps to draw from (1 = all equal).
    times: u64,
    /// Leading id bytes shared by every item.
    shared_prefix: usize,
}

fn item(rng: &mut SplitMix64, shape: Shape) -> SyncItem {
    let mut id = random_id(rng);
    id.0[..shape.shared_prefix].fill(0xab);
    SyncItem::new(Timestamp(T0.0 + rng.below(shape.times)), id)
}

/// Two sets: `common` items in both, `only_a` and `only_b` items in one each. Ids are
/// distinct, as record ids are.
fn pair(
    seed: u64,
    common: usize,
    only_a: usize,
    only_b: usize,
    shape: Shape,
) -> (SyncSet, SyncSet) {
    let mut rng = SplitMix64::new(seed);
    let mut seen = std::collections::HashSet::new();
    let mut items = Vec::new();
    while items.len() < common + only_a + only_b {
        let next = item(&mut rng, shape);
        if seen.insert(next.id) {
            items.push(next);
        }
    }
    let mut a: SyncSet = items[..common].iter().copied().collect();
    let mut b = a.clone();
    a.extend(items[common..common + only_a].iter().copied());
    b.extend(items[common + only_a..].iter().copied());
    (a, b)
}

/// Items spread over a year, as the byte-budget tests use.
const YEAR: Shape = Shape {
    times: 365 * 86_400_000,
    shared_prefix: 0,
};

fn configs() -> [SyncConfig; 3] {
    let tiny = SyncConfig {
        branching: 2,
        id_list_threshold: 1,
        ..SyncConfig::with_frame_limit(MIN_FRAME_LIMIT)
    };
    [
        SyncConfig::default(),
        SyncConfig::with_frame_limit(MIN_FRAME_LIMIT),
        tiny,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn reconciles_to_the_symmetric_difference(
        seed in any::<u64>(),
        common in prop_oneof![Just(0usize), 0usize..400, Just(2000usize)],
        only_a in prop_oneof![Just(0usize), 0usize..60, Just(300usize)],
        only_b in prop_oneof![Just(0usize), 0usize..60, Just(300usize)],
        times in prop_oneof![Just(1u64), Just(3u64), Just(1000u64), Just(u64::MAX - T0.0)],
        // Up to 24 shared leading bytes: long bound prefixes, with 64 random bits left. With
        // 30 shared bytes only 16 bits differ, and the sums of two sides' unique ids in a
        // range collide (mod 2^256) often enough that a range is wrongly taken as equal:
        // record ids are SHA-256 outputs, so real sets never look like that.
        shared_prefix in prop_oneof![Just(0usize), Just(24usize), 0usize..25],
        which in 0usize..3,
    ) {
        let shape = Shape { times, shared_prefix };
        let (a, b) = pair(seed, common, only_a, only_b, shape);
        let config = configs()[which];
        assert_exact(&a, &b, &reconcile(&a, &b, config, config));
        // Peers with different settings still agree.
        let other = configs()[(which + 1) % 3];
        assert_exact(&a, &b, &reconcile(&a, &b, config, other));
    }

    #[test]
    fn sync_set_behaves_like_a_btree_set(
        ops in prop::collection::vec((any::<bool>(), 0u64..8, 0u8..200), 0..1500),
        low in (0u64..8, 0u8..200),
        high in (0u64..8, 0u8..200),
    ) {
        let make = |(t, b): (u64, u8)| SyncItem::new(Timestamp(t), RecordId([b; 32]));
        let mut set = SyncSet::new();
        let mut model = BTreeSet::new();
        for (insert, t, b) in ops {
            let item = make((t, b));
            if insert {
                prop_assert_eq!(set.insert(item), model.insert(item));
            } else {
                prop_assert_eq!(set.remove(&item), model.remove(&item));
            }
            prop_assert_eq!(set.len(), model.len());
        }
        prop_assert!(set.iter().eq(model.iter()));
        let (low, high) = (make(low), make(high));
        if low <= high {
            prop_assert!(set.range(low..high).eq(model.range(low..high)));
            prop_assert!(set.range(low..=high).eq(model.range(low..=high)));
            prop_assert!(set.range(..high).eq(model.range(..high)));
        }
        prop_assert!(model.iter().all(|i| set.contains(i)));
        // The digest from the chunks' cached sums is the digest over the items one by one.
        prop_assert_eq!(
            state_digest_of_sum(&set.sum(), set.len() as u64),
            state_digest(model.iter().map(|item| &item.id))
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let (set, _) = pair(7, 100, 0, 0, Shape { times: 50, shared_prefix: 0 });
        let config = SyncConfig::default();
        let mut framed = vec![0x01];
        framed.extend_from_slice(&bytes);
        let _ = respond(&set, &bytes, &config);
        let _ = respond(&set, &framed, &config);
        let (mut reconciler, _) = Reconciler::initiate(&set, config);
        let _ = reconciler.receive(&set, &framed);
        let _ = SyncRequest::decode(&bytes);
        let _ = SyncResponse::decode(&bytes);
    }
}

#[test]
fn edge_cases_reconcile_exactly() {
    let shape = Shape {
        times: 2,
        shared_prefix: 30,
    };
    for (common, only_a, only_b) in [
        (0, 0, 0),
        (500, 0, 0),
        (0, 500, 0),
        (0, 0, 500),
        (0, 300, 300),
        (50, 0, 1),
    ] {
        let (a, b) = pair(11, common, only_a, only_b, shape);
        for config in configs() {
            assert_exact(&a, &b, &reconcile(&a, &b, config, config));
        }
    }
}

#[test]
fn hundred_thousand_items_differing_by_a_thousand_fit_the_byte_budget() {
    let (a, b) = pair(1, 99_500, 500, 500, YEAR);
    let outcome = reconcile(&a, &b, SyncConfig::default(), SyncConfig::default());
    assert_exact(&a, &b, &outcome);
    let total = outcome.sent + outcome.received;
    println!(
        "100k vs 100k, 1k differences: {} bytes sent, {} received, {} rounds",
        outcome.sent, outcome.received, outcome.rounds
    );
    assert!(total < 700_000, "{total} bytes");
}

#[test]
fn identical_sets_cost_under_a_kilobyte() {
    let (a, b) = pair(2, 100_000, 0, 0, YEAR);
    let outcome = reconcile(&a, &b, SyncConfig::default(), SyncConfig::default());
    assert_exact(&a, &b, &outcome);
    assert!(outcome.sent + outcome.received < 1000);
    assert_eq!(outcome.rounds, 1);
}

#[test]
fn a_million_items_against_an_empty_set_stay_within_frames() {
    let (full, _) = pair(3, 1_000_000, 0, 0, YEAR);
    let started = std::time::Instant::now();
    let empty = SyncSet::new();
    let config = SyncConfig::default();
    let pushed = reconcile(&full, &empty, config, config);
    assert_eq!(pushed.have.len(), 1_000_000);
    let pulled = reconcile(&empty, &full, config, config);
    assert_eq!(pulled.need.len(), 1_000_000);
    let expected: BTreeSet<RecordId> = full.iter().map(|i| i.id).collect();
    assert_eq!(pulled.need.into_iter().collect::<BTreeSet<_>>(), expected);
    println!(
        "1M vs empty: {} rounds, {} bytes received, {:?} for both directions",
        pulled.rounds,
        pulled.received,
        started.elapsed()
    );
}

/// One message of every kind.
fn all_messages() -> (Vec<SyncRequest>, Vec<SyncResponse>) {
    let id = RecordId([7; 32]);
    let requests = vec![
        SyncRequest::Reconcile(vec![1, 0, 0]),
        SyncRequest::FetchRecords(vec![id; MAX_FETCH_IDS]),
        SyncRequest::FetchRecords(vec![]),
        SyncRequest::PushRecords(vec![vec![0x80], vec![1, 2, 3]]),
        SyncRequest::FetchBlob(BlobHash([9; 32])),
    ];
    let responses = vec![
        SyncResponse::Reconcile(vec![1]),
        SyncResponse::Records(vec![vec![5; 100]; 3]),
        SyncResponse::PushAck {
            stored: 1,
            duplicate: 2,
            parked: 3,
            refused: u32::MAX,
        },
        SyncResponse::Blob(None),
        SyncResponse::Blob(Some(vec![1; 1000])),
        SyncResponse::Refused {
            code: "too_many_ids".into(),
        },
    ];
    (requests, responses)
}

#[test]
fn every_message_round_trips_and_refuses_any_damage() {
    let (requests, responses) = all_messages();
    for request in requests {
        let bytes = request.encode();
        assert_eq!(SyncRequest::decode(&bytes).unwrap(), request);
        for cut in 0..bytes.len().min(64) {
            assert!(SyncRequest::decode(&bytes[..cut]).is_err());
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            SyncRequest::decode(&longer),
            Err(SyncError::Cbor(_))
        ));
    }
    for response in responses {
        let bytes = response.encode();
        assert_eq!(SyncResponse::decode(&bytes).unwrap(), response);
        for cut in 0..bytes.len().min(64) {
            assert!(SyncResponse::decode(&bytes[..cut]).is_err());
        }
    }
}

#[test]
fn envelopes_are_strict() {
    let refused = |hex_text: &str| SyncResponse::decode(&hex::decode(hex_text).unwrap());
    // Non-shortest integer, unknown tag, wrong arity, bad code, 31-byte hash.
    assert_eq!(refused("82180040"), Err(SyncError::NonCanonical));
    assert_eq!(refused("820540"), Err(SyncError::UnknownTag(5)));
    assert!(matches!(refused("8100"), Err(SyncError::Malformed(_))));
    assert!(matches!(
        refused("820463414243"),
        Err(SyncError::Malformed(_))
    ));
    assert!(refused("8204781a").is_err());
    assert!(SyncRequest::decode(&SyncRequest::FetchRecords(vec![]).encode()[..2]).is_err());
    let mut short_hash = vec![0x82, 0x03, 0x58, 31];
    short_hash.extend([0u8; 31]);
    assert!(matches!(
        SyncRequest::decode(&short_hash),
        Err(SyncError::Malformed(_))
    ));
    let too_many = SyncRequest::FetchRecords(vec![RecordId([1; 32]); MAX_FETCH_IDS + 1]);
    assert!(matches!(
        SyncRequest::decode(&too_many.encode()),
        Err(SyncError::TooMany { .. })
    ));
    let records = SyncRequest::PushRecords(vec![vec![0]; MAX_RECORDS_PER_MESSAGE + 1]);
    assert!(matches!(
        SyncRequest::decode(&records.encode()),
        Err(SyncError::TooMany { .. })
    ));
    let heavy = SyncRequest::PushRecords(vec![vec![0; 20 * 1024]; 210]);
    assert!(matches!(
        SyncRequest::decode(&heavy.encode()),
        Err(SyncError::Oversized { .. })
    ));
    let blob = SyncResponse::Blob(Some(vec![0; 8 * 1024 * 1024 + 1]));
    assert!(matches!(
        SyncResponse::decode(&blob.encode()),
        Err(SyncError::Oversized { .. })
    ));
}

#[test]
fn malformed_reconciliation_messages_are_refused() {
    let (set, _) = pair(5, 50, 0, 0, YEAR);
    let config = SyncConfig::default();
    let cases: &[(&str, SyncError)] = &[
        ("", SyncError::Empty),
        ("02", SyncError::UnsupportedVersion(2)),
        ("0100", SyncError::Truncated("bound prefix length")),
        (
            "010001",
            SyncError::Malformed("infinite bound with an id prefix"),
        ),
        ("01000004", SyncError::UnknownMode(4)),
        ("0100000000", SyncError::OutOfOrder),
        ("010100", SyncError::OutOfOrder),
        (
            "01020100",
            SyncError::Malformed("bound prefix ends with a zero byte"),
        ),
        (
            "010221",
            SyncError::Malformed("bound prefix longer than 32 bytes"),
        ),
        (
            "018001",
            SyncError::Malformed("varint with a leading zero group"),
        ),
        (
            "01ffffffffffffffffffff",
            SyncError::Malformed("varint longer than 10 bytes"),
        ),
        ("01000002", SyncError::Truncated("id list")),
        ("0100000205", SyncError::Truncated("id list")),
        ("01000001aa", SyncError::Truncated("fingerprint")),
        ("0100000300", SyncError::Truncated("bitmap")),
        (
            "0182808080808080808000000002",
            SyncError::Truncated("bound prefix length"),
        ),
        (
            "018280808080808080800000000200",
            SyncError::Malformed("bound timestamp above 2^64 - 1"),
        ),
    ];
    for (hex_text, expected) in cases {
        let bytes = hex::decode(hex_text).unwrap();
        assert_eq!(
            respond(&set, &bytes, &config).as_ref(),
            Err(expected),
            "{hex_text}"
        );
    }
    let diff = hex::decode("010000030000").unwrap();
    assert!(matches!(
        respond(&set, &diff, &config),
        Err(SyncError::UnexpectedMode(_))
    ));
    let (mut reconciler, _) = Reconciler::initiate(&set, config);
    assert!(matches!(
        reconciler.receive(&set, &diff),
        Err(SyncError::UnexpectedMode(_))
    ));
    let oversized = vec![1u8; 4 * 1024 * 1024 + 1];
    assert!(matches!(
        respond(&set, &oversized, &config),
        Err(SyncError::Oversized { .. })
    ));
}

#[test]
fn a_peer_that_never_finishes_hits_the_round_limit() {
    let (a, _) = pair(6, 100, 0, 0, YEAR);
    let config = SyncConfig {
        max_rounds: 3,
        ..SyncConfig::default()
    };
    let (mut reconciler, _) = Reconciler::initiate(&a, config);
    // A mismatching fingerprint of everything, again and again.
    let stubborn = hex::decode("01000001000102030405060708090a0b0c0d0e0f").unwrap();
    for _ in 0..3 {
        assert!(reconciler.receive(&a, &stubborn).unwrap().next.is_some());
    }
    assert_eq!(
        reconciler.receive(&a, &stubborn),
        Err(SyncError::TooManyRounds(3))
    );
}

#[test]
fn protocol_name_uses_the_network_id() {
    assert_eq!(
        protocol_name(&NetworkId([0xab; 32])),
        format!("/maillon/{}/sync/1", "ab".repeat(32))
    );
}

/// The worked example of docs/PROTOCOL.md section 10: three items against two.
#[test]
fn worked_example() {
    let item = |t: u64, b: u8| SyncItem::new(Timestamp(1_000 * t), RecordId([b; 32]));
    let a: SyncSet = [item(1, 0x11), item(2, 0x22), item(2, 0x33)]
        .into_iter()
        .collect();
    let b: SyncSet = [item(2, 0x22), item(3, 0x44)].into_iter().collect();
    let config = SyncConfig::default();
    let (mut reconciler, first) = Reconciler::initiate(&a, config);
    let reply = respond(&b, &first, &config).unwrap();
    let progress = reconciler.receive(&a, &reply).unwrap();
    assert_eq!(
        hex::encode(&first),
        "010000011c4bd4fa4affb1c108e043d9dbd337f5"
    );
    let ids = format!("{}{}", "22".repeat(32), "44".repeat(32));
    assert_eq!(hex::encode(&reply), format!("0100000202{ids}"));
    assert_eq!(
        progress.have,
        vec![RecordId([0x11; 32]), RecordId([0x33; 32])]
    );
    assert_eq!(progress.need, vec![RecordId([0x44; 32])]);
    assert_eq!(progress.next, None);
}
