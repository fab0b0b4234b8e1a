//! Moving the break: growing the wilderness, fencing off memory someone else took with `sbrk`,
//! and giving free memory at the top back.
//!
//! The top has hysteresis, so that a block freed and asked for again does not move the break
//! twice each time (a system call and fresh page faults on a real kernel): the break grows by
//! `Config::top_pad` more than needed, and while blocks are live it comes down only when the
//! wilderness exceeds what is kept (`Heap::keep`: the pad, or the largest block up to
//! `Config::keep_limit` that melted into the wilderness) by `Config::trim_threshold`, and then
//! only down to that. When the last block is freed everything goes back.
//!
//! Growing and shrinking also track which memory holds the kernel's zeros (`Heap::zero_from`).

use crate::chunk::{Chunk, FENCE, INUSE, MIN_ALIGN, MIN_CHUNK, PREV_INUSE, WORD};
use crate::heap::{Heap, PAGE_SIZE};
use crate::sbrk::Sbrk;

/// When to give the wilderness back, and how much of it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trim {
    /// Down to `Heap::keep`, only if it exceeds that by more than `Config::trim_threshold`.
    OverThreshold,
    /// Down to this many bytes, whatever its size (every block has been freed, or the user
    /// asked).
    Keeping(usize),
}

/// The first chunk position at or above `at`: one word below a 16-byte boundary.
fn first_chunk_at(at: *mut u8) -> Chunk {
    let user = (at.addr() + WORD).next_multiple_of(MIN_ALIGN);
    Chunk(at.wrapping_add(user - WORD - at.addr()))
}

impl<S: Sbrk> Heap<S> {
    /// Makes sure the wilderness holds at least `need` bytes, growing the break if not.
    #[inline(always)]
    pub(crate) fn ensure_wilderness(&mut self, need: usize) -> bool {
        loop {
            match self.top.0.addr().checked_add(need) {
                Some(want) if want <= self.end.addr() => return true,
                Some(_) if self.grow(need) => {}
                _ => return false,
            }
        }
    }

    /// Grows the break so the wilderness can hold `need` bytes (in whole pages).
    #[cold]
    fn grow(&mut self, need: usize) -> bool {
        if self.base.is_null() {
            let Some(brk) = self.sbrk.grow(0) else {
                return false;
            };
            self.start_at(brk.as_ptr());
        }
        let Some(want) = self.top.0.addr().checked_add(need) else {
            return false;
        };
        let short = want.saturating_sub(self.end.addr());
        let Some(exact) = short.checked_next_multiple_of(PAGE_SIZE) else {
            return false;
        };
        // Ask for the pad too; settle for what is short if the break will not go that far.
        let padded = short
            .checked_add(self.config.top_pad)
            .and_then(|p| p.checked_next_multiple_of(PAGE_SIZE))
            .filter(|&p| p != exact);
        let Some((old, increment)) = padded
            .and_then(|p| Some((self.sbrk.grow(p)?, p)))
            .or_else(|| Some((self.sbrk.grow(exact)?, exact)))
        else {
            return false;
        };
        let old = old.as_ptr();
        // The new memory is zero from the first page boundary at or above `old`. What we knew
        // below still holds if that is exactly where our memory ended; otherwise the bytes in
        // between (someone else's, or a page we shrank into) are unknown.
        let fresh = self.zeroed_above(old.addr());
        if old != self.end || fresh != old.addr() {
            self.zero_from = self.zero_from.max(fresh);
        }
        if old == self.end {
            self.end = old.wrapping_add(increment);
            return true;
        }
        self.continue_at(old, increment)
    }

    /// An empty heap starting at break `brk`.
    fn start_at(&mut self, brk: *mut u8) {
        self.start = brk;
        self.end = brk;
        self.base = first_chunk_at(brk);
        self.top = self.base;
    }

