//! A frame source wrapper that remembers every frame it handed out, and a simple frame source
//! over an [`Arena`].
//!
//! Why: "no frame leaks" is a rule the project checks after every lifecycle (map, unmap, tear
//! down, a map that fails halfway). Counting alone says *that* something leaked; [`Tracking`]
//! says *which* frames, and catches the two ways a caller can break the
//! [`FrameSource`] contract that a real allocator might not notice at once: giving back a frame
//! it never got, and giving one back twice. Those are test failures, so they panic with a clear
//! message instead of returning an error.
//!
//! [`ArenaFrames`] exists so page-table tests need nothing but an [`Arena`]: it does not depend
//! on the real `rvmm` frame allocator, whose API is free to change.

use crate::arena::Arena;
use rvmm::addr::{Frame, PAGE_SIZE};
use rvmm::frame::{FrameSource, OutOfMemory};
use std::collections::BTreeSet;

/// Wraps a [`FrameSource`] and records which of its frames are out (allocated, not yet given
/// back).
///
/// ```
/// use rvmm::FrameSource;
/// use rvmm_testkit::{Arena, ArenaFrames, Tracking};
///
/// let arena = Arena::new(0x8000_0000, 4 * 4096);
/// let mut frames = Tracking::new(ArenaFrames::new(&arena));
/// let f = frames.allocate().unwrap();
/// assert_eq!(frames.live_frames(), vec![f]);
/// // SAFETY: `f` came from this source and is not used afterwards.
/// unsafe { frames.deallocate(f) };
/// frames.assert_no_leaks();
/// ```
#[derive(Debug)]
pub struct Tracking<S> {
    inner: S,
    live: BTreeSet<Frame>,
    /// Frames handed out at some point and given back since: a second give-back is a double
    /// deallocate, not a foreign frame.
    returned: BTreeSet<Frame>,
    allocations: u64,
    deallocations: u64,
}

impl<S: FrameSource> Tracking<S> {
    /// Tracks the frames that `inner` hands out through this wrapper.
    pub fn new(inner: S) -> Self {
        Tracking {
            inner,
            live: BTreeSet::new(),
            returned: BTreeSet::new(),
            allocations: 0,
            deallocations: 0,
        }
    }

    /// How many frames are out: allocated and not yet given back.
    pub fn outstanding(&self) -> usize {
        self.live.len()
    }

    /// The frames that are out, in address order.
    pub fn live_frames(&self) -> Vec<Frame> {
        self.live.iter().copied().collect()
    }

    /// Whether `frame` is out.
    pub fn is_live(&self, frame: Frame) -> bool {
        self.live.contains(&frame)
    }

    /// How many successful allocations went through this wrapper.
    pub fn allocations(&self) -> u64 {
        self.allocations
    }

    /// How many deallocations went through this wrapper.
    pub fn deallocations(&self) -> u64 {
        self.deallocations
    }

    /// Panics, listing the frames, if any frame is still out.
    #[track_caller]
    pub fn assert_no_leaks(&self) {
        assert!(
            self.live.is_empty(),
            "{} frame(s) leaked: {:?}",
            self.live.len(),
            self.live
        );
    }

    /// The wrapped source.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The wrapped source, mutably (frames taken from it directly are not tracked).
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the source, forgetting what was tracked.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

// SAFETY: every frame comes from `inner`, which keeps the contract, and is handed on unchanged;
// a frame is passed back to `inner` only if `inner` handed it out through this wrapper and it
// has not been given back since (anything else panics before reaching `inner`).
unsafe impl<S: FrameSource> FrameSource for Tracking<S> {
    fn allocate(&mut self) -> Result<Frame, OutOfMemory> {
        let frame = self.inner.allocate()?;
        assert!(
            self.live.insert(frame),
            "the wrapped source handed out {frame:?} while it was still allocated"
        );
        self.returned.remove(&frame);
        self.allocations += 1;
        Ok(frame)
    }

