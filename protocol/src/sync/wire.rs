//! The byte layout of a reconciliation message: a version byte, then ranges, each an upper
//! bound and a mode. Decoding is strict and allocates no more than the input justifies.

use crate::ids::{RecordId, Timestamp};

use super::item::{Fingerprint, SyncItem, FINGERPRINT_LEN};
use super::SyncError;

/// The first byte of every reconciliation message.
pub const SYNC_VERSION: u8 = 0x01;

/// Longest varint: 10 groups of 7 bits hold 2^64, the largest timestamp code.
const MAX_VARINT_BYTES: usize = 10;

/// A range bound: the point `(created, id)` where the id is a prefix padded with zeros, or
/// infinity, above every item. The derived order puts every `At` below `Infinity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Point {
    /// A point of the item order.
    At(SyncItem),
    /// Above every item.
    Infinity,
}

impl Point {
    /// The lowest point, `(0, 00…00)`: the implicit lower bound of a message's first range.
    pub const MIN: Point = Point::At(SyncItem {
        created: Timestamp(0),
        id: RecordId([0; 32]),
    });

    /// The shortest point `p` with `below < p <= above` (two items of the set, in order).
    pub fn between(below: &SyncItem, above: &SyncItem) -> Point {
        let mut id = [0u8; 32];
        if below.created == above.created {
            let shared = below
                .id
                .0
                .iter()
                .zip(above.id.0.iter())
                .take_while(|(a, b)| a == b)
                .count();
            id[..=shared].copy_from_slice(&above.id.0[..=shared]);
        }
        Point::At(SyncItem::new(above.created, RecordId(id)))
    }
}

/// What a range asks or tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// 0: nothing to do in this range.
    Skip,
    /// 1: the sender's fingerprint of its items in the range.
    Fingerprint(Fingerprint),
    /// 2: all the sender's ids in the range, in item order.
    IdList(Vec<RecordId>),
    /// 3: the responder's answer to an id list: its ids the initiator's list lacks, and a
    /// bitmap whose bit i (byte i / 8, value 1 << (i % 8)) says it holds the list's i-th id.
    IdDiff {
        /// Ids the responder holds in the range that the initiator's list does not have.
        ids: Vec<RecordId>,
        /// One bit per id of the initiator's list.
        held: Vec<u8>,
    },
}

/// One range of a message; its lower bound is the previous range's upper bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Range {
    pub upper: Point,
    pub mode: Mode,
}

/// Appends ranges to a message, encoding bounds relative to the previous one.
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    pub bytes: Vec<u8>,
    pub last: Point,
    last_created: u64,
}

/// Where a [`Writer`] stood, to undo what followed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mark {
    len: usize,
    last: Point,
    last_created: u64,
}

impl Writer {
    /// The current state, for [`Writer::rollback`].
    pub fn mark(&self) -> Mark {
        Mark {
            len: self.bytes.len(),
            last: self.last,
            last_created: self.last_created,
        }
    }

    /// Forgets every range written since `mark`.
    pub fn rollback(&mut self, mark: Mark) {
        self.bytes.truncate(mark.len);
        self.last = mark.last;
        self.last_created = mark.last_created;
    }

    /// A message holding only the version byte.
    pub fn new() -> Writer {
        Writer {
            bytes: vec![SYNC_VERSION],
            last: Point::MIN,
            last_created: 0,
        }
    }

    /// Writes one range. `range.upper` must be above the previous bound.
    pub fn push(&mut self, range: &Range) {
        self.bound(range.upper);
        match &range.mode {
            Mode::Skip => self.varint(0),
            Mode::Fingerprint(fingerprint) => {
                self.varint(1);
                self.bytes.extend_from_slice(fingerprint);
            }
            Mode::IdList(ids) => {
                self.varint(2);
                self.ids(ids);
            }
            Mode::IdDiff { ids, held } => {
                self.varint(3);
                self.ids(ids);
                self.varint(held.len() as u128);
                self.bytes.extend_from_slice(held);
            }
        }
    }

    fn bound(&mut self, point: Point) {
        self.last = point;
        let Point::At(item) = point else {
            self.bytes.extend_from_slice(&[0, 0]);
            return;
        };
        let delta = item.created.0 - self.last_created;
        self.last_created = item.created.0;
        self.varint(delta as u128 + 1);
        let prefix_len = 32 - item.id.0.iter().rev().take_while(|b| **b == 0).count();
        self.varint(prefix_len as u128);
        self.bytes.extend_from_slice(&item.id.0[..prefix_len]);
    }

    fn ids(&mut self, ids: &[RecordId]) {
        self.varint(ids.len() as u128);
        ids.iter()
            .for_each(|id| self.bytes.extend_from_slice(&id.0));
    }

