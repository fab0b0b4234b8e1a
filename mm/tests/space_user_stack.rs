//! The user stack: the first page under the trap frame, growth on faults just below it within
//! the limit and the red zone, shrinking that no stack pointer can turn into unmapping an
//! unmapped page, and every refusal its own test.

#[macro_use]
mod space_user_support;

use rvmm::addr::{PAGE_SIZE, VirtAddr};
use rvmm::paging::{Mode, Perms};
use rvmm::space::user::{Limits, RegionKind, StackError, UserSpace};
use rvmm::space::{trampoline_page, trap_frame_page};
use rvmm::tlb::FlushScope;
use rvmm_testkit::FailPlan;
use space_user_support::*;

both_modes!(
    starts_with_one_page_under_the_trap_frame,
    grows_down_to_the_faulting_page,
    grows_within_the_red_zone,
    grows_to_exactly_the_limit,
    limit_is_configurable,
    refuses_a_fault_on_the_mapped_stack_or_above,
    refuses_a_fault_beyond_the_limit,
    refuses_a_fault_in_the_guard_gap_or_heap,
    refuses_a_fault_below_the_red_zone,
    refuses_a_stack_pointer_outside_the_stack,
    shrink_releases_pages_wholly_below_sp,
    shrink_keeps_the_page_holding_a_misaligned_sp,
    shrink_never_releases_the_top_page,
    shrink_with_sp_below_the_stack_releases_nothing,
    vimix_panic_sp_above_the_stack_after_growth_unmaps_nothing,
    out_of_frames_at_every_allocation_rolls_back,
);

fn top<M: Mode>() -> usize {
    trap_frame_page::<M>().start().as_usize()
}

/// Checks that `grow_stack(fault, sp)` fails with `err` and changes nothing.
fn refused<M: Mode>(
    space: &mut Space<'_, M>,
    fault: usize,
    sp: usize,
    frames: &mut Frames<'_>,
    err: StackError,
) {
    let before = snapshot(space);
    let out = frames.outstanding();
    assert_eq!(
        space.grow_stack(fault, sp, frames),
        Err(err),
        "fault {fault:#x} sp {sp:#x}"
    );
    assert_eq!(snapshot(space), before);
    assert_eq!(frames.outstanding(), out);
}

fn stack_pages<M: Mode>(space: &Space<'_, M>) -> usize {
    space
        .regions()
        .find(|r| r.kind == RegionKind::Stack)
        .unwrap()
        .pages
}

fn starts_with_one_page_under_the_trap_frame<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let space: Space<'_, M> = env.space(&mut frames);
    let rows: Vec<_> = space
        .regions()
        .map(|r| (r.kind, r.start.as_usize(), r.pages, r.perms))
        .collect();
    let t = top::<M>();
    assert_eq!(
        rows,
        [
            (RegionKind::Stack, t - PAGE_SIZE, 1, Perms::RW | Perms::U),
            (RegionKind::TrapFrame, t, 1, Perms::RW),
            (
                RegionKind::Trampoline,
                trampoline_page::<M>().start().as_usize(),
                1,
                Perms::RX
            ),
        ]
    );
    assert_eq!(space.layout().stack_top().as_usize(), t);
    assert_eq!(space.stack_bottom().as_usize(), t - PAGE_SIZE);
    let tramp = space
        .page_table()
        .translate(trampoline_page::<M>().start())
        .unwrap();
    assert_eq!(tramp.pa, env.trampoline().start());
    let tf = space
        .page_table()
        .translate(VirtAddr::new(t).unwrap())
        .unwrap();
    assert_eq!(tf.pa, space.trap_frame().start());
    check_frames(&env.arena, &[&space], &frames);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn grows_down_to_the_faulting_page<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let t = top::<M>();
    let sp = t - 3 * PAGE_SIZE - 16;
    let flush = space.grow_stack(sp + 8, sp, &mut frames).unwrap();
    match flush.scope() {
        FlushScope::Pages(r) => {
            assert_eq!(r.start().start().as_usize(), t - 4 * PAGE_SIZE);
            assert_eq!(r.count(), 3);
        }
        other => panic!("{other:?}"),
    }
    flush.ignore();
    assert_eq!(space.stack_bottom().as_usize(), t - 4 * PAGE_SIZE);
    assert_eq!(stack_pages(&space), 4);
    let mut got = vec![0xee; 3 * PAGE_SIZE];
    space.copy_in(t - 4 * PAGE_SIZE, &mut got).unwrap();
    assert!(got.iter().all(|&b| b == 0));
    check_frames(&env.arena, &[&space], &frames);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn grows_within_the_red_zone<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let red = space.layout().limits().red_zone;
    assert!(red > 0);
    let sp = top::<M>() - PAGE_SIZE; // at the bottom of the first page
    space
        .grow_stack(sp - red, sp, &mut frames)
        .unwrap()
        .ignore();
    assert_eq!(stack_pages(&space), 2);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn small_stack(pages: usize) -> Limits {
    Limits {
        stack_max: pages * PAGE_SIZE,
        ..Limits::default()
    }
}

