//! `realloc` and aligned allocation: both reshape chunks in place, splitting off and releasing
//! what they do not need.
//!
//! `realloc` grows a block without copying when the chunk above it is free, or is the
//! wilderness (then the break simply moves up): a block that keeps doubling at the top of the
//! heap is never copied.

use core::ptr;

use crate::chunk::{Chunk, FLAGS, INUSE, MIN_ALIGN, MIN_CHUNK, OVERHEAD, PREV_INUSE, QUICK, WORD};
use crate::chunk::{MAX_REQUEST, chunk_size};
use crate::heap::Heap;
use crate::quick::QUICK_LIMIT;
use crate::sbrk::Sbrk;

impl<S: Sbrk> Heap<S> {
    /// Resizes a block to `bytes`, keeping its contents (up to the smaller size). Grows in place
    /// when it can; otherwise moves the block. Null `ptr` means `malloc(bytes)`. Returns null
    /// (leaving the block untouched) if `bytes` is too large or memory runs out.
    ///
    /// # Safety
    /// `ptr` must be null or a live block from this heap. If the result is non-null, `ptr` must
    /// not be used afterwards (the block may have moved).
    pub unsafe fn realloc(&mut self, ptr: *mut u8, bytes: usize) -> *mut u8 {
        // SAFETY: forwarded to the caller.
        unsafe { self.realloc_aligned(ptr, bytes, MIN_ALIGN) }
    }

    /// [`Heap::realloc`] for a block that must stay aligned to `align` if it moves.
    ///
    /// # Safety
    /// As for [`Heap::realloc`]; `ptr` must be aligned to `align`.
    pub(crate) unsafe fn realloc_aligned(
        &mut self,
        ptr: *mut u8,
        bytes: usize,
        align: usize,
    ) -> *mut u8 {
        if ptr.is_null() {
            return self.memalign(align, bytes);
        }
        let Some(size) = chunk_size(bytes) else {
            return ptr::null_mut();
        };
        let Some(c) = self.owned_chunk(ptr) else {
            return ptr::null_mut();
        };
        // SAFETY: `c` is a live in-use chunk the caller hands us.
        unsafe {
            let old = c.size();
            if size <= old {
                self.shrink_in_place(c, size);
                return ptr;
            }
            if self.grow_in_place(c, size) {
                return ptr;
            }
            let moved = self.memalign(align, bytes);
            if !moved.is_null() {
                ptr::copy_nonoverlapping(ptr, moved, old - OVERHEAD);
                self.free(ptr);
            }
            moved
        }
    }

    /// Cuts in-use chunk `c` down to `size` bytes, releasing the rest if it can be a chunk.
    ///
    /// # Safety
    /// `c` must be an in-use chunk of at least `size` bytes (a valid chunk size).
    pub(crate) unsafe fn shrink_in_place(&mut self, c: Chunk, size: usize) {
        // SAFETY: `c` is ours and in use; the cut-off rest lies inside it.
        unsafe {
            let head = c.head();
            let rest = (head & !FLAGS) - size;
            if rest < MIN_CHUNK {
                return;
            }
            c.set_head(size | (head & FLAGS));
            self.mark_in_use(c);
            let r = c.plus(size);
            r.set_head(rest | INUSE | PREV_INUSE);
            self.junk_freed(r);
            self.release(r);
        }
    }

    /// Grows in-use chunk `c` to `size` bytes into the free chunk or wilderness above it.
    ///
    /// # Safety
    /// `c` must be an in-use chunk smaller than `size` (a valid chunk size).
    unsafe fn grow_in_place(&mut self, c: Chunk, size: usize) -> bool {
        // SAFETY: `c` is ours and in use, so `c + old` is a chunk header or `top`.
        unsafe {
            let old = c.size();
            let next = c.plus(old);
            if next != self.top && next.head() & QUICK != 0 {
                // A parked chunk is in the way: put it (a small one with its whole size class)
                // back in the free lists.
                let parked = next.size();
                if parked >= QUICK_LIMIT {
                    let found = self.recent.unpark(next);
                    debug_assert!(found, "a large parked chunk is in the recent slots");
                    self.release(next);
                } else {
                    while let Some(q) = self.quick.take(parked) {
                        self.release(q);
                    }
                }
            }
            // Read after the flush: releasing the chunk below `c` clears our PREV_INUSE.
            let head = c.head();
            if next == self.top {
                // Growing the break can fence off the wilderness (someone else's `sbrk`), in
                // which case `top` moves away from us.
                if !self.ensure_wilderness(size - old + WORD) || self.top != next {
                    return false;
                }
                c.set_head(size | (head & FLAGS));
                self.top = c.plus(size);
                self.zero_from = self.zero_from.max(self.top.0.addr());
                self.mark_in_use(c);
                return true;
            }
            let next_head = next.head();
            let total = old + (next_head & !FLAGS);
            if next_head & INUSE != 0 || total < size {
                return false;
            }
            self.bins.unlink(next, next_head & !FLAGS);
            let rest = total - size;
            if rest >= MIN_CHUNK {
                // The chunk above the rest already has PREV_INUSE clear.
                c.set_head(size | (head & FLAGS));
                let r = c.plus(size);
                r.set_free(rest, PREV_INUSE);
                self.bins.insert(r, rest);
            } else {
                c.set_head(total | (head & FLAGS));
                c.plus(total).set_prev_inuse(true);
            }
            self.mark_in_use(c);
            true
        }
    }

    /// A block of at least `bytes` bytes aligned to `align` (a power of two), or null if
    /// `align` is not a power of two, the sizes overflow, or memory runs out.
    pub fn memalign(&mut self, align: usize, bytes: usize) -> *mut u8 {
        match self.aligned_chunk(align, bytes) {
            Some(c) => {
                self.hand_out(c);
                c.user()
            }
            None => ptr::null_mut(),
        }
    }

    /// An in-use chunk for a block of `bytes` aligned to `align`, counted as held (the caller
    /// hands it out), or `None` as for [`Heap::memalign`].
    pub(crate) fn aligned_chunk(&mut self, align: usize, bytes: usize) -> Option<Chunk> {
        if !align.is_power_of_two() || align > MAX_REQUEST {
            return None;
        }
        if align <= MIN_ALIGN {
            return self.chunk_for(bytes);
        }
        // Room for the block, plus a leading gap big enough to be a chunk of its own.
        let size = chunk_size(bytes)?;
        let padded = bytes.checked_add(align + MIN_CHUNK).and_then(chunk_size)?;
        let mut c = self.alloc_chunk(padded)?;
        let user = c.user().addr();
        let mut lead = user.next_multiple_of(align) - user;
        if lead != 0 && lead < MIN_CHUNK {
            lead += align;
        }
        // SAFETY: `c` is an in-use chunk of `padded >= lead + size` bytes that we own.
        unsafe {
            if lead != 0 {
                let head = c.head();
                let aligned = c.plus(lead);
                aligned.set_head(((head & !FLAGS) - lead) | INUSE | PREV_INUSE);
                c.set_head(lead | (head & FLAGS));
                self.release(c);
                c = aligned;
            }
            self.shrink_in_place(c, size);
        }
        self.live += 1;
        Some(c)
    }
}
