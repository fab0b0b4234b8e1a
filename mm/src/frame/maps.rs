//! The allocator's per-frame maps, kept in frames carved out of the managed RAM.
//!
//! [`States`] holds one atomic byte per frame: foreign, allocated or free. A byte rather than a
//! bit, so that `allocate` marks a frame allocated with a plain store: with bits, neighbours
//! change the same word concurrently and every update needs an atomic read-modify-write,
//! which costs ~15 ns on the benchmark machine (`deallocate` still needs one, to catch a double free
//! race-free). [`Listed`] is a bitmap of scratch space that `allocate_contiguous` fills, under
//! the lock, with the frames on the shared list. Entry `i` is the frame `i` frames above the
//! lowest managed frame.

use crate::addr::{Frame, PAGE_SIZE};
use crate::phys::{FrameMut, PhysMem};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU8, Ordering};

const BITS: usize = usize::BITS as usize;

/// Not managed: a hole, a reserved range, the maps' own frames (all-zero memory reads so).
const FOREIGN: u8 = 0;
const ALLOCATED: u8 = 1;
const FREE: u8 = 2;

/// The frame holding byte `offset` of the region starting at frame `first`, and the offset
/// inside it.
#[inline]
fn at(first: Frame, offset: usize) -> (Frame, usize) {
    let frame = first.checked_add((offset / PAGE_SIZE) as u64);
    (frame.expect(MAPS), offset % PAGE_SIZE)
}

/// Why the maps' frames exist and are backed: `new` carved them out of usable RAM that the
/// `PhysMem` backs, and keeps them for the allocator's life.
const MAPS: &str = "PhysMem stopped backing the frame allocator's maps";

/// Where `Listed` starts (word aligned, so no word straddles two frames), its length in
/// words, and the bytes both maps take, for `span` frames.
fn layout(span: u64) -> (usize, usize, usize) {
    let word = size_of::<usize>();
    let listed_at = (span as usize).next_multiple_of(word);
    let words = (span as usize).div_ceil(BITS);
    (listed_at, words, listed_at + words * word)
}

/// Frames needed for both maps over `span` frames.
pub(super) fn frames_needed(span: u64) -> u64 {
    layout(span).2.div_ceil(PAGE_SIZE) as u64
}

/// Both maps in the `frames_needed(span)` frames from `first`: every frame foreign, no bit
/// listed. The caller (the allocator) keeps those frames, which `mem` backs, for as long as
/// the maps are used, and hands them to no one.
pub(super) fn zeroed<P: PhysMem>(mem: &P, first: Frame, span: u64) -> (States, Listed) {
    let (listed_at, words, bytes) = layout(span);
    for offset in (0..bytes).step_by(PAGE_SIZE) {
        let (frame, _) = at(first, offset);
        let len = PAGE_SIZE.min(bytes - offset);
        // SAFETY: one of the maps' frames, which the allocator keeps to itself.
        let mut map = unsafe { FrameMut::new(mem, frame) }.expect(MAPS);
        map.fill_bytes(0, len, 0).expect("inside the frame");
    }
    let listed = Listed {
        first,
        offset: listed_at,
        words,
    };
    (States { first }, listed)
}

/// The state of every frame in the span. `Copy`: it is only a location; the bytes are shared.
#[derive(Clone, Copy, Debug)]
pub(super) struct States {
    first: Frame,
}

/// The state frame a hart cache reached last and its pointer, so that its next state byte in
/// the same frame (4,096 frames share one) costs a compare instead of a `PhysMem` lookup: a
/// hot allocate and free of one frame always hits.
#[derive(Debug)]
pub(super) struct StateMemo {
    /// Which state frame (`i / PAGE_SIZE`), or `usize::MAX` before the first lookup (no state
    /// frame has that index: there are at most 2^32 / PAGE_SIZE of them).
    page: usize,
    base: NonNull<u8>,
}

impl StateMemo {
    /// A memo that remembers nothing yet.
    pub const fn new() -> Self {
        StateMemo {
            page: usize::MAX,
            base: NonNull::dangling(),
        }
    }
}

