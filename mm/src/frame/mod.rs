//! Physical frames: the allocator, and where page tables and address spaces get them.
//!
//! [`FrameAllocator`] hands out 4 KiB frames from a list kept inside the free frames themselves
//! (no heap): each frame on the list is a *batch* holding up to ~1020 other free frame numbers,
//! so a pop reads a number from a hot array instead of a cold frame. A state byte per frame,
//! carved out of the managed RAM, makes bad frees (foreign frame, double free) typed errors in
//! O(1); a scratch bitmap lets [`FrameAllocator::allocate_contiguous`] find runs. [`HartCache`] is a per-hart cache in front of
//! the shared list that allocates and frees without taking the lock.

mod allocator;
mod batch;
mod contiguous;
mod hart;
mod maps;
mod ranges;

pub use allocator::{FrameAllocator, OwnedFrame};
pub use hart::{HartCache, MAX_HARTS};

/// Frames in one full batch: the node frame and the free frame numbers it holds (1,021; 15
/// under Miri). A [`HartCache`] holds at most two batches.
pub const BATCH_FRAMES: usize = batch::CAP + 1;

use crate::addr::{Frame, PhysAddr};
use core::fmt;

/// No free frame was left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfMemory;

impl fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("out of physical frames")
    }
}

impl core::error::Error for OutOfMemory {}

/// A source of 4 KiB frames for page tables and address spaces.
///
/// Frames come back with unspecified contents; users that need zeroes (page tables) zero them.
///
/// # Safety
/// `allocate` must return a frame that nothing else uses until it is passed to `deallocate`,
/// and that the [`PhysMem`](crate::PhysMem) the caller pairs with this source backs.
pub unsafe trait FrameSource {
    /// One frame, or [`OutOfMemory`].
    fn allocate(&mut self) -> Result<Frame, OutOfMemory>;

    /// Gives `frame` back.
    ///
    /// # Safety
    /// `frame` must have come from `allocate` on this source, and must not be used after this
    /// call.
    unsafe fn deallocate(&mut self, frame: Frame);
}

// SAFETY: forwards to an implementation that keeps the contract.
unsafe impl<S: FrameSource + ?Sized> FrameSource for &mut S {
    fn allocate(&mut self) -> Result<Frame, OutOfMemory> {
        (**self).allocate()
    }

    unsafe fn deallocate(&mut self, frame: Frame) {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { (**self).deallocate(frame) }
    }
}

/// Why a free was refused. The allocator's state is unchanged after each of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeError {
    /// The address is not the start of a 4 KiB frame.
    Unaligned(PhysAddr),
    /// The frame is not one the allocator manages: outside its RAM, in a hole between ranges,
    /// in a reserved range, or one of the frames holding the allocator's own bookkeeping.
    Foreign(Frame),
    /// The frame is already free (on the shared list or in a hart cache).
    DoubleFree(Frame),
}

impl fmt::Display for FreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FreeError::Unaligned(a) => write!(f, "free of unaligned address {a:?}"),
            FreeError::Foreign(fr) => write!(f, "free of {fr:?}, which is not managed here"),
            FreeError::DoubleFree(fr) => write!(f, "double free of {fr:?}"),
        }
    }
}

impl core::error::Error for FreeError {}

/// Why [`FrameAllocator::new`] refused its ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitError {
    /// No whole frame is left once edges are trimmed and reserved ranges and the bookkeeping
    /// removed.
    NoMemory,
    /// The managed frames span 2^32 frames (16 TiB) or more, beyond the reach of the list's
    /// 32-bit frame numbers.
    SpanTooLarge {
        /// Frames from the lowest to the highest usable frame.
        frames: u64,
    },
    /// No run of consecutive usable frames is long enough to hold the bookkeeping (a byte and
    /// a bit per frame of the span).
    NoRoomForBookkeeping {
        /// Frames the bookkeeping needs.
        frames: u64,
    },
    /// The [`PhysMem`](crate::PhysMem) does not back a frame the ranges call usable RAM.
    NotBacked(Frame),
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::NoMemory => f.write_str("no usable frame in the given ranges"),
            InitError::SpanTooLarge { frames } => {
                write!(f, "managed span of {frames} frames exceeds 2^32")
            }
            InitError::NoRoomForBookkeeping { frames } => {
                write!(f, "no run of {frames} free frames for the bookkeeping")
            }
            InitError::NotBacked(fr) => write!(f, "{fr:?} is RAM but physical memory lacks it"),
        }
    }
}

impl core::error::Error for InitError {}

/// Debug aid: whether frames are filled with junk when freed and when handed out, so a use
/// after free or a read of uninitialised memory shows up as garbage instead of stale data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Junk {
    /// Leave frame contents alone (fastest; benchmarks use this).
    Off,
    /// Fill with [`Junk::FREED`] on free and [`Junk::ALLOCATED`] on allocation.
    Fill,
}

impl Junk {
    /// The byte a freed frame is filled with.
    pub const FREED: u8 = 0x01;
    /// The byte a newly allocated frame is filled with (`allocate_zeroed` then zeroes it).
    pub const ALLOCATED: u8 = 0x05;
}

impl Default for Junk {
    /// [`Junk::Fill`] in debug builds, [`Junk::Off`] in release builds.
    fn default() -> Self {
        if cfg!(debug_assertions) {
            Junk::Fill
        } else {
            Junk::Off
        }
    }
}

/// Counters of a [`FrameAllocator`], in frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Free frames: on the shared list plus in hart caches.
    pub free: usize,
    /// Of `free`, the frames sitting in hart caches.
    pub cached: usize,
    /// Frames the allocator manages (its bookkeeping frames excluded).
    pub total: usize,
    /// The fewest frames the *shared list* ever held. Frames in hart caches are free too but
    /// not counted here, so the free count never fell below this value: it is a lower bound on
    /// the lowest free count, and equals it when no [`HartCache`] was in use.
    pub low_water: usize,
}
