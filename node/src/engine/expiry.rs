//! Drops the records of expired candidacies (docs/PROTOCOL.md 9.1.9): the ingest task
//! deletes the protocol's dropped set from the store, then builds the validation state and
//! the views again from what is left.
//!
//! The background refresh asks for a pass when the membership table lists an expired
//! candidacy, at most once per [`MIN_PASS_SPACING`], and not within [`QUIET_BEFORE_PASS`]
//! of the node taking in a record of its history ([`is_catching_up`]). A pass reads the whole store (twice
//! when a record names a dropped record that sorts before it) and, when it dropped
//! anything, reads it once more to rebuild the views: a cost paid when candidacies expire,
//! not on each record.

use std::collections::BTreeSet;
use std::sync::Arc;

use maillon_protocol::ids::{RecordId, Timestamp};
use maillon_protocol::membership::Dropping;
use maillon_protocol::Kind;

use super::{load_views, PassRequest, Shared};
use crate::ingest::pipeline::Ingest;
use crate::ingest::state::StoreState;
use crate::store::{Store, StoreError};

/// The shortest time between two passes.
pub const MIN_PASS_SPACING: std::time::Duration = std::time::Duration::from_secs(60);

/// How long after the node last took in a record of its history a pass may run (a cold
/// sync or an import brings old joins before the sponsorships that admitted them).
pub const QUIET_BEFORE_PASS: std::time::Duration = std::time::Duration::from_secs(120);

/// Whether storing `record` is part of catching up with the network's history: fetched by
/// sync, or created a candidacy's window or more before `now` (an import, a late peer).
pub(super) fn is_catching_up(
    record: &maillon_protocol::Record,
    origin: super::Origin,
    now: Timestamp,
) -> bool {
    origin == super::Origin::Fetched
        || record
            .header()
            .created
            .plus_ms(maillon_protocol::membership::CANDIDACY_MS)
            <= now
}

/// What a pass removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dropped {
    /// The ids removed from the store, in id order.
    pub ids: Vec<RecordId>,
    /// The kinds among them, so that readers rebuild only what they show.
    pub kinds: BTreeSet<Kind>,
}

/// Finds the dropped set at `now` and removes it from the store, the validation state and
/// the engine's views. Durable (flushed) when it returns `Ok`.
pub(super) async fn drop_expired(
    ingest: &mut Ingest<dyn Store>,
    shared: &Shared,
    now: Timestamp,
) -> Result<Dropped, StoreError> {
    ingest.write_pending()?;
    let mut dropping = {
        let mut index = shared.index.write().unwrap_or_else(|p| p.into_inner());
        index.refresh_exact(now);
        Dropping::of(index.table())
    };
    if dropping.is_empty() {
        return Ok(Dropped::default());
    }
    let mut kinds = BTreeSet::new();
    while scan(shared.store.as_ref(), &mut dropping, &mut kinds)? {}
    let ids: Vec<RecordId> = dropping.dropped().iter().copied().collect();
    if ids.is_empty() {
        return Ok(Dropped::default());
    }
    shared.store.remove(&ids)?;
    shared.store.flush().await?;
    let mut state = StoreState::empty(Arc::clone(&shared.store), shared.charter.clone());
    let views = load_views(&mut state, now, &super::StartProgress::new(), &[])?;
    ingest.replace_state(state)?;
    *shared.index.write().unwrap_or_else(|p| p.into_inner()) = views.index;
    *shared.sync_set.write().unwrap_or_else(|p| p.into_inner()) = views.sync_set;
    *shared.erased_set.write().unwrap_or_else(|p| p.into_inner()) = views.erased_set;
    *shared
        .kind_counts
        .write()
        .unwrap_or_else(|p| p.into_inner()) = views.kind_counts;
    tracing::info!(
        records = ids.len(),
        candidacies = dropping.keys().len(),
        "dropped the records of expired candidacies"
    );
    Ok(Dropped { ids, kinds })
}

/// Looks at every stored record once; returns whether a new record was found dropped.
fn scan(
    store: &dyn Store,
    dropping: &mut Dropping,
    kinds: &mut BTreeSet<Kind>,
) -> Result<bool, StoreError> {
    let mut changed = false;
    crate::store::walk(store, |_, _, record| {
        if dropping.note(&record) {
            kinds.insert(record.header().kind);
            changed = true;
        }
        Ok(())
    })?;
    Ok(changed)
}

/// Asks the ingest task for a pass when the table lists an expired candidacy and the last
/// pass was asked for more than [`MIN_PASS_SPACING`] ago.
pub(super) fn ask_for_pass_if_due(shared: &Shared) {
    let expired = !shared
        .index
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .table()
        .expired_candidacies()
        .is_empty();
    if !expired {
        return;
    }
    // While the node takes in its history, a join whose sponsorships are still on their way
    // looks expired: wait until it has caught up.
    let syncing = super::refresh::stored_history_within(shared, QUIET_BEFORE_PASS);
    let mut last = shared.last_pass.lock().unwrap_or_else(|p| p.into_inner());
    if syncing || last.is_some_and(|at| at.elapsed() < MIN_PASS_SPACING) {
        return;
    }
    // A full channel means a pass is already waiting.
    if shared.passes.try_send(PassRequest { reply: None }).is_ok() {
        *last = Some(std::time::Instant::now());
    }
}
