//! The reconciliation rounds: the stateless responder, the initiator's [`Reconciler`], and
//! the range processing both share (split into buckets, id lists, the frame limit).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::ids::RecordId;

use super::item::SyncItem;
use super::set::{Cursor, SyncSet};
use super::wire::{self, Mode, Point, Range, Writer};
use super::{SyncConfig, SyncError};

/// Bytes kept free in every message for the range that defers the rest: a skip up to the
/// current lower bound (at most 44 bytes) and an infinite bound with a fingerprint (19).
const RESERVE: usize = 64;

/// Bytes of an id-diff range besides its ids and bitmap: the Skip range that may precede
/// it (45), its bound (44), mode (1) and two varints (10 each).
const ID_DIFF_OVERHEAD: usize = 45 + 44 + 1 + 10 + 10;

/// Which side of the exchange is processing a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Initiator,
    Responder,
}

/// An id list the initiator sent, kept to read the responder's bitmap.
#[derive(Clone, Debug)]
struct SentList {
    upper: Point,
    items: Vec<SyncItem>,
}

/// What one round learns and answers.
struct Round<'a> {
    set: &'a SyncSet,
    config: &'a SyncConfig,
    role: Role,
    out: Writer,
    work: bool,
    sent: BTreeMap<Point, SentList>,
    have: Vec<RecordId>,
    need: Vec<RecordId>,
}

/// What the initiator learned from one reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// The next message to send, or none when reconciliation is finished.
    pub next: Option<Vec<u8>>,
    /// Ids this side holds that the peer lacks, learned in this round.
    pub have: Vec<RecordId>,
    /// Ids the peer holds that this side lacks, learned in this round.
    pub need: Vec<RecordId>,
}

/// The initiator's side of a reconciliation: the few facts it keeps between rounds.
#[derive(Clone, Debug)]
pub struct Reconciler {
    config: SyncConfig,
    rounds: u32,
    sent: BTreeMap<Point, SentList>,
    finished: bool,
    /// Ids already reported: a deferred range can cover ranges settled before.
    reported: HashSet<RecordId>,
}

impl Reconciler {
    /// Starts a reconciliation of `set`: the first message is one range, everything, with
    /// the fingerprint of the whole set. The set must not change until the end.
    pub fn initiate(set: &SyncSet, config: SyncConfig) -> (Reconciler, Vec<u8>) {
        let (sum, count) = set.summary(set.start(), set.end());
        let mut out = Writer::new();
        out.push(&Range {
            upper: Point::Infinity,
            mode: Mode::Fingerprint(sum.fingerprint(count)),
        });
        let reconciler = Reconciler {
            config: config.effective(),
            rounds: 0,
            sent: BTreeMap::new(),
            finished: false,
            reported: HashSet::new(),
        };
        (reconciler, out.bytes)
    }

    /// Reads the peer's reply: what was learned, and the next message if any remains.
    pub fn receive(&mut self, set: &SyncSet, reply: &[u8]) -> Result<Progress, SyncError> {
        if self.finished {
            return Err(SyncError::Finished);
        }
        self.rounds += 1;
        if self.rounds > self.config.max_rounds {
            return Err(SyncError::TooManyRounds(self.config.max_rounds));
        }
        let sent = std::mem::take(&mut self.sent);
        let round = Round::run(set, &self.config, Role::Initiator, sent, reply)?;
        self.sent = round.sent;
        self.finished = !round.work;
        let next = round.work.then_some(round.out.bytes);
        let (mut have, mut need) = (round.have, round.need);
        have.retain(|id| self.reported.insert(*id));
        need.retain(|id| self.reported.insert(*id));
        Ok(Progress { next, have, need })
    }

    /// Whether the last reply ended the reconciliation.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Replies received so far.
    pub fn rounds(&self) -> u32 {
        self.rounds
    }
}

/// The responder's side: answers one message about `set`. It keeps no state.
pub fn respond(set: &SyncSet, message: &[u8], config: &SyncConfig) -> Result<Vec<u8>, SyncError> {
    let config = config.effective();
    let round = Round::run(set, &config, Role::Responder, BTreeMap::new(), message)?;
    Ok(round.out.bytes)
}

