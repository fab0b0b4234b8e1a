//! The shared allocator: init from RAM ranges, `allocate`/`deallocate` under one lock, counters.

use super::batch::BatchList;
use super::hart::Slot;
use super::maps::{self, Listed, NotAllocated, StateMemo, States};
use super::ranges::usable_runs;
use super::{FrameSource, FreeError, InitError, Junk, MAX_HARTS, OutOfMemory, Stats};
use crate::addr::{Frame, PAGE_SIZE, PhysAddr, PhysRange};
use crate::phys::{FrameMut, PhysMem};
use core::convert::Infallible;
use core::fmt;
use core::ptr::NonNull;
use lock_api::{Mutex, RawMutex};

/// What the lock protects.
#[derive(Debug)]
pub(super) struct Shared {
    pub list: BatchList,
    pub low_water: usize,
    pub listed: Listed,
}

impl Shared {
    /// Records the list's size after something was taken from it.
    pub fn note_low(&mut self) {
        self.low_water = self.low_water.min(self.list.count());
    }
}

/// The physical frame allocator: O(1) `allocate` and `deallocate` of 4 KiB frames
/// under one lock `R`, O(1) detection of bad frees, contiguous runs, and per-hart caches
/// ([`HartCache`](super::HartCache)).
///
/// `P` is how frames are reached (`Identity` in a kernel, `&Arena` in tests). `R` is the lock;
/// a kernel passes one that keeps interrupts off while held, so an interrupt handler on the
/// same hart cannot spin on a lock its own hart holds.
///
/// ```
/// use rvmm::addr::PhysRange;
/// use rvmm::frame::{FrameAllocator, FreeError, Junk};
/// use rvmm_testkit::Arena;
///
/// let arena = Arena::new(0x8000_0000, 64 * 4096);
/// let kernel_image = PhysRange::with_len(0x8000_0000, 0x4800).unwrap(); // frames 0..5
/// // SAFETY: the arena's frames outside the kernel image are used by nothing else.
/// let frames = unsafe { FrameAllocator::new(&arena, &[arena.range()], &[kernel_image], Junk::Fill) }
///     .unwrap();
/// assert_eq!(frames.stats().total, 64 - 5 - 1); // one frame holds the bookkeeping
/// let f = frames.allocate_zeroed().unwrap();
/// // SAFETY: `f` came from `frames` and is not used after this.
/// assert_eq!(unsafe { frames.deallocate(f) }, Ok(()));
/// assert_eq!(unsafe { frames.deallocate(f) }, Err(FreeError::DoubleFree(f)));
/// ```
pub struct FrameAllocator<P: PhysMem, R: RawMutex = spin::mutex::SpinMutex<()>> {
    pub(super) mem: P,
    /// Frame number of index 0, the lowest usable frame.
    pub(super) base: u64,
    /// Indices run over `0..span`.
    pub(super) span: u64,
    pub(super) states: States,
    bookkeeping: (Frame, usize),
    total: usize,
    junk: Junk,
    pub(super) shared: Mutex<R, Shared>,
    pub(super) slots: [Slot; MAX_HARTS],
}

/// Why a managed frame has memory: `new` refused `PhysMem`s that do not back every usable frame.
pub(super) const BACKED: &str = "PhysMem stopped backing a frame it backed at init";

/// Why `FrameSource::deallocate` cannot be refused: its caller promises the frame came from
/// `allocate` on this source and was not given back since, which is all the inherent
/// `deallocate` checks.
pub(super) const CONTRACT: &str = "FrameSource::deallocate of a frame this source did not hand out";

/// Frame number `n`, which came from a valid `PhysRange` and so is a valid frame.
#[inline]
fn frame_number(n: u64) -> Frame {
    match Frame::from_number(n) {
        Ok(f) => f,
        Err(_) => unreachable!("frame numbers come from valid physical ranges"),
    }
}

impl<P: PhysMem> FrameAllocator<P> {
    /// An allocator, locked by a spin lock, over the frames of `ram` (edges trimmed inward)
    /// that touch no `reserved` range. Ranges may overlap and come in any order. The bookkeeping
    /// (a byte and a bit per frame of the span) is carved out of the lowest run of usable frames
    /// long enough for it. Takes O(frames).
    ///
    /// # Safety
    /// Those frames are handed to the allocator: `mem` backs them and nothing else (no other
    /// allocator either) uses them while the allocator lives.
    pub unsafe fn new(
        mem: P,
        ram: &[PhysRange],
        reserved: &[PhysRange],
        junk: Junk,
    ) -> Result<Self, InitError> {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { Self::with_lock(mem, ram, reserved, junk) }
    }
}

