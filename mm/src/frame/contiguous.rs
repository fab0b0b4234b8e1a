//! Runs of physically contiguous frames.
//!
//! The single-frame paths keep O(1) because a run is found the slow way: under the lock, mark
//! the frames on the shared list in the scratch bitmap, scan it for an aligned run (O(span)),
//! and rebuild the list from what is left. Only frames on the shared list are candidates, so a
//! frame sitting in a hart cache, or being freed right now, is never taken or duplicated.

use super::allocator::FrameAllocator;
use super::batch::BatchList;
use super::maps::Listed;
use super::{FreeError, OutOfMemory};
use crate::addr::{Frame, PageSize};
use crate::phys::PhysMem;
use core::num::NonZeroUsize;
use lock_api::RawMutex;

impl<P: PhysMem, R: RawMutex> FrameAllocator<P, R> {
    /// `count` physically contiguous frames, the first one's address a multiple of `align`;
    /// returns the first. O(span) under the lock. On failure nothing changes. Frames in hart
    /// caches are not candidates (drop idle caches first if a run matters more).
    pub fn allocate_contiguous(
        &self,
        count: NonZeroUsize,
        align: PageSize,
    ) -> Result<Frame, OutOfMemory> {
        let mem = &self.mem;
        let mut guard = self.shared.lock();
        let s = &mut *guard;
        s.listed.clear_all(mem);
        s.list
            .for_each(&|i| self.ptr(i), |i| s.listed.set(mem, i as usize));
        let start = self.find_run(&mut s.listed, count.get(), align)?;
        let run = start..start + count.get();
        run.clone().for_each(|i| s.listed.clear(mem, i));
        // The old nodes are garbage now: `listed` names every frame that stays on the list.
        s.list = BatchList::new();
        let mut at = 0;
        while let Some(i) = s.listed.first_set(mem, at) {
            // SAFETY: the frame was on the list, which owns it; it goes back on and nowhere else.
            unsafe { s.list.push(i as u32, || self.ptr(i as u32)) };
            at = i + 1;
        }
        s.note_low();
        drop(guard);
        run.for_each(|i| {
            self.hand_out(i as u32, None);
        });
        Ok(self.frame(start as u32))
    }

    /// The first index of `n` set bits in `listed` whose frame is aligned to `align`.
    fn find_run(
        &self,
        listed: &mut Listed,
        n: usize,
        align: PageSize,
    ) -> Result<usize, OutOfMemory> {
        let mem = &self.mem;
        let mut from = 0;
        loop {
            let set = listed.first_set(mem, from).ok_or(OutOfMemory)?;
            let aligned = (self.base + set as u64).next_multiple_of(align.base_pages() as u64);
            let start = (aligned - self.base) as usize;
            let end = start.checked_add(n).filter(|&e| e as u64 <= self.span);
            let end = end.ok_or(OutOfMemory)?;
            match listed.first_clear(mem, start, end) {
                None => return Ok(start),
                Some(hole) => from = hole + 1,
            }
        }
    }

    /// Frees the `count` frames from `first`. Every frame is checked before any is freed, so
    /// an error (the first bad frame) leaves the allocator unchanged.
    ///
    /// # Safety
    /// As for [`deallocate`](Self::deallocate), for each frame.
    pub unsafe fn deallocate_contiguous(
        &self,
        first: Frame,
        count: usize,
    ) -> Result<(), FreeError> {
        let frame = |k: usize| first.checked_add(k as u64).ok_or(FreeError::Foreign(first));
        for k in 0..count {
            let f = frame(k)?;
            if self.states.is_free(&self.mem, self.index(f)?) {
                return Err(FreeError::DoubleFree(f));
            }
        }
        // `accept` can still fail if another thread frees one of these frames concurrently (a
        // caller bug); the frames accepted up to then must still reach the list.
        let mut accepted = 0;
        let result = (0..count).try_for_each(|k| {
            self.accept(frame(k)?, None)?;
            accepted += 1;
            Ok(())
        });
        let mut s = self.shared.lock();
        for k in 0..accepted {
            let i = (first.number() - self.base) as u32 + k as u32; // checked by `index` above
            // SAFETY: `accept` made the frame ours; it goes on the list and nowhere else.
            unsafe { s.list.push(i, || self.ptr(i)) };
        }
        result
    }
}
