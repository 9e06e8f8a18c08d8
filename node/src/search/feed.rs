//! [`Feed`]: how stored records change the index, synchronously, over any [`Store`]. The
//! async [`super::feeder`] drives it from the engine; tests drive it directly.
//!
//! - A listing version is indexed only if the store names it the current version of its
//!   series, its series has no tombstone, and it has not expired.
//! - A tombstone removes the series for good (a later version cannot bring it back).
//! - A bump raises its series until the bump expires if it is effective (signed by an
//!   announced node, within the charter's per-node daily limit: [`BumpBook`]); the newest
//!   bump in force wins.
//! - An erasure re-reads every series of the identity whose version the store erased: the
//!   series goes, unless a later version kept its body.
//! - Records of other kinds only count towards the marker.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use maillon_protocol::ids::{NetworkId, PublicKey, RecordId, Timestamp};
use maillon_protocol::{Body, Kind, Record};

use super::doc::{BumpMark, ListingDoc};
use super::index::{IndexMarker, SearchWriter};
use super::SearchError;
use crate::bump_book::BumpBook;
use crate::store::index::decode_stored;
use crate::store::{ReplaceKey, Store};

/// Whether a key is an announced node's: bumps count only from those.
pub type NodeCheck<'a> = &'a dyn Fn(&PublicKey) -> bool;

/// What [`Feed::start`] or [`Feed::rebuild`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Started {
    /// The index's marker agreed with the store: kept as it is.
    Kept,
    /// The index was rebuilt from the store with this many listings.
    Rebuilt {
        /// Listings indexed.
        listings: u64,
        /// Milliseconds the rebuild took.
        millis: u64,
    },
    /// Shutdown interrupted the rebuild; nothing was committed.
    Cancelled,
}

/// The index's writer with what the feeder remembers between records.
pub struct Feed {
    writer: SearchWriter,
    network: NetworkId,
    tombstoned: HashSet<RecordId>,
    /// Every bump, and which are effective.
    book: BumpBook,
    /// The bump in force on each series, as last written to the index.
    bumps: HashMap<RecordId, BumpMark>,
    seen: u64,
}

impl Feed {
    /// A feed writing through `writer`, for `network`'s records, whose charter lets
    /// `bumps_per_day` bumps of one node take effect in any 24 hours.
    pub fn new(writer: SearchWriter, network: NetworkId, bumps_per_day: u64) -> Feed {
        Feed {
            writer,
            network,
            tombstoned: HashSet::new(),
            book: BumpBook::new(bumps_per_day),
            bumps: HashMap::new(),
            seen: 0,
        }
    }

    /// The writer.
    pub fn writer(&mut self) -> &mut SearchWriter {
        &mut self.writer
    }

    /// The marker the next commit will carry.
    pub fn marker(&self) -> IndexMarker {
        IndexMarker {
            network: self.network,
            records: self.seen,
        }
    }

    /// Keeps the index if its marker matches the store (loading tombstones and bumps),
    /// otherwise rebuilds it.
    pub fn start<S: Store + ?Sized>(
        &mut self,
        store: &S,
        now: Timestamp,
        nodes: NodeCheck<'_>,
        cancel: &AtomicBool,
    ) -> Result<Started, SearchError> {
        let records = store.len()?;
        let expected = IndexMarker {
            network: self.network,
            records,
        };
        if self.writer.index().marker()? == Some(expected) {
            self.load_side_tables(store, now, nodes)?;
            self.seen = records;
            return Ok(Started::Kept);
        }
        self.rebuild(store, now, nodes, cancel)
    }

