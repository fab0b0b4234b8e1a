//! Kernel stacks mapped and unmapped at run time on both modes: layout under the trampoline,
//! guard pages, frames and emptied tables given back, refusals, flush tokens, and rollback
//! when frames run out at every possible point of a build or a stack mapping.

mod space_kernel_common;

use rvmm::addr::{PAGE_SIZE, Page, PageSize, VirtAddr};
use rvmm::paging::{Mapping, Mode, Sv32, Sv39};
use rvmm::space::kernel::{BuildError, KernelSpace, KernelStacks, MapStackError, UnmapStackError};
use rvmm::space::trap_frame_page;
use rvmm_testkit::failing::fail_points;
use rvmm_testkit::spec::{self, Access, PTE_G, PTE_R, PTE_U, PTE_W, PTE_X, SpecFault};
use rvmm_testkit::{EmulatedTlb, FailPlan};
use space_kernel_common::*;
use std::collections::BTreeSet;

/// Enough slots that their stacks span several level-0 tables (170 three-page slots per
/// 512-entry table on Sv39).
fn many_slots() -> usize {
    if cfg!(miri) { 12 } else { 400 }
}

fn all_mappings<M: Mode>(space: &Space<'_, '_, M>) -> Vec<Mapping> {
    space.page_table().mappings().collect()
}

