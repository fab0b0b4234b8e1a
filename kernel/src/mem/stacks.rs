//! Kernel stacks below the trampoline, one per process slot, each above an unmapped guard page,
//! mapped and unmapped at run time through the shared kernel map.

use super::{FRAMES, TABLE};
use rvmm::addr::{Page, PageRange, VirtAddr};
use rvmm::space::kernel::{MapStackError, UnmapStackError};
use rvmm::tlb::Sfence;

pub use super::build::STACK_SLOTS;

/// The pages of `slot`'s stack, mapped or not.
pub fn stack_pages(slot: usize) -> Option<PageRange> {
    TABLE.get()?.lock().stack_pages(slot)
}

/// The guard page under `slot`'s stack.
pub fn guard_below(slot: usize) -> Option<Page> {
    TABLE.get()?.lock().stack_guard(slot)
}

/// Maps `slot`'s stack with fresh zeroed frames and returns its top. The flush goes to this
/// hart's TLB only: the other harts never used these addresses, so they hold no entry for them.
/// Before boot made the map there are no slots.
pub fn map_stack(slot: usize) -> Result<VirtAddr, MapStackError> {
    let (Some(mut frames), Some(table)) = (FRAMES.get(), TABLE.get()) else {
        return Err(MapStackError::BadSlot { slot, slots: 0 });
    };
    let (top, flush) = table.lock().map_stack(slot, &mut frames)?;
    flush.apply(&mut Sfence);
    Ok(top)
}

/// Unmaps `slot`'s stack and gives its frames (and emptied table frames) back.
pub fn unmap_stack(slot: usize) -> Result<(), UnmapStackError> {
    let (Some(mut frames), Some(table)) = (FRAMES.get(), TABLE.get()) else {
        return Err(UnmapStackError::BadSlot { slot, slots: 0 });
    };
    table
        .lock()
        .unmap_stack(slot, &mut frames)?
        .apply(&mut Sfence);
    Ok(())
}
