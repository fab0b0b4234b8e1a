//! The user stack and its growth: the first page under the trap frame, growth on faults just
//! below it within the limit and the red zone, and every refusal its own test, each leaving the
//! space unchanged.

mod space_user_support;

use rvmm::addr::{PAGE_SIZE, VirtAddr};
use rvmm::paging::{Mode, Perms};
use rvmm::space::trampoline_page;
use rvmm::space::user::{GrowStackError, Limits, UserRegion, UserSpace};
use rvmm::tlb::FlushScope;
use rvmm_testkit::FailPlan;
use space_user_support::*;

rvmm_testkit::both_modes!(
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
    out_of_frames_at_every_allocation_rolls_back,
);

/// Checks that `grow_stack(fault, sp)` fails with `err` and changes nothing.
fn refused<M: Mode>(
    space: &mut Space<'_, M>,
    fault: usize,
    sp: usize,
    frames: &mut Frames<'_>,
    err: GrowStackError,
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

fn small_stack(pages: usize) -> Limits {
    Limits {
        stack_max: pages * PAGE_SIZE,
        ..Limits::default()
    }
}

fn starts_with_one_page_under_the_trap_frame<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let space: Space<'_, M> = env.space(&mut frames);
    let rows: Vec<_> = space
        .regions()
        .map(|r| (r.what, r.start.as_usize(), r.pages, r.perms))
        .collect();
    let t = stack_top::<M>();
    assert_eq!(
        rows,
        [
            (UserRegion::Stack, t - PAGE_SIZE, 1, Perms::RW | Perms::U),
            (UserRegion::TrapFrame, t, 1, Perms::RW),
            (
                UserRegion::Trampoline,
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
    assert_eq!(tf.pa, space.trap_frame().frame().start());
    check_frames(&env.arena, &[&space], &frames);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn grows_down_to_the_faulting_page<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let t = stack_top::<M>();
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
    let sp = stack_top::<M>() - PAGE_SIZE; // at the bottom of the first page
    space
        .grow_stack(sp - red, sp, &mut frames)
        .unwrap()
        .ignore();
    assert_eq!(stack_pages(&space), 2);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn grows_to_exactly_the_limit<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space: Space<'_, M> =
        UserSpace::new(&env.arena, env.trampoline(), small_stack(6), &mut frames).unwrap();
    let floor = space.layout().stack_floor().as_usize();
    assert_eq!(floor, stack_top::<M>() - 6 * PAGE_SIZE);
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
        GrowStackError::BeyondLimit(floor - 1),
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
        stack_top::<M>() - (8 << 20)
    );
    default.destroy(&mut frames);
    let small: Space<'_, M> =
        UserSpace::new(&env.arena, env.trampoline(), small_stack(2), &mut frames).unwrap();
    assert_eq!(
        small.layout().stack_floor().as_usize(),
        stack_top::<M>() - 2 * PAGE_SIZE
    );
    small.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn refuses_a_fault_on_the_mapped_stack_or_above<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let t = stack_top::<M>();
    let sp = t - 64;
    for fault in [t - PAGE_SIZE, t - 1, t, t + PAGE_SIZE, usize::MAX] {
        refused(
            &mut space,
            fault,
            sp,
            &mut frames,
            GrowStackError::NotBelowStack(fault),
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
        GrowStackError::BeyondLimit(floor - 1),
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
            GrowStackError::BeyondLimit(fault),
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
    let sp = stack_top::<M>() - PAGE_SIZE - 8;
    let fault = sp - red - 1;
    refused(
        &mut space,
        fault,
        sp,
        &mut frames,
        GrowStackError::BelowStackPointer { fault, sp },
    );
    let far = sp - 5 * PAGE_SIZE;
    refused(
        &mut space,
        far,
        sp,
        &mut frames,
        GrowStackError::BelowStackPointer { fault: far, sp },
    );
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn refuses_a_stack_pointer_outside_the_stack<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let (t, floor) = (stack_top::<M>(), space.layout().stack_floor().as_usize());
    let fault = t - PAGE_SIZE - 8;
    for sp in [0, 0x9000, floor - 1, t + 1, t + PAGE_SIZE, usize::MAX] {
        refused(
            &mut space,
            fault,
            sp,
            &mut frames,
            GrowStackError::BadStackPointer(sp),
        );
    }
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn out_of_frames_at_every_allocation_rolls_back<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let low = stack_top::<M>() - 10 * PAGE_SIZE;
    fail(&mut frames, FailPlan::Never);
    space.grow_stack(low, low, &mut frames).unwrap().ignore();
    let needed = frames.inner().calls();
    space.shrink_stack(stack_top::<M>(), &mut frames).ignore();
    for n in each_n(needed) {
        for plan in [FailPlan::Nth(n), FailPlan::FromNth(n)] {
            let before = snapshot(&space);
            let out = frames.outstanding();
            fail(&mut frames, plan);
            let got = space.grow_stack(low, low, &mut frames);
            fail(&mut frames, FailPlan::Never);
            assert_eq!(got, Err(GrowStackError::OutOfMemory), "{plan:?}");
            assert_eq!(snapshot(&space), before, "{plan:?}");
            assert_eq!(frames.outstanding(), out, "{plan:?}");
        }
    }
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}
