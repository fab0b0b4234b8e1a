//! The heap: `malloc` and `free` over free lists, a quick-list front, and the top of the heap.
//!
//! Memory between the last chunk and the break is the *wilderness* (`top..end`): it has no
//! header and is never in a list. A chunk freed next to it melts into it, so a free chunk in a
//! list never borders the wilderness, and the chunk just below `top` is always in use. Requests
//! that no list can serve are carved off the wilderness, growing the break when it is short.
//!
//! The heap also knows which memory still holds the zeros the kernel mapped
//! (`zero_from..end`, see `Sbrk::zeroed_pages`): `calloc` clears only the part of a block
//! below that.

use core::ptr;

use crate::bins::Bins;
use crate::chunk::{Chunk, FLAGS, INUSE, MIN_ALIGN, PREV_INUSE, WORD, chunk_size};
use crate::quick::{KEEP_PER_CLASS, QUICK_LIMIT, Quick};
use crate::recent::Recent;
use crate::sbrk::Sbrk;

/// Page size the break moves in (grows and shrinks are multiples of it).
pub const PAGE_SIZE: usize = 4096;

/// Tuning knobs for the top of the heap: how much the break grows at a time, and how much
/// free memory stays above the last block while blocks are live.
///
/// Whatever the settings, once every block is freed the break returns to within a page of
/// where the heap started; [`Heap::trim_now`] gives back everything free at the top at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Bytes asked for on top of what is needed each time the break grows, and kept free at
    /// the top when it comes down: a heap that grows by small steps moves the break once per
    /// `top_pad` bytes, not once per page, and requests up to this size come and go at the
    /// top without moving it.
    pub top_pad: usize,
    /// The heap also keeps room at the top for the largest block freed into it (the
    /// wilderness) so far, if that block was at most this big: a program that frees and
    /// mallocs the same large block in a loop then moves the break once, not twice per
    /// iteration. A bigger block goes straight back to the kernel, as glibc's blocks of that
    /// size (which it maps with `mmap`) do. 0 keeps only `top_pad`.
    pub keep_limit: usize,
    /// Give memory back with a negative `sbrk` only when the free space at the top exceeds
    /// what is kept (`top_pad`, or the room kept for a block) by more than this.
    pub trim_threshold: usize,
}

impl Config {
    /// `top_pad` 32 KiB (64 KiB would lift the peak break of the large-block benchmark past
    /// 1.1x the live bytes), `keep_limit` 32 MiB on 64-bit targets and 16 MiB on 32-bit ones
    /// (glibc's largest `mmap` threshold), `trim_threshold` 32 KiB.
    pub const DEFAULT: Config = Config {
        top_pad: 8 * PAGE_SIZE,
        keep_limit: (4 << 20) * size_of::<usize>(),
        trim_threshold: 8 * PAGE_SIZE,
    };
}

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}

/// An allocator over one [`Sbrk`] heap, without a lock: methods take `&mut self`. Wrap it in
/// [`crate::Umalloc`] to share it (and to use it as Rust's global allocator).
pub struct Heap<S: Sbrk> {
    pub(crate) bins: Bins,
    pub(crate) quick: Quick,
    pub(crate) recent: Recent,
    /// Start of the wilderness (null before the first `sbrk`).
    pub(crate) top: Chunk,
    /// Our break: the end of the wilderness.
    pub(crate) end: *mut u8,
    /// The first chunk.
    pub(crate) base: Chunk,
    /// The break when we started.
    pub(crate) start: *mut u8,
    /// Blocks the user holds (not counting quick-listed ones).
    pub(crate) live: usize,
    /// Free bytes the top keeps when the break comes down while blocks are live: `top_pad`,
    /// or the largest block up to `keep_limit` that melted into the wilderness.
    pub(crate) keep: usize,
    /// Every byte from this address up to the break is zero, as the kernel mapped it
    /// (`usize::MAX` when the `Sbrk` promises no zeroed pages).
    pub(crate) zero_from: usize,
    /// The chunk `carve_top` took last, and `zero_from` just before (for `calloc`).
    pub(crate) carved: (Chunk, usize),
    pub(crate) config: Config,
    pub(crate) sbrk: S,
    #[cfg(feature = "debug")]
    pub(crate) reports: crate::debug::Reports,
}

