//! Data pages of a process: mapping fresh ones, releasing them, finding their frames.
//!
//! Every data page (program, heap, stack, trap frame) is an owned leaf of the space's table:
//! `PageTable::map_new` allocates and zeroes its frame, `PageTable::unmap` and `destroy` give
//! it back. The trampoline is the only foreign leaf; it is never user-accessible, so the
//! user-memory paths (which require U) never reach it, and it is never freed.

use super::UserSpace;
use crate::addr::{Page, PageRange, VirtAddr};
use crate::frame::{FrameSource, OutOfMemory};
use crate::paging::{MapNewError, Mode, Perms};
use crate::phys::PhysMem;
use crate::tlb::Flush;

/// The `pages` pages from the one holding `start`. Callers pass ranges inside the mode's space
/// (below the trap frame, or the top two pages), which are ranges of pages.
pub(super) fn range(start: VirtAddr, pages: usize) -> PageRange {
    let range = PageRange::from_pages(Page::containing(start), pages);
    range.expect("a range inside the space")
}

/// A refused `map_new` of a space's data pages: only running out of frames can happen, as every
/// caller maps unmapped pages of the space with legal permissions.
pub(super) fn out_of_memory(e: MapNewError) -> OutOfMemory {
    match e {
        MapNewError::OutOfMemory => OutOfMemory,
        e => unreachable!("data pages of a user space refused for {e}"),
    }
}

impl<M: Mode, P: PhysMem> UserSpace<M, P> {
    /// Maps `pages` fresh zeroed pages from `start` with `perms`: all of them, or none.
    pub(super) fn map_zeroed(
        &mut self,
        start: VirtAddr,
        pages: usize,
        perms: Perms,
        frames: &mut impl FrameSource,
    ) -> Result<Flush, OutOfMemory> {
        let range = range(start, pages);
        let mapped = self.table.map_new(range, perms, frames, |_, _| {});
        mapped.map_err(out_of_memory)
    }

    /// Unmaps `pages` pages from `start` and gives back their frames (unmapped pages are
    /// skipped), along with tables left empty.
    pub(super) fn release(
        &mut self,
        start: VirtAddr,
        pages: usize,
        frames: &mut impl FrameSource,
    ) -> Flush {
        let unmapped = self.table.unmap(range(start, pages), frames);
        // Only splitting a superpage can fail, and a user space maps 4 KiB leaves only.
        unmapped.expect("4 KiB leaves unmap without splitting")
    }

    /// The permissions of the leaf that maps `va`, if one does.
    pub(super) fn perms_at(&self, va: VirtAddr) -> Option<Perms> {
        Some(self.table.translate(va)?.perms)
    }
}

/// Why a user page's bytes can be reached: every data page of a space is an owned leaf of its
/// table (`map_new`), which lends it; callers keep within the page.
pub(super) const DATA_PAGE: &str = "a data page of the space, accessed within its page";
