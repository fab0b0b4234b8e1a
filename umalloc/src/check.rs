//! A full consistency walk of the heap, for tests and for hunting corruption.

use crate::chunk::{Chunk, FENCE, FLAGS, INUSE, MIN_ALIGN, MIN_CHUNK, PREV_INUSE, QUICK, WORD};
use crate::heap::Heap;
use crate::sbrk::Sbrk;

/// What a walk over every chunk found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapStats {
    /// Blocks the user holds.
    pub in_use: usize,
    /// Bytes in those blocks' chunks (headers included).
    pub in_use_bytes: usize,
    /// Free chunks in the free lists.
    pub free: usize,
    /// Bytes in them.
    pub free_bytes: usize,
    /// Freed chunks parked whole (small ones in the quick lists, large ones with the recently
    /// freed), not yet merged into the free lists.
    pub parked: usize,
    /// Free bytes between the last chunk and the break.
    pub wilderness: usize,
    /// Bytes from where the heap started to the break.
    pub heap_bytes: usize,
}

/// A broken invariant found by [`Heap::check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corruption {
    /// Address of the chunk where it was found.
    pub at: usize,
    /// Which invariant.
    pub what: &'static str,
}

impl<S: Sbrk> Heap<S> {
    /// Walks every chunk and checks the heap's invariants: sizes and alignment, boundary tags,
    /// no two free chunks adjacent, every free chunk in its list and nothing else there, counts
    /// of parked and held blocks. Takes time linear in the heap (and in list lengths).
    pub fn check(&self) -> Result<HeapStats, Corruption> {
        let mut stats = HeapStats {
            heap_bytes: self.heap_bytes(),
            ..HeapStats::default()
        };
        if self.base.is_null() {
            return Ok(stats);
        }
        let fail = |c: Chunk, what| {
            Err(Corruption {
                at: c.0.addr(),
                what,
            })
        };
        let mut c = self.base;
        let mut prev_free = false;
        while c != self.top {
            if c.0.addr() > self.top.0.addr() {
                return fail(c, "chunk runs past the wilderness");
            }
            // SAFETY: `c` is below `top`: either the base or reached by adding sizes that
            // stayed below `top` (checked above and below), so a header lives here.
            let head = unsafe { c.head() };
            let size = head & !FLAGS;
            if !size.is_multiple_of(MIN_ALIGN) || size < MIN_ALIGN {
                return fail(c, "size not a multiple of 16");
            }
            if head & FENCE == 0 && size < MIN_CHUNK {
                return fail(c, "chunk smaller than the minimum");
            }
            if size > c.distance_to(self.top) {
                return fail(c, "chunk runs past the wilderness");
            }
            if (head & PREV_INUSE == 0) != prev_free {
                return fail(c, "PREV_INUSE disagrees with the chunk below");
            }
            if head & INUSE == 0 {
                if prev_free {
                    return fail(c, "two free chunks side by side");
                }
                // SAFETY: a free chunk's footer is its last word, below `top`.
                if unsafe { c.plus(size - WORD).head() } != size {
                    return fail(c, "footer disagrees with header");
                }
                if !self.bins.contains(c, size) {
                    return fail(c, "free chunk missing from its list");
                }
                stats.free += 1;
                stats.free_bytes += size;
            } else if head & QUICK != 0 {
                stats.parked += 1;
            } else if head & FENCE == 0 {
                stats.in_use += 1;
                stats.in_use_bytes += size;
            }
            prev_free = head & INUSE == 0;
            c = c.plus(size);
        }
        if prev_free {
            return fail(c, "free chunk borders the wilderness");
        }
        if self.top.0.addr() + WORD > self.end.addr() && self.top != self.base {
            return fail(c, "wilderness shorter than a word");
        }
        stats.wilderness = self.end.addr().saturating_sub(self.top.0.addr());
        if stats.parked != self.parked() {
            return fail(c, "parked count disagrees with parked chunks");
        }
        if stats.in_use != self.live {
            return fail(c, "held-block count disagrees with in-use chunks");
        }
        if self.bins.len() != stats.free {
            return fail(c, "free lists hold chunks that are not free");
        }
        Ok(stats)
    }
}
