//! The ingest pipeline: decode, canonical check, signature, validation against the state,
//! durable store, then release of parked records that waited for this one.

use std::collections::HashMap;

use maillon_protocol::ids::{BlobHash, NetworkId, RecordId, Timestamp};
use maillon_protocol::kinds::Body;
use maillon_protocol::state::ApplyError;
use maillon_protocol::validate::{validate, Verdict};
use maillon_protocol::{DecodeError, Invalid, Record, SignatureError, StateView};
use thiserror::Error;

use super::parking::{ParkOutcome, ParkingLimits, ParkingLot};
use super::state::StoreState;
use crate::store::{index::decode_stored, PutOutcome, Store, StoreError};

/// What became of a submitted record: expected outcomes, not errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// Stored durably (flushed), with any parked records it released.
    Stored {
        /// The record.
        id: RecordId,
        /// Parked records stored because this one arrived.
        released: Vec<RecordId>,
    },
    /// Already stored.
    Duplicate(RecordId),
    /// Waiting for these refs.
    Parked {
        /// The record.
        id: RecordId,
        /// The refs to fetch.
        missing: Vec<RecordId>,
    },
}

/// Why a record was refused, or the store failed.
#[derive(Debug, Error)]
pub enum IngestError {
    /// The record is refused: not well-formed, badly signed, or against the rules.
    #[error(transparent)]
    Refused(#[from] ApplyError),
    /// The author was not in good standing when they signed (the node's policy).
    #[error(transparent)]
    NotInGoodStanding(#[from] crate::engine::standing::StandingRefusal),
    /// The author is a node this node limits or suspends (the operator's policy).
    #[error(transparent)]
    NodePolicy(#[from] crate::engine::standing::NodePolicyRefusal),
    /// The parking lot cannot hold it.
    #[error("the record is too large to wait for its refs")]
    TooLargeToPark,
    /// The store failed: nothing was acknowledged.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether the store holds this record's id: then it is a duplicate, unless the store holds
/// only its bare header (an erasure dropped the body) and this copy brings the body back,
/// which is refused with `erased_body` as it is from a node that never held the record
/// (docs/PROTOCOL.md 8.7).
pub fn is_held<S: Store + ?Sized>(store: &S, record: &Record) -> Result<bool, IngestError> {
    // Most records are new: one lookup, and the bytes are read only for a held one.
    if !store.contains(&record.id())? {
        return Ok(false);
    }
    let Some(held) = store.get(&record.id())? else {
        return Ok(false);
    };
    // Same id, same header and signature: a shorter held copy lacks the body.
    if record.body().is_some() && held.len() < record.to_wire().len() {
        return Err(ApplyError::Invalid(maillon_protocol::Invalid::ErasedBody).into());
    }
    Ok(true)
}

macro_rules! refused_from {
    ($($error:ty),*) => {$(
        impl From<$error> for IngestError {
            fn from(error: $error) -> IngestError {
                IngestError::Refused(error.into())
            }
        }
    )*};
}

refused_from!(DecodeError, SignatureError, Invalid);

/// A record whose encoding and signature have been checked, ready for validation. Checking
/// needs no state, so callers do it on their own task (or a blocking pool) in parallel.
#[derive(Clone, Debug)]
pub struct Verified(Record);

impl Verified {
    /// Decodes wire bytes for `network` and verifies the signature.
    pub fn check(wire: &[u8], network: &NetworkId) -> Result<Verified, IngestError> {
        Verified::verify(Record::decode(wire, network)?)
    }

    /// Verifies the signature of a record already decoded.
    pub fn verify(record: Record) -> Result<Verified, IngestError> {
        record.verify()?;
        Ok(Verified(record))
    }

    /// Checks many records at once, with one batched signature pass.
    pub fn check_many(
        wires: &[Vec<u8>],
        network: &NetworkId,
    ) -> Vec<Result<Verified, IngestError>> {
        let decoded: Vec<Result<Record, DecodeError>> =
            wires.iter().map(|w| Record::decode(w, network)).collect();
        let records: Vec<&Record> = decoded.iter().filter_map(|r| r.as_ref().ok()).collect();
        let mut signatures = verify_in_parallel(&records).into_iter();
        decoded
            .into_iter()
            .map(|decoded| {
                let record = decoded?;
                match signatures.next() {
                    Some(Ok(())) => Ok(Verified(record)),
                    Some(Err(error)) => Err(error.into()),
                    None => Err(IngestError::Store(StoreError::Corrupt(
                        "batch verification lost a result".into(),
                    ))),
                }
            })
            .collect()
    }

    /// The checked record.
    pub fn record(&self) -> &Record {
        &self.0
    }

    /// A record that was checked already, as a [`Verified`] again.
    pub(super) fn trusted(record: Record) -> Verified {
        Verified(record)
    }
}

/// Checks signatures on every core (scoped threads), each with a batched pass over its share.
fn verify_in_parallel(records: &[&Record]) -> Vec<Result<(), SignatureError>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads == 1 || records.len() < 64 {
        return Record::verify_many(records);
    }
    let share = records.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = records
            .chunks(share)
            .map(|chunk| (chunk.len(), scope.spawn(move || Record::verify_many(chunk))))
            .collect();
        workers
            .into_iter()
            .flat_map(|(len, worker)| {
                // A panicking verifier is a bug; count its records as unverified.
                worker
                    .join()
                    .unwrap_or_else(|_| vec![Err(SignatureError::Mismatch); len])
            })
            .collect()
    })
}

/// Ingests records into a store.
pub struct Ingest<S: Store + ?Sized> {
    pub(super) state: StoreState<S>,
    parking: ParkingLot,
    stored: Vec<Record>,
    erased_photos: HashMap<RecordId, Vec<BlobHash>>,
    /// Items whose body an erasure or a repair dropped, or a repair restored, since the
    /// last [`Ingest::take_form_changes`].
    pub(super) form_changes: Vec<super::repair::FormChange>,
}

impl<S: Store + ?Sized> Ingest<S> {
    /// A pipeline over a loaded state.
    pub fn new(state: StoreState<S>, limits: ParkingLimits) -> Ingest<S> {
        Ingest {
            state,
            parking: ParkingLot::new(limits),
            stored: Vec::new(),
            erased_photos: HashMap::new(),
            form_changes: Vec::new(),
        }
    }