// SAFETY: the heap exclusively owns the memory its pointers point into (the `Sbrk` contract),
// so moving it to another thread moves that ownership with it.
unsafe impl<S: Sbrk + Send> Send for Heap<S> {}

impl<S: Sbrk> Heap<S> {
    /// A heap that takes memory from `sbrk` when first used, with [`Config::DEFAULT`].
    pub const fn new(sbrk: S) -> Heap<S> {
        Heap::with_config(sbrk, Config::DEFAULT)
    }

    /// A heap with the given tuning.
    pub const fn with_config(sbrk: S, config: Config) -> Heap<S> {
        Heap {
            bins: Bins::new(),
            quick: Quick::new(),
            recent: Recent::new(),
            top: Chunk::NULL,
            end: ptr::null_mut(),
            base: Chunk::NULL,
            start: ptr::null_mut(),
            live: 0,
            keep: config.top_pad,
            zero_from: 0,
            carved: (Chunk::NULL, 0),
            config,
            sbrk,
            #[cfg(feature = "debug")]
            reports: crate::debug::Reports::new(),
        }
    }

    /// The break source.
    pub fn sbrk(&self) -> &S {
        &self.sbrk
    }

    /// The break source, e.g. to move the break behind the heap's back (it copes).
    pub fn sbrk_mut(&mut self) -> &mut S {
        &mut self.sbrk
    }

    /// Bytes between where the heap started and the break now.
    pub fn heap_bytes(&self) -> usize {
        self.end.addr().saturating_sub(self.start.addr())
    }

    /// A block of at least `bytes` bytes aligned to 16, or null if `bytes` is too large or the
    /// break cannot grow. `malloc(0)` returns a unique block that must be freed like any other.
    #[inline]
    pub fn malloc(&mut self, bytes: usize) -> *mut u8 {
        match self.malloc_quick(bytes) {
            Some(user) => user,
            None => self.malloc_slow(bytes),
        }
    }

    /// `malloc`'s fast path: a parked chunk of exactly the size `bytes` needs, if there is
    /// one. Inlined into the callers (and into [`crate::Umalloc`]'s locked `malloc`), so a hit
    /// is a leaf: no call, no stack frame.
    #[inline(always)]
    pub(crate) fn malloc_quick(&mut self, bytes: usize) -> Option<*mut u8> {
        let c = self.quick.take(chunk_size(bytes)?)?;
        self.live += 1;
        self.hand_out(c);
        Some(c.user())
    }

    /// `malloc` once `malloc_quick` missed (or `bytes` is too large for any chunk).
    ///
    /// (Inlining this into `Umalloc::malloc_locked` would save a call per miss, but rustc
    /// 1.95's LLVM crashes compiling that for riscv64.)
    #[inline(never)]
    pub(crate) fn malloc_slow(&mut self, bytes: usize) -> *mut u8 {
        match chunk_size(bytes).and_then(|size| self.alloc_chunk_slow(size)) {
            Some(c) => {
                self.live += 1;
                self.hand_out(c);
                c.user()
            }
            None => ptr::null_mut(),
        }
    }

    /// An in-use chunk for a block of `bytes`, counted as held (the caller hands it out).
    #[inline(always)]
    pub(crate) fn chunk_for(&mut self, bytes: usize) -> Option<Chunk> {
        let c = self.alloc_chunk(chunk_size(bytes)?)?;
        self.live += 1;
        Some(c)
    }

    /// Frees a block from [`Heap::malloc`] and friends; null is ignored.
    ///
    /// With the `debug` feature, a double free or a pointer this heap never returned is
    /// reported (see `Heap::reports`) and otherwise ignored.
    ///
    /// # Safety
    /// `ptr` must be null or a live block from this heap (without the `debug` feature anything
    /// else corrupts the heap), and must not be used afterwards.
    #[inline]
    pub unsafe fn free(&mut self, ptr: *mut u8) {
        // SAFETY: forwarded to the caller.
        unsafe {
            if !self.free_quick(ptr) {
                self.free_slow(ptr);
            }
        }
    }

