//! [`SyncSet`]: an ordered set of sync items kept in sorted chunks with cached id sums, so
//! that a range's fingerprint costs O(chunks in the range + chunk size), not O(items).

use std::ops::{Bound, RangeBounds};

use super::item::{Accumulator, SyncItem};

/// Most items a chunk holds; a chunk that grows past it is split in two halves.
pub const CHUNK_MAX: usize = 128;
/// Items per chunk when a set is built from a list (room is left for inserts).
const CHUNK_FILL: usize = CHUNK_MAX * 3 / 4;

/// A sorted run of items and the sum of their ids.
#[derive(Clone, Debug)]
struct Chunk {
    items: Vec<SyncItem>,
    sum: Accumulator,
}

impl Chunk {
    fn new(items: &[SyncItem]) -> Chunk {
        let mut owned = Vec::with_capacity(CHUNK_MAX + 1);
        owned.extend_from_slice(items);
        let mut sum = Accumulator::default();
        owned.iter().for_each(|item| sum.add(&item.id));
        Chunk { items: owned, sum }
    }

    fn last(&self) -> &SyncItem {
        // Chunks are never empty.
        &self.items[self.items.len() - 1]
    }

    /// The sum of `items[from..to]`, read directly or as the total minus the outside.
    fn partial_sum(&self, from: usize, to: usize) -> Accumulator {
        let mut sum = Accumulator::default();
        if (to - from) * 2 <= self.items.len() {
            self.items[from..to].iter().for_each(|i| sum.add(&i.id));
        } else {
            sum = self.sum;
            self.items[..from].iter().for_each(|i| sum.sub(&i.id));
            self.items[to..].iter().for_each(|i| sum.sub(&i.id));
        }
        sum
    }
}

/// A position in a [`SyncSet`]: before the item at `offset` of chunk `chunk`, or the end
/// (`chunk == chunks.len()`, `offset == 0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Cursor {
    chunk: usize,
    offset: usize,
}

/// An in-memory ordered set of [`SyncItem`]s with fast range fingerprints.
///
/// Items live in sorted chunks of at most [`CHUNK_MAX`] items, each with the sum of its
/// ids, about 40 to 60 bytes per item. Inserting or removing costs O(log n + CHUNK_MAX)
/// plus, when a chunk splits or disappears, a move of the chunk list.
#[derive(Clone, Debug, Default)]
pub struct SyncSet {
    chunks: Vec<Chunk>,
    len: usize,
}

impl SyncSet {
    /// An empty set.
    pub fn new() -> SyncSet {
        SyncSet::default()
    }

    /// Items held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set holds no item.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The sum of every id held, modulo 2^256: O(chunks), from the chunks' cached sums. With
    /// [`SyncSet::len`] it gives the state digest (`state::state_digest_of_sum`).
    pub fn sum(&self) -> Accumulator {
        let mut total = Accumulator::default();
        self.chunks.iter().for_each(|chunk| total.merge(&chunk.sum));
        total
    }

    /// Whether the set holds `item`.
    pub fn contains(&self, item: &SyncItem) -> bool {
        self.get(self.lower_bound(item)) == Some(item)
    }

    /// Adds `item`; returns false if it was already there.
    pub fn insert(&mut self, item: SyncItem) -> bool {
        if self.chunks.is_empty() {
            self.chunks.push(Chunk::new(&[item]));
            self.len = 1;
            return true;
        }
        let index = self.chunk_for(&item).min(self.chunks.len() - 1);
        let chunk = &mut self.chunks[index];
        let Err(offset) = chunk.items.binary_search(&item) else {
            return false;
        };
        chunk.items.insert(offset, item);
        chunk.sum.add(&item.id);
        self.len += 1;
        if chunk.items.len() > CHUNK_MAX {
            self.split(index);
        }
        true
    }

    /// Removes `item`; returns false if it was not there.
    pub fn remove(&mut self, item: &SyncItem) -> bool {
        let index = self.chunk_for(item);
        let Some(chunk) = self.chunks.get_mut(index) else {
            return false;
        };
        let Ok(offset) = chunk.items.binary_search(item) else {
            return false;
        };
        chunk.items.remove(offset);
        chunk.sum.sub(&item.id);
        self.len -= 1;
        if chunk.items.is_empty() {
            self.chunks.remove(index);
        } else {
            self.merge_if_small(index);
        }
        true
    }

