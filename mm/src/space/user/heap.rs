//! `sbrk`: the heap's break, byte-granular, over whole mapped pages.

use super::pages::DATA_PAGE;
use super::region::pages_between;
use super::{SbrkError, USER_RW, UserSpace};
use crate::addr::{Page, PageSize, VirtAddr};
use crate::frame::FrameSource;
use crate::paging::Mode;
use crate::phys::PhysMem;
use crate::tlb::Flush;

impl<M: Mode, P: PhysMem> UserSpace<M, P> {
    /// Moves the break by `delta` bytes and returns the old break, with the flush the change
    /// needs (RISC-V may cache invalid entries, so growing needs one too).
    ///
    /// Pages are mapped and unmapped whole: the heap is mapped on `[heap start, break rounded up
    /// to a page)`. Memory the heap gains always reads as zero, including bytes of the last page
    /// that were given back by an earlier shrink (or written past the break) and are taken again.
    /// Shrinking frees the frames of the pages wholly above the new break.
    ///
    /// Refused, with the break unchanged: a new break above the heap cap
    /// ([`SbrkError::AboveCap`]) or below the heap start ([`SbrkError::BelowStart`]); arithmetic
    /// that leaves the mode's addresses, or a `delta` wider than the mode's registers
    /// ([`SbrkError::Overflow`]: on Sv32, `+0x8000_0000` is what a 32-bit process cannot ask
    /// for); running out of frames ([`SbrkError::OutOfMemory`], after releasing every page the
    /// call had added).
    pub fn sbrk(
        &mut self,
        delta: isize,
        frames: &mut impl FrameSource,
    ) -> Result<(VirtAddr, Flush), SbrkError> {
        let old = self.brk;
        let new = self.new_break(delta)?;
        let old_top = self.heap_end();
        let new_top = new.align_up(PageSize::Size4KiB);
        let new_top = new_top.expect("a break at or below the page-aligned heap cap");
        let flush = if new_top > old_top {
            let pages = pages_between(old_top, new_top).count();
            self.map_zeroed(old_top, pages, USER_RW, frames)
                .map_err(|_| SbrkError::OutOfMemory)?
        } else {
            let pages = pages_between(new_top, old_top).count();
            self.release(new_top, pages, frames)
        };
        if new > old && old < old_top {
            // The rest of the old last page may hold bytes released earlier or written past
            // the break: the heap must gain only zeroes.
            let len = new.min(old_top).as_usize() - old.as_usize();
            let page = self.table.owned_page_mut(Page::containing(old));
            let zeroed = page.expect(DATA_PAGE).fill_bytes(old.page_offset(), len, 0);
            zeroed.expect(DATA_PAGE);
        }
        self.brk = new;
        Ok((old, flush))
    }

    /// The break `delta` bytes from the current one, if allowed.
    fn new_break(&self, delta: isize) -> Result<VirtAddr, SbrkError> {
        let brk = self.brk.as_usize();
        let overflow = SbrkError::Overflow { brk, delta };
        // Sv32 runs on RV32 (4-byte entries, 32-bit registers): a delta is a signed 32-bit
        // value there, whatever the host's isize.
        if M::ENTRY_BYTES == 4 && i32::try_from(delta).is_err() {
            return Err(overflow);
        }
        let requested = brk.checked_add_signed(delta);
        let requested = requested.filter(|&n| (n as u64) < M::VA_TOP);
        let requested = requested.ok_or(overflow)?;
        let (cap, start) = (self.layout.heap_cap(), self.heap_start);
        if requested > cap.as_usize() {
            return Err(SbrkError::AboveCap {
                requested,
                cap: cap.as_usize(),
            });
        }
        if requested < start.as_usize() {
            return Err(SbrkError::BelowStart {
                requested,
                start: start.as_usize(),
            });
        }
        Ok(VirtAddr::new(requested).expect("between the heap start and its cap"))
    }
}
