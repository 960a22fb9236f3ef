//! Out-of-order storage of one byte stream, and the window of bytes already taken that a
//! later copy is checked against. Bookkeeping only: [`super::stream::Stream`] decides
//! what to buffer, when a hole becomes a gap and what to deliver.

use super::flow_table::{heap_block, MALLOC_OVERHEAD};
use super::segment::SegPos;
use super::seq::Seq;

/// Caps on what one stream buffers out of order; over either, the hole in front is
/// declared a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OooLimits {
    /// Segments buffered.
    pub max_segments: usize,
    /// Payload bytes buffered.
    pub max_bytes: usize,
}

/// A segment that arrived ahead of a hole.
pub(crate) struct Ooo {
    /// Sequence number of its first byte.
    pub(crate) seq: Seq,
    /// The packet that carried it.
    pub(crate) pos: SegPos,
    /// Its payload, an exact-size copy.
    pub(crate) data: Vec<u8>,
}

/// Segments waiting for a hole to fill, in stream order (by distance from the next
/// expected byte), with their total size.
#[derive(Default)]
pub struct OutOfOrder {
    segs: Vec<Ooo>,
    bytes: usize,
}

impl OutOfOrder {
    /// The first (lowest) buffered segment.
    pub(crate) fn first(&self) -> Option<&Ooo> {
        self.segs.first()
    }

    /// Every buffered segment, in stream order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Ooo> {
        self.segs.iter()
    }

    /// Nothing buffered.
    pub fn is_empty(&self) -> bool {
        self.segs.is_empty()
    }

    /// Payload bytes buffered.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Removes and returns the first segment.
    pub(crate) fn pop_first(&mut self) -> Option<Ooo> {
        if self.segs.is_empty() {
            return None;
        }
        let seg = self.segs.remove(0);
        self.bytes -= seg.data.len();
        Some(seg)
    }

    /// Drops everything; returns the bytes dropped.
    pub(crate) fn clear(&mut self) -> usize {
        let n = self.bytes;
        self.segs.clear();
        self.bytes = 0;
        n
    }

    /// A buffered segment with the same start and at least `len` bytes (a duplicate of
    /// one being offered).
    pub(crate) fn covering(&self, seq: Seq, len: usize) -> Option<&Ooo> {
        self.segs
            .iter()
            .find(|o| o.seq == seq && o.data.len() >= len)
    }

    /// Would buffering `len` more bytes go over a cap?
    pub(crate) fn is_full(&self, limits: &OooLimits, len: usize) -> bool {
        self.segs.len() >= limits.max_segments || self.bytes + len > limits.max_bytes
    }

    /// Buffers a copy of `data` at `seq`, keeping stream order relative to `next`.
    pub(crate) fn insert(&mut self, next: Seq, seq: Seq, pos: SegPos, data: &[u8]) {
        let k = seq.ahead_of(next);
        let at = self
            .segs
            .iter()
            .position(|o| o.seq.ahead_of(next) > k)
            .unwrap_or(self.segs.len());
        self.bytes += data.len();
        self.segs.insert(
            at,
            Ooo {
                seq,
                pos,
                data: data.to_vec(),
            },
        );
    }

    /// Capture time of the earliest packet buffered.
    pub fn oldest_ts(&self) -> Option<i64> {
        self.segs.iter().map(|o| o.pos.ts_ns).min()
    }

    /// Heap bytes: the list and the payloads (exact-size copies, so `bytes` is their
    /// capacity), each payload one heap block.
    pub fn held(&self) -> usize {
        heap_block(self.segs.capacity() * size_of::<Ooo>())
            + self.bytes
            + self.segs.len() * MALLOC_OVERHEAD
    }
}

/// Stream bytes kept per flow to compare a later copy of them against.
pub const RECENT_BYTES: usize = 2048;

/// The last [`RECENT_BYTES`] bytes taken into a flow's stream (ending at the next
/// expected byte), so a retransmission or overlapping segment can be checked against the
/// copy taken. First copy wins, as in Linux: bytes already in the stream are never
/// replaced, and a segment buffered out of order keeps its bytes against a later in-order
/// copy; a disagreeing copy is flagged and counted. Grows to its size, then wraps.
#[derive(Default)]
pub struct Recent {
    data: Vec<u8>,
    /// Next write position; equals `data.len()` until the buffer is full.
    head: usize,
}

impl Recent {
    /// Appends bytes just taken into the stream.
    pub fn push(&mut self, b: &[u8]) {
        let mut b = &b[b.len().saturating_sub(RECENT_BYTES)..];
        if self.data.len() < RECENT_BYTES {
            let take = (RECENT_BYTES - self.data.len()).min(b.len());
            if self.data.capacity() < self.data.len() + take {
                // Exact growth, doubling, never past the window.
                let want = (self.data.len() + take)
                    .max(2 * self.data.capacity())
                    .min(RECENT_BYTES);
                self.data.reserve_exact(want - self.data.len());
            }
            self.data.extend_from_slice(&b[..take]);
            self.head = self.data.len() % RECENT_BYTES;
            b = &b[take..];
        }
        if b.is_empty() {
            return;
        }
        // Full: overwrite the oldest bytes, in two copies around the wrap.
        let first = (RECENT_BYTES - self.head).min(b.len());
        let (now, wrapped) = b.split_at(first);
        self.data[self.head..self.head + first].copy_from_slice(now);
        self.data[..wrapped.len()].copy_from_slice(wrapped);
        self.head = (self.head + b.len()) % RECENT_BYTES;
    }

    /// The byte `back` positions before the end (1 = the last byte), if kept.
    pub fn back(&self, back: usize) -> Option<u8> {
        let n = self.data.len();
        if back == 0 || back > n {
            return None;
        }
        self.data.get((self.head + n - back) % n).copied()
    }

    /// Forgets the kept bytes (the stream no longer ends where they end).
    pub fn clear(&mut self) {
        self.data.clear();
        self.head = 0;
    }

    /// Capacity of the window's allocation.
    pub fn held(&self) -> usize {
        self.data.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_window_wraps_and_answers_by_distance() {
        let mut r = Recent::default();
        assert_eq!(r.back(1), None);
        r.push(b"abc");
        assert_eq!(
            (r.back(1), r.back(3), r.back(4)),
            (Some(b'c'), Some(b'a'), None)
        );
        // 3 + 2047 + 5 bytes: the window holds the last 2048, ending "vwxyz".
        let fill: Vec<u8> = (0..2047).map(|i| b'0' + (i % 10) as u8).collect();
        r.push(&fill);
        r.push(b"vwxyz");
        assert_eq!(r.back(1), Some(b'z'));
        assert_eq!(r.back(5), Some(b'v'));
        // The last 2048 bytes are fill[4..] (2043 bytes), then "vwxyz".
        assert_eq!(r.back(2048), Some(fill[4]));
        assert_eq!(r.back(2049), None);
        assert_eq!(r.held(), RECENT_BYTES);
        // One push longer than the window keeps its tail.
        let big: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        r.push(&big);
        assert_eq!(r.back(1), Some((4999 % 251) as u8));
        assert_eq!(r.back(2048), Some(((5000 - 2048) % 251) as u8));
    }
}
