//! Where a piece of kernel work takes its frames from: kalloc's shared list, or, for work that
//! takes or gives back many frames, this hart's cache, claimed for the work and given back
//! after it.
//!
//! A cache moves frames between the shared list and itself a batch (up to 1,021 frames) at a
//! time under one lock, and hands them out without the lock; the shared list takes its lock
//! for every frame. A cache kept for good would hold up to two batches (8 MiB) where a process
//! exhausting memory on another hart could not reach them, so the kernel claims it only for
//! the length of one operation (an `sbrk`, a `fork`, a space's teardown) and drops it after,
//! which puts its frames back on the shared list: between operations no frame is cached.
//!
//! The `unsafe` here is the promise of [`KernelFrames`]' `FrameSource`: it hands out and takes
//! back frames of kalloc only.

use super::Frames;
use crate::arch::hart_id;
use rvmm::Frame;
use rvmm::frame::{FrameSource, HartCache, OutOfMemory};
use rvmm::phys::Identity;

use crate::sync::IrqSpin;

/// Frames at or above which an operation goes through the hart's cache: each frame through
/// the cache saves about 24 guest instructions against the shared list (`sbrk` of 16 MiB,
/// 4,096 pages there and back: `cargo xtask bench qemu`, workload a), and claiming, filling
/// and giving back the cache costs about 900 (workload b, one page per `sbrk`, through a cache
/// each time: 18.8 million instead of 11.5 on rv64), so the cache pays from about 40 frames.
pub const CACHE_FROM: usize = 64;

/// kalloc, directly or through this hart's cache.
pub enum KernelFrames {
    /// The shared list, one lock per frame.
    Shared(&'static Frames),
    /// This hart's cache, claimed until the value is dropped.
    Cached(HartCache<'static, Identity, IrqSpin>),
}

/// kalloc for an operation that moves about `frames` frames: this hart's cache when that is
/// many (and the cache is free to claim), else the shared list. The kernel's work on a hart
/// does not nest or switch away while it holds the value, so the claim cannot fail in
/// practice; if it does, the shared list serves.
pub fn for_frames(frames: usize) -> KernelFrames {
    let kalloc = super::frames();
    if frames >= CACHE_FROM
        && let Some(cache) = kalloc.hart(hart_id())
    {
        return KernelFrames::Cached(cache);
    }
    KernelFrames::Shared(kalloc)
}

// SAFETY: both ways hand out frames of kalloc that are unused (the allocator's and its caches'
// contract) and take back frames of kalloc: a hart cache accepts any allocated frame of its
// allocator, and the allocator any frame a cache handed out (one state map for both), so a
// frame allocated one way may be freed the other, as `FrameSource` requires of "this source".
unsafe impl FrameSource for KernelFrames {
    #[inline]
    fn allocate(&mut self) -> Result<Frame, OutOfMemory> {
        match self {
            KernelFrames::Shared(kalloc) => Frames::allocate(kalloc),
            KernelFrames::Cached(cache) => HartCache::allocate(cache),
        }
    }

    #[inline]
    unsafe fn deallocate(&mut self, frame: Frame) {
        // SAFETY: the caller gives back a frame it got from kalloc and no longer uses.
        let freed = unsafe {
            match self {
                KernelFrames::Shared(kalloc) => Frames::deallocate(kalloc, frame),
                KernelFrames::Cached(cache) => HartCache::deallocate(cache, frame),
            }
        };
        freed.expect("a frame of kalloc, allocated");
    }
}

/// kalloc for giving back (or copying) all of `space`. Its pages decide (its tables are a
/// few more, and counting them means walking them).
pub fn for_space(space: &super::UserSpace) -> KernelFrames {
    for_frames(space.resident_pages())
}