// SAFETY: the memo holds a copy of what `PhysMem::frame_ptr` returns for one of the
// allocator's state frames; any thread may get that pointer (`PhysMem: Sync`), and the bytes
// behind it are accessed only atomically.
unsafe impl Send for StateMemo {}

/// What [`States::mark_free`] found instead of an allocated frame.
pub(super) enum NotAllocated {
    Foreign,
    Free,
}

impl NotAllocated {
    /// The refusal for state byte `found` (a refused free is the rare path).
    #[cold]
    fn found(found: u8) -> Self {
        match found {
            FREE => NotAllocated::Free,
            _ => NotAllocated::Foreign,
        }
    }
}

impl States {
    /// The first byte of state frame `page` (frame `i`'s state lives in page `i / PAGE_SIZE`,
    /// for `i` below the span; every caller has checked: `accept` and `index` compare with the
    /// span, `hand_out` asserts it, init counts up to it). The maps' frames are frames and
    /// `zeroed` wrote them through `mem`, so neither the frame number nor the lookup can fail
    /// and neither is checked again.
    #[inline(always)]
    fn page_base<P: PhysMem>(&self, mem: &P, page: usize) -> NonNull<u8> {
        let frame = Frame::from_masked_number(self.first.number() + page as u64);
        let base = mem.frame_ptr(frame);
        // SAFETY: `zeroed` made a view of this frame through `mem`, so `mem` returned `Some`
        // for it then, and `PhysMem`'s contract (2: one frame always gives a pointer to the
        // same memory) makes it do so again.
        unsafe { base.unwrap_unchecked() }
    }

    /// The state byte of frame `i` (below the span, see `page_base`). With a memo (a hart
    /// cache's), a byte in the state frame looked up last costs a compare.
    #[inline(always)]
    fn state<P: PhysMem>(&self, mem: &P, memo: Option<&mut StateMemo>, i: u32) -> &AtomicU8 {
        let (page, offset) = (i as usize / PAGE_SIZE, i as usize % PAGE_SIZE);
        let base = match memo {
            Some(memo) if memo.page == page => memo.base,
            Some(memo) => {
                (memo.page, memo.base) = (page, self.page_base(mem, page));
                memo.base
            }
            None => self.page_base(mem, page),
        };
        // SAFETY: `base` is what `frame_ptr` gave for the state frame (now or when the memo was
        // filled: contract 2 keeps it valid), offset < PAGE_SIZE is inside it, valid for reads
        // and writes; the byte is initialised (zeroed at init) and every bit pattern is an
        // `AtomicU8`. The maps' frames are the allocator's for its whole life (foreign to
        // `deallocate`, never handed out), and after `zeroed` the library accesses these bytes
        // only atomically, through this function.
        unsafe { AtomicU8::from_ptr(base.as_ptr().add(offset)) }
    }

    /// Makes frame `i` managed and free (at init).
    pub fn add_free<P: PhysMem>(&self, mem: &P, i: u32) {
        self.state(mem, None, i).store(FREE, Ordering::Relaxed);
    }

    /// Whether frame `i` (below the span) belongs to the allocator.
    pub fn is_managed<P: PhysMem>(&self, mem: &P, i: u32) -> bool {
        self.state(mem, None, i).load(Ordering::Relaxed) != FOREIGN
    }

    /// Whether frame `i` is free right now.
    pub fn is_free<P: PhysMem>(&self, mem: &P, i: u32) -> bool {
        self.state(mem, None, i).load(Ordering::Acquire) == FREE
    }