    /// `free`'s fast path: parks the block's chunk in its quick list if the list has room and
    /// the block is not the user's last (whose free gives the heap back); returns whether it
    /// did. Changes nothing when it returns false. Inlined like `malloc_quick`. With the
    /// `debug` feature it always declines: the slow path checks the pointer first.
    ///
    /// # Safety
    /// As for [`Heap::free`].
    #[inline(always)]
    pub(crate) unsafe fn free_quick(&mut self, ptr: *mut u8) -> bool {
        if cfg!(feature = "debug") || ptr.is_null() || self.live == 1 {
            return false;
        }
        let c = Chunk::from_user(ptr);
        // SAFETY: `ptr` is a live block of this heap (caller contract), so `c` is an in-use
        // chunk with a valid header that the user gives up.
        let parked = unsafe { self.quick.park(c, c.head()) };
        if parked {
            self.live -= 1;
        }
        parked
    }

    /// `free` once `free_quick` declined.
    ///
    /// # Safety
    /// As for [`Heap::free`].
    #[inline(never)]
    pub(crate) unsafe fn free_slow(&mut self, ptr: *mut u8) {
        if ptr.is_null() {
            return;
        }
        let Some(c) = self.owned_chunk(ptr) else {
            return;
        };
        self.live -= 1;
        // SAFETY: `c` is a live in-use chunk of this heap (caller contract, or checked above).
        unsafe {
            self.junk_freed(c);
            if !self.quick.park(c, c.head()) {
                self.retire(c);
            }
        }
        if self.live == 0 {
            self.release_everything();
        }
    }

    /// Finds a chunk of `size` bytes (a valid chunk size) and marks it in use.
    #[inline(always)]
    pub(crate) fn alloc_chunk(&mut self, size: usize) -> Option<Chunk> {
        if let Some(c) = self.quick.take(size) {
            return Some(c);
        }
        self.alloc_chunk_miss(size)
    }

    /// `alloc_chunk_slow` out of line, for `alloc_chunk`'s callers (`calloc`, `memalign`,
    /// `realloc`): only `malloc_slow` inlines it.
    #[inline(never)]
    fn alloc_chunk_miss(&mut self, size: usize) -> Option<Chunk> {
        self.alloc_chunk_slow(size)
    }

    /// `alloc_chunk` once the quick list for `size` came up empty. A small request that a
    /// free list serves (the common miss) stays in the caller; the rest is out of line.
    #[inline(always)]
    fn alloc_chunk_slow(&mut self, size: usize) -> Option<Chunk> {
        if size < QUICK_LIMIT
            && let Some(c) = self.bins.take(size)
        {
            // SAFETY: `c` was just taken from a list, so it is a free chunk of >= `size` bytes.
            unsafe { self.use_free_chunk(c, size) };
            return Some(c);
        }
        self.alloc_chunk_rare(size)
    }

    /// `alloc_chunk_slow` for a large request, or one no free list can serve: a recently
    /// freed large chunk, the free lists, then the wilderness (the parked chunks released
    /// first if it is short).
    #[inline(never)]
    fn alloc_chunk_rare(&mut self, size: usize) -> Option<Chunk> {
        if size >= QUICK_LIMIT {
            if let Some(c) = self.recent.take(size) {
                return Some(c);
            }
            if let Some(c) = self.bins.take(size) {
                // SAFETY: as above.
                unsafe { self.use_free_chunk(c, size) };
                return Some(c);
            }
        }
        let fits_in_wilderness = self
            .top
            .0
            .addr()
            .checked_add(size + WORD)
            .is_some_and(|end| end <= self.end.addr());
        if !fits_in_wilderness && self.any_parked() {
            // Before growing the break, release the parked chunks: one may fit, or merge into
            // something that does. First all but a few of each size (so the next requests
            // still find some parked), then, if none fits, all of them.
            self.flush_quick(KEEP_PER_CLASS);
            if let Some(c) = self.bins.take(size) {
                // SAFETY: as above.
                unsafe { self.use_free_chunk(c, size) };
                return Some(c);
            }
            self.flush_parked();
            if let Some(c) = self.bins.take(size) {
                // SAFETY: as above.
                unsafe { self.use_free_chunk(c, size) };
                return Some(c);
            }
        }
        self.carve_top(size)
    }

