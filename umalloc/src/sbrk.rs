//! Where heap memory comes from: a program break that moves up and down.

use core::ptr::NonNull;

/// A program break: the end of a contiguous heap that can grow and shrink at the top, like
/// Unix `sbrk`. The allocator asks it for more memory and gives free memory at the top back.
///
/// # Safety
/// Implementations must guarantee that when [`Sbrk::grow`] returns `Some(old)`:
/// - the `increment` bytes starting at `old` are readable, writable and initialized (zeroed
///   pages from a kernel qualify), and nobody else uses them until they are given back with
///   [`Sbrk::shrink`];
/// - `old` is the break before the call, and the break is now `old + increment`
///   (`grow(0)` returns the current break and changes nothing);
/// - on the host, the pointer carries the provenance of the memory it covers (derive it from
///   one allocation; never cast an integer to a pointer).
///
/// - if [`Sbrk::zeroed_pages`] returns `Some(page)`: after `grow` moves the break up from
///   `old`, every byte from `old` rounded up to a multiple of `page` to the new break reads
///   zero (`calloc` relies on it to leave such memory alone).
///
/// The allocator copes with someone else moving the break between its own calls (memory it
/// did not get from `grow` is never touched), but it only shrinks the break when the break is
/// where it left it.
pub unsafe trait Sbrk {
    /// Moves the break up by `increment` bytes and returns the old break, or `None` if the
    /// memory is not available (the break is then unchanged).
    fn grow(&mut self, increment: usize) -> Option<NonNull<u8>>;

    /// Moves the break down by `decrement` bytes. Returns `false` (and changes nothing) if it
    /// cannot.
    ///
    /// # Safety
    /// Nothing may use the `decrement` bytes below the current break any more.
    unsafe fn shrink(&mut self, decrement: usize) -> bool;

    /// The page size in which memory new to the break comes zeroed, if it does: `Some(page)`
    /// promises that after [`Sbrk::grow`] moves the break up from `old`, every byte from `old`
    /// rounded up to a multiple of `page` up to the new break is zero. A kernel that maps
    /// fresh zeroed pages when the break grows and unmaps the pages wholly above it when it
    /// shrinks keeps this promise with its page size (or any power-of-two multiple of it); the
    /// page that holds the old break keeps whatever it held. Linux and xv6 do this, and so
    /// does our kernel.
    ///
    /// `calloc` then clears only the part of a block that the heap used before. The default,
    /// `None`, promises nothing: `calloc` clears every block. Must return the same answer every
    /// time.
    fn zeroed_pages(&self) -> Option<usize> {
        None
    }
}

/// An [`Sbrk`] over a fixed region of memory: the break starts at the region's start and
/// cannot pass its end (or a lower `limit`). For tests, benchmarks, and kernels or firmware
/// whose heap is a static array. Memory given back and grown again comes back as it was, so a
/// region promises no zeroed pages ([`Sbrk::zeroed_pages`] is `None`).
///
/// ```
/// use umalloc::{Heap, Region};
///
/// static mut MEMORY: [u8; 1 << 16] = [0; 1 << 16];
/// // SAFETY: MEMORY is used by nothing else, and only through this region.
/// let region = unsafe { Region::new((&raw mut MEMORY).cast(), 1 << 16) };
/// let mut heap = Heap::new(region);
/// let p = heap.malloc(100);
/// assert!(!p.is_null());
/// // SAFETY: `p` came from this heap and is freed once.
/// unsafe { heap.free(p) };
/// ```
#[derive(Debug)]
pub struct Region {
    start: NonNull<u8>,
    len: usize,
    brk: usize,
    limit: usize,
    peak: usize,
    grows: usize,
    shrinks: usize,
}

// SAFETY: a `Region` owns its memory exclusively (see `Region::new`), so it may move between
// threads with it.
unsafe impl Send for Region {}

impl Region {
    /// A region over `len` bytes at `start`.
    ///
    /// # Safety
    /// The `len` bytes at `start` must be valid for reads and writes, initialized, and used by
    /// nothing but this region (and the allocator it feeds) for as long as it exists.
    pub const unsafe fn new(start: *mut u8, len: usize) -> Region {
        Region {
            // SAFETY: the caller passes a valid (so non-null) pointer.
            start: unsafe { NonNull::new_unchecked(start) },
            len,
            brk: 0,
            limit: len,
            peak: 0,
            grows: 0,
            shrinks: 0,
        }
    }

    /// Refuses to grow past `limit` bytes from the start (to test out-of-memory handling).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(self.len);
    }

    /// The start of the region, where the break began.
    pub fn start(&self) -> NonNull<u8> {
        self.start
    }

    /// Bytes between the start and the break.
    pub fn brk_offset(&self) -> usize {
        self.brk
    }

    /// The highest the break has been, in bytes from the start.
    pub fn peak_offset(&self) -> usize {
        self.peak
    }

    /// How many times the break moved up and down (calls that changed it).
    pub fn moves(&self) -> (usize, usize) {
        (self.grows, self.shrinks)
    }
}

// SAFETY: `grow` hands out disjoint, never-reused-while-live slices of the region the caller of
// `Region::new` gave us exclusively, with the region pointer's provenance.
unsafe impl Sbrk for Region {
    fn grow(&mut self, increment: usize) -> Option<NonNull<u8>> {
        if increment > self.limit - self.brk {
            return None;
        }
        // SAFETY: `brk <= len`, so the result stays inside (or one past) the region.
        let old = unsafe { self.start.add(self.brk) };
        self.brk += increment;
        self.peak = self.peak.max(self.brk);
        self.grows += usize::from(increment != 0);
        Some(old)
    }

    unsafe fn shrink(&mut self, decrement: usize) -> bool {
        if decrement > self.brk {
            return false;
        }
        self.brk -= decrement;
        self.shrinks += usize::from(decrement != 0);
        true
    }
}