fn stacks_sit_under_the_trampoline_with_guards<M: Mode>(pages: usize) {
    let arena = arena();
    let mut frames = frames(&arena);
    let boot = virt_with_stacks(KernelStacks::new(3).with_pages(pages));
    let space = build::<M>(boot, &arena, &mut frames);
    let top_guard = trap_frame_page::<M>().number();
    for slot in 0..3 {
        let stack = space.stack_pages(slot).unwrap();
        let top = top_guard - slot * (pages + 1);
        assert_eq!(stack.start().number(), top - pages, "slot {slot}");
        assert_eq!(stack.count(), pages);
        let sp = space.stack_top(slot).unwrap();
        assert_eq!(sp, Page::from_number(top).unwrap().start());
    }
    assert_eq!(space.stack_pages(3), None);
    assert_eq!(space.stack_top(3), None);
    assert_eq!(space.stack_slots(), 3);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

#[test]
fn stacks_sit_under_the_trampoline_with_guards_sv39() {
    stacks_sit_under_the_trampoline_with_guards::<Sv39>(KernelStacks::DEFAULT_PAGES);
}

#[test]
fn stacks_sit_under_the_trampoline_with_guards_sv32() {
    // One page each, as in DESIGN.md's map: slot 0 at 0xFFFF_D000, its guard at 0xFFFF_C000.
    stacks_sit_under_the_trampoline_with_guards::<Sv32>(1);
    let space_top = KernelStacks::new(1).with_pages(1);
    let arena = arena();
    let mut frames = frames(&arena);
    let space = build::<Sv32>(virt_with_stacks(space_top), &arena, &mut frames);
    let slot0 = space.stack_pages(0).unwrap().start().start().as_usize();
    assert_eq!(slot0, 0xFFFF_D000);
    space.destroy(&mut frames);
}

#[test]
fn stacks_of_four_pages_sv39() {
    stacks_sit_under_the_trampoline_with_guards::<Sv39>(4);
}

fn many_stacks_map_and_unmap_back_to_baseline<M: Mode>() {
    let slots = many_slots();
    let pages = KernelStacks::DEFAULT_PAGES;
    let arena = arena();
    let mut frames = frames(&arena);
    let mut space = build::<M>(
        virt_with_stacks(KernelStacks::new(slots)),
        &arena,
        &mut frames,
    );
    let baseline = frames.outstanding();
    let before = all_mappings(&space);
    let (mode, root) = (spec_mode::<M>(), root(&space));
    // Map in a scattered order so tables are created in the middle of the area too.
    let order: Vec<usize> = (0..slots).map(|i| (i * 7) % slots).collect();
    assert_eq!(order.iter().collect::<BTreeSet<_>>().len(), slots);
    for &slot in &order {
        let (top, flush) = space.map_stack(slot, &mut frames).unwrap();
        flush.ignore(); // not live
        assert_eq!(Some(top), space.stack_top(slot));
        assert!(space.is_stack_mapped(slot));
    }
    let mut seen = BTreeSet::new();
    for slot in 0..slots {
        let stack = space.stack_pages(slot).unwrap();
        for k in 0..stack.count() {
            let va = stack.start().checked_add(k).unwrap().start().as_u64();
            let t = spec::translate(&arena, mode, root, va, Access::write()).unwrap();
            let rwxu = u64::from(t.flags) & (PTE_R | PTE_W | PTE_X | PTE_U);
            assert_eq!(rwxu, PTE_R | PTE_W, "stack {slot} page {k}");
            assert!(t.global && u64::from(t.flags) & PTE_G != 0);
            assert_eq!(t.page_size, PageSize::Size4KiB);
            assert!(seen.insert(t.pa), "stack frame {:?} mapped twice", t.pa);
        }
        let guard = stack.start().start().as_u64() - PAGE_SIZE as u64;
        let g = spec::translate(&arena, mode, root, guard, Access::read());
        assert!(
            matches!(g, Err(SpecFault::Invalid { .. })),
            "guard of {slot}: {g:?}"
        );
    }
    let stack_frames = slots * pages;
    // Miri's dozen slots fit in the trampoline's level-0 table; the full run needs new ones.
    assert!(
        cfg!(miri) || frames.outstanding() > baseline + stack_frames,
        "new tables for the area"
    );
    assert_eq!(
        frames.outstanding(),
        baseline + stack_frames + extra_tables(&arena, &space, baseline)
    );
    for &slot in order.iter().rev() {
        space.unmap_stack(slot, &mut frames).unwrap().ignore();
        assert!(!space.is_stack_mapped(slot));
    }
    // Every stack frame back, and every table the stacks needed pruned.
    assert_eq!(frames.outstanding(), baseline);
    assert_eq!(all_mappings(&space), before);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

/// Table frames beyond the `baseline` build's, as the spec walker counts them.
fn extra_tables<M: Mode>(
    arena: &rvmm_testkit::Arena,
    space: &Space<'_, '_, M>,
    baseline: usize,
) -> usize {
    table_frames(arena, space.page_table()) - baseline
}

rvmm_testkit::both_modes!(
    many_stacks_map_and_unmap_back_to_baseline,
    stack_refusals_change_nothing,
    no_stacks_means_no_slot,
    unmap_flush_covers_the_stack,
    map_stack_rolls_back_at_every_failure,
    build_rolls_back_at_every_failure,
    destroy_returns_mapped_stacks,
);

fn stack_refusals_change_nothing<M: Mode>() {
    let arena = arena();
    let mut frames = frames(&arena);
    let mut space = build::<M>(virt_with_stacks(KernelStacks::new(4)), &arena, &mut frames);
    space.map_stack(2, &mut frames).unwrap().1.ignore();
    let (out, map) = (frames.outstanding(), all_mappings(&space));
    let bad = MapStackError::BadSlot { slot: 4, slots: 4 };
    assert_eq!(space.map_stack(4, &mut frames).unwrap_err(), bad);
    let bad = UnmapStackError::BadSlot { slot: 4, slots: 4 };
    assert_eq!(space.unmap_stack(4, &mut frames).unwrap_err(), bad);
    let huge = MapStackError::BadSlot {
        slot: usize::MAX,
        slots: 4,
    };
    assert_eq!(space.map_stack(usize::MAX, &mut frames).unwrap_err(), huge);
    assert_eq!(
        space.map_stack(2, &mut frames).unwrap_err(),
        MapStackError::AlreadyMapped(2)
    );
    assert_eq!(
        space.unmap_stack(1, &mut frames).unwrap_err(),
        UnmapStackError::NotMapped(1)
    );
    assert_eq!((frames.outstanding(), all_mappings(&space)), (out, map));
    space.unmap_stack(2, &mut frames).unwrap().ignore();
    assert_eq!(
        space.unmap_stack(2, &mut frames).unwrap_err(),
        UnmapStackError::NotMapped(2)
    );
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn no_stacks_means_no_slot<M: Mode>() {
    let arena = arena();
    let mut frames = frames(&arena);
    let mut space = build::<M>(virt(&RAM), &arena, &mut frames);
    let none = MapStackError::BadSlot { slot: 0, slots: 0 };
    assert_eq!(space.map_stack(0, &mut frames).unwrap_err(), none);
    assert_eq!(space.stack_slots(), 0);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

/// A stack unmapped from a live table stays reachable through the TLB until its flush is
/// applied: the token covers the stack.
fn unmap_flush_covers_the_stack<M: Mode>() {
    let arena = arena();
    let mut frames = frames(&arena);
    let mut space = build::<M>(virt_with_stacks(KernelStacks::new(2)), &arena, &mut frames);
    let (mode, root) = (spec_mode::<M>(), root(&space));
    let mut tlb = EmulatedTlb::new();
    let (top, flush) = space.map_stack(1, &mut frames).unwrap();
    flush.apply(&mut tlb);
    let last = top.as_u64() - 8;
    let first = space.stack_pages(1).unwrap().start().start().as_u64();
    for va in [first, last] {
        assert!(
            tlb.translate(&arena, mode, root, va, Access::write())
                .is_ok()
        );
    }
    let flush = space.unmap_stack(1, &mut frames).unwrap();
    assert!(
        tlb.translate(&arena, mode, root, last, Access::write())
            .is_ok(),
        "stale"
    );
    flush.apply(&mut tlb);
    for va in [first, last] {
        assert!(
            tlb.translate(&arena, mode, root, va, Access::write())
                .is_err()
        );
    }
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

/// Runs out of frames at every allocation a stack mapping makes, in a slot whose tables do
/// not exist yet (so table frames are part of the rollback too).
fn map_stack_rolls_back_at_every_failure<M: Mode>() {
    let arena = arena();
    let mut frames = frames(&arena);
    let boot = virt_with_stacks(KernelStacks::new(600).with_pages(3));
    let mut space = build::<M>(boot, &arena, &mut frames);
    let slot = 599; // far below the trampoline's tables
    frames.inner_mut().set_plan(FailPlan::Never);
    let (out, map) = (frames.outstanding(), all_mappings(&space));
    space.map_stack(slot, &mut frames).unwrap().1.ignore();
    let needed = frames.inner().calls();
    assert!(
        needed > 3,
        "a slot with new tables needs more than its 3 frames: {needed}"
    );
    space.unmap_stack(slot, &mut frames).unwrap().ignore();
    assert_eq!((frames.outstanding(), &all_mappings(&space)), (out, &map));
    for plan in fail_points(needed).flat_map(|n| [FailPlan::Nth(n), FailPlan::FromNth(n)]) {
        frames.inner_mut().set_plan(plan);
        let err = space.map_stack(slot, &mut frames).unwrap_err();
        assert_eq!(err, MapStackError::OutOfMemory, "{plan:?}");
        assert_eq!(frames.outstanding(), out, "frames after {plan:?}");
        assert_eq!(all_mappings(&space), map, "map after {plan:?}");
        assert!(!space.is_stack_mapped(slot));
    }
    frames.inner_mut().set_plan(FailPlan::Never);
    space.map_stack(slot, &mut frames).unwrap().1.ignore();
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

/// Runs out of frames at every allocation of a build that also maps stacks: each attempt
/// gives back everything and says OutOfMemory.
fn build_rolls_back_at_every_failure<M: Mode>() {
    let arena = arena();
    let mut frames = frames(&arena);
    let boot = virt_with_stacks(KernelStacks::new(8).with_mapped_at_build(5));
    let space = build::<M>(boot, &arena, &mut frames);
    let needed = frames.inner().calls();
    assert_eq!(needed as usize, frames.outstanding());
    assert!(
        needed > 5 * 2,
        "5 stacks of 2 frames and the tables: {needed}"
    );
    space.destroy(&mut frames);
    for plan in fail_points(needed).flat_map(|n| [FailPlan::Nth(n), FailPlan::FromNth(n)]) {
        frames.inner_mut().set_plan(plan);
        let result = KernelSpace::<M, _>::build(boot, &arena, &mut frames);
        assert_eq!(result.err(), Some(BuildError::OutOfMemory), "{plan:?}");
        frames.assert_no_leaks();
    }
    frames.inner_mut().set_plan(FailPlan::Nth(needed + 1));
    let space = KernelSpace::<M, _>::build(boot, &arena, &mut frames).unwrap();
    assert!(space.is_stack_mapped(4) && !space.is_stack_mapped(5));
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

/// Destroying a space with stacks still mapped gives their frames back too.
fn destroy_returns_mapped_stacks<M: Mode>() {
    let arena = arena();
    let mut frames = frames(&arena);
    let mut space = build::<M>(
        virt_with_stacks(KernelStacks::new(6).with_mapped_at_build(3)),
        &arena,
        &mut frames,
    );
    space.map_stack(5, &mut frames).unwrap().1.ignore();
    let top = VirtAddr::new(space.stack_top(5).unwrap().as_usize() - 1).unwrap();
    assert!(space.page_table().translate(top).is_some());
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}