    /// Rebuilds the index from the store: every current, unexpired, untombstoned listing.
    pub fn rebuild<S: Store + ?Sized>(
        &mut self,
        store: &S,
        now: Timestamp,
        nodes: NodeCheck<'_>,
        cancel: &AtomicBool,
    ) -> Result<Started, SearchError> {
        let started = Instant::now();
        // Records stored from here on arrive as events too: counted twice at worst, which
        // only makes the next start rebuild again.
        let records = store.len()?;
        self.load_side_tables(store, now, nodes)?;
        self.writer.clear()?;
        let mut listings = 0u64;
        for (i, id) in store.by_kind(Kind::Listing, usize::MAX)?.iter().enumerate() {
            if i % 1024 == 0 && cancel.load(Ordering::Relaxed) {
                return Ok(Started::Cancelled);
            }
            let Some(record) = read(store, id)? else {
                continue;
            };
            let Some(doc) = ListingDoc::from_record(&record) else {
                continue;
            };
            if self.tombstoned.contains(&doc.series) || doc.is_expired(now) {
                continue;
            }
            if store.current(&ReplaceKey::Listing(doc.series))? != Some(*id) {
                continue;
            }
            let bump = self.bumps.get(&doc.series).copied();
            self.writer.add_new(&doc.with_bump(bump))?;
            listings += 1;
        }
        self.seen = records;
        self.commit()?;
        Ok(Started::Rebuilt {
            listings,
            millis: started.elapsed().as_millis() as u64,
        })
    }

    fn load_side_tables<S: Store + ?Sized>(
        &mut self,
        store: &S,
        now: Timestamp,
        nodes: NodeCheck<'_>,
    ) -> Result<(), SearchError> {
        self.tombstoned.clear();
        for id in store.by_kind(Kind::ListingTombstone, usize::MAX)? {
            if let Some(Body::ListingTombstone(t)) =
                read(store, &id)?.as_ref().and_then(|r| r.body())
            {
                self.tombstoned.insert(t.series);
            }
        }
        self.bumps.clear();
        // Every bump counts towards its node's daily window, in force or not.
        self.book = BumpBook::new(self.book.per_day());
        for id in store.by_kind(Kind::Bump, usize::MAX)? {
            let Some(record) = read(store, &id)? else {
                continue;
            };
            self.note_bump(&record);
        }
        let series: Vec<RecordId> = self.book.series().copied().collect();
        for s in series {
            if let Some(mark) = self.mark_of(&s, now, nodes) {
                self.bumps.insert(s, mark);
            }
        }
        Ok(())
    }

    /// Whether [`Feed::apply`] reads records of this kind (listings, their tombstones, bumps
    /// and erasures): the feeder keeps only those, and counts the rest with [`Feed::skip`].
    pub fn reads(kind: Kind) -> bool {
        match kind {
            Kind::Listing | Kind::ListingTombstone | Kind::Bump | Kind::Erasure => true,
            Kind::Charter
            | Kind::NodeAnnouncement
            | Kind::Profile
            | Kind::Join
            | Kind::Sponsorship
            | Kind::SponsorshipWithdrawal
            | Kind::TransactionOpen
            | Kind::TransactionAnswer
            | Kind::TransactionMessage
            | Kind::TransactionClose
            | Kind::Complaint
            | Kind::ModeratorAppointment
            | Kind::ModerationLabel
            | Kind::LabelRetraction
            | Kind::NodePolicy
            | Kind::KeyRotation
            | Kind::KeyRecovery => false,
        }
    }

    /// Counts stored records the index does not read, so that the marker still agrees with
    /// the store.
    pub fn skip(&mut self, records: u64) {
        self.seen += records;
    }

    /// Applies one record just stored (the store already holds it).
    pub fn apply<S: Store + ?Sized>(
        &mut self,
        store: &S,
        record: &Record,
        now: Timestamp,
        nodes: NodeCheck<'_>,
    ) -> Result<(), SearchError> {
        self.seen += 1;
        match record.body() {
            Some(Body::Listing(_)) => {
                let Some(doc) = ListingDoc::from_record(record) else {
                    return Ok(());
                };
                if self.tombstoned.contains(&doc.series) {
                    return Ok(());
                }
                if store.current(&ReplaceKey::Listing(doc.series))? != Some(record.id()) {
                    return Ok(()); // a newer version is already indexed
                }
                if doc.is_expired(now) {
                    return self.writer.remove(&doc.series);
                }
                let bump = self.bumps.get(&doc.series).copied();
                self.writer.upsert(&doc.with_bump(bump))
            }
            Some(Body::ListingTombstone(t)) => {
                self.tombstoned.insert(t.series);
                self.bumps.remove(&t.series);
                self.writer.remove(&t.series)
            }
            Some(Body::Bump(_)) => {
                for series in self.note_bump(record) {
                    self.bump_again(store, &series, now, nodes)?;
                }
                Ok(())
            }
            Some(Body::Erasure(_)) => self.apply_erasure(store, record, now),
            _ => Ok(()),
        }
    }