impl<'a> Round<'a> {
    fn run(
        set: &'a SyncSet,
        config: &'a SyncConfig,
        role: Role,
        previous: BTreeMap<Point, SentList>,
        message: &[u8],
    ) -> Result<Round<'a>, SyncError> {
        if message.len() > super::MAX_MESSAGE_BYTES {
            return Err(SyncError::Oversized {
                len: message.len(),
                max: super::MAX_MESSAGE_BYTES,
            });
        }
        let ranges = wire::decode(message)?;
        let mut round = Round {
            set,
            config,
            role,
            out: Writer::new(),
            work: false,
            sent: BTreeMap::new(),
            have: Vec::new(),
            need: Vec::new(),
        };
        let mut previous = previous;
        let mut lower = Point::MIN;
        for range in ranges {
            if !round.process(lower, range.upper, range.mode, &mut previous)? {
                break;
            }
            lower = range.upper;
        }
        Ok(round)
    }

    /// Handles one incoming range; false once the frame is full and the rest is deferred.
    fn process(
        &mut self,
        lower: Point,
        upper: Point,
        mode: Mode,
        previous: &mut BTreeMap<Point, SentList>,
    ) -> Result<bool, SyncError> {
        match (mode, self.role) {
            (Mode::Skip, _) => Ok(true),
            (Mode::Fingerprint(theirs), _) => {
                let (from, to) = (self.cursor(lower), self.cursor(upper));
                let (sum, count) = self.set.summary(from, to);
                if sum.fingerprint(count) == theirs {
                    return Ok(true);
                }
                Ok(self.split_or_list(lower, upper, from, to))
            }
            (Mode::IdList(ids), Role::Initiator) => {
                self.compare_lists(lower, upper, &ids);
                Ok(true)
            }
            (Mode::IdList(ids), Role::Responder) => Ok(self.answer_list(lower, upper, &ids)),
            (Mode::IdDiff { ids, held }, Role::Initiator) => {
                let sent = previous
                    .remove(&lower)
                    .filter(|sent| upper <= sent.upper)
                    .ok_or(SyncError::UnexpectedMode(
                        "id diff without a matching id list",
                    ))?;
                self.apply_diff(upper, &sent.items, ids, &held)?;
                Ok(true)
            }
            (Mode::IdDiff { .. }, Role::Responder) => {
                Err(SyncError::UnexpectedMode("id diff sent to the responder"))
            }
        }
    }

    fn cursor(&self, point: Point) -> Cursor {
        match point {
            Point::At(item) => self.set.lower_bound(&item),
            Point::Infinity => self.set.end(),
        }
    }

    /// Answers a range whose fingerprints differ: our ids when few, else bucket fingerprints.
    fn split_or_list(&mut self, lower: Point, upper: Point, from: Cursor, to: Cursor) -> bool {
        let count = self.set.count(from, to);
        if count <= self.config.id_list_threshold {
            let items: Vec<SyncItem> = self.set.items_between(from, to).copied().collect();
            let ids = items.iter().map(|item| item.id).collect();
            let range = Range {
                upper,
                mode: Mode::IdList(ids),
            };
            if !self.try_push(lower, &[range]) {
                return self.defer(lower);
            }
            if self.role == Role::Initiator {
                self.sent.insert(lower, SentList { upper, items });
            }
            return true;
        }
        let buckets = self.buckets(upper, from, count);
        self.try_push(lower, &buckets) || self.defer(lower)
    }

    /// Splits `count` items from `from` into equal buckets with their fingerprints.
    fn buckets(&self, upper: Point, from: Cursor, count: usize) -> Vec<Range> {
        let parts = self.config.branching.min(count);
        let mut ranges = Vec::with_capacity(parts);
        let mut start = from;
        for part in 1..=parts {
            let size = part * count / parts - (part - 1) * count / parts;
            let end = self.set.advance(start, size);
            let (sum, n) = self.set.summary(start, end);
            let bound = match (part == parts, self.set.before(end), self.set.get(end)) {
                (false, Some(below), Some(above)) => Point::between(below, above),
                _ => upper,
            };
            ranges.push(Range {
                upper: bound,
                mode: Mode::Fingerprint(sum.fingerprint(n)),
            });
            start = end;
        }
        ranges
    }

    /// The initiator got the responder's ids for a range: compares them with its own.
    fn compare_lists(&mut self, lower: Point, upper: Point, theirs: &[RecordId]) {
        let (from, to) = (self.cursor(lower), self.cursor(upper));
        let theirs_set: HashSet<&RecordId> = theirs.iter().collect();
        let mut ours = HashSet::new();
        for item in self.set.items_between(from, to) {
            ours.insert(item.id);
            if !theirs_set.contains(&item.id) {
                self.have.push(item.id);
            }
        }
        for id in theirs {
            if ours.insert(*id) {
                self.need.push(*id);
            }
        }
    }

    /// The responder got the initiator's ids for a range: answers with the ids it lacks and
    /// a bitmap of those it holds, cut short (and the rest deferred) if the frame is full.
    fn answer_list(&mut self, lower: Point, upper: Point, theirs: &[RecordId]) -> bool {
        let index: HashMap<&RecordId, usize> =
            theirs.iter().enumerate().map(|(i, id)| (id, i)).collect();
        let bitmap_len = theirs.len().div_ceil(8);
        let room = self.room().saturating_sub(ID_DIFF_OVERHEAD + bitmap_len) / 32;
        let mut held = vec![0u8; bitmap_len];
        let mut lacking = Vec::new();
        let mut end = Some(upper);
        let (from, to) = (self.cursor(lower), self.cursor(upper));
        let mut below: Option<&SyncItem> = None;
        for item in self.set.items_between(from, to) {
            match index.get(&item.id) {
                Some(&i) => held[i / 8] |= 1 << (i % 8),
                None if lacking.len() == room => {
                    // The frame is full: stop just below this item (if anything fits).
                    end = below.filter(|_| room > 0).map(|b| Point::between(b, item));
                    break;
                }
                None => lacking.push(item.id),
            }
            below = Some(item);
        }
        let Some(end) = end else {
            return self.defer(lower);
        };
        let range = Range {
            upper: end,
            mode: Mode::IdDiff { ids: lacking, held },
        };
        if !self.try_push(lower, &[range]) {
            return self.defer(lower);
        }
        end == upper || self.defer(end)
    }

    /// The initiator reads the responder's answer to one of its id lists.
    fn apply_diff(
        &mut self,
        upper: Point,
        sent: &[SyncItem],
        ids: Vec<RecordId>,
        held: &[u8],
    ) -> Result<(), SyncError> {
        if held.len() != sent.len().div_ceil(8) {
            return Err(SyncError::Malformed("id diff bitmap length"));
        }
        let padding = sent.len() % 8;
        if padding != 0 && held[held.len() - 1] >> padding != 0 {
            return Err(SyncError::Malformed("id diff bitmap padding"));
        }
        for (i, item) in sent.iter().enumerate() {
            let covered = Point::At(*item) < upper;
            if covered && held[i / 8] & (1 << (i % 8)) == 0 {
                self.have.push(item.id);
            }
        }
        self.need.extend(ids);
        Ok(())
    }

    /// Bytes still free in this message for ranges, the reserve kept aside.
    fn room(&self) -> usize {
        self.config
            .frame_limit
            .saturating_sub(self.out.bytes.len() + RESERVE)
    }

    /// Writes `ranges` (after a skip up to `lower` if needed), unless they overflow the frame.
    fn try_push(&mut self, lower: Point, ranges: &[Range]) -> bool {
        let mark = self.out.mark();
        self.skip_to(lower);
        ranges.iter().for_each(|range| self.out.push(range));
        if self.out.bytes.len() + RESERVE > self.config.frame_limit {
            self.out.rollback(mark);
            return false;
        }
        self.work = true;
        true
    }

    fn skip_to(&mut self, lower: Point) {
        if self.out.last < lower {
            self.out.push(&Range {
                upper: lower,
                mode: Mode::Skip,
            });
        }
    }

    /// Ends the message: one range from `lower` to infinity with our fingerprint, so the
    /// peer takes up the rest in the next round. Always returns false (stop processing).
    fn defer(&mut self, lower: Point) -> bool {
        let from = self.cursor(lower);
        let (sum, count) = self.set.summary(from, self.set.end());
        self.skip_to(lower);
        self.out.push(&Range {
            upper: Point::Infinity,
            mode: Mode::Fingerprint(sum.fingerprint(count)),
        });
        self.work = true;
        false
    }
}