    /// Marks allocated frame `i` free, atomically: of two racing frees, one fails.
    #[inline]
    pub fn mark_free<P: PhysMem>(
        &self,
        mem: &P,
        memo: Option<&mut StateMemo>,
        i: u32,
    ) -> Result<(), NotAllocated> {
        let swap = self.state(mem, memo, i).compare_exchange(
            ALLOCATED,
            FREE,
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
        match swap {
            Ok(_) => Ok(()),
            Err(found) => Err(NotAllocated::found(found)),
        }
    }

    /// Marks free frame `i`, just taken off a list by its only owner, allocated. A plain store:
    /// no one else changes this byte meanwhile (a racing bad free sees FREE and fails). Not a
    /// load as well: on a cold allocation the state byte's line is cold too, and a load waits
    /// for it where a store does not (a check here cost 4 ns per cold allocation from a hart
    /// cache).
    #[inline]
    pub fn mark_allocated<P: PhysMem>(&self, mem: &P, memo: Option<&mut StateMemo>, i: u32) {
        let state = self.state(mem, memo, i);
        debug_assert_eq!(
            state.load(Ordering::Relaxed),
            FREE,
            "a listed frame is not free"
        );
        state.store(ALLOCATED, Ordering::Release);
    }
}

/// Scratch bits, one per frame, owned by whoever holds the allocator's lock.
#[derive(Debug)]
pub(super) struct Listed {
    first: Frame,
    offset: usize,
    words: usize,
}

impl Listed {
    /// Where word `w` lives: word aligned, so it never straddles two frames (see `layout`).
    fn word(&self, w: usize) -> (Frame, usize) {
        at(self.first, self.offset + w * size_of::<usize>())
    }

    /// The frame holding word `w`, and the word's offset in it.
    fn view<'m, P: PhysMem>(&mut self, mem: &'m P, w: usize) -> (FrameMut<'m>, usize) {
        let (frame, offset) = self.word(w);
        // SAFETY: one of the maps' frames, which the allocator keeps to itself; its listed
        // words are reached only through the one `Listed`, borrowed mutably (under the lock).
        (unsafe { FrameMut::new(mem, frame) }.expect(MAPS), offset)
    }

    fn get_word<P: PhysMem>(&mut self, mem: &P, w: usize) -> usize {
        let (map, offset) = self.view(mem, w);
        map.read_word(offset).expect("a word inside the frame")
    }

    fn update<P: PhysMem>(&mut self, mem: &P, i: usize, f: impl FnOnce(usize) -> usize) {
        let (mut map, offset) = self.view(mem, i / BITS);
        let w = map.read_word(offset).expect("a word inside the frame");
        map.write_word(offset, f(w))
            .expect("a word inside the frame");
    }

    /// Clears every bit.
    pub fn clear_all<P: PhysMem>(&mut self, mem: &P) {
        for w in 0..self.words {
            self.update(mem, w * BITS, |_| 0);
        }
    }

    /// Sets bit `i`.
    pub fn set<P: PhysMem>(&mut self, mem: &P, i: usize) {
        self.update(mem, i, |w| w | 1 << (i % BITS));
    }

    /// Clears bit `i`.
    pub fn clear<P: PhysMem>(&mut self, mem: &P, i: usize) {
        self.update(mem, i, |w| w & !(1 << (i % BITS)));
    }

    /// The first set bit at or after `from`.
    pub fn first_set<P: PhysMem>(&mut self, mem: &P, from: usize) -> Option<usize> {
        let mut w = from / BITS;
        if w >= self.words {
            return None;
        }
        let mut bits = self.get_word(mem, w) & (usize::MAX << (from % BITS));
        while bits == 0 {
            w += 1;
            if w >= self.words {
                return None;
            }
            bits = self.get_word(mem, w);
        }
        Some(w * BITS + bits.trailing_zeros() as usize)
    }

    /// The first clear bit in `from..to`, if any.
    pub fn first_clear<P: PhysMem>(&mut self, mem: &P, from: usize, to: usize) -> Option<usize> {
        let mut i = from;
        while i < to {
            let holes = !self.get_word(mem, i / BITS) & (usize::MAX << (i % BITS));
            if holes != 0 {
                let found = (i / BITS) * BITS + holes.trailing_zeros() as usize;
                return (found < to).then_some(found);
            }
            i = (i / BITS + 1) * BITS;
        }
        None
    }
}
