//! Kernel stacks below the trampoline, one per process slot, each above an unmapped guard page,
//! mapped and unmapped at run time through the shared kernel map.

use super::{FRAMES, TABLE};
use rvmm::addr::{Page, PageRange, VirtAddr};
use rvmm::space::kernel::{MapStackError, UnmapStackError};
use rvmm::tlb::Sfence;

/// How many slots the kernel map has room for (0 before it is built).
pub fn slots() -> usize {
    TABLE.get().map_or(0, |t| t.lock().stack_slots())
}

/// The pages of `slot`'s stack, mapped or not.
pub fn stack_pages(slot: usize) -> Option<PageRange> {
    TABLE.get()?.lock().stack_pages(slot)
}

/// The first address above `slot`'s stack: its initial stack pointer.
pub fn stack_top(slot: usize) -> Option<VirtAddr> {
    TABLE.get()?.lock().stack_top(slot)
}

/// The guard page under `slot`'s stack.
pub fn guard_below(slot: usize) -> Option<Page> {
    TABLE.get()?.lock().stack_guard(slot)
}

/// Whether `addr` lies in the guard page under some slot's stack (for fault reports). Does not
/// take the kernel map's lock if another hart holds it: a report must not wait.
pub fn is_guard(addr: usize) -> bool {
    let Some(table) = TABLE.get().and_then(|t| t.try_lock()) else {
        return false;
    };
    let Ok(va) = VirtAddr::new(addr) else {
        return false;
    };
    let page = Page::containing(va);
    (0..table.stack_slots()).any(|slot| table.stack_guard(slot) == Some(page))
}

/// Maps `slot`'s stack with fresh zeroed frames and returns its top. The flush goes to this
/// hart's TLB; other harts flush before they next run a process (the scheduler's stack epoch:
/// a slot recycled from an exited process may still sit in their TLBs). Before boot made the
/// map there are no slots.
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
