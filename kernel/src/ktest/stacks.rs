//! Kernel stacks mapped and unmapped at run time for every slot, frames back to the baseline.

use super::{Outcome, check};
use crate::mem::{FRAMES, TABLE, stacks};

/// Rounds of mapping every slot and unmapping it again.
const ROUNDS: usize = 4;

/// Maps every slot's stack, writes its top and bottom word, checks each guard page is unmapped,
/// unmaps them all; the free-frame count returns to where it started, every round.
pub fn map_and_unmap_every_slot() -> Outcome {
    let frames = FRAMES.get().ok_or(())?;
    let table = TABLE.get().ok_or(())?;
    let baseline = frames.stats().free;
    for round in 0..ROUNDS {
        for slot in 0..stacks::slots() {
            let top =
                stacks::map_stack(slot).map_err(|e| crate::println!("    slot {slot}: {e}"))?;
            let pages = stacks::stack_pages(slot).ok_or(())?;
            let (low, high) = (
                pages.start().start().as_usize(),
                top.as_usize() - size_of::<usize>(),
            );
            // SAFETY: both words lie in the stack just mapped R+W, which nothing else uses.
            unsafe {
                core::ptr::with_exposed_provenance_mut::<usize>(low).write_volatile(slot);
                core::ptr::with_exposed_provenance_mut::<usize>(high).write_volatile(!slot);
            }
            let guard = stacks::guard_below(slot).ok_or(())?;
            check!(
                table.lock().table().translate(guard.start()).is_none(),
                "slot {slot}: guard page mapped"
            );
        }
        check!(
            stacks::map_stack(3).is_err(),
            "mapping slot 3 twice succeeded"
        );
        for slot in 0..stacks::slots() {
            let pages = stacks::stack_pages(slot).ok_or(())?;
            let low = pages.start().start().as_usize();
            // SAFETY: still mapped: written above.
            let word = unsafe { core::ptr::with_exposed_provenance::<usize>(low).read_volatile() };
            check!(
                word == slot,
                "slot {slot}: bottom word {word:#x} (stacks overlap?)"
            );
            stacks::unmap_stack(slot).map_err(|e| crate::println!("    unmap slot {slot}: {e}"))?;
        }
        check!(
            stacks::unmap_stack(0).is_err(),
            "unmapping slot 0 twice succeeded"
        );
        let free = frames.stats().free;
        check!(
            free == baseline,
            "round {round}: {free} frames free, {baseline} before"
        );
    }
    crate::println!(
        "    {ROUNDS} rounds x {} slots x {} pages mapped and unmapped; free frames back at {baseline}",
        stacks::slots(),
        rvmm::space::kernel::KernelStacks::DEFAULT_PAGES
    );
    Ok(())
}