impl<P: PhysMem, R: RawMutex> FrameAllocator<P, R> {
    /// As [`FrameAllocator::new`], with the lock type `R` chosen by the caller.
    ///
    /// # Safety
    /// As for [`FrameAllocator::new`].
    pub unsafe fn with_lock(
        mem: P,
        ram: &[PhysRange],
        reserved: &[PhysRange],
        junk: Junk,
    ) -> Result<Self, InitError> {
        let (mut lo, mut hi, mut usable) = (u64::MAX, 0, 0);
        usable_runs(ram, reserved, |s, e| {
            for n in s..e {
                mem.frame_ptr(frame_number(n))
                    .ok_or(InitError::NotBacked(frame_number(n)))?;
            }
            (lo, hi, usable) = (lo.min(s), hi.max(e), usable + (e - s));
            Ok(())
        })?;
        if usable == 0 {
            return Err(InitError::NoMemory);
        }
        let span = hi - lo;
        if span > u32::MAX as u64 {
            return Err(InitError::SpanTooLarge { frames: span });
        }
        let need = maps::frames_needed(span);
        let mut at = None;
        let Ok(()) = usable_runs::<Infallible>(ram, reserved, |s, e| {
            at = at.or((e - s >= need).then_some(s));
            Ok(())
        });
        let at = at.ok_or(InitError::NoRoomForBookkeeping { frames: need })?;
        if usable == need {
            return Err(InitError::NoMemory);
        }
        let (states, listed) = maps::zeroed(&mem, frame_number(at), span);
        let mut list = BatchList::new();
        let Ok(()) = usable_runs::<Infallible>(ram, reserved, |s, e| {
            for n in (s..e).filter(|n| !(at..at + need).contains(n)) {
                let i = (n - lo) as u32;
                states.add_free(&mem, i);
                let ptr = || mem.frame_ptr(frame_number(n)).expect("checked above");
                // SAFETY: a usable frame (backed, checked above), ours by the contract.
                unsafe { list.push(i, ptr) };
            }
            Ok(())
        });
        let total = list.count();
        Ok(FrameAllocator {
            mem,
            base: lo,
            span,
            states,
            bookkeeping: (frame_number(at), need as usize),
            total,
            junk,
            shared: Mutex::new(Shared {
                low_water: total,
                list,
                listed,
            }),
            slots: [const { Slot::new() }; MAX_HARTS],
        })
    }

    /// The frame with index `i`, which is below the span (the frames from `base` on that the
    /// allocator manages, all of them frames: the sum needs no check).
    #[inline]
    pub(super) fn frame(&self, i: u32) -> Frame {
        debug_assert!(u64::from(i) < self.span);
        Frame::from_masked_number(self.base + i as u64)
    }

    /// The memory of managed frame `i`: how the free lists reach their nodes. An index outside
    /// the span can only come from corrupted list bytes; it panics rather than reach a frame
    /// the allocator does not manage.
    pub(super) fn ptr(&self, i: u32) -> NonNull<u8> {
        assert!(
            u64::from(i) < self.span,
            "free list corrupted: index beyond the span"
        );
        let p = self.mem.frame_ptr(self.frame(i));
        p.expect(BACKED)
    }

    /// The physical memory the frames live in, for reading and writing them.
    pub fn phys(&self) -> &P {
        &self.mem
    }

    /// The index of `frame` if the allocator manages it.
    pub(super) fn index(&self, frame: Frame) -> Result<u32, FreeError> {
        match frame.number().checked_sub(self.base) {
            Some(i) if i < self.span && self.states.is_managed(&self.mem, i as u32) => Ok(i as u32),
            _ => Err(FreeError::Foreign(frame)),
        }
    }