    /// The parking lot, to see what waits and which refs to fetch.
    pub fn parking(&self) -> &ParkingLot {
        &self.parking
    }

    /// The validation state.
    pub fn state(&self) -> &StoreState<S> {
        &self.state
    }

    /// Replaces the validation state by one built again from the store, after records were
    /// removed from it (expired candidacies): their keys are no longer known authors. Staged
    /// records are written first.
    pub fn replace_state(&mut self, state: StoreState<S>) -> Result<(), StoreError> {
        self.state.write_pending()?;
        self.state = state;
        Ok(())
    }

    /// Takes wire bytes through the whole pipeline. `Stored` is returned only after the
    /// store has flushed.
    pub async fn submit(&mut self, wire: &[u8], now: Timestamp) -> Result<Submitted, IngestError> {
        let record = Record::decode(wire, &self.state.network())?;
        if is_held(self.state.store(), &record)? {
            return Ok(Submitted::Duplicate(record.id()));
        }
        record.verify()?;
        let outcome = self.stage(Verified(record), now)?;
        self.commit().await?;
        Ok(outcome)
    }

    /// Validates and writes a checked record without flushing. The outcome may be
    /// acknowledged only after [`Ingest::commit`] has returned.
    pub fn stage(&mut self, record: Verified, now: Timestamp) -> Result<Submitted, IngestError> {
        let id = record.0.id();
        match self.accept(record.0, now)? {
            Accepted::Duplicate => Ok(Submitted::Duplicate(id)),
            Accepted::Parked(missing) => Ok(Submitted::Parked { id, missing }),
            Accepted::Stored => {
                let released = self.release(id, now)?;
                Ok(Submitted::Stored { id, released })
            }
        }
    }

    /// Writes the staged records in one write and makes every write durable.
    pub async fn commit(&mut self) -> Result<(), IngestError> {
        self.state.write_pending()?;
        self.state.store().flush().await?;
        Ok(())
    }

    /// Writes the staged records to the store (not yet durable), before an operation that
    /// reads or changes the store directly.
    pub fn write_pending(&mut self) -> Result<(), StoreError> {
        self.state.write_pending()
    }

    /// The records stored since the last call, in the order they were stored.
    pub fn take_stored(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.stored)
    }

    /// The photos named by the listing bodies that the erasure `erasure` dropped (each once,
    /// in no particular order), taken once. Empty for any other record.
    pub fn take_erased_photos(&mut self, erasure: &RecordId) -> Vec<BlobHash> {
        self.erased_photos.remove(erasure).unwrap_or_default()
    }

    /// The records whose body was dropped or restored since the last call, in order.
    pub fn take_form_changes(&mut self) -> Vec<super::repair::FormChange> {
        std::mem::take(&mut self.form_changes)
    }

