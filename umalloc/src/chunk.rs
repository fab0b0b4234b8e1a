//! Chunk layout: one header word before every block, boundary tags on free chunks.
//!
//! ```text
//! in use:  | size|flags | user data ...................................... |
//! free:    | size|flags | next | prev | (unused) ................. | size |
//!          ^ chunk                                                 ^ footer
//! ```
//!
//! A chunk starts one word before a 16-byte boundary, so the user pointer right after the header
//! is 16-byte aligned and every chunk size is a multiple of 16. The footer of a free chunk sits
//! in its last word, just below the next chunk's header; that next chunk's `PREV_INUSE` bit says
//! whether the footer is there. An in-use chunk's last word belongs to the user.

use core::ptr;

/// Bytes in a word: the header, a link, a footer.
pub(crate) const WORD: usize = size_of::<usize>();
/// Alignment of every pointer `malloc` returns (`max_align_t` on riscv and x86-64).
pub const MIN_ALIGN: usize = 16;
/// Smallest chunk: header, two links and a footer, rounded to the alignment.
pub(crate) const MIN_CHUNK: usize = (4 * WORD).next_multiple_of(MIN_ALIGN);
/// Bytes of a chunk the user cannot use: the header, and in debug builds a trailing canary.
pub(crate) const OVERHEAD: usize = if cfg!(feature = "debug") {
    2 * WORD
} else {
    WORD
};

/// This chunk is handed out (or parked in a quick list, or a fence): never coalesce with it.
pub(crate) const INUSE: usize = 1;
/// The chunk below this one is in use, so there is no footer to read below the header.
pub(crate) const PREV_INUSE: usize = 2;
/// This in-use chunk is parked in a quick list (see `quick.rs`), not held by the user.
pub(crate) const QUICK: usize = 4;
/// This in-use chunk is a fence over memory someone else took with `sbrk` (never freed).
pub(crate) const FENCE: usize = 8;
/// The flag bits; the rest of the header is the size.
pub(crate) const FLAGS: usize = MIN_ALIGN - 1;

/// Largest request we can satisfy at all: anything above cannot fit in an `isize` chunk.
pub(crate) const MAX_REQUEST: usize = isize::MAX as usize - MIN_ALIGN - OVERHEAD - MIN_CHUNK;

/// The chunk size for a request of `bytes`, or `None` if no chunk can be that big.
#[inline(always)]
pub(crate) const fn chunk_size(bytes: usize) -> Option<usize> {
    if bytes > MAX_REQUEST {
        return None;
    }
    let size = (bytes + OVERHEAD + MIN_ALIGN - 1) & !(MIN_ALIGN - 1);
    Some(if size < MIN_CHUNK { MIN_CHUNK } else { size })
}

/// A chunk address. Plain pointer arithmetic on the heap's memory; every read and write goes
/// through the pointer the chunk was derived from, so provenance is the `Sbrk` region's.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(transparent)]
pub(crate) struct Chunk(pub(crate) *mut u8);

impl Chunk {
    /// The chunk whose user pointer is `user`.
    #[inline(always)]
    #[cfg_attr(feature = "debug", allow(dead_code))]
    pub(crate) fn from_user(user: *mut u8) -> Chunk {
        Chunk(user.wrapping_sub(WORD))
    }

    /// The pointer handed to the user.
    #[inline(always)]
    pub(crate) fn user(self) -> *mut u8 {
        self.0.wrapping_add(WORD)
    }

    /// The chunk `bytes` above this one.
    #[inline(always)]
    pub(crate) fn plus(self, bytes: usize) -> Chunk {
        Chunk(self.0.wrapping_add(bytes))
    }

    /// The chunk `bytes` below this one.
    #[inline(always)]
    pub(crate) fn minus(self, bytes: usize) -> Chunk {
        Chunk(self.0.wrapping_sub(bytes))
    }

    /// Bytes from `self` up to `above`.
    #[inline(always)]
    pub(crate) fn distance_to(self, above: Chunk) -> usize {
        above.0.addr() - self.0.addr()
    }

    /// The header word.
    ///
    /// # Safety
    /// `self` must point at a chunk header inside the heap.
    #[inline(always)]
    pub(crate) unsafe fn head(self) -> usize {
        // SAFETY: the caller guarantees a header word lives here; chunks are word aligned.
        unsafe { ptr::read(self.0.cast::<usize>()) }
    }

