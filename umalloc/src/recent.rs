//! Recently freed large chunks, parked whole instead of merged: a later request of nearly the
//! same size takes one back without touching any other chunk.
//!
//! Releasing a large chunk to the free lists touches its neighbours' boundary tags, the list
//! neighbours of whichever of them is free, and a list head: cold lines on as many pages when
//! the heap is bigger than the caches. Parking it writes its header, and a request at most 1/16
//! smaller takes it back with one more header write. The price is that slack: the block keeps
//! the chunk's whole size (as a size-class allocator's rounding would), at most 1/16 over.
//!
//! Parked chunks stay marked in use (with `QUICK`, as in the quick lists), so neighbours never
//! merge into them. At most `SLOTS` are parked: parking one more releases the oldest-ish
//! one (a hand goes round the slots). They all go to the free lists before the break grows and
//! when every block is freed, one melts into the wilderness when the chunk above it did, and
//! `realloc` unparks the one it wants to grow into. Large sizes rarely repeat exactly, so this is
//! a small array scanned for the closest fit rather than a list per size.

use crate::chunk::{Chunk, QUICK};

/// Chunks parked at most.
const SLOTS: usize = 64;
/// A parked chunk serves a request of `size` bytes if at most `size >> SLACK_LOG` bigger.
const SLACK_LOG: u32 = 4;
/// A fit within `size >> CLOSE_LOG` (the free lists' own granularity) ends the search.
const CLOSE_LOG: u32 = 6;

/// The parked large chunks: `chunks[..len]`, their sizes in `sizes[..len]`.
pub(crate) struct Recent {
    /// Apart from the chunks so that a scan reads eight cache lines and no chunk.
    sizes: [usize; SLOTS],
    chunks: [Chunk; SLOTS],
    len: usize,
    /// The slot whose chunk is released next when all are taken.
    hand: usize,
}

impl Recent {
    /// Nothing parked.
    pub(crate) const fn new() -> Recent {
        Recent {
            sizes: [0; SLOTS],
            chunks: [Chunk::NULL; SLOTS],
            len: 0,
            hand: 0,
        }
    }

    /// Takes the parked chunk closest in size to `size` among those of `size` to
    /// `size + size/16` bytes, if any, and marks it no longer parked (it stays in use, now
    /// the caller's).
    #[inline(always)]
    pub(crate) fn take(&mut self, size: usize) -> Option<Chunk> {
        let mut best = (size >> SLACK_LOG) + 1;
        let mut found = None;
        for (i, &have) in self.sizes[..self.len].iter().enumerate() {
            // Wrapping: a chunk smaller than `size` has a huge `waste` and never qualifies.
            let waste = have.wrapping_sub(size);
            if waste < best {
                best = waste;
                found = Some(i);
                if waste <= size >> CLOSE_LOG {
                    break;
                }
            }
        }
        let c = self.remove(found?);
        // SAFETY: a parked chunk is an in-use chunk with a valid header.
        unsafe { c.set_head(c.head() & !QUICK) };
        Some(c)
    }

    /// Parks in-use chunk `c` of `size` bytes. If every slot was taken, returns the chunk it
    /// displaced, still marked parked: the caller must release it.
    ///
    /// # Safety
    /// `c` must be an in-use chunk of `size` bytes that nobody uses any more.
    #[inline(always)]
    pub(crate) unsafe fn park(&mut self, c: Chunk, size: usize) -> Option<Chunk> {
        // SAFETY: `c` is an in-use chunk (caller contract), so its header is valid.
        unsafe { c.set_head(c.head() | QUICK) };
        if self.len < SLOTS {
            self.sizes[self.len] = size;
            self.chunks[self.len] = c;
            self.len += 1;
            return None;
        }
        let i = self.hand;
        self.hand = (i + 1) % SLOTS;
        let displaced = self.chunks[i];
        self.sizes[i] = size;
        self.chunks[i] = c;
        Some(displaced)
    }

    /// Unparks `c` (still marked parked: the caller releases it); returns whether it was here.
    pub(crate) fn unpark(&mut self, c: Chunk) -> bool {
        match self.chunks[..self.len].iter().position(|&at| at == c) {
            Some(i) => {
                self.remove(i);
                true
            }
            None => false,
        }
    }

    /// Unparks the chunk that ends where `end` starts, if one is parked (still marked parked:
    /// the caller releases it).
    pub(crate) fn unpark_ending_at(&mut self, end: Chunk) -> Option<Chunk> {
        let i = (0..self.len).find(|&i| self.chunks[i].plus(self.sizes[i]) == end)?;
        Some(self.remove(i))
    }

    /// Unparks some chunk (still marked parked: the caller releases it), if any is parked.
    pub(crate) fn pop_any(&mut self) -> Option<Chunk> {
        let i = self.len.checked_sub(1)?;
        Some(self.remove(i))
    }

    /// Whether `c` is parked here.
    #[cfg(feature = "debug")]
    pub(crate) fn contains(&self, c: Chunk) -> bool {
        self.chunks[..self.len].contains(&c)
    }

    /// Chunks parked.
    pub(crate) fn parked(&self) -> usize {
        self.len
    }

    /// Takes slot `i` out, moving the last one into it.
    #[inline(always)]
    fn remove(&mut self, i: usize) -> Chunk {
        let c = self.chunks[i];
        self.len -= 1;
        self.sizes[i] = self.sizes[self.len];
        self.chunks[i] = self.chunks[self.len];
        c
    }
}
