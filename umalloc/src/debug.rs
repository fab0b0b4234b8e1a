//! Debug aids (feature `debug`): catch double and foreign frees instead of corrupting the heap,
//! and fill freed (and fresh) memory with junk so use-after-free and uninitialized reads show.
//!
//! Every block gets a canary in its last word (an extra word of overhead): a pointer the heap
//! never returned will not find a matching canary where its "header" says the block ends.
//! Without the feature, the checks compile to nothing.

use crate::chunk::Chunk;
#[cfg(feature = "debug")]
use crate::chunk::{FENCE, FLAGS, INUSE, MIN_ALIGN, MIN_CHUNK, QUICK, WORD};
use crate::heap::Heap;
use crate::sbrk::Sbrk;

/// What the debug checks caught.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// `free`/`realloc` of a block that is already free (the address given).
    DoubleFree(usize),
    /// `free`/`realloc` of a pointer this heap never returned, or of a block whose canary was
    /// overwritten (the address given).
    ForeignFree(usize),
}

/// Byte written over freed memory: even, so a junk header reads as "free".
pub const JUNK_FREED: u8 = 0xDE;
/// Byte written over freshly allocated memory (not `calloc`'s).
pub const JUNK_FRESH: u8 = 0xA5;

/// Reports so far and an optional hook.
#[cfg(feature = "debug")]
pub(crate) struct Reports {
    pub(crate) count: usize,
    pub(crate) last: Option<Report>,
    pub(crate) hook: Option<fn(Report)>,
}

#[cfg(feature = "debug")]
impl Reports {
    pub(crate) const fn new() -> Reports {
        Reports {
            count: 0,
            last: None,
            hook: None,
        }
    }
}

#[cfg(feature = "debug")]
const SECRET: usize = 0x5bd1_e995_u32 as usize;

/// The canary of an in-use chunk at `c` of `size` bytes.
#[cfg(feature = "debug")]
fn canary(c: Chunk, size: usize) -> usize {
    c.0.addr() ^ size.rotate_left(7) ^ SECRET
}

#[cfg(feature = "debug")]
impl<S: Sbrk> Heap<S> {
    /// How many problems the debug checks have caught, and the latest.
    pub fn reports(&self) -> (usize, Option<Report>) {
        (self.reports.count, self.reports.last)
    }

    /// Calls `hook` on every problem caught from now on (e.g. to print it or abort).
    pub fn set_report_hook(&mut self, hook: fn(Report)) {
        self.reports.hook = Some(hook);
    }

    fn report(&mut self, report: Report) {
        self.reports.count += 1;
        self.reports.last = Some(report);
        if let Some(hook) = self.reports.hook {
            hook(report);
        }
    }

    /// The in-use chunk behind user pointer `ptr`, or `None` (reported) if it is not one.
    pub(crate) fn owned_chunk(&mut self, ptr: *mut u8) -> Option<Chunk> {
        match self.classify(ptr) {
            Ok(c) => Some(c),
            Err(report) => {
                self.report(report);
                None
            }
        }
    }

    fn classify(&self, ptr: *mut u8) -> Result<Chunk, Report> {
        let addr = ptr.addr();
        let foreign = Report::ForeignFree(addr);
        if self.base.is_null()
            || !addr.is_multiple_of(MIN_ALIGN)
            || addr < self.base.user().addr()
            || addr >= self.top.0.addr()
        {
            return Err(foreign);
        }
        // Read through the heap's own pointer: `ptr` may come from anywhere.
        let c = Chunk(self.base.0.with_addr(addr - WORD));
        // SAFETY: `c` lies inside the heap's chunks (below `top`), so it is our memory, and
        // initialized (the `Sbrk` contract); any word there reads as some integer.
        let head = unsafe { c.head() };
        let size = head & !FLAGS;
        let double = Report::DoubleFree(addr);
        if head == usize::from_ne_bytes([JUNK_FREED; WORD]) {
            return Err(double); // a header that merged into its neighbour
        }
        if head & INUSE == 0 {
            return Err(if self.bins.contains(c, size) {
                double
            } else {
                foreign
            });
        }
        if head & QUICK != 0 {
            return Err(if self.quick.contains(c, size) || self.recent.contains(c) {
                double
            } else {
                foreign
            });
        }
        if head & FENCE != 0 || size < MIN_CHUNK || size > c.distance_to(self.top) {
            return Err(foreign);
        }
        // SAFETY: `c..c+size` is below `top`, so the canary word is our memory.
        if unsafe { c.plus(size - WORD).head() } != canary(c, size) {
            return Err(foreign);
        }
        Ok(c)
    }

    /// Junk over the user bytes of fresh in-use chunk `c`, and its canary.
    pub(crate) fn hand_out(&mut self, c: Chunk) {
        // SAFETY: `c` is an in-use chunk we own; the user bytes end before the canary slot.
        unsafe { core::ptr::write_bytes(c.user(), JUNK_FRESH, c.size() - 2 * WORD) };
        self.mark_in_use(c);
    }

    /// Writes the canary of in-use chunk `c` (after its size changed).
    pub(crate) fn mark_in_use(&mut self, c: Chunk) {
        // SAFETY: `c` is an in-use chunk we own; its last word is the canary slot.
        unsafe {
            let size = c.size();
            c.plus(size - WORD).set_head(canary(c, size));
        }
    }

    /// Junk over a freed chunk's user bytes and canary.
    ///
    /// # Safety
    /// `c` must be an in-use chunk nobody uses any more.
    pub(crate) unsafe fn junk_freed(&mut self, c: Chunk) {
        // SAFETY: the user bytes and the canary lie inside `c`.
        unsafe { core::ptr::write_bytes(c.user(), JUNK_FREED, c.size() - WORD) };
    }

    /// Junk over the header of a chunk that just merged into a lower one or the wilderness, so
    /// a second free of it reads "free".
    ///
    /// # Safety
    /// `c` must be a header position inside the heap.
    pub(crate) unsafe fn junk_header(&mut self, c: Chunk) {
        // SAFETY: forwarded to the caller.
        unsafe { c.set_head(usize::from_ne_bytes([JUNK_FREED; WORD])) };
    }
}

#[cfg(not(feature = "debug"))]
impl<S: Sbrk> Heap<S> {
    #[inline(always)]
    pub(crate) fn owned_chunk(&mut self, ptr: *mut u8) -> Option<Chunk> {
        Some(Chunk::from_user(ptr))
    }

    #[inline(always)]
    pub(crate) fn hand_out(&mut self, _c: Chunk) {}

    #[inline(always)]
    pub(crate) fn mark_in_use(&mut self, _c: Chunk) {}

    /// # Safety
    /// None needed: does nothing without the `debug` feature.
    #[inline(always)]
    pub(crate) unsafe fn junk_freed(&mut self, _c: Chunk) {}

    /// # Safety
    /// None needed: does nothing without the `debug` feature.
    #[inline(always)]
    pub(crate) unsafe fn junk_header(&mut self, _c: Chunk) {}
}