    /// Base 128, most significant group first, high bit set on all bytes but the last.
    fn varint(&mut self, value: u128) {
        let mut groups = [0u8; MAX_VARINT_BYTES + 9];
        let mut n = value;
        let mut len = 0;
        loop {
            groups[len] = (n & 0x7f) as u8;
            len += 1;
            n >>= 7;
            if n == 0 {
                break;
            }
        }
        for i in (0..len).rev() {
            let more = if i > 0 { 0x80 } else { 0 };
            self.bytes.push(groups[i] | more);
        }
    }
}

/// Decodes a whole message into its ranges, checking the order of bounds.
pub(crate) fn decode(message: &[u8]) -> Result<Vec<Range>, SyncError> {
    let (&version, rest) = message.split_first().ok_or(SyncError::Empty)?;
    if version != SYNC_VERSION {
        return Err(SyncError::UnsupportedVersion(version));
    }
    let mut reader = Reader {
        bytes: rest,
        last_created: 0,
    };
    let mut last = Point::MIN;
    let mut ranges = Vec::new();
    while !reader.bytes.is_empty() {
        if last == Point::Infinity {
            return Err(SyncError::OutOfOrder);
        }
        let upper = reader.bound()?;
        if upper <= last {
            return Err(SyncError::OutOfOrder);
        }
        last = upper;
        let mode = reader.mode()?;
        ranges.push(Range { upper, mode });
    }
    Ok(ranges)
}

struct Reader<'a> {
    bytes: &'a [u8],
    last_created: u64,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], SyncError> {
        if n > self.bytes.len() {
            return Err(SyncError::Truncated(what));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn varint(&mut self, what: &'static str) -> Result<u128, SyncError> {
        let mut value: u128 = 0;
        for index in 0..MAX_VARINT_BYTES {
            let byte = self.take(1, what)?[0];
            if index == 0 && byte == 0x80 {
                return Err(SyncError::Malformed("varint with a leading zero group"));
            }
            value = (value << 7) | u128::from(byte & 0x7f);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(SyncError::Malformed("varint longer than 10 bytes"))
    }

    /// A count of items of `size` bytes each, no more than the remaining input can hold.
    fn count(&mut self, size: usize, what: &'static str) -> Result<usize, SyncError> {
        let n = self.varint(what)?;
        if n > (self.bytes.len() / size) as u128 {
            return Err(SyncError::Truncated(what));
        }
        Ok(n as usize)
    }

    fn bound(&mut self) -> Result<Point, SyncError> {
        let code = self.varint("bound timestamp")?;
        let prefix_len = self.varint("bound prefix length")?;
        if code == 0 {
            return match prefix_len {
                0 => Ok(Point::Infinity),
                _ => Err(SyncError::Malformed("infinite bound with an id prefix")),
            };
        }
        let created = u128::from(self.last_created) + code - 1;
        let created = u64::try_from(created)
            .map_err(|_| SyncError::Malformed("bound timestamp above 2^64 - 1"))?;
        self.last_created = created;
        if prefix_len > 32 {
            return Err(SyncError::Malformed("bound prefix longer than 32 bytes"));
        }
        let prefix = self.take(prefix_len as usize, "bound prefix")?;
        if prefix.last() == Some(&0) {
            return Err(SyncError::Malformed("bound prefix ends with a zero byte"));
        }
        let mut id = [0u8; 32];
        id[..prefix.len()].copy_from_slice(prefix);
        Ok(Point::At(SyncItem::new(Timestamp(created), RecordId(id))))
    }

    fn mode(&mut self) -> Result<Mode, SyncError> {
        match self.varint("mode")? {
            0 => Ok(Mode::Skip),
            1 => {
                let mut fingerprint = [0u8; FINGERPRINT_LEN];
                fingerprint.copy_from_slice(self.take(FINGERPRINT_LEN, "fingerprint")?);
                Ok(Mode::Fingerprint(fingerprint))
            }
            2 => Ok(Mode::IdList(self.ids()?)),
            3 => {
                let ids = self.ids()?;
                let len = self.count(1, "bitmap")?;
                let held = self.take(len, "bitmap")?.to_vec();
                Ok(Mode::IdDiff { ids, held })
            }
            other => Err(SyncError::UnknownMode(other.min(u64::MAX as u128) as u64)),
        }
    }

    fn ids(&mut self) -> Result<Vec<RecordId>, SyncError> {
        let n = self.count(32, "id list")?;
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            let mut id = [0u8; 32];
            id.copy_from_slice(self.take(32, "id list")?);
            ids.push(RecordId(id));
        }
        Ok(ids)
    }
}
