//! Kernel stacks mapped and unmapped at run time for every slot, frames back to the baseline.

use super::harts::Remote;
use super::raw::{load_word, store_word};
use super::{Outcome, check};
use crate::mem::{FRAMES, TABLE, stacks};
use crate::sched;
use core::sync::atomic::{AtomicUsize, Ordering};

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
        for slot in 0..stacks::slots() {
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
        stacks::slots(),
        rvmm::space::kernel::KernelStacks::DEFAULT_PAGES
    );
    Ok(())
}

/// The slot the recycling test uses, and what the other hart read through it.
const RECYCLED_SLOT: usize = 1;
static READ_BACK: AtomicUsize = AtomicUsize::new(0);

/// On another hart: reads the first word of the recycled slot through its virtual address,
/// after doing what a hart does before it runs a process when `flush_first`.
pub fn read_slot_remotely(flush_first: bool) {
    if flush_first {
        sched::forget_recycled_stacks();
    }
    let Some(pages) = stacks::stack_pages(RECYCLED_SLOT) else {
        return;
    };
    let at = pages.start().start().as_usize();
    // The boot hart keeps the slot mapped R+W while it asks for this read; a fault is a
    // failed read, reported as a value no stamp has.
    let word = load_word(at).unwrap_or(usize::MAX);
    READ_BACK.store(word, Ordering::Release);
}

/// A kernel-stack slot unmapped on one hart and mapped again to new frames is seen with its new
/// frames by a hart that cached the old translation, once that hart did what it does before it
/// runs a process (the scheduler's stack epoch). Without that step a hart may read the old
/// frame: QEMU keeps each hart's TLB, so the stale read is real there and is reported.
pub fn recycled_slot_is_seen_fresh_on_another_hart() -> Outcome {
    let Some(other) = super::harts::other_hart() else {
        crate::println!("    one hart only: nothing to recycle across");
        return Ok(());
    };
    let frames = FRAMES.get().ok_or(())?;
    let baseline = frames.stats().free;
    let first = stamp_new_stack(0x0dd_0001)?;
    check!(
        super::harts::run_on(other, Remote::FlushAndReadSlot),
        "hart {other} did not answer"
    );
    let seen_first = READ_BACK.load(Ordering::Acquire);
    check!(
        seen_first == 0x0dd_0001,
        "hart {other} read {seen_first:#x} from the fresh slot"
    );
    // Recycle: unmap, keep the old frame allocated (so the new mapping gets another one and a
    // stale translation still reaches memory we own), map again with new frames.
    stacks::unmap_stack(RECYCLED_SLOT).map_err(|e| crate::println!("    unmap: {e}"))?;
    sched::stack_unmapped();
    let held = frames
        .allocate_owned()
        .map_err(|_| crate::println!("    out of frames"))?;
    let held2 = frames
        .allocate_owned()
        .map_err(|_| crate::println!("    out of frames"))?;
    let second = stamp_new_stack(0x0dd_0002)?;
    check!(first != second, "the slot got its old frame back");
    check!(
        super::harts::run_on(other, Remote::ReadSlot),
        "hart {other} did not answer"
    );
    let without_flush = READ_BACK.load(Ordering::Acquire);
    check!(
        super::harts::run_on(other, Remote::FlushAndReadSlot),
        "hart {other} did not answer"
    );
    let with_flush = READ_BACK.load(Ordering::Acquire);
    stacks::unmap_stack(RECYCLED_SLOT).map_err(|e| crate::println!("    unmap: {e}"))?;
    sched::stack_unmapped();
    drop((held, held2));
    check!(
        with_flush == 0x0dd_0002,
        "hart {other} read {with_flush:#x} after the flush, expected the new stack's 0xdd0002"
    );
    let free = frames.stats().free;
    check!(
        free == baseline,
        "{free} frames free after, {baseline} before"
    );
    crate::println!(
        "    slot {RECYCLED_SLOT} recycled from frame {first:#x} to {second:#x}: hart {other} read \
         {without_flush:#x} before its flush ({}), {with_flush:#x} after",
        if without_flush == 0x0dd_0002 {
            "fresh"
        } else {
            "stale"
        }
    );
    Ok(())
}

/// Maps the recycled slot, stamps its first word with `value`, returns its frame's address.
fn stamp_new_stack(value: usize) -> Result<u64, ()> {
    stacks::map_stack(RECYCLED_SLOT).map_err(|e| crate::println!("    map: {e}"))?;
    let pages = stacks::stack_pages(RECYCLED_SLOT).ok_or(())?;
    let at = pages.start().start();
    let stored = store_word(at.as_usize(), value);
    check!(
        stored.is_none(),
        "storing into the fresh stack faulted: {stored:x?}"
    );
    let table = TABLE.get().ok_or(())?;
    let pa = table.lock().page_table().translate(at).ok_or(())?.pa;
    Ok(pa.as_u64())
}