    /// All items in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = &SyncItem> + '_ {
        self.chunks.iter().flat_map(|chunk| chunk.items.iter())
    }

    /// The items within `range`, in ascending order.
    pub fn range<R: RangeBounds<SyncItem>>(
        &self,
        range: R,
    ) -> impl Iterator<Item = &SyncItem> + '_ {
        let from = match range.start_bound() {
            Bound::Included(item) => self.lower_bound(item),
            Bound::Excluded(item) => self.upper_bound(item),
            Bound::Unbounded => self.start(),
        };
        let to = match range.end_bound() {
            Bound::Included(item) => self.upper_bound(item),
            Bound::Excluded(item) => self.lower_bound(item),
            Bound::Unbounded => self.end(),
        };
        self.items_between(from, to.max(from))
    }

    fn chunk_for(&self, item: &SyncItem) -> usize {
        self.chunks.partition_point(|chunk| chunk.last() < item)
    }

    fn split(&mut self, index: usize) {
        let chunk = &mut self.chunks[index];
        let half = chunk.items.len() / 2;
        let upper = Chunk::new(&chunk.items[half..]);
        chunk.items.truncate(half);
        *chunk = Chunk::new(&chunk.items);
        self.chunks.insert(index + 1, upper);
    }

    fn merge_if_small(&mut self, index: usize) {
        let small = self.chunks[index].items.len() < CHUNK_MAX / 4;
        let Some(next) = self.chunks.get(index + 1) else {
            return;
        };
        if small && self.chunks[index].items.len() + next.items.len() <= CHUNK_MAX {
            let next = self.chunks.remove(index + 1);
            let chunk = &mut self.chunks[index];
            chunk.items.extend_from_slice(&next.items);
            chunk.sum.merge(&next.sum);
        }
    }

    /// The first position.
    pub(crate) fn start(&self) -> Cursor {
        Cursor {
            chunk: 0,
            offset: 0,
        }
    }

    /// The position after the last item.
    pub(crate) fn end(&self) -> Cursor {
        Cursor {
            chunk: self.chunks.len(),
            offset: 0,
        }
    }

    /// The position of the first item `>= point`.
    pub(crate) fn lower_bound(&self, point: &SyncItem) -> Cursor {
        let chunk = self.chunk_for(point);
        match self.chunks.get(chunk) {
            Some(c) => Cursor {
                chunk,
                offset: c.items.partition_point(|item| item < point),
            },
            None => self.end(),
        }
    }

    /// The position of the first item `> point`.
    fn upper_bound(&self, point: &SyncItem) -> Cursor {
        let at = self.lower_bound(point);
        match self.get(at) {
            Some(item) if item == point => self.advance(at, 1),
            _ => at,
        }
    }

    /// The item at `at`, none at the end.
    pub(crate) fn get(&self, at: Cursor) -> Option<&SyncItem> {
        self.chunks.get(at.chunk)?.items.get(at.offset)
    }

    /// The item just before `at`, none at the start.
    pub(crate) fn before(&self, at: Cursor) -> Option<&SyncItem> {
        if at.offset > 0 {
            return self.chunks[at.chunk].items.get(at.offset - 1);
        }
        let previous = self.chunks.get(at.chunk.checked_sub(1)?)?;
        Some(previous.last())
    }

    /// The position `n` items after `at`, or the end.
    pub(crate) fn advance(&self, at: Cursor, n: usize) -> Cursor {
        let mut cursor = at;
        let mut left = n;
        while let Some(chunk) = self.chunks.get(cursor.chunk) {
            let room = chunk.items.len() - cursor.offset;
            if left < room {
                cursor.offset += left;
                return cursor;
            }
            left -= room;
            cursor = Cursor {
                chunk: cursor.chunk + 1,
                offset: 0,
            };
        }
        cursor
    }

    /// Items in `from..to`.
    pub(crate) fn count(&self, from: Cursor, to: Cursor) -> usize {
        if from.chunk == to.chunk {
            return to.offset - from.offset;
        }
        let middle: usize = self.chunks[from.chunk + 1..to.chunk]
            .iter()
            .map(|chunk| chunk.items.len())
            .sum();
        self.chunks[from.chunk].items.len() - from.offset + middle + to.offset
    }

    /// The id sum and the number of items in `from..to`.
    pub(crate) fn summary(&self, from: Cursor, to: Cursor) -> (Accumulator, u64) {
        if from.chunk == to.chunk {
            let Some(chunk) = self.chunks.get(from.chunk) else {
                return (Accumulator::default(), 0);
            };
            let sum = chunk.partial_sum(from.offset, to.offset);
            return (sum, (to.offset - from.offset) as u64);
        }
        let first = &self.chunks[from.chunk];
        let mut sum = first.partial_sum(from.offset, first.items.len());
        let mut count = first.items.len() - from.offset;
        for chunk in &self.chunks[from.chunk + 1..to.chunk] {
            sum.merge(&chunk.sum);
            count += chunk.items.len();
        }
        if let Some(last) = self.chunks.get(to.chunk) {
            sum.merge(&last.partial_sum(0, to.offset));
            count += to.offset;
        }
        (sum, count as u64)
    }

    /// The items in `from..to`, in order.
    pub(crate) fn items_between(
        &self,
        from: Cursor,
        to: Cursor,
    ) -> impl Iterator<Item = &SyncItem> + '_ {
        let count = self.count(from, to);
        self.chunks[from.chunk.min(self.chunks.len())..]
            .iter()
            .flat_map(|chunk| chunk.items.iter())
            .skip(from.offset)
            .take(count)
    }
}

impl FromIterator<SyncItem> for SyncSet {
    /// Builds a set from items in any order; duplicates are kept once.
    fn from_iter<I: IntoIterator<Item = SyncItem>>(iter: I) -> SyncSet {
        let mut items: Vec<SyncItem> = iter.into_iter().collect();
        items.sort_unstable();
        items.dedup();
        let chunks: Vec<Chunk> = items.chunks(CHUNK_FILL).map(Chunk::new).collect();
        SyncSet {
            chunks,
            len: items.len(),
        }
    }
}

impl Extend<SyncItem> for SyncSet {
    fn extend<I: IntoIterator<Item = SyncItem>>(&mut self, iter: I) {
        for item in iter {
            self.insert(item);
        }
    }
}
