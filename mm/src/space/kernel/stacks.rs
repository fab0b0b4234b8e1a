//! Kernel stacks mapped and unmapped at run time, one per process slot, each above an unmapped
//! guard page so an overflow faults instead of writing into the next stack.
//!
//! A slot's stack is all mapped or all unmapped (only these functions touch the area), so the
//! page table itself records which slots are in use: no array of slots, no heap.

use super::KernelSpace;
use super::describe::Region;
use super::error::StackError;
use super::layout::perms_of;
use crate::addr::{Page, PageRange, VirtAddr};
use crate::frame::FrameSource;
use crate::paging::{self, Mode, PageSizes};
use crate::phys::PhysMem;
use crate::tlb::Flush;

impl<M: Mode, P: PhysMem> KernelSpace<'_, M, P> {
    /// How many kernel-stack slots the map has room for.
    pub fn stack_slots(&self) -> usize {
        self.stacks.slots()
    }

    /// The pages of slot `slot`'s stack (mapped or not); `None` if there is no such slot.
    pub fn stack_pages(&self, slot: usize) -> Option<PageRange> {
        self.stacks.stack_pages(slot)
    }

    /// The initial stack pointer of slot `slot`: the first address above its stack.
    pub fn stack_top(&self, slot: usize) -> Option<VirtAddr> {
        let pages = self.stacks.stack_pages(slot)?;
        // The stack ends at the guard page above it, below the trampoline: a VirtAddr.
        VirtAddr::new(pages.end_u64() as usize).ok()
    }

    /// Whether slot `slot`'s stack is mapped.
    pub fn is_stack_mapped(&self, slot: usize) -> bool {
        self.stacks
            .stack_pages(slot)
            .is_some_and(|pages| self.table.translate(pages.start().start()).is_some())
    }

    /// Maps slot `slot`'s stack with fresh frames from `frames` (contents unspecified) and
    /// returns its top (the initial stack pointer) and the flush to apply.
    ///
    /// Fails with [`StackError::BadSlot`], [`StackError::AlreadyMapped`], or
    /// [`StackError::OutOfMemory`]; the map is unchanged after each, and every frame taken is
    /// given back. Use the same frame source for every call on one space: the frames go back to
    /// it in [`unmap_stack`](Self::unmap_stack).
    pub fn map_stack(
        &mut self,
        slot: usize,
        frames: &mut impl FrameSource,
    ) -> Result<(VirtAddr, Flush), StackError> {
        let pages = self.checked_slot(slot)?;
        if self.is_stack_mapped(slot) {
            return Err(StackError::AlreadyMapped(slot));
        }
        let flush = self
            .fill_stack(pages, frames)
            .map_err(|_| StackError::OutOfMemory)?;
        // `checked_slot` succeeded, so the slot has a top.
        let top = self.stack_top(slot).unwrap_or_default();
        Ok((top, flush))
    }

    /// Unmaps slot `slot`'s stack, gives its frames back to `frames` (the source
    /// [`map_stack`](Self::map_stack) took them from), and frees the page-table frames that
    /// become empty. Apply the flush before the slot's stack is mapped again; no hart may be
    /// running on the stack.
    ///
    /// Fails with [`StackError::BadSlot`] or [`StackError::NotMapped`], changing nothing.
    pub fn unmap_stack(
        &mut self,
        slot: usize,
        frames: &mut impl FrameSource,
    ) -> Result<Flush, StackError> {
        let pages = self.checked_slot(slot)?;
        if !self.is_stack_mapped(slot) {
            return Err(StackError::NotMapped(slot));
        }
        // Stack leaves are 4 KiB, so the unmap never splits a superpage and cannot run out.
        self.release_stack(pages, frames)
            .map_err(|_| StackError::OutOfMemory)
    }

    fn checked_slot(&self, slot: usize) -> Result<PageRange, StackError> {
        self.stacks.stack_pages(slot).ok_or(StackError::BadSlot {
            slot,
            slots: self.stacks.slots(),
        })
    }

    /// Maps `pages` (all unmapped) to fresh frames, one page at a time (the frames need not be
    /// contiguous); on failure unmaps and frees what it did, table frames included.
    pub(super) fn fill_stack(
        &mut self,
        pages: PageRange,
        frames: &mut impl FrameSource,
    ) -> Result<Flush, paging::Error> {
        let perms = perms_of(Region::KernelStack(0));
        for done in 0..pages.count() {
            let undo = PageRange::from_pages(pages.start(), done)?;
            let page = Page::from_number(pages.start().number() + done)?;
            let page = PageRange::from_pages(page, 1)?;
            let frame = match frames.allocate() {
                Ok(f) => f,
                Err(_) => {
                    self.release_stack(undo, frames)?.ignore();
                    return Err(paging::Error::OutOfMemory);
                }
            };
            match self
                .table
                .map(page, frame.start(), perms, PageSizes::Only4KiB, frames)
            {
                // One flush for the whole stack is returned below.
                Ok(flush) => flush.ignore(),
                Err(e) => {
                    // SAFETY: `frame` was just allocated from `frames` and never mapped.
                    unsafe { frames.deallocate(frame) };
                    // The stack was never handed out, so no hart has used these pages.
                    self.release_stack(undo, frames)?.ignore();
                    return Err(e);
                }
            }
        }
        Ok(Flush::pages(pages))
    }

    /// Unmaps the stack pages `pages` and frees their frames and emptied tables.
    fn release_stack(
        &mut self,
        pages: PageRange,
        frames: &mut impl FrameSource,
    ) -> Result<Flush, paging::Error> {
        // SAFETY: every frame mapped in a stack's pages was allocated from `frames` by
        // `fill_stack` (the documented rule: one frame source per space, as for the table's own
        // frames), only this one 4 KiB leaf names it, and the leaf goes now; nothing in this
        // library keeps a pointer to stack memory.
        unsafe { self.table.unmap_and_free(pages, frames) }
    }
}