    /// Drops parked records older than the lot's age bound; returns their ids.
    pub fn expire_parked(&mut self, now: Timestamp) -> Vec<RecordId> {
        self.parking.expire(now)
    }

    fn accept(&mut self, record: Record, now: Timestamp) -> Result<Accepted, IngestError> {
        if self.state.is_pending(&record.id()) || is_held(self.state.store(), &record)? {
            return Ok(Accepted::Duplicate);
        }
        match validate(&record, &self.state, now)? {
            Verdict::MissingRefs(missing) => {
                match self
                    .parking
                    .park(record.id(), record.to_wire(), &missing, now)
                {
                    ParkOutcome::TooLarge => return Err(IngestError::TooLargeToPark),
                    ParkOutcome::Parked { .. } | ParkOutcome::AlreadyParked => {}
                }
                Ok(Accepted::Parked(missing))
            }
            Verdict::Valid if matches!(record.body(), Some(Body::Erasure(_))) => {
                // An erasure rewrites stored records: what waits is written first.
                self.state.write_pending()?;
                if self.state.store().put(&record)? == PutOutcome::Duplicate {
                    return Ok(Accepted::Duplicate);
                }
                self.state.note(&record)?;
                let photos = self.apply_erasure(&record)?;
                if !photos.is_empty() {
                    self.erased_photos.insert(record.id(), photos);
                }
                self.stored.push(record);
                Ok(Accepted::Stored)
            }
            Verdict::Valid => {
                self.state.stage(record.clone())?;
                self.stored.push(record);
                Ok(Accepted::Stored)
            }
        }
    }

    /// Stores, in turn, every parked record that waited only for records now stored.
    fn release(&mut self, arrived: RecordId, now: Timestamp) -> Result<Vec<RecordId>, IngestError> {
        let mut queue = vec![arrived];
        let mut released = Vec::new();
        while let Some(next) = queue.pop() {
            for (id, wire) in self.parking.arrived(&next) {
                let Ok(record) = Record::decode(&wire, &self.state.network()) else {
                    continue;
                };
                // A parked record that is now refused is dropped: it was never acknowledged.
                // Its signature was checked before it was parked.
                if let Ok(Accepted::Stored) = self.accept(record, now) {
                    released.push(id);
                    queue.push(id);
                }
            }
        }
        Ok(released)
    }

    /// Replaces every erasable record of the keys the erasure covers created up to it by its
    /// bare header; returns the photos the dropped listing bodies named.
    fn apply_erasure(&mut self, erasure: &Record) -> Result<Vec<BlobHash>, IngestError> {
        let store = self.state.store();
        let until = erasure.header().created;
        let (mut photos, mut dropped) = (Vec::new(), Vec::new());
        for key in crate::erasure::covered_keys(store, erasure)? {
            for id in store.by_author(&key, usize::MAX)? {
                let Some(bytes) = store.get(&id)? else {
                    continue;
                };
                let record = decode_stored(&bytes)?;
                let h = record.header();
                if h.kind.is_erasable() && h.created <= until && record.body().is_some() {
                    if let Some(Body::Listing(listing)) = record.body() {
                        photos.extend(listing.photos.iter().copied());
                    }
                    store.replace_with_bare_header(&id)?;
                    dropped.push(super::repair::FormChange::dropped(h.created, id));
                }
            }
        }
        self.form_changes.extend(dropped);
        photos.sort();
        photos.dedup();
        Ok(photos)
    }
}