    /// Writes the header word.
    ///
    /// # Safety
    /// `self` must point at a chunk header inside the heap.
    #[inline(always)]
    pub(crate) unsafe fn set_head(self, head: usize) {
        // SAFETY: as for `head`.
        unsafe { ptr::write(self.0.cast::<usize>(), head) }
    }

    /// The size from the header.
    ///
    /// # Safety
    /// As for [`Chunk::head`].
    #[inline(always)]
    pub(crate) unsafe fn size(self) -> usize {
        // SAFETY: forwarded to the caller.
        unsafe { self.head() & !FLAGS }
    }

    /// Sets or clears `PREV_INUSE`, leaving the rest of the header alone.
    ///
    /// # Safety
    /// As for [`Chunk::head`].
    #[inline(always)]
    pub(crate) unsafe fn set_prev_inuse(self, inuse: bool) {
        // SAFETY: forwarded to the caller.
        unsafe {
            let head = self.head();
            self.set_head(if inuse {
                head | PREV_INUSE
            } else {
                head & !PREV_INUSE
            });
        }
    }

    /// The footer word of the chunk below (valid only if our `PREV_INUSE` is clear).
    ///
    /// # Safety
    /// The chunk below must be free.
    #[inline(always)]
    pub(crate) unsafe fn prev_size(self) -> usize {
        // SAFETY: a free chunk's footer is the word just below our header.
        unsafe { ptr::read(self.0.sub(WORD).cast::<usize>()) }
    }

    /// Marks `self` as a free chunk of `size` bytes: header and footer.
    ///
    /// # Safety
    /// `self..self+size` must be heap memory the allocator owns.
    #[inline(always)]
    pub(crate) unsafe fn set_free(self, size: usize, flags: usize) {
        // SAFETY: header and footer both lie inside the chunk the caller owns.
        unsafe {
            self.set_head(size | flags);
            ptr::write(self.0.add(size - WORD).cast::<usize>(), size);
        }
    }

    /// The first free-list link (`next`).
    ///
    /// # Safety
    /// `self` must be a free chunk.
    #[inline(always)]
    pub(crate) unsafe fn next(self) -> Chunk {
        // SAFETY: free chunks hold their links right after the header.
        unsafe { Chunk(ptr::read(self.0.add(WORD).cast::<*mut u8>())) }
    }

    /// The second free-list link (`prev`).
    ///
    /// # Safety
    /// `self` must be a free chunk.
    #[inline(always)]
    pub(crate) unsafe fn prev(self) -> Chunk {
        // SAFETY: as for `next`.
        unsafe { Chunk(ptr::read(self.0.add(2 * WORD).cast::<*mut u8>())) }
    }

    /// Sets `next`.
    ///
    /// # Safety
    /// `self` must be a free (or quick-listed) chunk.
    #[inline(always)]
    pub(crate) unsafe fn set_next(self, next: Chunk) {
        // SAFETY: as for `next`.
        unsafe { ptr::write(self.0.add(WORD).cast::<*mut u8>(), next.0) }
    }

    /// Sets `prev`.
    ///
    /// # Safety
    /// `self` must be a free (or quick-listed) chunk.
    #[inline(always)]
    pub(crate) unsafe fn set_prev(self, prev: Chunk) {
        // SAFETY: as for `next`.
        unsafe { ptr::write(self.0.add(2 * WORD).cast::<*mut u8>(), prev.0) }
    }

    /// Null, for empty list ends.
    pub(crate) const NULL: Chunk = Chunk(ptr::null_mut());

    /// Whether this is the null chunk.
    #[inline(always)]
    pub(crate) fn is_null(self) -> bool {
        self.0.is_null()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes_round_up_and_reject_overflow() {
        assert_eq!(chunk_size(0), Some(MIN_CHUNK));
        assert_eq!(chunk_size(1), Some(MIN_CHUNK));
        assert_eq!(chunk_size(100).unwrap() % MIN_ALIGN, 0);
        assert!(chunk_size(100).unwrap() >= 100 + OVERHEAD);
        assert_eq!(chunk_size(usize::MAX), None);
        assert_eq!(chunk_size(usize::MAX - 4095), None);
        assert_eq!(chunk_size(isize::MAX as usize), None);
        assert!(chunk_size(MAX_REQUEST).is_some());
    }
}
