//! Shared test helpers: an `Sbrk` arena over host memory, and block patterns.
#![allow(dead_code)]

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::ptr::NonNull;

use umalloc::{Heap, PAGE_SIZE, Region, Sbrk};

/// Reserved address space for one heap. Zeroed pages are only faulted in when touched, so a
/// big reservation costs nothing on Linux; under Miri every byte is real, so keep it small.
pub const ARENA_BYTES: usize = if cfg!(miri) { 64 << 20 } else { 1 << 30 };

/// Host memory the emulated break moves over (the start need not be page aligned).
pub struct Arena {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl Arena {
    /// `bytes` of zeroed memory. Alignment 16, not a page: std zeroes over-aligned memory by
    /// hand (touching every page), while `calloc` gets untouched zero pages from `mmap`.
    pub fn new(bytes: usize) -> Arena {
        let layout = Layout::from_size_align(bytes, 16).unwrap();
        // SAFETY: the layout has a non-zero size.
        let ptr = NonNull::new(unsafe { alloc_zeroed(layout) }).expect("arena allocation");
        Arena { ptr, layout }
    }

    /// A break over the arena from its first page boundary (where a kernel's break would
    /// start). Make one region per arena at a time.
    pub fn region(&self) -> Region {
        let skip = self.ptr.as_ptr().addr().next_multiple_of(4096) - self.ptr.as_ptr().addr();
        // SAFETY: the arena is zeroed, valid for `layout.size()` bytes (`skip < 4096` of them
        // skipped) and outlives every heap made over it (heaps are dropped before their
        // arenas); callers use one region at a time.
        unsafe { Region::new(self.ptr.as_ptr().add(skip), self.layout.size() - skip) }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

/// A heap over a fresh arena (keep the arena alive while the heap is used).
pub fn heap() -> (Arena, Heap<Region>) {
    let arena = Arena::new(ARENA_BYTES);
    let heap = Heap::new(arena.region());
    (arena, heap)
}

/// A break like a kernel's: memory new to the break comes in fresh pages that hold `fresh`
/// bytes, and a lowered break leaves junk in the rest of the page that holds it (a kernel
/// keeps whatever was there). With `fresh` 0 this keeps the promise of
/// [`Sbrk::zeroed_pages`]; with any other byte it breaks it on purpose, so that every byte
/// `calloc` writes over fresh memory shows.
pub struct PagedBreak {
    region: Region,
    fresh: u8,
}

/// Written over memory the break gives back.
pub const GIVEN_BACK: u8 = 0xEE;

impl PagedBreak {
    /// A break over `arena` whose fresh pages hold `fresh`.
    pub fn new(arena: &Arena, fresh: u8) -> PagedBreak {
        PagedBreak {
            region: arena.region(),
            fresh,
        }
    }

    /// The region underneath (break offsets, moves, limits).
    pub fn region(&self) -> &Region {
        &self.region
    }
}

// SAFETY: the memory comes from a `Region` (see its impl); fresh pages are filled with `fresh`,
// which is the promised 0 unless a test deliberately breaks the promise to observe writes (its
// blocks are then read as plain bytes, which any value is).
unsafe impl Sbrk for PagedBreak {
    fn grow(&mut self, increment: usize) -> Option<NonNull<u8>> {
        let old = self.region.grow(increment)?;
        let skip = old.as_ptr().addr().next_multiple_of(PAGE_SIZE) - old.as_ptr().addr();
        if skip < increment {
            // SAFETY: the `increment` bytes at `old` are ours now, `skip` of them skipped.
            unsafe { old.add(skip).write_bytes(self.fresh, increment - skip) };
        }
        Some(old)
    }

    unsafe fn shrink(&mut self, decrement: usize) -> bool {
        // SAFETY: the caller gave back the `decrement` bytes below the break.
        if !unsafe { self.region.shrink(decrement) } {
            return false;
        }
        // SAFETY: the `decrement` bytes above the new break are still the region's memory, and
        // nobody uses them.
        unsafe {
            let brk = self.region.start().as_ptr().add(self.region.brk_offset());
            brk.write_bytes(GIVEN_BACK, decrement);
        }
        true
    }

    fn zeroed_pages(&self) -> Option<usize> {
        Some(PAGE_SIZE)
    }
}

/// The byte of block `id` at `offset`.
pub fn pattern(id: u64, offset: usize) -> u8 {
    (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8 ^ (offset as u8).wrapping_mul(31)
}

/// Offsets of a block of `len` bytes that get a pattern: all of a small block; the ends and
/// one byte per page of a large one (filling megabytes per operation would dominate the test).
pub fn sampled(len: usize) -> impl Iterator<Item = usize> {
    let (head, tail) = if len <= 4096 { (len, 0) } else { (256, 256) };
    let middle = if len > 4096 {
        (256..len - 256).step_by(4093)
    } else {
        (0..0).step_by(1)
    };
    (0..head).chain(middle).chain(len - tail..len)
}

/// Writes block `id`'s pattern over `len` bytes at `p`.
///
/// # Safety
/// `p` must be valid for `len` bytes of writes.
pub unsafe fn fill(p: *mut u8, len: usize, id: u64) {
    for i in sampled(len) {
        // SAFETY: `i < len`.
        unsafe { p.add(i).write(pattern(id, i)) };
    }
}

/// Whether the `len` bytes at `p` still hold block `id`'s pattern.
///
/// # Safety
/// `p` must be valid for `len` bytes of reads.
pub unsafe fn holds(p: *const u8, len: usize, id: u64) -> bool {
    // SAFETY: `i < len`.
    sampled(len).all(|i| unsafe { p.add(i).read() } == pattern(id, i))
}

/// Whether the first `kept` bytes of a block of `len` bytes at `p` (now perhaps moved or
/// shrunk) still hold block `id`'s pattern.
///
/// # Safety
/// `p` must be valid for `kept` bytes of reads.
pub unsafe fn holds_prefix(p: *const u8, len: usize, kept: usize, id: u64) -> bool {
    // SAFETY: `i < kept`.
    sampled(len)
        .filter(|&i| i < kept)
        .all(|i| unsafe { p.add(i).read() } == pattern(id, i))
}