fn grows_to_exactly_the_limit<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space: Space<'_, M> =
        UserSpace::new(&env.arena, env.trampoline(), small_stack(6), &mut frames).unwrap();
    let floor = space.layout().stack_floor().as_usize();
    assert_eq!(floor, top::<M>() - 6 * PAGE_SIZE);
    space
        .grow_stack(floor, floor, &mut frames)
        .unwrap()
        .ignore();
    assert_eq!(stack_pages(&space), 6);
    refused(
        &mut space,
        floor - 1,
        floor,
        &mut frames,
        StackError::BeyondLimit(floor - 1),
    );
    check_frames(&env.arena, &[&space], &frames);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn limit_is_configurable<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let default: Space<'_, M> = env.space(&mut frames);
    assert_eq!(default.layout().limits().stack_max, 8 << 20);
    assert_eq!(
        default.layout().stack_floor().as_usize(),
        top::<M>() - (8 << 20)
    );
    default.destroy(&mut frames);
    let small: Space<'_, M> =
        UserSpace::new(&env.arena, env.trampoline(), small_stack(2), &mut frames).unwrap();
    assert_eq!(
        small.layout().stack_floor().as_usize(),
        top::<M>() - 2 * PAGE_SIZE
    );
    small.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn refuses_a_fault_on_the_mapped_stack_or_above<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let t = top::<M>();
    let sp = t - 64;
    for fault in [t - PAGE_SIZE, t - 1, t, t + PAGE_SIZE, usize::MAX] {
        refused(
            &mut space,
            fault,
            sp,
            &mut frames,
            StackError::NotBelowStack(fault),
        );
    }
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn refuses_a_fault_beyond_the_limit<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let floor = space.layout().stack_floor().as_usize();
    refused(
        &mut space,
        floor - 1,
        floor,
        &mut frames,
        StackError::BeyondLimit(floor - 1),
    );
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn refuses_a_fault_in_the_guard_gap_or_heap<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let cap = space.layout().heap_cap().as_usize();
    let sp = space.layout().stack_floor().as_usize();
    for fault in [cap, cap - 1, cap + PAGE_SIZE, 0x1000, 0] {
        refused(
            &mut space,
            fault,
            sp,
            &mut frames,
            StackError::BeyondLimit(fault),
        );
    }
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn refuses_a_fault_below_the_red_zone<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let red = space.layout().limits().red_zone;
    let sp = top::<M>() - PAGE_SIZE - 8;
    let fault = sp - red - 1;
    refused(
        &mut space,
        fault,
        sp,
        &mut frames,
        StackError::BelowStackPointer { fault, sp },
    );
    let far = sp - 5 * PAGE_SIZE;
    refused(
        &mut space,
        far,
        sp,
        &mut frames,
        StackError::BelowStackPointer { fault: far, sp },
    );
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn refuses_a_stack_pointer_outside_the_stack<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let (t, floor) = (top::<M>(), space.layout().stack_floor().as_usize());
    let fault = t - PAGE_SIZE - 8;
    for sp in [0, 0x9000, floor - 1, t + 1, t + PAGE_SIZE, usize::MAX] {
        refused(
            &mut space,
            fault,
            sp,
            &mut frames,
            StackError::BadStackPointer(sp),
        );
    }
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

/// A space whose stack has grown to `pages` pages.
fn grown<'a, M: Mode>(env: &'a Env, frames: &mut Frames<'_>, pages: usize) -> Space<'a, M> {
    let mut space: Space<'_, M> = env.space(frames);
    let low = top::<M>() - pages * PAGE_SIZE;
    space.grow_stack(low, low, frames).unwrap().ignore();
    assert_eq!(stack_pages(&space), pages);
    space
}