    unsafe fn deallocate(&mut self, frame: Frame) {
        if !self.live.remove(&frame) {
            if self.returned.contains(&frame) {
                panic!("double deallocate of {frame:?}: it was already given back");
            }
            panic!("deallocate of {frame:?}, which this source never handed out");
        }
        self.returned.insert(frame);
        self.deallocations += 1;
        // SAFETY: `frame` came from `inner.allocate` (it was live) and the caller promised not
        // to use it after this call.
        unsafe { self.inner.deallocate(frame) }
    }
}

/// The byte [`ArenaFrames`] fills frames with on allocate and on deallocate: a PTE full of it
/// is valid (V) with R and X set, so a page table that forgets to zero a new table frame maps
/// junk, which the spec walker then reports.
pub const JUNK: u8 = 0xA5;

/// A simple frame source over the frames of an [`Arena`]: a free list (LIFO) in front of a bump
/// pointer, with a `Vec<bool>` of which frames are out.
///
/// Frames are filled with [`JUNK`] when handed out and when given back, so code that relies on
/// a fresh frame being zero, or that reads a frame after freeing it, sees garbage in tests.
pub struct ArenaFrames<'a> {
    arena: &'a Arena,
    first: u64,
    count: usize,
    next: usize,
    free: Vec<usize>,
    out: Vec<bool>,
}

impl std::fmt::Debug for ArenaFrames<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArenaFrames")
            .field("arena", &self.arena.range())
            .field("first", &self.frame(0))
            .field("total", &self.count)
            .field("free", &self.free_frames())
            .finish()
    }
}

impl<'a> ArenaFrames<'a> {
    /// Hands out every frame of `arena`.
    pub fn new(arena: &'a Arena) -> Self {
        Self::with_frames(arena, 0, arena.frames())
    }

    /// Hands out `count` frames of `arena` starting at its `skip`-th frame, leaving the others
    /// to the test (for data pages, or a second source).
    ///
    /// # Panics
    /// If the frames do not all lie in the arena.
    pub fn with_frames(arena: &'a Arena, skip: usize, count: usize) -> Self {
        assert!(
            skip.checked_add(count)
                .is_some_and(|end| end <= arena.frames()),
            "frames {skip}..{skip}+{count} are not all in an arena of {} frames",
            arena.frames()
        );
        let first = Frame::containing(arena.base()).number() + skip as u64;
        ArenaFrames {
            arena,
            first,
            count,
            next: 0,
            free: Vec::new(),
            out: vec![false; count],
        }
    }

    /// How many frames can still be handed out.
    pub fn free_frames(&self) -> usize {
        self.count - self.next + self.free.len()
    }

    /// How many frames this source manages.
    pub fn total_frames(&self) -> usize {
        self.count
    }

    /// The arena the frames live in.
    pub fn arena(&self) -> &'a Arena {
        self.arena
    }

    fn frame(&self, index: usize) -> Frame {
        Frame::from_number(self.first + index as u64).expect("arena frames are physical")
    }

    fn junk(&self, index: usize) {
        let filled = self.arena.fill_bytes(self.frame(index), 0, PAGE_SIZE, JUNK);
        filled.expect("the frame lies in the arena");
    }
}

