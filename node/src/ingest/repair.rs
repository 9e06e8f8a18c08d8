//! Repair of a held record's body against a peer's copy (docs/PROTOCOL.md 10.9): a node
//! that missed an erasure drops the body, a node that lost a body it should hold takes it
//! back. The decision is the protocol's `state::repair`, read from this node's state only.

use maillon_protocol::ids::{BlobHash, RecordId, Timestamp};
use maillon_protocol::kinds::Body;
use maillon_protocol::state::{repair, Repair};
use maillon_protocol::sync::SyncItem;
use maillon_protocol::Record;

use super::pipeline::{Ingest, IngestError, Submitted, Verified};
use crate::store::{index::decode_stored, Store};

/// A held record whose body was dropped or restored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormChange {
    /// The record's sync item.
    pub item: SyncItem,
    /// Whether it is now held bare.
    pub bare: bool,
}

impl FormChange {
    /// The body of the record `id` created at `created` was dropped.
    pub fn dropped(created: Timestamp, id: RecordId) -> FormChange {
        FormChange {
            item: SyncItem { created, id },
            bare: true,
        }
    }
}

/// What a repair asks the rest of the node to do once it is durable.
#[derive(Clone, Debug)]
pub struct Repaired {
    /// The record the indexes should take again: the restored record, or the erasure that
    /// covers a dropped body (taking it again makes them forget the body).
    pub event: Record,
    /// The photos a dropped listing body named.
    pub photos: Vec<BlobHash>,
}

impl<S: Store + ?Sized> Ingest<S> {
    /// Compares a peer's copy with the held record and drops or restores the body as the
    /// protocol's repair rule says. A record not held goes through [`Ingest::stage`]. The
    /// answer is `Duplicate` whatever was done: the record was held.
    pub fn repair(
        &mut self,
        offered: Verified,
        now: Timestamp,
    ) -> Result<(Submitted, Option<Repaired>), IngestError> {
        self.state.write_pending()?;
        let offered = offered.record().clone();
        let id = offered.id();
        let Some(bytes) = self.state.store().get(&id)? else {
            let outcome = self.stage(Verified::trusted(offered), now)?;
            return Ok((outcome, None));
        };
        let held = decode_stored(&bytes)?;
        let h = held.header();
        let item = SyncItem {
            created: h.created,
            id,
        };
        let repaired = match repair(&held, &offered, &self.state) {
            Repair::Keep => None,
            Repair::DropBody => {
                let photos = match held.body() {
                    Some(Body::Listing(listing)) => listing.photos.clone(),
                    _ => Vec::new(),
                };
                let erasure = self.state.covering_erasure(&h.author);
                self.state.store().replace_with_bare_header(&id)?;
                self.form_changes.push(FormChange { item, bare: true });
                tracing::info!(%id, "dropped a body a held erasure covers (repair)");
                match erasure {
                    Some(erasure_id) => self
                        .state
                        .store()
                        .get(&erasure_id)?
                        .map(|b| decode_stored(&b))
                        .transpose()?
                        .map(|event| Repaired { event, photos }),
                    None => None,
                }
            }
            Repair::RestoreBody => {
                self.state.store().restore_body(&offered)?;
                self.form_changes.push(FormChange { item, bare: false });
                tracing::info!(%id, "restored a body no held erasure covers (repair)");
                Some(Repaired {
                    event: offered,
                    photos: Vec::new(),
                })
            }
        };
        Ok((Submitted::Duplicate(id), repaired))
    }
}