    /// `sbrk` gave us `increment` bytes at `old`, which is not where our heap ended: someone else
    /// moved the break in between. Fence off their memory and carry on above it.
    #[cold]
    fn continue_at(&mut self, old: *mut u8, increment: usize) -> bool {
        if old.addr() < self.end.addr() {
            // The break went down under us: memory we counted as ours is gone. Nothing
            // sensible to do but hand back what we just got and fail the request.
            // SAFETY: we have not used the `increment` bytes at `old`.
            unsafe { self.sbrk.shrink(increment) };
            return false;
        }
        let new_end = old.wrapping_add(increment);
        let room = self.end.addr().saturating_sub(self.top.0.addr());
        if room < WORD {
            // Nothing carved yet, so nothing to fence: start over up there.
            self.start_at(old);
            self.end = new_end;
            return true;
        }
        // The wilderness becomes a free chunk (if it can hold one) and a fence: an in-use chunk
        // whose header is the last word of our memory and whose size spans the foreign gap.
        let mut fence = self.top;
        let mut fence_flags = INUSE | FENCE | PREV_INUSE;
        if room >= MIN_CHUNK + WORD {
            let free = (room - WORD) & !(MIN_ALIGN - 1);
            // SAFETY: `top..top+free` is wilderness we own; the chunk below `top` is in use.
            unsafe {
                self.top.set_free(free, PREV_INUSE);
                self.bins.insert(self.top, free);
            }
            fence = self.top.plus(free);
            fence_flags &= !PREV_INUSE;
        }
        let above = first_chunk_at(old);
        // SAFETY: the fence header lies below `end` (at most `room - WORD` above `top`).
        unsafe { fence.set_head(fence.distance_to(above) | fence_flags) };
        self.top = above;
        self.end = new_end;
        // What we just wrote lies below the new `top`.
        self.zero_from = self.zero_from.max(self.top.0.addr());
        true
    }

    /// Where the memory that the break gains when it grows up from `old` is zero from
    /// (`usize::MAX` if the `Sbrk` does not promise zeroed pages).
    fn zeroed_above(&self, old: usize) -> usize {
        self.sbrk
            .zeroed_pages()
            .and_then(|page| old.checked_next_multiple_of(page))
            .unwrap_or(usize::MAX)
    }

    /// Gives the wilderness back in whole pages, down to what `how` keeps (plus a word).
    pub(crate) fn trim(&mut self, how: Trim) {
        let free = self.end.addr() - self.top.0.addr();
        let keep = match how {
            Trim::OverThreshold if free <= self.keep.saturating_add(self.config.trim_threshold) => {
                return;
            }
            Trim::OverThreshold => self.keep,
            Trim::Keeping(keep) => keep,
        };
        let release = free.saturating_sub(WORD.saturating_add(keep)) & !(PAGE_SIZE - 1);
        if release == 0 {
            return;
        }
        if self.sbrk.grow(0).map(|b| b.as_ptr()) != Some(self.end) {
            return; // someone else's memory is above ours: shrinking would take theirs
        }
        // SAFETY: the top `release` bytes are wilderness: no chunk, nothing points there.
        if unsafe { self.sbrk.shrink(release) } {
            self.end = self.end.wrapping_sub(release);
            // Pages wholly above the new break are gone; grown again, they come back zeroed.
            self.zero_from = self.zero_from.min(self.zeroed_above(self.end.addr()));
        }
    }

    /// Gives back the free memory at the top, keeping `pad` bytes of it (C's
    /// `malloc_trim(pad)`), and returns the bytes released. Parked chunks are merged first,
    /// so everything freed so far counts. (The heap does this by itself, with `pad` 0, when the
    /// last block is freed.)
    pub fn trim_now(&mut self, pad: usize) -> usize {
        if self.base.is_null() {
            return 0;
        }
        let before = self.end.addr();
        self.flush_parked();
        self.trim(Trim::Keeping(pad));
        before - self.end.addr()
    }
}