    /// Marks free chunk `c` (already out of its list) in use with `size` bytes, returning the
    /// rest to the lists if it is big enough to be a chunk.
    ///
    /// # Safety
    /// `c` must be an unlisted free chunk of at least `size` bytes.
    #[inline(always)]
    pub(crate) unsafe fn use_free_chunk(&mut self, c: Chunk, size: usize) {
        // SAFETY: `c` is a free chunk we own; its neighbours are heap chunks.
        unsafe {
            let have = c.size();
            let rest = have - size;
            if rest >= crate::chunk::MIN_CHUNK {
                // The chunk above the rest already has PREV_INUSE clear: it bordered `c`.
                let r = c.plus(size);
                r.set_free(rest, PREV_INUSE);
                self.bins.insert(r, rest);
                c.set_head(size | INUSE | PREV_INUSE);
            } else {
                // A free chunk never borders the wilderness, so `c + have` has a header.
                c.set_head(have | INUSE | PREV_INUSE);
                c.plus(have).set_prev_inuse(true);
            }
        }
    }

    /// Takes `size` bytes off the bottom of the wilderness, growing the break if needed.
    #[inline(always)]
    pub(crate) fn carve_top(&mut self, size: usize) -> Option<Chunk> {
        // Keep a word of wilderness: room for a fence header if someone else moves the break.
        if !self.ensure_wilderness(size + WORD) {
            return None;
        }
        let c = self.top;
        // SAFETY: `ensure_wilderness` made `top..top+size+WORD` ours; the chunk below `top` is
        // in use (or `top` is the base), hence PREV_INUSE.
        unsafe { c.set_head(size | INUSE | PREV_INUSE) };
        self.top = c.plus(size);
        self.carved = (c, self.zero_from);
        self.zero_from = self.zero_from.max(self.top.0.addr());
        Some(c)
    }

    /// Parks freed chunk `c` with the recent large chunks if it is large and not next to the
    /// wilderness (which it would simply melt into); releases it otherwise.
    ///
    /// # Safety
    /// As for [`Heap::release`].
    #[inline(always)]
    unsafe fn retire(&mut self, c: Chunk) {
        // SAFETY: `c` is an in-use chunk nobody uses (caller contract).
        unsafe {
            let size = c.size();
            if size < QUICK_LIMIT || c.plus(size) == self.top {
                return self.release(c);
            }
            if let Some(evicted) = self.recent.park(c, size) {
                self.release(evicted);
            }
        }
    }

    /// Returns in-use chunk `c` to the free lists, merging it with free neighbours and the
    /// wilderness (and giving memory back if the wilderness got big).
    ///
    /// # Safety
    /// `c` must be an in-use chunk of this heap that nobody uses any more.
    pub(crate) unsafe fn release(&mut self, mut c: Chunk) {
        // SAFETY: `c` is an in-use chunk, so its header is valid, its PREV_INUSE bit tells
        // whether the footer below is valid, and the chunk above it is a chunk or `top`.
        unsafe {
            let head = c.head();
            let own = head & !FLAGS;
            let mut size = own;
            let next = c.plus(size);
            if head & PREV_INUSE == 0 {
                let prev_size = c.prev_size();
                self.junk_header(c);
                c = c.minus(prev_size);
                self.bins.unlink(c, prev_size);
                size += prev_size;
            }
            if next == self.top {
                return self.melt_into_top(c, own);
            }
            let next_head = next.head();
            if next_head & INUSE == 0 {
                let next_size = next_head & !FLAGS;
                self.bins.unlink(next, next_size);
                self.junk_header(next);
                size += next_size;
            } else {
                next.set_head(next_head & !PREV_INUSE);
            }
            c.set_free(size, PREV_INUSE);
            self.bins.insert(c, size);
        }
    }

