//! The ingest task: the only writer of the store. It takes submissions in batches, runs
//! each record through validation and the standing policy ([`super::staging`]), writes, and
//! flushes once per batch; it answers a batch only once its flush is done, so an
//! acknowledged record is durable. The next batch is staged and written while a flush runs.

use std::sync::Arc;

use maillon_protocol::ids::BlobHash;
use maillon_protocol::Record;
use tokio::sync::{mpsc, watch};

use super::staging::{
    note_durable, note_form_changes, note_staged, stage_one, staging_order, Durable,
};
use super::{Job, Origin, PassRequest, Shared, StoredEvent};
use crate::ingest::pipeline::{Ingest, IngestError, Submitted, Verified};
use crate::ingest::repair::Repaired;
use crate::store::Store;

/// Records taken into one batch (one flush) at most.
pub const MAX_BATCH_RECORDS: usize = 8192;

/// A batch written to the store whose flush runs: its answers and events wait for it.
struct Flushing {
    batch: StagedBatch,
    flush: tokio::task::JoinHandle<Result<(), IngestError>>,
}

pub(super) async fn run(
    mut ingest: Ingest<dyn Store>,
    mut jobs: mpsc::Receiver<Job>,
    mut passes: mpsc::Receiver<PassRequest>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    // While a batch's flush runs, the next batch is staged and written: the writer checks
    // records while the disk syncs. Flushes still follow each other, and a batch is
    // answered, and offered to peers, only once its own flush is done.
    let mut flushing: Option<Flushing> = None;
    loop {
        let next = tokio::select! {
            biased;
            _ = stop.wait_for(|stopped| *stopped) => break,
            _ = finish_flushing(&mut flushing, &shared), if flushing.is_some() => continue,
            job = jobs.recv() => match job {
                Some(job) => Ok(job),
                None => break,
            },
            Some(request) = passes.recv() => Err(request),
        };
        let first = match next {
            Ok(job) => job,
            Err(request) => {
                // An expiry pass reads and changes the store directly: nothing in flight.
                finish_flushing(&mut flushing, &shared).await;
                pass(&mut ingest, request, &shared).await;
                continue;
            }
        };
        let mut batch = StagedBatch::new(&mut ingest, &shared);
        batch.stage_job(&mut ingest, first, &shared);
        while batch.records < MAX_BATCH_RECORDS {
            match jobs.try_recv() {
                Ok(job) => batch.stage_job(&mut ingest, job, &shared),
                Err(_) => break,
            }
        }
        batch.write(&mut ingest, &shared);
        stage_while_flushing(&mut ingest, &mut batch, &mut flushing, &mut jobs, &shared).await;
        // Written while the previous flush runs, the batch may reach the disk with it (a
        // sled batch is atomic): harmless, nobody was answered. Flushes follow each other:
        // the previous batch is answered before this one's flush starts.
        finish_flushing(&mut flushing, &shared).await;
        flushing = Some(start_flush(&ingest, batch));
    }
    finish_flushing(&mut flushing, &shared).await;
}

/// Until the flush in flight ends, stages and writes the jobs that come into `batch`: the
/// next flush takes them all.
async fn stage_while_flushing(
    ingest: &mut Ingest<dyn Store>,
    batch: &mut StagedBatch,
    flushing: &mut Option<Flushing>,
    jobs: &mut mpsc::Receiver<Job>,
    shared: &Shared,
) {
    while batch.records < MAX_BATCH_RECORDS && flushing.is_some() {
        tokio::select! {
            biased;
            _ = finish_flushing(flushing, shared) => {}
            job = jobs.recv() => match job {
                Some(job) => {
                    batch.stage_job(ingest, job, shared);
                    batch.write(ingest, shared);
                }
                None => return,
            },
        }
    }
}

/// Starts the flush of a written batch on its own task.
fn start_flush(ingest: &Ingest<dyn Store>, batch: StagedBatch) -> Flushing {
    let store = Arc::clone(ingest.state().store_arc());
    let flush = tokio::spawn(async move {
        store.flush().await?;
        Ok(())
    });
    Flushing { batch, flush }
}