enum Accepted {
    Stored,
    Duplicate,
    Parked(Vec<RecordId>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator;
    use crate::store::MemoryStore;
    use maillon_protocol::testkit;

    #[tokio::test]
    async fn a_generated_network_is_stored_and_parked_records_are_released() {
        let network = generator::generate(3, 20);
        let store = std::sync::Arc::new(MemoryStore::new());
        let Some(Body::Charter(charter)) = network.records[0].body().cloned() else {
            panic!()
        };
        let state = StoreState::load(store.clone(), charter).unwrap();
        let mut ingest = Ingest::new(state, ParkingLimits::default());
        let now = network.now;
        // The charter is stored like any record.
        assert!(matches!(
            ingest
                .submit(&network.records[0].to_wire(), now)
                .await
                .unwrap(),
            Submitted::Stored { .. }
        ));
        // A record whose author has not joined yet is refused for now, and accepted later.
        let listing = network
            .records
            .iter()
            .find(|r| matches!(r.body(), Some(Body::Listing(_))))
            .unwrap()
            .clone();
        let author = network
            .keys
            .iter()
            .find(|(_, k)| k.public_key() == listing.header().author)
            .unwrap()
            .1
            .clone();
        let Some(Body::Listing(body)) = listing.body().cloned() else {
            panic!()
        };
        let second = network.signer.sign(
            &author,
            maillon_protocol::kinds::Listing {
                series: Some(listing.id()),
                ..body
            },
            listing.header().created.plus_ms(1000),
            Some(listing.header().created.plus_ms(testkit::DAY)),
        );
        let parked = ingest.submit(&second.to_wire(), now).await;
        assert!(
            matches!(
                parked,
                Err(IngestError::Refused(ApplyError::Invalid(
                    Invalid::UnknownAuthor
                )))
            ),
            "{parked:?}"
        );
        for record in &network.records[1..] {
            let outcome = ingest.submit(&record.to_wire(), now).await.unwrap();
            assert!(matches!(outcome, Submitted::Stored { .. }), "{outcome:?}");
        }
        let parked = ingest.submit(&second.to_wire(), now).await.unwrap();
        assert!(matches!(parked, Submitted::Stored { .. }));
        assert_eq!(store.len().unwrap(), network.records.len() as u64 + 1);
        assert_eq!(
            ingest.submit(&second.to_wire(), now).await.unwrap(),
            Submitted::Duplicate(second.id())
        );
        // A withdrawal of a sponsorship not yet held is parked, then released.
        let sponsor = &network.keys[0].1;
        let late =
            network
                .signer
                .sponsor(sponsor, network.keys[5].1.public_key(), now.minus_ms(5000));
        let withdrawal = network
            .signer
            .withdraw(sponsor, late.id(), now.minus_ms(4000));
        assert_eq!(
            ingest.submit(&withdrawal.to_wire(), now).await.unwrap(),
            Submitted::Parked {
                id: withdrawal.id(),
                missing: vec![late.id()]
            }
        );
        assert_eq!(
            ingest.submit(&late.to_wire(), now).await.unwrap(),
            Submitted::Stored {
                id: late.id(),
                released: vec![withdrawal.id()]
            }
        );
        assert!(store.contains(&withdrawal.id()).unwrap() && ingest.parking().is_empty());
    }

    #[tokio::test]
    async fn forged_records_are_refused_and_erasure_strips_bodies() {
        let network = generator::generate(4, 6);
        let store = std::sync::Arc::new(MemoryStore::new());
        let Some(Body::Charter(charter)) = network.records[0].body().cloned() else {
            panic!()
        };
        let mut ingest = Ingest::new(
            StoreState::load(store.clone(), charter).unwrap(),
            ParkingLimits::default(),
        );
        let now = network.now;
        for record in &network.records {
            ingest.submit(&record.to_wire(), now).await.unwrap();
        }
        // A new record whose signature was tampered with is refused and not stored.
        let member = &network.keys[3].1;
        let fresh = network
            .signer
            .listing(member, "Table de jardin", now.minus_ms(10));
        let mut forged = fresh.to_wire();
        let signature_byte = 1 + fresh.header_bytes().len() + 2 + 10;
        forged[signature_byte] ^= 1;
        assert!(matches!(
            ingest.submit(&forged, now).await,
            Err(IngestError::Refused(ApplyError::Signature(_)))
        ));
        assert!(matches!(
            ingest.submit(&forged[..forged.len() - 1], now).await,
            Err(IngestError::Refused(ApplyError::Decode(_)))
        ));
        assert_eq!(store.len().unwrap(), network.records.len() as u64);
        // The same id with another signature is a duplicate of the stored record.
        let mut other = network.records[3].to_wire();
        let at = 1 + network.records[3].header_bytes().len() + 2 + 10;
        other[at] ^= 1;
        assert_eq!(
            ingest.submit(&other, now).await.unwrap(),
            Submitted::Duplicate(network.records[3].id())
        );
        // member-0 erases: their profile and listing keep only their headers.
        let erasure = network.signer.erase(member, now.minus_ms(1));
        ingest.submit(&erasure.to_wire(), now).await.unwrap();
        for id in store.by_author(&member.public_key(), 100).unwrap() {
            let record = decode_stored(&store.get(&id).unwrap().unwrap()).unwrap();
            assert_eq!(
                record.body().is_some(),
                !record.header().kind.is_erasable(),
                "{:?}",
                record.header().kind
            );
        }
        // Reloading the state from the store gives the same erasure time.
        let Some(Body::Charter(charter)) = network.records[0].body().cloned() else {
            panic!()
        };
        let reloaded = StoreState::load(store.clone(), charter).unwrap();
        assert_eq!(
            reloaded.erased_at(&member.public_key()),
            Some(erasure.header().created)
        );
    }
}
