//! Sync items, the 256-bit sum that accumulates their ids, and range fingerprints.

use crate::ids::{sha256, RecordId, Timestamp};

/// Domain tag hashed in front of a range's id sum and count to make its fingerprint.
pub const FINGERPRINT_TAG: &[u8] = b"maillon/sync-fingerprint/v1\0";

/// Bytes kept of the SHA-256 that makes a fingerprint.
pub const FINGERPRINT_LEN: usize = 16;

/// One record as set reconciliation sees it. Items are ordered by `created`, then by `id`
/// (the field order, so the derived `Ord` is the protocol order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SyncItem {
    /// The record's creation time.
    pub created: Timestamp,
    /// The record's id.
    pub id: RecordId,
}

impl SyncItem {
    /// The item for a record created at `created` with id `id`.
    pub fn new(created: Timestamp, id: RecordId) -> SyncItem {
        SyncItem { created, id }
    }
}

/// The fingerprint of a range: the first [`FINGERPRINT_LEN`] bytes of
/// SHA-256(`FINGERPRINT_TAG` ‖ sum ‖ count), see [`Accumulator::fingerprint`].
pub type Fingerprint = [u8; FINGERPRINT_LEN];

/// The sum of ids read as 256-bit little-endian integers, modulo 2^256, in four 64-bit
/// little-endian limbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Accumulator([u64; 4]);

impl Accumulator {
    /// Adds an id to the sum.
    pub fn add(&mut self, id: &RecordId) {
        self.add_limbs(&limbs(id));
    }

    /// Removes an id from the sum.
    pub fn sub(&mut self, id: &RecordId) {
        let mut negated = limbs(id).map(|limb| !limb);
        // Two's complement: !x + 1.
        let mut carry = true;
        for limb in &mut negated {
            let (sum, overflow) = limb.overflowing_add(carry as u64);
            *limb = sum;
            carry = overflow;
        }
        self.add_limbs(&negated);
    }

    /// Adds another sum to this one.
    pub fn merge(&mut self, other: &Accumulator) {
        self.add_limbs(&other.0);
    }

    fn add_limbs(&mut self, other: &[u64; 4]) {
        let mut carry = false;
        for (limb, add) in self.0.iter_mut().zip(other) {
            let (sum, first) = limb.overflowing_add(*add);
            let (sum, second) = sum.overflowing_add(carry as u64);
            *limb = sum;
            carry = first || second;
        }
    }

    /// The sum as 32 little-endian bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, limb) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&limb.to_le_bytes());
        }
        out
    }

    /// The fingerprint of a range with this sum and `count` items:
    /// SHA-256(`FINGERPRINT_TAG` ‖ sum as 32 bytes LE ‖ count as u64 LE), first 16 bytes.
    pub fn fingerprint(&self, count: u64) -> Fingerprint {
        let digest = sha256(&[FINGERPRINT_TAG, &self.to_bytes(), &count.to_le_bytes()]);
        let mut out = [0u8; FINGERPRINT_LEN];
        out.copy_from_slice(&digest[..FINGERPRINT_LEN]);
        out
    }
}

fn limbs(id: &RecordId) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (limb, chunk) in out.iter_mut().zip(id.0.chunks_exact(8)) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        *limb = u64::from_le_bytes(bytes);
    }
    out
}

/// The fingerprint of a list of items (a reference implementation, used in tests).
pub fn fingerprint_of<'a>(items: impl IntoIterator<Item = &'a SyncItem>) -> Fingerprint {
    let mut sum = Accumulator::default();
    let mut count = 0u64;
    for item in items {
        sum.add(&item.id);
        count += 1;
    }
    sum.fingerprint(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_wraps_modulo_2_256_and_sub_undoes_add() {
        let mut sum = Accumulator::default();
        let max = RecordId([0xff; 32]);
        let one = {
            let mut bytes = [0u8; 32];
            bytes[0] = 1;
            RecordId(bytes)
        };
        sum.add(&max);
        sum.add(&one);
        assert_eq!(sum.to_bytes(), [0u8; 32]);
        sum.add(&RecordId([7; 32]));
        sum.sub(&RecordId([7; 32]));
        assert_eq!(sum, Accumulator::default());
    }

    #[test]
    fn carries_propagate_across_limbs() {
        let mut low = [0u8; 32];
        low[..8].copy_from_slice(&[0xff; 8]);
        let mut sum = Accumulator::default();
        sum.add(&RecordId(low));
        sum.add(&RecordId(low));
        let bytes = sum.to_bytes();
        assert_eq!(bytes[0], 0xfe);
        assert_eq!(bytes[8], 1);
    }
}
