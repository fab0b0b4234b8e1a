//! Data pages of a process: mapping fresh ones, releasing them, and reaching their bytes.
//!
//! This file holds the user space's `unsafe`. The argument is the same everywhere: every leaf
//! in a space's table, except the trampoline's, maps a frame the space allocated itself (the
//! trap frame, program, heap and stack pages), owns alone, and gives back only when it unmaps
//! the leaf. The trampoline is the only foreign frame; it is never user-accessible, so the
//! user-memory paths (which require U) never reach it, and it is never freed.

use super::UserSpace;
use super::layout::to_va;
use crate::addr::{Frame, PAGE_SIZE, Page, PageRange, VirtAddr};
use crate::frame::{FrameSource, OutOfMemory};
use crate::paging::{Mode, PageSizes, Perms};
use crate::phys::{PhysMem, fill_frame};
use crate::tlb::Flush;
use core::ptr::NonNull;

/// The pages `[start, start + pages * 4 KiB)`; callers pass ranges inside the mode's space, so
/// the empty fallback is never taken.
pub(super) fn range(start: usize, pages: usize) -> PageRange {
    PageRange::from_pages(Page::containing(to_va(start)), pages).unwrap_or(NO_PAGES)
}

const NO_PAGES: PageRange = match VirtAddr::new(0) {
    Ok(zero) => match PageRange::from_pages(Page::containing(zero), 0) {
        Ok(r) => r,
        Err(_) => panic!("an empty range at 0 is valid"),
    },
    Err(_) => panic!("0 is a virtual address"),
};

impl<M: Mode, P: PhysMem> UserSpace<M, P> {
    /// Maps one fresh frame at `page` with `perms`, zeroed and then handed to `fill`. On any
    /// failure the frame goes back and nothing is mapped.
    pub(super) fn map_fresh(
        &mut self,
        page: usize,
        perms: Perms,
        frames: &mut impl FrameSource,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<Frame, OutOfMemory> {
        let frame = frames.allocate()?;
        let Some(ptr) = self.table.phys().frame_ptr(frame) else {
            // SAFETY: just allocated from `frames`, never used.
            unsafe { frames.deallocate(frame) };
            return Err(OutOfMemory);
        };
        // SAFETY: the frame is fresh from `frames`, so this space owns it alone, and PhysMem
        // makes `ptr` valid for PAGE_SIZE bytes.
        let bytes = unsafe {
            fill_frame(ptr, 0);
            core::slice::from_raw_parts_mut(ptr.as_ptr(), PAGE_SIZE)
        };
        fill(bytes);
        let mapped = self.table.map(
            range(page, 1),
            frame.start(),
            perms,
            PageSizes::Only4KiB,
            frames,
        );
        match mapped {
            // The caller reports the flush for the whole run it maps.
            Ok(flush) => {
                flush.ignore();
                Ok(frame)
            }
            // Out of table frames, or a frame the mode cannot address: as good as none.
            Err(_) => {
                // SAFETY: allocated above, never mapped, no pointer to it survives `fill`.
                unsafe { frames.deallocate(frame) };
                Err(OutOfMemory)
            }
        }
    }

    /// Maps `pages` fresh zeroed pages from `start` with `perms`: all of them, or none.
    pub(super) fn map_zeroed(
        &mut self,
        start: usize,
        pages: usize,
        perms: Perms,
        frames: &mut impl FrameSource,
    ) -> Result<Flush, OutOfMemory> {
        for i in 0..pages {
            if let Err(e) = self.map_fresh(start + i * PAGE_SIZE, perms, frames, |_| {}) {
                self.release(start, i, frames).ignore(); // never reached a TLB
                return Err(e);
            }
        }
        Ok(Flush::pages(range(start, pages)))
    }

    /// Unmaps `pages` pages from `start` and frees their frames (unmapped pages are skipped),
    /// along with tables left empty.
    pub(super) fn release(
        &mut self,
        start: usize,
        pages: usize,
        frames: &mut impl FrameSource,
    ) -> Flush {
        let pages = range(start, pages);
        // SAFETY: every page a caller releases lies in a region of data pages (program, heap,
        // stack, trap frame), whose frames this space allocated from `frames` (the same source
        // throughout, as `UserSpace` documents) and owns alone (module argument).
        let result = unsafe { self.table.unmap_and_free(pages, frames) };
        // Only splitting a superpage can fail, and a user space maps 4 KiB leaves only.
        result.unwrap_or_else(|_| Flush::pages(pages))
    }

    /// The frame behind `va` and the leaf's permissions, if mapped.
    pub(super) fn frame_at(&self, va: usize) -> Option<(Frame, Perms)> {
        let t = self.table.translate(VirtAddr::new(va).ok()?)?;
        Some((Frame::containing(t.pa), t.perms))
    }

    /// A pointer to the first byte of `frame`, one of this space's data frames.
    pub(super) fn frame_ptr(&self, frame: Frame) -> Option<NonNull<u8>> {
        self.table.phys().frame_ptr(frame)
    }

    /// Zeroes `len` bytes from `va`, which lie in one mapped data page of this space.
    pub(super) fn zero_bytes(&mut self, va: usize, len: usize) {
        let offset = va % PAGE_SIZE;
        let Some((frame, _)) = self.frame_at(va) else {
            return;
        };
        let Some(ptr) = self.frame_ptr(frame) else {
            return;
        };
        let len = len.min(PAGE_SIZE - offset);
        // SAFETY: `frame` is one of this space's data frames (callers pass heap or stack
        // addresses), owned by it alone; `&mut self` excludes other access; PhysMem makes the
        // frame valid for PAGE_SIZE bytes and offset + len <= PAGE_SIZE.
        unsafe { ptr.as_ptr().add(offset).write_bytes(0, len) }
    }

    /// Copies `out.len()` bytes from `offset` in `frame` into `out`; `frame` must be one of
    /// this space's data frames (a leaf other than the trampoline's: callers find it through a
    /// U leaf, or it is the trap frame) and the bytes must lie in it (else nothing is copied).
    pub(super) fn read_frame(&self, frame: Frame, offset: usize, out: &mut [u8]) {
        let Some(ptr) = self
            .frame_ptr(frame)
            .filter(|_| offset + out.len() <= PAGE_SIZE)
        else {
            return;
        };
        // SAFETY: the frame is a data frame the space owns (module argument), valid for
        // PAGE_SIZE bytes (PhysMem); `&self` excludes writers; `out` is kernel memory, not a
        // frame the space owns, so the two do not overlap; offset + len <= PAGE_SIZE.
        unsafe {
            core::ptr::copy_nonoverlapping(ptr.as_ptr().add(offset), out.as_mut_ptr(), out.len())
        }
    }

    /// Copies `data` to `offset` in `frame`, under the same conditions as `read_frame`.
    pub(super) fn write_frame(&mut self, frame: Frame, offset: usize, data: &[u8]) {
        let Some(ptr) = self
            .frame_ptr(frame)
            .filter(|_| offset + data.len() <= PAGE_SIZE)
        else {
            return;
        };
        // SAFETY: as in `read_frame`, with `&mut self` excluding every other access.
        unsafe {
            core::ptr::copy_nonoverlapping(data.as_ptr(), ptr.as_ptr().add(offset), data.len())
        }
    }
}