// SAFETY: each index is handed out at most once until given back (`out` records it), frames lie
// in the arena (checked at construction), and the arena is the `PhysMem` that backs them.
unsafe impl FrameSource for ArenaFrames<'_> {
    fn allocate(&mut self) -> Result<Frame, OutOfMemory> {
        let index = match self.free.pop() {
            Some(i) => i,
            None if self.next < self.count => {
                self.next += 1;
                self.next - 1
            }
            None => return Err(OutOfMemory),
        };
        self.out[index] = true;
        self.junk(index);
        Ok(self.frame(index))
    }

    unsafe fn deallocate(&mut self, frame: Frame) {
        let index = frame
            .number()
            .checked_sub(self.first)
            .filter(|&i| i < self.count as u64)
            .unwrap_or_else(|| panic!("deallocate of {frame:?}, outside this ArenaFrames"))
            as usize;
        assert!(self.out[index], "deallocate of {frame:?}, which is not out");
        self.out[index] = false;
        self.junk(index);
        self.free.push(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvmm::PhysAddr;

    const BASE: u64 = 0x8000_0000;

    fn first_word(arena: &Arena, f: Frame) -> u64 {
        let mut b = [0; 8];
        arena.read(f, 0, &mut b).unwrap();
        u64::from_le_bytes(b)
    }

    #[test]
    fn arena_frames_hands_out_each_frame_once_then_runs_out() {
        let arena = Arena::new(BASE, 3 * PAGE_SIZE);
        let mut src = ArenaFrames::new(&arena);
        let got: BTreeSet<Frame> = (0..3).map(|_| src.allocate().unwrap()).collect();
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|f| arena.range().contains(f.start())));
        assert_eq!(src.allocate(), Err(OutOfMemory));
        assert_eq!(src.free_frames(), 0);
        let f = *got.first().unwrap();
        // SAFETY: `f` came from `src` and is not used again.
        unsafe { src.deallocate(f) };
        assert_eq!(src.free_frames(), 1);
        assert_eq!(src.allocate(), Ok(f));
    }

    #[test]
    fn arena_frames_junk_fills_on_allocate_and_free() {
        let arena = Arena::new(BASE, 2 * PAGE_SIZE);
        let mut src = ArenaFrames::with_frames(&arena, 1, 1);
        let f = src.allocate().unwrap();
        assert_eq!(f.start(), PhysAddr::new(BASE + PAGE_SIZE as u64).unwrap());
        assert_eq!(first_word(&arena, f), u64::from_le_bytes([JUNK; 8]));
        arena.write(f, 0, &[0; 8]).unwrap();
        // SAFETY: `f` came from `src` and is only read through the arena afterwards.
        unsafe { src.deallocate(f) };
        assert_eq!(first_word(&arena, f), u64::from_le_bytes([JUNK; 8]));
        let untouched = Frame::containing(arena.base());
        assert_eq!(first_word(&arena, untouched), 0);
    }

    #[test]
    #[should_panic(expected = "not all in an arena")]
    fn arena_frames_refuses_frames_outside_the_arena() {
        let arena = Arena::new(BASE, PAGE_SIZE);
        let _ = ArenaFrames::with_frames(&arena, 1, 1);
    }

    #[test]
    fn tracking_counts_and_lists_live_frames() {
        let arena = Arena::new(BASE, 4 * PAGE_SIZE);
        let mut t = Tracking::new(ArenaFrames::new(&arena));
        let a = t.allocate().unwrap();
        let b = t.allocate().unwrap();
        assert_eq!(t.outstanding(), 2);
        assert_eq!(t.live_frames(), vec![a.min(b), a.max(b)]);
        // SAFETY: `a` came from `t` and is not used again.
        unsafe { t.deallocate(a) };
        assert!(!t.is_live(a) && t.is_live(b));
        assert_eq!((t.allocations(), t.deallocations()), (2, 1));
        // Reusing a frame after giving it back is fine and tracked again.
        let c = t.allocate().unwrap();
        assert_eq!(c, a);
        // SAFETY: as above.
        unsafe { t.deallocate(c) };
        // SAFETY: as above.
        unsafe { t.deallocate(b) };
        t.assert_no_leaks();
        assert_eq!(t.into_inner().free_frames(), 4);
    }

    #[test]
    #[should_panic(expected = "1 frame(s) leaked: {Frame(0x80000000)}")]
    fn tracking_names_leaked_frames() {
        let arena = Arena::new(BASE, PAGE_SIZE);
        let mut t = Tracking::new(ArenaFrames::new(&arena));
        let _ = t.allocate().unwrap();
        t.assert_no_leaks();
    }

    #[test]
    #[should_panic(expected = "double deallocate of Frame(0x80000000)")]
    fn tracking_catches_double_deallocate() {
        let arena = Arena::new(BASE, PAGE_SIZE);
        let mut t = Tracking::new(ArenaFrames::new(&arena));
        let f = t.allocate().unwrap();
        // SAFETY: deliberately broken contract: the wrapper must panic before the inner source
        // sees the second call.
        unsafe {
            t.deallocate(f);
            t.deallocate(f);
        }
    }

    #[test]
    #[should_panic(expected = "never handed out")]
    fn tracking_catches_foreign_frame() {
        let arena = Arena::new(BASE, 2 * PAGE_SIZE);
        let mut t = Tracking::new(ArenaFrames::new(&arena));
        let foreign = Frame::containing(PhysAddr::new(BASE + 0x1000).unwrap());
        // SAFETY: deliberately broken contract: the wrapper panics before forwarding.
        unsafe { t.deallocate(foreign) };
    }
}
