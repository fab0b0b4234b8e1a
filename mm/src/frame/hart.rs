//! Per-hart caches: a hart takes a whole batch from the shared list under the lock, then
//! allocates and frees from it without the lock (the per-frame states, atomic, still catch bad frees).

use super::allocator::FrameAllocator;
use super::batch::BatchList;
use super::maps::StateMemo;
use super::{FrameSource, FreeError, OutOfMemory};
use crate::addr::Frame;
use crate::phys::PhysMem;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use lock_api::RawMutex;

/// How many hart caches one allocator offers (ids `0..MAX_HARTS`).
pub const MAX_HARTS: usize = 8;

/// A cache slot: claimed by at most one [`HartCache`], which publishes its frame count here so
/// the allocator's free count includes cached frames. One cache line each: no false sharing.
#[derive(Debug)]
#[repr(align(64))]
pub(super) struct Slot {
    claimed: AtomicBool,
    cached: AtomicUsize,
}

impl Slot {
    pub const fn new() -> Self {
        Slot {
            claimed: AtomicBool::new(false),
            cached: AtomicUsize::new(0),
        }
    }

    /// Frames the slot's cache holds.
    pub fn cached(&self) -> usize {
        self.cached.load(Ordering::Relaxed)
    }
}

/// A hart's private cache of free frames in front of a [`FrameAllocator`]'s shared list.
///
/// It holds at most two batches (up to 2 x [`BATCH_FRAMES`](super::BATCH_FRAMES)): it refills with one batch from the
/// shared list when empty and gives one back when a free would start a third, so a hart takes
/// the lock about once per thousand operations. Cached frames count as free in
/// [`FrameAllocator::stats`], but only this cache hands them out: another hart can see
/// [`OutOfMemory`] while caches hold frames. Dropping the cache returns its frames.
pub struct HartCache<'a, P: PhysMem, R: RawMutex = spin::mutex::SpinMutex<()>> {
    owner: &'a FrameAllocator<P, R>,
    slot: &'a Slot,
    list: BatchList,
    memo: StateMemo,
}

impl<P: PhysMem, R: RawMutex> FrameAllocator<P, R> {
    /// Claims hart cache `id`; `None` if `id >= MAX_HARTS` or the slot is already claimed.
    /// The slot is released when the cache is dropped.
    pub fn hart(&self, id: usize) -> Option<HartCache<'_, P, R>> {
        let slot = self.slots.get(id)?;
        let claim =
            slot.claimed
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed);
        claim.ok().map(|_| HartCache {
            owner: self,
            slot,
            list: BatchList::new(),
            memo: StateMemo::new(),
        })
    }
}

impl<P: PhysMem, R: RawMutex> HartCache<'_, P, R> {
    fn publish(&self) {
        self.slot.cached.store(self.list.count(), Ordering::Relaxed);
    }

    /// One frame, from the cache; refills from the shared list when the cache is empty.
    #[inline]
    pub fn allocate(&mut self) -> Result<Frame, OutOfMemory> {
        let i = match self.list.pop_held() {
            Some(i) => i,
            None => self.pop_node_or_refill()?,
        };
        self.publish();
        Ok(self.owner.hand_out(i, Some(&mut self.memo)))
    }

    /// The rare pops (once per ~1,000 allocations; out of line, so that the path taken every
    /// time stays small enough to inline): the head node itself, or, when the cache is empty,
    /// a number from a batch taken from the shared list.
    #[cold]
    #[inline(never)]
    fn pop_node_or_refill(&mut self) -> Result<u32, OutOfMemory> {
        if self.list.count() == 0 {
            let mut s = self.owner.shared.lock();
            self.list = s.list.take_batch(&|i| self.owner.ptr(i));
            s.note_low();
            self.publish(); // under the lock, so `stats` never sees the batch in neither place
        }
        self.list.pop(&|i| self.owner.ptr(i)).ok_or(OutOfMemory)
    }

    /// Gives a batch back to the shared list when the cache holds two and the next free would
    /// start a third.
    fn spill(&mut self) {
        if self.list.has_second() {
            let mut s = self.owner.shared.lock();
            let node_at = |i| self.owner.ptr(i);
            s.list.append(self.list.take_batch(&node_at), &node_at);
            self.publish();
        }
    }

    /// One frame filled with zeroes.
    pub fn allocate_zeroed(&mut self) -> Result<Frame, OutOfMemory> {
        self.allocate().map(|f| self.owner.zero(f))
    }

    /// Gives `frame` back to the cache. A foreign or already free frame (wherever it is
    /// cached) is refused with the allocator unchanged.
    ///
    /// # Safety
    /// As for [`FrameAllocator::deallocate`].
    #[inline]
    pub unsafe fn deallocate(&mut self, frame: Frame) -> Result<(), FreeError> {
        let i = self.owner.accept(frame, Some(&mut self.memo))?;
        // SAFETY: `accept` made the frame ours; it goes on this cache's list and nowhere else.
        if !unsafe { self.list.push_held(i) } {
            // SAFETY: as above.
            unsafe { self.push_node(i) };
        }
        self.publish();
        Ok(())
    }

    /// Pushes frame `i` when the head node is full (or there is none): the frame becomes the
    /// new head node, after a batch went back to the shared list if the cache held two (once
    /// per ~1,000 frees, out of line).
    ///
    /// # Safety
    /// `i` is a frame `accept` just made this cache's.
    #[cold]
    #[inline(never)]
    unsafe fn push_node(&mut self, i: u32) {
        self.spill();
        // SAFETY: the caller's contract: the frame is ours, for this list only.
        unsafe { self.list.push(i, || self.owner.ptr(i)) };
    }
}

impl<P: PhysMem, R: RawMutex> Drop for HartCache<'_, P, R> {
    fn drop(&mut self) {
        let mut s = self.owner.shared.lock();
        let list = core::mem::replace(&mut self.list, BatchList::new());
        s.list.append(list, &|i| self.owner.ptr(i));
        self.publish();
        drop(s);
        self.slot.claimed.store(false, Ordering::Release);
    }
}

// SAFETY: frames come off the cache's list and are marked allocated, so no one else gets them
// until freed; all are backed by the owner's `P`.
unsafe impl<P: PhysMem, R: RawMutex> FrameSource for HartCache<'_, P, R> {
    fn allocate(&mut self) -> Result<Frame, OutOfMemory> {
        HartCache::allocate(self)
    }

    unsafe fn deallocate(&mut self, frame: Frame) {
        // SAFETY: the caller's contract is the inherent `deallocate`'s.
        let freed = unsafe { HartCache::deallocate(self, frame) };
        freed.expect(super::allocator::CONTRACT);
    }
}