    /// Adds a bump record to the book; the series whose bumps may have changed effect.
    fn note_bump(&mut self, record: &Record) -> Vec<RecordId> {
        let h = record.header();
        match (record.body(), h.expires) {
            (Some(Body::Bump(b)), Some(expires)) => {
                self.book
                    .add(h.author, record.id(), h.created, expires, b.series)
            }
            _ => Vec::new(),
        }
    }

    /// The bump in force on a series at `now`, if any.
    fn mark_of(&self, series: &RecordId, now: Timestamp, nodes: NodeCheck<'_>) -> Option<BumpMark> {
        self.book
            .in_force(series, now, nodes)
            .map(|(at, expires)| BumpMark { at, expires })
    }

    /// Writes a series' bump in force again, if it changed.
    fn bump_again<S: Store + ?Sized>(
        &mut self,
        store: &S,
        series: &RecordId,
        now: Timestamp,
        nodes: NodeCheck<'_>,
    ) -> Result<(), SearchError> {
        let mark = self.mark_of(series, now, nodes);
        if self.bumps.get(series).copied() == mark {
            return Ok(());
        }
        match mark {
            Some(mark) => self.bumps.insert(*series, mark),
            None => self.bumps.remove(series),
        };
        match self.current_doc(store, series, now)? {
            Some(doc) => match mark {
                Some(mark) => self.writer.set_bumped(doc, mark),
                None => self.writer.upsert(&doc.with_bump(None)),
            },
            None => Ok(()),
        }
    }

    /// The indexable current version of a series, if any.
    fn current_doc<S: Store + ?Sized>(
        &self,
        store: &S,
        series: &RecordId,
        now: Timestamp,
    ) -> Result<Option<ListingDoc>, SearchError> {
        if self.tombstoned.contains(series) {
            return Ok(None);
        }
        let Some(id) = store.current(&ReplaceKey::Listing(*series))? else {
            return Ok(None);
        };
        Ok(read(store, &id)?
            .as_ref()
            .and_then(ListingDoc::from_record)
            .filter(|doc| !doc.is_expired(now)))
    }

    /// Re-reads the series of every listing version by the keys the erasure covers whose
    /// body the store erased. An erased version keeps its header, whose refs name the series
    /// of a later version.
    fn apply_erasure<S: Store + ?Sized>(
        &mut self,
        store: &S,
        erasure: &Record,
        now: Timestamp,
    ) -> Result<(), SearchError> {
        let mut series = HashSet::new();
        for key in crate::erasure::covered_keys(store, erasure)? {
            for id in store.by_author(&key, usize::MAX)? {
                let Some(record) = read(store, &id)? else {
                    continue;
                };
                if record.header().kind == Kind::Listing && record.body().is_none() {
                    let named = crate::erasure::series_named_by(store, &record)?;
                    series.insert(named.unwrap_or(id));
                }
            }
        }
        for s in series {
            match self.current_doc(store, &s, now)? {
                Some(doc) => {
                    let bump = self.bumps.get(&s).copied();
                    self.writer.upsert(&doc.with_bump(bump))?;
                }
                None => self.writer.remove(&s)?,
            }
        }
        Ok(())
    }

    /// Drops expired documents and bumps.
    pub fn purge(&mut self, now: Timestamp) -> Result<(), SearchError> {
        self.bumps.retain(|_, mark| mark.expires > now);
        self.writer.remove_expired(now)
    }

    /// Commits with the current marker.
    pub fn commit(&mut self) -> Result<(), SearchError> {
        let marker = self.marker();
        self.writer.commit(Some(marker))
    }

    /// Commits with no marker, so that a restart rebuilds.
    pub fn invalidate(&mut self) -> Result<(), SearchError> {
        self.writer.commit(None)
    }
}

/// A stored record, decoded.
fn read<S: Store + ?Sized>(store: &S, id: &RecordId) -> Result<Option<Record>, SearchError> {
    match store.get(id)? {
        Some(bytes) => Ok(Some(decode_stored(&bytes)?)),
        None => Ok(None),
    }
}
