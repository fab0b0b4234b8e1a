//! Kernel stacks mapped and unmapped at run time, one per process slot, each above an unmapped
//! guard page so an overflow faults instead of writing into the next stack.
//!
//! A slot's stack is all mapped or all unmapped (only these functions touch the area), so the
//! page table itself records which slots are in use: no array of slots, no heap. Its pages are
//! owned leaves of the table (`PageTable::map_new`), so unmapping a stack gives its frames back
//! without a word of `unsafe` here.

use super::KernelSpace;
use super::describe::KernelRegion;
use super::error::{MapStackError, UnmapStackError};
use super::layout::perms_of;
use crate::addr::{Page, PageRange, VirtAddr};
use crate::frame::FrameSource;
use crate::paging::{MapNewError, Mode};
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

    /// The unmapped page just below slot `slot`'s stack, where an overflow faults; `None` if
    /// there is no such slot.
    pub fn stack_guard(&self, slot: usize) -> Option<Page> {
        self.stacks.guard_page(slot)
    }

    /// The initial stack pointer of slot `slot`: the first address above its stack.
    pub fn stack_top(&self, slot: usize) -> Option<VirtAddr> {
        let pages = self.stacks.stack_pages(slot)?;
        // The stack ends at the guard page above it, below the trampoline: a VirtAddr.
        VirtAddr::try_from(pages.end_u64()).ok()
    }

    /// Whether slot `slot`'s stack is mapped.
    pub fn is_stack_mapped(&self, slot: usize) -> bool {
        self.stacks
            .stack_pages(slot)
            .is_some_and(|pages| self.table.translate(pages.start().start()).is_some())
    }

    /// Maps slot `slot`'s stack with fresh zeroed frames from `frames` and returns its top (the
    /// initial stack pointer) and the flush to apply.
    ///
    /// Fails with [`MapStackError::BadSlot`], [`MapStackError::AlreadyMapped`], or
    /// [`MapStackError::OutOfMemory`]; the map is unchanged after each, and every frame taken
    /// is given back. Use the same frame source for every call on one space: the frames go back
    /// to it in [`unmap_stack`](Self::unmap_stack).
    pub fn map_stack(
        &mut self,
        slot: usize,
        frames: &mut impl FrameSource,
    ) -> Result<(VirtAddr, Flush), MapStackError> {
        let (pages, top) = self
            .slot(slot)
            .map_err(|(slot, slots)| MapStackError::BadSlot { slot, slots })?;
        if self.is_stack_mapped(slot) {
            return Err(MapStackError::AlreadyMapped(slot));
        }
        let flush = self.fill_stack(pages, frames).map_err(|e| match e {
            MapNewError::OutOfMemory => MapStackError::OutOfMemory,
            // The slot's pages are below the top, the permissions a constant, and the pages
            // unmapped (checked just above; nothing else maps the stack area).
            e => unreachable!("a kernel stack cannot be refused for {e}"),
        })?;
        Ok((top, flush))
    }

    /// Unmaps slot `slot`'s stack, gives its frames back to `frames` (the source
    /// [`map_stack`](Self::map_stack) took them from), and frees the page-table frames that
    /// become empty. Apply the flush before the slot's stack is mapped again; no hart may be
    /// running on the stack.
    ///
    /// Fails with [`UnmapStackError::BadSlot`] or [`UnmapStackError::NotMapped`], changing
    /// nothing.
    pub fn unmap_stack(
        &mut self,
        slot: usize,
        frames: &mut impl FrameSource,
    ) -> Result<Flush, UnmapStackError> {
        let (pages, _) = self
            .slot(slot)
            .map_err(|(slot, slots)| UnmapStackError::BadSlot { slot, slots })?;
        if !self.is_stack_mapped(slot) {
            return Err(UnmapStackError::NotMapped(slot));
        }
        let unmapped = self.table.unmap(pages, frames);
        // Stack leaves are 4 KiB, so the unmap never splits a superpage, and the area lies
        // below the mode's top.
        Ok(unmapped.expect("a kernel stack unmaps without splitting"))
    }

    /// The pages and the top of slot `slot`, or the slot and the number of slots if there is
    /// no such slot.
    fn slot(&self, slot: usize) -> Result<(PageRange, VirtAddr), (usize, usize)> {
        match (self.stacks.stack_pages(slot), self.stack_top(slot)) {
            (Some(pages), Some(top)) => Ok((pages, top)),
            _ => Err((slot, self.stacks.slots())),
        }
    }

    /// Maps `pages` (all unmapped) to fresh zeroed frames, all or none.
    pub(super) fn fill_stack(
        &mut self,
        pages: PageRange,
        frames: &mut impl FrameSource,
    ) -> Result<Flush, MapNewError> {
        let perms = perms_of(KernelRegion::KernelStack(0));
        self.table.map_new(pages, perms, frames, |_, _| {})
    }
}