    /// The end of `release` when the chunk (merged with a free one below, now `c`) borders the
    /// wilderness: it becomes the wilderness, and the top may go back to the kernel. `own` is
    /// the size of the chunk that was freed. Out of line, so `release`'s common case (a chunk
    /// between chunks) stays short.
    ///
    /// # Safety
    /// `c` must be a chunk of this heap that ends at `top` and is in no list, nobody's.
    #[inline(never)]
    unsafe fn melt_into_top(&mut self, c: Chunk, own: usize) {
        // A block that came back to the top may well be asked for again: keep room for it
        // when the break comes down.
        if own <= self.config.keep_limit {
            self.keep = self.keep.max(own);
        }
        // SAFETY: `c` is a header position inside the heap (caller contract).
        unsafe { self.junk_header(c) };
        self.top = c;
        // A large chunk parked just below melts too: parked, it would hold the wilderness
        // (and the give-back) down.
        if let Some(below) = self.recent.unpark_ending_at(c) {
            // SAFETY: a parked chunk is an in-use chunk nobody holds.
            return unsafe { self.release(below) };
        }
        self.trim(crate::grow::Trim::OverThreshold);
    }

    /// Moves every chunk parked in the quick lists back to the free lists, so
    /// [`Heap::check`] and the break reflect every `free` so far. The heap does this by itself
    /// before growing the break and when the last block is freed.
    pub fn flush_parked(&mut self) {
        self.flush_quick(0);
        while let Some(c) = self.recent.pop_any() {
            // SAFETY: a parked chunk is an in-use chunk nobody holds.
            unsafe { self.release(c) };
        }
    }

    /// Releases the newest chunks of every quick list until each holds at most `keep`.
    fn flush_quick(&mut self, keep: usize) {
        for size in (0..QUICK_LIMIT).step_by(MIN_ALIGN) {
            while let Some(c) = self.quick.pop_over(size, keep) {
                // SAFETY: a parked chunk is an in-use chunk nobody holds (`release` ignores
                // its QUICK flag).
                unsafe { self.release(c) };
            }
        }
    }

    /// Chunks freed by the user but not yet back in the free lists.
    pub(crate) fn parked(&self) -> usize {
        self.quick.parked() + self.recent.parked()
    }

    /// Whether any chunk is parked (cheaper than counting them).
    fn any_parked(&self) -> bool {
        self.recent.parked() != 0 || !self.quick.is_empty()
    }

    /// The user freed their last block: melt the quick lists so the heap collapses into the
    /// wilderness, and give it back.
    #[cold]
    fn release_everything(&mut self) {
        self.flush_parked();
        self.trim(crate::grow::Trim::Keeping(0));
    }

    /// Bytes the user may use in a block (at least what was asked for).
    ///
    /// # Safety
    /// `ptr` must be a live block from this heap.
    pub unsafe fn usable_size(&mut self, ptr: *mut u8) -> usize {
        match self.owned_chunk(ptr) {
            // SAFETY: `c` is a live in-use chunk.
            Some(c) => (unsafe { c.size() }) - crate::chunk::OVERHEAD,
            None => 0,
        }
    }

    /// `count * size` zeroed bytes, or null if the product overflows or memory runs out.
    ///
    /// Only the part of the block the heap used before is cleared: memory fresh from the
    /// kernel is left alone when the [`Sbrk`] promises it is zero ([`Sbrk::zeroed_pages`]), so
    /// a large `calloc` costs no writes and no resident pages until the program touches it.
    pub fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        match count.checked_mul(size) {
            Some(bytes) => self.calloc_aligned(MIN_ALIGN, bytes),
            None => ptr::null_mut(),
        }
    }

    /// [`Heap::calloc`] of `bytes` aligned to `align` (a power of two).
    pub(crate) fn calloc_aligned(&mut self, align: usize, bytes: usize) -> *mut u8 {
        self.carved.0 = Chunk::NULL;
        let Some(c) = self.aligned_chunk(align, bytes) else {
            return ptr::null_mut();
        };
        let user = c.user();
        // A block carved off the wilderness just now (perhaps trimmed to an alignment) holds
        // zeros from where the heap's known zeros started then; any other was used before.
        let (carved, zero_from) = self.carved;
        let dirty = if !carved.is_null() && c.0.addr() >= carved.0.addr() {
            zero_from.saturating_sub(user.addr()).min(bytes)
        } else {
            bytes
        };
        // SAFETY: `user` is a fresh block of at least `bytes >= dirty` bytes.
        unsafe { ptr::write_bytes(user, 0, dirty) };
        self.mark_in_use(c);
        user
    }

    /// Alignment every block has without asking.
    pub const MIN_ALIGN: usize = MIN_ALIGN;
}