    /// Checks a frame being freed, marks it free, junk-fills it and returns its index. After
    /// this the frame belongs to the caller's list (shared or cached) and must go on it.
    /// `memo` is the caller's memory of the last state frame (a hart cache has one).
    #[inline]
    pub(super) fn accept(
        &self,
        frame: Frame,
        memo: Option<&mut StateMemo>,
    ) -> Result<u32, FreeError> {
        // One compare: below `base` wraps to far above the span.
        let i = frame.number().wrapping_sub(self.base);
        if i >= self.span {
            return Err(FreeError::Foreign(frame));
        }
        let i = i as u32;
        match self.states.mark_free(&self.mem, memo, i) {
            Ok(()) => {}
            Err(NotAllocated::Free) => return Err(FreeError::DoubleFree(frame)),
            Err(NotAllocated::Foreign) => return Err(FreeError::Foreign(frame)),
        }
        if self.junk == Junk::Fill {
            // SAFETY: marking the frame free made it the allocator's; nothing else touches it.
            unsafe { self.fill_junk(frame, Junk::FREED) };
        }
        Ok(i)
    }

    /// Marks frame `i`, just taken off a list, as allocated and junk-fills it. An index beyond
    /// the span (corrupted list bytes) panics here instead of naming a frame the allocator does
    /// not manage.
    #[inline]
    pub(super) fn hand_out(&self, i: u32, memo: Option<&mut StateMemo>) -> Frame {
        assert!(
            u64::from(i) < self.span,
            "free list corrupted: index beyond the span"
        );
        self.states.mark_allocated(&self.mem, memo, i);
        let frame = self.frame(i);
        if self.junk == Junk::Fill {
            // SAFETY: just taken off a list: the allocator's until it returns the frame.
            unsafe { self.fill_junk(frame, Junk::ALLOCATED) };
        }
        frame
    }

    /// Fills `frame` with `byte`: the debug aid, kept out of line so that the paths that call
    /// it stay small enough to inline where junk filling is off.
    ///
    /// # Safety
    /// As for [`held`](Self::held).
    #[cold]
    #[inline(never)]
    unsafe fn fill_junk(&self, frame: Frame, byte: u8) {
        // SAFETY: the caller's contract is `held`'s.
        unsafe { self.held(frame) }
            .fill_bytes(0, PAGE_SIZE, byte)
            .expect("a whole frame");
    }

    /// Fills a frame the caller just allocated with zeroes.
    pub(super) fn zero(&self, frame: Frame) -> Frame {
        // SAFETY: the caller just allocated the frame and has not handed it on.
        unsafe { self.held(frame) }.zero();
        frame
    }

    /// A view of managed `frame`'s bytes.
    ///
    /// # Safety
    /// As for [`FrameMut::new`]: the frame is the caller's alone for the view's life (it is
    /// free and the allocator's, or just allocated and not handed on).
    unsafe fn held(&self, frame: Frame) -> FrameMut<'_> {
        // SAFETY: the caller's contract is `FrameMut::new`'s.
        unsafe { FrameMut::new(&self.mem, frame) }.expect(BACKED)
    }

    /// One frame from the shared list, with the token that owns it: the frame's bytes are
    /// reachable through [`OwnedFrame::bytes`], and dropping the token gives it back.
    pub fn allocate_owned(&self) -> Result<OwnedFrame<'_, P, R>, OutOfMemory> {
        let frame = self.allocate()?;
        Ok(OwnedFrame { owner: self, frame })
    }

    /// One frame from the shared list.
    #[inline]
    pub fn allocate(&self) -> Result<Frame, OutOfMemory> {
        let i = {
            let mut s = self.shared.lock();
            let i = s.list.pop(&|i| self.ptr(i)).ok_or(OutOfMemory)?;
            s.note_low();
            i
        };
        Ok(self.hand_out(i, None))
    }

    /// One frame filled with zeroes.
    pub fn allocate_zeroed(&self) -> Result<Frame, OutOfMemory> {
        self.allocate().map(|f| self.zero(f))
    }

    /// Gives `frame` back to the shared list. A foreign or already free frame is refused with
    /// the allocator unchanged.
    ///
    /// # Safety
    /// The caller owns `frame` (it was allocated here and not freed since) and does not use it
    /// after this call. Breaking this is still refused where detectable (double free).
    #[inline]
    pub unsafe fn deallocate(&self, frame: Frame) -> Result<(), FreeError> {
        let i = self.accept(frame, None)?;
        // SAFETY: `accept` made the frame ours; it goes on the list and nowhere else.
        unsafe { self.shared.lock().list.push(i, || self.ptr(i)) };
        Ok(())
    }

    /// As [`deallocate`](Self::deallocate), for a raw address, which must be the start of a frame.
    ///
    /// # Safety
    /// As for [`deallocate`](Self::deallocate).
    pub unsafe fn deallocate_addr(&self, addr: PhysAddr) -> Result<(), FreeError> {
        let frame = Frame::from_start(addr).map_err(|_| FreeError::Unaligned(addr))?;
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { self.deallocate(frame) }
    }

    /// The counters. `free` is a snapshot: hart caches change it without the lock.
    pub fn stats(&self) -> Stats {
        let s = self.shared.lock();
        let cached = self.slots.iter().map(Slot::cached).sum();
        Stats {
            free: s.list.count() + cached,
            cached,
            total: self.total,
            low_water: s.low_water,
        }
    }

    /// The frames holding the allocator's bookkeeping: the first one and how many. They are
    /// taken from the RAM given at init and are foreign to `deallocate`.
    pub fn bookkeeping_frames(&self) -> (Frame, usize) {
        self.bookkeeping
    }
}

