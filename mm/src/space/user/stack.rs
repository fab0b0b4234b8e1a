//! The user stack: grown on a page fault just below it, shrunk when the stack pointer rises.

use super::region::pages_between;
use super::{GrowStackError, USER_RW, UserSpace};
use crate::addr::{PAGE_SIZE, PageSize, VirtAddr};
use crate::frame::FrameSource;
use crate::paging::Mode;
use crate::phys::PhysMem;
use crate::tlb::Flush;

impl<M: Mode, P: PhysMem> UserSpace<M, P> {
    /// Handles a page fault at `fault` while the process's stack pointer is `sp`: if the fault is
    /// a stack growth, maps zeroed pages from the one holding `fault` up to the current stack
    /// bottom and returns the flush.
    ///
    /// A growth is a fault below the lowest mapped stack page, at or above the stack floor
    /// (`stack_top - stack_max`, so never in the guard gap or the heap), by a process whose `sp`
    /// lies in `[floor, top]`, at or above `sp - red_zone`. Everything else is a typed refusal
    /// and the kernel should kill the process; running out of frames releases every page the
    /// call added.
    pub fn grow_stack(
        &mut self,
        fault: usize,
        sp: usize,
        frames: &mut impl FrameSource,
    ) -> Result<Flush, GrowStackError> {
        let top = self.layout.stack_top().as_usize();
        let floor = self.layout.stack_floor().as_usize();
        if fault >= self.stack_bottom.as_usize() {
            return Err(GrowStackError::NotBelowStack(fault));
        }
        if fault < floor {
            return Err(GrowStackError::BeyondLimit(fault));
        }
        if sp < floor || sp > top {
            return Err(GrowStackError::BadStackPointer(sp));
        }
        if fault < sp.saturating_sub(self.layout.limits().red_zone) {
            return Err(GrowStackError::BelowStackPointer { fault, sp });
        }
        let fault = VirtAddr::new(fault).expect("between the stack floor and its bottom");
        let start = fault.align_down(PageSize::Size4KiB);
        let pages = pages_between(start, self.stack_bottom).count();
        let flush = self
            .map_zeroed(start, pages, USER_RW, frames)
            .map_err(|_| GrowStackError::OutOfMemory)?;
        self.stack_bottom = start;
        Ok(flush)
    }

    /// Releases the stack pages that lie wholly below `sp - red_zone` (never the top page) and
    /// returns the flush for them.
    ///
    /// The red zone is kept because [`grow_stack`](Self::grow_stack) lets the process use it:
    /// bytes it stored there must still be there after the kernel shrinks the stack at a
    /// preemption, not come back as a fresh zero page.
    ///
    /// `sp` is a user value and may be anything; none can make this unmap a page that is not
    /// mapped (a kernel that trusted it would unmap pages above the stack or below its bottom):
    /// - `sp` below the lowest mapped page releases nothing;
    /// - the page holding `sp - red_zone` is kept, so a misaligned `sp` keeps the page holding it;
    /// - `sp` outside `[stack floor, stack top]` is not on this stack (a coroutine's stack in the
    ///   heap, or garbage): nothing tells which stack pages are still in use, so nothing is
    ///   released.
    pub fn shrink_stack(&mut self, sp: usize, frames: &mut impl FrameSource) -> Flush {
        let (top, floor) = (self.layout.stack_top(), self.layout.stack_floor());
        if sp < floor.as_usize() || sp > top.as_usize() {
            return Flush::nothing();
        }
        let red_zone = self.layout.limits().red_zone;
        let lowest_used = VirtAddr::new(sp.saturating_sub(red_zone))
            .expect("at or below sp, which lies below the stack top");
        let top_page = top
            .checked_sub(PAGE_SIZE)
            .expect("the stack top lies above page 0");
        let keep_from = lowest_used.align_down(PageSize::Size4KiB).min(top_page);
        if keep_from <= self.stack_bottom {
            return Flush::nothing();
        }
        let pages = pages_between(self.stack_bottom, keep_from).count();
        let flush = self.release(self.stack_bottom, pages, frames);
        self.stack_bottom = keep_from;
        flush
    }
}
