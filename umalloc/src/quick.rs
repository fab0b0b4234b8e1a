//! Quick lists: a freed small chunk is parked, still marked in use, on a short LIFO list of its
//! exact size instead of being merged with its neighbours; the next request of that size takes
//! it straight back. Most small frees and mallocs then touch one chunk header and one list.
//!
//! Parked chunks are bounded (a few per size), so they cost little memory; they go back to the
//! free lists when the heap would otherwise grow, when a `realloc` wants to grow into one, and
//! when the user has freed every block (so the break can return to the start).
//!
//! Each list is one [`Class`]: its head next to its length, so a park or a take reads and writes
//! one slot, and the slots are laid out so that a chunk size (a multiple of 16) is the byte offset
//! of its slot, scaled by the slot size: no shift to find it on 64-bit targets.

use crate::chunk::{Chunk, MIN_ALIGN, QUICK};

/// Chunk sizes below this are parked.
pub(crate) const QUICK_LIMIT: usize = 1024;
/// One list per 16-byte chunk size.
const CLASSES: usize = QUICK_LIMIT / MIN_ALIGN;
/// Chunks parked per size at most.
const PER_CLASS: usize = 16;
/// Chunks per size that stay parked when the heap first releases parked chunks to avoid
/// growing the break (see `Heap::alloc_chunk_rare`): emptying every list would make the next
/// requests of every size miss. 2, 4 and 8 were measured (`cargo xtask bench qemu`, workload
/// d): 4 did best.
pub(crate) const KEEP_PER_CLASS: usize = 4;

/// One quick list: two words, so that on 64-bit targets the slot for chunk size `s` sits `s`
/// bytes into the array.
#[derive(Clone, Copy)]
struct Class {
    head: Chunk,
    len: usize,
}

/// The quick lists.
pub(crate) struct Quick {
    classes: [Class; CLASSES],
}

impl Quick {
    /// Empty lists.
    pub(crate) const fn new() -> Quick {
        Quick {
            classes: [Class {
                head: Chunk::NULL,
                len: 0,
            }; CLASSES],
        }
    }

    /// The list for chunk size `size` (below `QUICK_LIMIT`, a multiple of 16).
    #[inline(always)]
    fn class(&mut self, size: usize) -> &mut Class {
        debug_assert!(size < QUICK_LIMIT && size.is_multiple_of(MIN_ALIGN));
        // SAFETY: `size < QUICK_LIMIT`, so `size / MIN_ALIGN < CLASSES` (every caller checks
        // the limit first; the index is in bounds).
        unsafe { self.classes.get_unchecked_mut(size / MIN_ALIGN) }
    }

    /// Takes a parked chunk of exactly `size` bytes (a chunk size), if any, and marks it no
    /// longer parked.
    #[inline(always)]
    pub(crate) fn take(&mut self, size: usize) -> Option<Chunk> {
        if size >= QUICK_LIMIT {
            return None;
        }
        let class = self.class(size);
        let c = class.head;
        if c.is_null() {
            return None;
        }
        // SAFETY: a listed chunk is a parked in-use chunk with a valid header and `next` link.
        unsafe {
            class.head = c.next();
            c.set_head(c.head() & !QUICK);
        }
        class.len -= 1;
        Some(c)
    }

    /// Parks in-use chunk `c`, whose header is `head`, if it is small and its list has room;
    /// returns whether it did.
    ///
    /// # Safety
    /// `c` must be an in-use chunk that nobody uses any more, and `head` its header.
    #[inline(always)]
    pub(crate) unsafe fn park(&mut self, c: Chunk, head: usize) -> bool {
        let size = head & !crate::chunk::FLAGS;
        if size >= QUICK_LIMIT {
            return false;
        }
        let class = self.class(size);
        if class.len >= PER_CLASS {
            return false;
        }
        // SAFETY: `c` is an in-use chunk (caller contract), so its header is ours to rewrite
        // and its first word after the header (where `next` goes) is ours to overwrite.
        unsafe {
            c.set_head(head | QUICK);
            c.set_next(class.head);
        }
        class.head = c;
        class.len += 1;
        true
    }

    /// Unparks the newest chunk of the list for chunk size `size` if the list holds more than
    /// `keep`; it stays marked parked, for the caller to release.
    #[inline(always)]
    pub(crate) fn pop_over(&mut self, size: usize, keep: usize) -> Option<Chunk> {
        let class = self.class(size);
        if class.len <= keep {
            return None;
        }
        let c = class.head;
        // SAFETY: the list is not empty, so `c` is a parked chunk with a valid `next`.
        class.head = unsafe { c.next() };
        class.len -= 1;
        Some(c)
    }

    /// Whether `c` is parked in the list for `size` (walks that list).
    #[cfg(feature = "debug")]
    pub(crate) fn contains(&self, c: Chunk, size: usize) -> bool {
        if size >= QUICK_LIMIT {
            return false;
        }
        let mut at = self.classes[size / MIN_ALIGN].head;
        while !at.is_null() {
            if at == c {
                return true;
            }
            // SAFETY: listed chunks are parked and hold a valid `next`.
            at = unsafe { at.next() };
        }
        false
    }

    /// Chunks parked (adds up the lists' lengths).
    pub(crate) fn parked(&self) -> usize {
        self.classes.iter().map(|c| c.len).sum()
    }

    /// Whether no chunk is parked.
    pub(crate) fn is_empty(&self) -> bool {
        self.classes.iter().all(|c| c.len == 0)
    }
}
