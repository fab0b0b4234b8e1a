//! Kernel stacks below the trampoline, one per process slot, each above an unmapped guard page;
//! mapped and unmapped at run time.
//!
//! TEMPORARY: `rvmm::space::kernel::KernelSpace::{map_stack, unmap_stack}` (issue 3) will do
//! this; the layout here is the same (slot 0 just under the guard page under the trampoline).

use super::{FRAMES, KernelMode, TABLE};
use rvmm::addr::{Page, PageRange, VirtAddr};
use rvmm::paging::{self, PageSizes, Perms};
use rvmm::space::trap_frame_page;
use rvmm::tlb::Sfence;

/// Pages per kernel stack (8 KiB: Rust needs more stack per call than xv6's C).
pub const STACK_PAGES: usize = 2;

/// Process slots with a stack area.
pub const STACK_SLOTS: usize = 64;

/// The pages of `slot`'s stack, mapped or not.
pub fn stack_pages(slot: usize) -> Option<PageRange> {
    if slot >= STACK_SLOTS {
        return None;
    }
    let top_guard = trap_frame_page::<KernelMode>().number();
    let top = top_guard - slot * (STACK_PAGES + 1);
    PageRange::from_pages(Page::from_number(top - STACK_PAGES).ok()?, STACK_PAGES).ok()
}

/// The guard page under `slot`'s stack.
pub fn guard_below(slot: usize) -> Option<Page> {
    let pages = stack_pages(slot)?;
    Page::from_number(pages.start().number().checked_sub(1)?).ok()
}

/// Maps `slot`'s stack with fresh frames, one page at a time, on this hart's TLB; returns the
/// stack's top. Other harts never used these addresses, so they hold no stale entry for them.
pub fn map_stack(slot: usize) -> Result<VirtAddr, paging::Error> {
    let pages = stack_pages(slot).ok_or(paging::Error::NotMapped(VirtAddr::default()))?;
    let frames = FRAMES.get().ok_or(paging::Error::OutOfMemory)?;
    let mut table = TABLE.get().ok_or(paging::Error::OutOfMemory)?.lock();
    for i in 0..pages.count() {
        let page = Page::from_number(pages.start().number() + i)?;
        let one = PageRange::from_pages(page, 1)?;
        let mapped = frames
            .alloc()
            .map_err(paging::Error::from)
            .and_then(|frame| {
                let result = table.map(
                    one,
                    frame.start(),
                    Perms::RW,
                    PageSizes::Only4KiB,
                    &mut &*frames,
                );
                if result.is_err() {
                    // SAFETY: just allocated, never mapped or used.
                    let _ = unsafe { frames.free(frame) };
                }
                result
            });
        match mapped {
            Ok(flush) => flush.apply(&mut Sfence),
            Err(e) => {
                let done = PageRange::from_pages(pages.start(), i)?;
                // SAFETY: the pages mapped so far hold frames just taken from `frames`.
                unsafe { table.unmap_and_free(done, &mut &*frames) }?.apply(&mut Sfence);
                return Err(e);
            }
        }
    }
    VirtAddr::new(pages.end_u64() as usize).map_err(paging::Error::from)
}

/// Unmaps `slot`'s stack and gives its frames (and emptied table frames) back.
pub fn unmap_stack(slot: usize) -> Result<(), paging::Error> {
    let pages = stack_pages(slot).ok_or(paging::Error::NotMapped(VirtAddr::default()))?;
    let frames = FRAMES.get().ok_or(paging::Error::OutOfMemory)?;
    let mut table = TABLE.get().ok_or(paging::Error::OutOfMemory)?.lock();
    if table.translate(pages.start().start()).is_none() {
        return Err(paging::Error::NotMapped(pages.start().start()));
    }
    // SAFETY: `map_stack` mapped these pages to frames from `frames`; no one runs on the stack.
    unsafe { table.unmap_and_free(pages, &mut &*frames) }?.apply(&mut Sfence);
    Ok(())
}