impl<P: PhysMem, R: RawMutex> fmt::Debug for FrameAllocator<P, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameAllocator")
            .field("base", &self.frame(0))
            .field("span", &self.span)
            .field("junk", &self.junk)
            .field("stats", &self.stats())
            .finish()
    }
}

// SAFETY: `allocate` returns frames taken off the list and marked allocated, so no
// one else gets them until they are freed; all of them are backed by the allocator's `P`.
unsafe impl<P: PhysMem, R: RawMutex> FrameSource for &FrameAllocator<P, R> {
    fn allocate(&mut self) -> Result<Frame, OutOfMemory> {
        FrameAllocator::allocate(self)
    }

    unsafe fn deallocate(&mut self, frame: Frame) {
        // SAFETY: the caller's contract (frame from `allocate`, unused after) is the inherent
        // `deallocate`'s.
        let freed = unsafe { FrameAllocator::deallocate(self, frame) };
        freed.expect(CONTRACT);
    }
}

/// A frame from [`FrameAllocator::allocate_owned`]: while the token lives the frame is its
/// holder's alone, so its bytes can be read and written safely; dropping the token frees it.
pub struct OwnedFrame<'a, P: PhysMem, R: RawMutex = spin::mutex::SpinMutex<()>> {
    owner: &'a FrameAllocator<P, R>,
    frame: Frame,
}

impl<'a, P: PhysMem, R: RawMutex> OwnedFrame<'a, P, R> {
    /// Which frame this is.
    pub fn frame(&self) -> Frame {
        self.frame
    }

    /// The frame's bytes.
    pub fn bytes(&mut self) -> FrameMut<'_> {
        // SAFETY: the token is the frame's only owner (allocated for it, freed only by its
        // drop), and the view borrows the token mutably, so it is the one access meanwhile.
        unsafe { self.owner.held(self.frame) }
    }

    /// Gives up the token and keeps the frame allocated: the caller now holds it by number,
    /// and frees it with the `unsafe` [`FrameAllocator::deallocate`] (or never: a leak).
    pub fn into_frame(self) -> Frame {
        let frame = self.frame;
        core::mem::forget(self);
        frame
    }

    /// The token for `frame`, a frame of `owner` that the caller holds by number.
    ///
    /// # Safety
    /// `frame` came from `owner` (allocated, not freed since), and the caller gives up every
    /// other use of it: from now on the token owns it.
    pub unsafe fn from_frame(owner: &'a FrameAllocator<P, R>, frame: Frame) -> Self {
        OwnedFrame { owner, frame }
    }
}

impl<P: PhysMem, R: RawMutex> Drop for OwnedFrame<'_, P, R> {
    fn drop(&mut self) {
        // SAFETY: the token owned the frame (allocated for it) and nothing uses it after this.
        let freed = unsafe { self.owner.deallocate(self.frame) };
        freed.expect("the frame was allocated for this token and is freed once");
    }
}

impl<P: PhysMem, R: RawMutex> fmt::Debug for OwnedFrame<'_, P, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedFrame").field(&self.frame).finish()
    }
}
