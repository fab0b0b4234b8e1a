//! Kernel stacks mapped and unmapped at run time for every slot, frames back to the baseline.

use super::raw::{load_word, store_word};
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
        for slot in 0..stacks::STACK_SLOTS {
            let top =
                stacks::map_stack(slot).map_err(|e| crate::println!("    slot {slot}: {e}"))?;
            let pages = stacks::stack_pages(slot).ok_or(())?;
            let (low, high) = (
                pages.start().start().as_usize(),
                top.as_usize() - size_of::<usize>(),
            );
            // Through the stack's own addresses: the MMU is what is tested.
            let stored = (store_word(low, slot), store_word(high, !slot));
            check!(
                stored == (None, None),
                "slot {slot}: storing faulted: {stored:?}"
            );
            let guard = stacks::guard_below(slot).ok_or(())?;
            check!(
                table.lock().page_table().translate(guard.start()).is_none(),
                "slot {slot}: guard page mapped"
            );
        }
        check!(
            stacks::map_stack(3).is_err(),
            "mapping slot 3 twice succeeded"
        );
        for slot in 0..stacks::STACK_SLOTS {
            let pages = stacks::stack_pages(slot).ok_or(())?;
            let low = pages.start().start().as_usize();
            let word = load_word(low);
            check!(
                word == Ok(slot),
                "slot {slot}: bottom word {word:x?} (stacks overlap?)"
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
        stacks::STACK_SLOTS,
        rvmm::space::kernel::KernelStacks::DEFAULT_PAGES
    );
    Ok(())
}
