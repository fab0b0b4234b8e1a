//! Quick lists: a freed small chunk is parked, still marked in use, on a short LIFO list of its
//! exact size instead of being merged with its neighbours; the next request of that size takes
//! it straight back. Most small frees and mallocs then touch one chunk header and one list head.
//!
//! Parked chunks are bounded (a few per size), so they cost little memory; they go back to the
//! free lists when the heap would otherwise grow, when a `realloc` wants to grow into one, and
//! when the user has freed every block (so the break can return to the start).

use crate::chunk::{Chunk, MIN_ALIGN, QUICK};

/// Chunk sizes below this are parked.
pub(crate) const QUICK_LIMIT: usize = 1024;
/// One list per 16-byte chunk size.
const CLASSES: usize = QUICK_LIMIT / MIN_ALIGN;
/// Chunks parked per size at most.
const PER_CLASS: u8 = 16;

/// One bit per class in `Quick::nonempty`.
const _: () = assert!(CLASSES <= u64::BITS as usize);

/// The quick lists.
pub(crate) struct Quick {
    heads: [Chunk; CLASSES],
    counts: [u8; CLASSES],
    /// Bit `class` is set while that list is not empty: draining all lists (before the break
    /// grows) finds each one in O(1) instead of scanning every head per chunk.
    nonempty: u64,
    /// Chunks parked in all lists.
    parked: usize,
}

impl Quick {
    /// Empty lists.
    pub(crate) const fn new() -> Quick {
        Quick {
            heads: [Chunk::NULL; CLASSES],
            counts: [0; CLASSES],
            nonempty: 0,
            parked: 0,
        }
    }

    /// Takes a parked chunk of exactly `size` bytes, if any, and marks it no longer parked.
    #[inline(always)]
    pub(crate) fn take(&mut self, size: usize) -> Option<Chunk> {
        if size >= QUICK_LIMIT {
            return None;
        }
        let class = size / MIN_ALIGN;
        let c = self.heads[class];
        if c.is_null() {
            return None;
        }
        // SAFETY: a listed chunk is a parked in-use chunk with a valid header and `next` link.
        unsafe {
            self.heads[class] = c.next();
            c.set_head(c.head() & !QUICK);
        }
        self.counts[class] -= 1;
        if self.counts[class] == 0 {
            self.nonempty &= !(1 << class);
        }
        self.parked -= 1;
        Some(c)
    }

    /// Parks in-use chunk `c` if it is small and its list has room; returns whether it did.
    ///
    /// # Safety
    /// `c` must be an in-use chunk that nobody uses any more.
    #[inline(always)]
    pub(crate) unsafe fn park(&mut self, c: Chunk) -> bool {
        // SAFETY: `c` is an in-use chunk, so its header is valid and its first word after the
        // header (where `next` goes) is ours to overwrite.
        let head = unsafe { c.head() };
        let size = head & !crate::chunk::FLAGS;
        if size >= QUICK_LIMIT {
            return false;
        }
        let class = size / MIN_ALIGN;
        if self.counts[class] >= PER_CLASS {
            return false;
        }
        // SAFETY: as above.
        unsafe {
            c.set_head(head | QUICK);
            c.set_next(self.heads[class]);
            self.heads[class] = c;
        }
        self.counts[class] += 1;
        self.nonempty |= 1 << class;
        self.parked += 1;
        true
    }

    /// Unparks some chunk, if any is parked.
    pub(crate) fn pop_any(&mut self) -> Option<Chunk> {
        if self.nonempty == 0 {
            return None;
        }
        let class = self.nonempty.trailing_zeros() as usize;
        self.take(class * MIN_ALIGN)
    }

    /// Whether `c` is parked in the list for `size` (walks that list).
    #[cfg(feature = "debug")]
    pub(crate) fn contains(&self, c: Chunk, size: usize) -> bool {
        if size >= QUICK_LIMIT {
            return false;
        }
        let mut at = self.heads[size / MIN_ALIGN];
        while !at.is_null() {
            if at == c {
                return true;
            }
            // SAFETY: listed chunks are parked and hold a valid `next`.
            at = unsafe { at.next() };
        }
        false
    }

    /// Chunks parked.
    pub(crate) fn parked(&self) -> usize {
        self.parked
    }
}
