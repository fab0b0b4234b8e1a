//! Kernel stacks below the trampoline, one per process slot, each above an unmapped guard page,
//! mapped and unmapped at run time through the shared kernel map.

use super::{FRAMES, TABLE};
use rvmm::addr::{Page, PageRange, VirtAddr};
use rvmm::space::kernel::StackError;
use rvmm::tlb::Sfence;

pub use super::build::STACK_SLOTS;

/// The pages of `slot`'s stack, mapped or not.
pub fn stack_pages(slot: usize) -> Option<PageRange> {
    TABLE.get()?.lock().stack_pages(slot)
}

/// The guard page under `slot`'s stack.
pub fn guard_below(slot: usize) -> Option<Page> {
    let pages = stack_pages(slot)?;
    Page::from_number(pages.start().number().checked_sub(1)?).ok()
}

/// Maps `slot`'s stack with fresh frames and returns its top. The flush goes to this hart's
/// TLB only: the other harts never used these addresses, so they hold no entry for them.
pub fn map_stack(slot: usize) -> Result<VirtAddr, StackError> {
    let (frames, table) = (FRAMES.get(), TABLE.get());
    let (Some(frames), Some(table)) = (frames, table) else {
        return Err(StackError::BadSlot { slot, slots: 0 });
    };
    let (top, flush) = table.lock().map_stack(slot, &mut &*frames)?;
    flush.apply(&mut Sfence);
    Ok(top)
}

/// Unmaps `slot`'s stack and gives its frames (and emptied table frames) back.
pub fn unmap_stack(slot: usize) -> Result<(), StackError> {
    let (frames, table) = (FRAMES.get(), TABLE.get());
    let (Some(frames), Some(table)) = (frames, table) else {
        return Err(StackError::BadSlot { slot, slots: 0 });
    };
    table
        .lock()
        .unmap_stack(slot, &mut &*frames)?
        .apply(&mut Sfence);
    Ok(())
}
