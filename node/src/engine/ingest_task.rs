//! The ingest task: the only writer of the store. It takes submissions in batches, runs
//! each record through validation and the standing policy, writes, flushes once per batch,
//! and only then answers: an acknowledged record is durable.

use std::sync::Arc;

use maillon_protocol::ids::BlobHash;
use maillon_protocol::sync::SyncItem;
use maillon_protocol::Record;
use tokio::sync::{mpsc, watch};

use super::standing::{check_node_policy, check_standing, StandingRefusal};
use super::{refresh_if_needed, Job, Origin, PassRequest, Shared, StoredEvent};
use crate::ingest::pipeline::{Ingest, IngestError, Submitted, Verified};
use crate::ingest::repair::{FormChange, Repaired};
use crate::ingest::state::StoreState;
use crate::store::Store;

/// Records taken into one batch (one flush) at most.
pub const MAX_BATCH_RECORDS: usize = 8192;

pub(super) async fn run(
    mut ingest: Ingest<dyn Store>,
    mut jobs: mpsc::Receiver<Job>,
    mut passes: mpsc::Receiver<PassRequest>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let next = tokio::select! {
            job = jobs.recv() => match job {
                Some(job) => Ok(job),
                None => break,
            },
            Some(request) = passes.recv() => Err(request),
            _ = stop.wait_for(|stopped| *stopped) => break,
        };
        let first = match next {
            Ok(job) => job,
            Err(request) => {
                pass(&mut ingest, request, &shared).await;
                continue;
            }
        };
        let mut batch = vec![first];
        let mut count = batch[0].records.len();
        while count < MAX_BATCH_RECORDS {
            match jobs.try_recv() {
                Ok(job) => {
                    count += job.records.len();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        process(&mut ingest, batch, &shared).await;
    }
}

/// One pass over expired candidacies; tells the site's indexes what went.
async fn pass(ingest: &mut Ingest<dyn Store>, request: PassRequest, shared: &Shared) {
    let outcome = super::expiry::drop_expired(ingest, shared, (shared.clock)()).await;
    match &outcome {
        Ok(dropped) if !dropped.ids.is_empty() => {
            shared.dropped.send_replace(Arc::new(dropped.clone()));
        }
        Ok(_) => {}
        Err(error) => tracing::error!(%error, "dropping expired candidacies failed"),
    }
    if let Some(reply) = request.reply {
        let _ = reply.send(outcome);
    }
}

async fn process(ingest: &mut Ingest<dyn Store>, batch: Vec<Job>, shared: &Shared) {
    let now = (shared.clock)();
    let started = std::time::Instant::now();
    ingest.expire_parked(now);
    let mut answers = Vec::with_capacity(batch.len());
    let mut stored: Vec<(Record, Origin, Vec<BlobHash>)> = Vec::new();
    let mut durable: Vec<Durable> = Vec::new();
    for job in batch {
        let order = staging_order(&job.records);
        let mut records: Vec<Option<Verified>> = job.records.into_iter().map(Some).collect();
        let mut slots: Vec<Option<Result<Submitted, IngestError>>> = Vec::new();
        slots.resize_with(records.len(), || None);
        for position in order {
            let Some(record) = records[position].take() else {
                continue;
            };
            let (outcome, repaired) = stage_one(ingest, record, job.origin, shared, now);
            slots[position] = Some(outcome);
            for record in ingest.take_stored() {
                if super::expiry::is_catching_up(&record, job.origin, now) {
                    *shared
                        .last_catch_up
                        .lock()
                        .unwrap_or_else(|p| p.into_inner()) = Some(std::time::Instant::now());
                }
                note_staged(shared, ingest.state(), &record, job.origin, now);
                durable.push(Durable::of(&record));
                let photos = ingest.take_erased_photos(&record.id());
                stored.push((record, job.origin, photos));
            }
            note_form_changes(shared, ingest.take_form_changes());
            if let Some(Repaired { event, photos }) = repaired {
                stored.push((event, Origin::Repair, photos));
            }
        }
        let outcomes: Vec<Result<Submitted, IngestError>> = slots
            .into_iter()
            .map(|slot| {
                slot.unwrap_or(Err(IngestError::Store(crate::store::StoreError::Corrupt(
                    "a record of the batch was not staged".into(),
                ))))
            })
            .collect();
        answers.push((job.reply, job.origin, outcomes));
    }
    let staged_in = started.elapsed();
    let committed = ingest.commit().await;
    if committed.is_ok() {
        // What peers and status see follows the store only once the batch is durable, and
        // before anyone is answered.
        note_durable(shared, &durable);
    }
    tracing::debug!(
        records = stored.len(),
        staged_ms = staged_in.as_millis() as u64,
        flushed_ms = (started.elapsed() - staged_in).as_millis() as u64,
        "ingest batch"
    );
    *shared.wanted.write().unwrap_or_else(|p| p.into_inner()) = ingest.parking().wanted();
    for (reply, origin, mut outcomes) in answers {
        if let Err(error) = &committed {
            // Nothing of this batch is acknowledged: the writes may not be durable.
            for outcome in outcomes.iter_mut() {
                if matches!(outcome, Ok(Submitted::Stored { .. })) {
                    *outcome = Err(IngestError::Store(match error {
                        IngestError::Store(store) => store.again(),
                        other => crate::store::StoreError::NotDurable(other.to_string()),
                    }));
                }
            }
        }
        for outcome in &outcomes {
            shared.metrics.record_ingest(origin, outcome);
        }
        // The submitter may have gone away; the record is stored all the same.
        let _ = reply.send(outcomes);
    }
    if committed.is_ok() {
        for (record, origin, photos) in stored {
            if !photos.is_empty() {
                // The receiver is gone only when the node is stopping.
                let _ = shared.erased_photos.send(super::ErasedPhotos {
                    erasure: record.id(),
                    photos,
                });
            }
            // No subscriber is not an error: the network layer may not be running.
            let _ = shared.stored.send(StoredEvent { record, origin });
        }
    }
}

/// The order to stage a job's records in: first those that make their author (or another
/// key) known — joins, announcements, recoveries, rotations, appointments — then the
/// others, each group in the order given. A batch fetched in (created, id) order may hold
/// a profile signed in the same millisecond as its author's join and sorted before it;
/// staged first, it would be refused for now as by an unknown author.
fn staging_order(records: &[Verified]) -> Vec<usize> {
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
fn stage_one(
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
fn note_form_changes(shared: &Shared, changes: Vec<FormChange>) {
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
fn note_staged(
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
struct Durable {
    item: SyncItem,
    kind: usize,
    bare: bool,
}

impl Durable {
    fn of(record: &Record) -> Durable {
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
fn note_durable(shared: &Shared, records: &[Durable]) {
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