fn shrink_releases_pages_wholly_below_sp<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space = grown::<M>(&env, &mut frames, 5);
    let t = top::<M>();
    let out = frames.outstanding();
    let flush = space.shrink_stack(t - 2 * PAGE_SIZE, &mut frames);
    match flush.scope() {
        FlushScope::Pages(r) => {
            assert_eq!(r.start().start().as_usize(), t - 5 * PAGE_SIZE);
            assert_eq!(r.count(), 3);
        }
        other => panic!("{other:?}"),
    }
    flush.ignore();
    assert_eq!(stack_pages(&space), 2);
    assert_eq!(frames.outstanding(), out - 3);
    check_frames(&env.arena, &[&space], &frames);
    // And it grows again, zeroed.
    space
        .grow_stack(t - 4 * PAGE_SIZE, t - 4 * PAGE_SIZE, &mut frames)
        .unwrap()
        .ignore();
    let mut got = vec![0xee; 2 * PAGE_SIZE];
    space.copy_in(t - 4 * PAGE_SIZE, &mut got).unwrap();
    assert!(got.iter().all(|&b| b == 0));
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn shrink_keeps_the_page_holding_a_misaligned_sp<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space = grown::<M>(&env, &mut frames, 5);
    let t = top::<M>();
    space
        .shrink_stack(t - 3 * PAGE_SIZE + 3, &mut frames)
        .ignore();
    assert_eq!(space.stack_bottom().as_usize(), t - 3 * PAGE_SIZE);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn shrink_never_releases_the_top_page<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space = grown::<M>(&env, &mut frames, 3);
    let t = top::<M>();
    space.shrink_stack(t, &mut frames).ignore();
    assert_eq!(stack_pages(&space), 1);
    assert_eq!(
        space.shrink_stack(t, &mut frames).scope(),
        FlushScope::Nothing
    );
    assert_eq!(stack_pages(&space), 1);
    check_frames(&env.arena, &[&space], &frames);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn shrink_with_sp_below_the_stack_releases_nothing<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space = grown::<M>(&env, &mut frames, 3);
    let floor = space.layout().stack_floor().as_usize();
    let before = snapshot(&space);
    let bottom = space.stack_bottom().as_usize();
    for sp in [
        bottom,
        bottom - 1,
        bottom - 4 * PAGE_SIZE,
        floor,
        floor - 1,
        0x5000,
        0,
    ] {
        assert_eq!(
            space.shrink_stack(sp, &mut frames).scope(),
            FlushScope::Nothing,
            "{sp:#x}"
        );
        assert_eq!(snapshot(&space), before);
    }
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

/// VIMIX panics its kernel when a process moves `sp` above its stack after the stack grew: the
/// shrink unmaps pages between the old and new `sp` that were never mapped. Here no `sp` value
/// releases anything outside the mapped stack.
fn vimix_panic_sp_above_the_stack_after_growth_unmaps_nothing<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space = grown::<M>(&env, &mut frames, 4);
    let t = top::<M>();
    let tramp = trampoline_page::<M>().start().as_usize();
    let before = snapshot(&space);
    let out = frames.outstanding();
    for sp in [
        t + 1,
        t + 8,
        t + PAGE_SIZE,
        tramp,
        tramp + PAGE_SIZE - 1,
        (1 << 32) - 1,
        usize::MAX,
    ] {
        assert_eq!(
            space.shrink_stack(sp, &mut frames).scope(),
            FlushScope::Nothing,
            "{sp:#x}"
        );
        assert_eq!(snapshot(&space), before, "{sp:#x}");
        assert_eq!(frames.outstanding(), out);
    }
    // Back on the stack, the shrink works as usual, and the trap frame is untouched.
    space.shrink_stack(t - 8, &mut frames).ignore();
    assert_eq!(stack_pages(&space), 1);
    assert!(
        space
            .page_table()
            .translate(VirtAddr::new(t).unwrap())
            .is_some()
    );
    check_frames(&env.arena, &[&space], &frames);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn out_of_frames_at_every_allocation_rolls_back<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let low = top::<M>() - 10 * PAGE_SIZE;
    fail(&mut frames, FailPlan::Never);
    space.grow_stack(low, low, &mut frames).unwrap().ignore();
    let needed = frames.inner().calls();
    space.shrink_stack(top::<M>(), &mut frames).ignore();
    for n in 1..=needed {
        for plan in [FailPlan::Nth(n), FailPlan::FromNth(n)] {
            let before = snapshot(&space);
            let out = frames.outstanding();
            fail(&mut frames, plan);
            let got = space.grow_stack(low, low, &mut frames);
            fail(&mut frames, FailPlan::Never);
            assert_eq!(got, Err(StackError::OutOfMemory), "{plan:?}");
            assert_eq!(snapshot(&space), before, "{plan:?}");
            assert_eq!(frames.outstanding(), out, "{plan:?}");
        }
    }
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}