/// Waits for the flush in flight, if any, and answers its batch. Cancel-safe: until the
/// flush ends, the batch stays in `flushing`.
async fn finish_flushing(flushing: &mut Option<Flushing>, shared: &Shared) {
    let Some(in_flight) = flushing.as_mut() else {
        return;
    };
    let joined = (&mut in_flight.flush).await;
    let outcome = joined.unwrap_or_else(|error| {
        Err(IngestError::Store(crate::store::StoreError::NotDurable(
            format!("the flush task failed: {error}"),
        )))
    });
    if let Some(done) = flushing.take() {
        finish(done.batch, outcome, shared);
    }
}

/// One expiry pass over candidacies; tells the site's indexes what went.
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

/// A batch being staged, then written to the store and flushed: what to answer and
/// announce once its flush is done.
struct StagedBatch {
    answers: Vec<Answer>,
    stored: Vec<(Record, Origin, Vec<BlobHash>)>,
    durable: Vec<Durable>,
    /// Records submitted in the batch's jobs.
    records: usize,
    /// How many answers, stored records and durable items were written already: those after
    /// wait for the next write.
    written: (usize, usize, usize),
    now: maillon_protocol::Timestamp,
    started: std::time::Instant,
    staged_in: std::time::Duration,
}

type Answer = (
    tokio::sync::oneshot::Sender<Vec<Result<Submitted, IngestError>>>,
    Origin,
    Vec<Result<Submitted, IngestError>>,
);

impl StagedBatch {
    /// A new batch, judged at the clock's time now; parked records past their age go.
    fn new(ingest: &mut Ingest<dyn Store>, shared: &Shared) -> StagedBatch {
        let now = (shared.clock)();
        let started = std::time::Instant::now();
        ingest.expire_parked(now);
        StagedBatch {
            answers: Vec::new(),
            stored: Vec::new(),
            durable: Vec::new(),
            records: 0,
            written: (0, 0, 0),
            now,
            started,
            staged_in: std::time::Duration::ZERO,
        }
    }

    /// Stages every record of one job.
    fn stage_job(&mut self, ingest: &mut Ingest<dyn Store>, job: Job, shared: &Shared) {
        let now = self.now;
        self.records += job.records.len();
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
                self.durable.push(Durable::of(&record));
                let photos = ingest.take_erased_photos(&record.id());
                self.stored.push((record, job.origin, photos));
            }
            note_form_changes(shared, ingest.take_form_changes());
            if let Some(Repaired { event, photos }) = repaired {
                self.stored.push((event, Origin::Repair, photos));
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
        self.answers.push((job.reply, job.origin, outcomes));
    }

    /// Writes the records staged since the last write to the store in one atomic write (not
    /// yet durable). If it fails, none of them is written: their submitters get the error,
    /// and they are neither made visible nor announced; what earlier writes took stays.
    fn write(&mut self, ingest: &mut Ingest<dyn Store>, shared: &Shared) {
        self.staged_in = self.started.elapsed();
        if let Err(error) = ingest.write_pending() {
            self.drop_unwritten(&error);
        }
        self.written = (self.answers.len(), self.stored.len(), self.durable.len());
        *shared.wanted.write().unwrap_or_else(|p| p.into_inner()) = ingest.parking().wanted();
    }

    /// Turns the records staged since the last write, which a failed write dropped, into
    /// that error.
    fn drop_unwritten(&mut self, error: &crate::store::StoreError) {
        let (answers, stored, durable) = self.written;
        let dropped: std::collections::HashSet<maillon_protocol::RecordId> =
            self.durable[durable..].iter().map(Durable::id).collect();
        self.durable.truncate(durable);
        let mut position = 0;
        self.stored.retain(|(record, _, _)| {
            position += 1;
            position <= stored || !dropped.contains(&record.id())
        });
        for (_, _, outcomes) in &mut self.answers[answers..] {
            for outcome in outcomes.iter_mut() {
                if matches!(outcome, Ok(Submitted::Stored { .. })) {
                    *outcome = Err(IngestError::Store(error.again()));
                }
            }
        }
    }
}

/// Answers a batch once its flush ended, and on success makes it visible to peers, status
/// and subscribers.
fn finish(batch: StagedBatch, committed: Result<(), IngestError>, shared: &Shared) {
    let StagedBatch {
        answers,
        stored,
        durable,
        started,
        staged_in,
        ..
    } = batch;
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
