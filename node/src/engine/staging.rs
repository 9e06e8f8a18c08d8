//! Staging one record of a batch: the order within a job, the node's policies at its
//! edges, and what the views learn once a batch is staged and once it is durable.

use maillon_protocol::sync::SyncItem;
use maillon_protocol::Record;

use super::standing::{check_node_policy, check_standing, StandingRefusal};
use super::{refresh_if_needed, Origin, Shared};
use crate::ingest::pipeline::{Ingest, IngestError, Submitted, Verified};
use crate::ingest::repair::{FormChange, Repaired};
use crate::ingest::state::StoreState;
use crate::store::Store;

/// The order to stage a job's records in: first those that make their author (or another
/// key) known — joins, announcements, recoveries, rotations, appointments — then the
/// others, each group in the order given. A batch fetched in (created, id) order may hold
/// a profile signed in the same millisecond as its author's join and sorted before it;
/// staged first, it would be refused for now as by an unknown author.
pub(super) fn staging_order(records: &[Verified]) -> Vec<usize> {
    use maillon_protocol::Kind;
    let introduces = |record: &Verified| {
        matches!(
            record.record().header().kind,
            Kind::Charter
                | Kind::Join
                | Kind::NodeAnnouncement
                | Kind::KeyRecovery
                | Kind::KeyRotation
                | Kind::ModeratorAppointment
        )
    };
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by_key(|&i| !introduces(&records[i]));
    order
}

/// Stages one record; a repair may also ask the indexes to take a record again.
pub(super) fn stage_one(
    ingest: &mut Ingest<dyn Store>,
    record: Verified,
    origin: Origin,
    shared: &Shared,
    now: maillon_protocol::Timestamp,
) -> (Result<Submitted, IngestError>, Option<Repaired>) {
    match origin {
        Origin::Repair => match ingest.repair(record, now) {
            Ok((outcome, repaired)) => (Ok(outcome), repaired),
            Err(error) => (Err(error), None),
        },
        Origin::Fetched => (ingest.stage(record, now), None),
        Origin::Local | Origin::Gossip | Origin::Pushed => (
            policies(&record, ingest.state(), shared, now).and_then(|()| ingest.stage(record, now)),
            None,
        ),
    }
}

/// The node's standing and node policies, for records that enter at its edges.
fn policies(
    record: &Verified,
    state: &StoreState<dyn Store>,
    shared: &Shared,
    now: maillon_protocol::Timestamp,
) -> Result<(), IngestError> {
    if let Err(refusal) = standing_of(record.record(), shared, now) {
        return Err(IngestError::NotInGoodStanding(refusal));
    }
    let index = shared.index.read().unwrap_or_else(|p| p.into_inner());
    let since = now.minus_ms(24 * 3600 * 1000);
    check_node_policy(record.record(), &index, &shared.node_key, |author| {
        signed_since(state, author, since)
    })??;
    if let Some(node) = introducer(state, record.record())? {
        let suspended = index
            .node_policies_of(&shared.node_key)
            .iter()
            .any(|p| p.target == node && p.level == maillon_protocol::kinds::PolicyLevel::Suspend);
        shared
            .introductions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .check(node, now, suspended)?;
    }
    Ok(())
}

/// The node that introduced a join: the author of the announcement it names, if held
/// (stored, or staged in this batch).
fn introducer(
    state: &StoreState<dyn Store>,
    record: &Record,
) -> Result<Option<maillon_protocol::PublicKey>, crate::store::StoreError> {
    let Some(maillon_protocol::Body::Join(join)) = record.body() else {
        return Ok(None);
    };
    Ok(state
        .read(&join.introduction)?
        .map(|announcement| announcement.header().author))
}

/// Keeps the erased set in step with bodies dropped by erasures and repairs, or restored.
pub(super) fn note_form_changes(shared: &Shared, changes: Vec<FormChange>) {
    if changes.is_empty() {
        return;
    }
    let mut erased = shared.erased_set.write().unwrap_or_else(|p| p.into_inner());
    for change in changes {
        if change.bare {
            erased.insert(change.item);
        } else {
            erased.remove(&change.item);
        }
    }
}

/// How many records `author` signed at or after `since`: those staged in this batch, and
/// among its newest 256 stored.
fn signed_since(
    state: &StoreState<dyn Store>,
    author: &maillon_protocol::PublicKey,
    since: maillon_protocol::Timestamp,
) -> Result<usize, crate::store::StoreError> {
    let store = state.store();
    let mut count = state.pending_by(author, since);
    for id in store.by_author(author, 256)? {
        if let Some(bytes) = store.get(&id)? {
            if crate::store::index::decode_stored(&bytes)?.header().created >= since {
                count += 1;
            }
        }
    }
    Ok(count)
}

/// Checks the standing policy, recomputing the membership table once if it is stale and
/// the first answer is a refusal.
fn standing_of(
    record: &Record,
    shared: &Shared,
    now: maillon_protocol::Timestamp,
) -> Result<(), StandingRefusal> {
    let first = {
        let index = shared.index.read().unwrap_or_else(|p| p.into_inner());
        check_standing(record, &index)
    };
    match first {
        Err(_) if shared.index.read().map(|i| i.is_dirty()).unwrap_or(true) => {
            refresh_if_needed(shared, now, true);
            let index = shared.index.read().unwrap_or_else(|p| p.into_inner());
            check_standing(record, &index)
        }
        other => other,
    }
}

/// What later records of the same batch are judged by: the introductions counted at the
/// edges and the membership index (a listing may follow its author's join in one push).
pub(super) fn note_staged(
    shared: &Shared,
    state: &StoreState<dyn Store>,
    record: &Record,
    origin: Origin,
    now: maillon_protocol::Timestamp,
) {
    let at_edge = matches!(origin, Origin::Local | Origin::Gossip | Origin::Pushed);
    if let (true, Ok(Some(node))) = (at_edge, introducer(state, record)) {
        // Counted by arrival, so that a backdated join counts too.
        shared
            .introductions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .note(node, now);
    }
    shared
        .index
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .note(record);
}

/// What a stored record adds to the views peers and status read.
pub(super) struct Durable {
    item: SyncItem,
    kind: usize,
    bare: bool,
}

impl Durable {
    /// The record's id.
    pub(super) fn id(&self) -> maillon_protocol::RecordId {
        self.item.id
    }

    pub(super) fn of(record: &Record) -> Durable {
        Durable {
            item: SyncItem {
                created: record.header().created,
                id: record.id(),
            },
            kind: record.header().kind as usize,
            bare: record.body().is_none(),
        }
    }
}

/// The views peers and status read (the sync and erased sets, the kind counts), once the
/// records are durable: a node never offers a peer a record it could still lose.
pub(super) fn note_durable(shared: &Shared, records: &[Durable]) {
    // One lock at a time, as everywhere else.
    {
        let mut kind_counts = shared
            .kind_counts
            .write()
            .unwrap_or_else(|p| p.into_inner());
        for record in records {
            kind_counts[record.kind] += 1;
        }
    }
    {
        let mut erased_set = shared.erased_set.write().unwrap_or_else(|p| p.into_inner());
        for record in records.iter().filter(|record| record.bare) {
            erased_set.insert(record.item);
        }
    }
    let mut sync_set = shared.sync_set.write().unwrap_or_else(|p| p.into_inner());
    for record in records {
        sync_set.insert(record.item);
    }
}
