//! Shrinking the user stack: pages wholly below `sp`'s red zone go, the top page stays, and no
//! stack pointer, however bogus, makes it unmap a page that is not mapped (the VIMIX panic).

mod space_user_support;

use rvmm::addr::{PAGE_SIZE, VirtAddr};
use rvmm::paging::Mode;
use rvmm::space::trampoline_page;
use rvmm::space::user::layout::DEFAULT_RED_ZONE as RED_ZONE;
use rvmm::tlb::FlushScope;
use space_user_support::*;

rvmm_testkit::both_modes!(
    shrink_releases_pages_wholly_below_the_red_zone,
    shrink_keeps_the_page_holding_a_misaligned_sp,
    shrink_keeps_the_red_zone_below_sp,
    shrink_never_releases_the_top_page,
    shrink_with_sp_below_the_stack_releases_nothing,
    vimix_panic_sp_above_the_stack_after_growth_unmaps_nothing,
);

fn shrink_releases_pages_wholly_below_the_red_zone<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space = grown_stack::<M>(&env, &mut frames, 5);
    let t = stack_top::<M>();
    let out = frames.outstanding();
    // The red zone below `sp` ends exactly at a page boundary.
    let flush = space.shrink_stack(t - 2 * PAGE_SIZE + RED_ZONE, &mut frames);
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
    let mut space = grown_stack::<M>(&env, &mut frames, 5);
    let t = stack_top::<M>();
    space
        .shrink_stack(t - 3 * PAGE_SIZE + RED_ZONE + 3, &mut frames)
        .ignore();
    assert_eq!(space.stack_bottom().as_usize(), t - 3 * PAGE_SIZE);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

/// The kernel grows the stack for faults up to the red zone below `sp`, so a process may keep
/// bytes there; a shrink at a preemption must not turn them into a fresh zero page. (Found by
/// `memtests stack-red-zone-kept-at-preemption`: the shrink released the page below `sp`.)
fn shrink_keeps_the_red_zone_below_sp<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space = grown_stack::<M>(&env, &mut frames, 5);
    let t = stack_top::<M>();
    let sp = t - 3 * PAGE_SIZE + 8;
    let kept = sp - RED_ZONE;
    space.copy_out(kept, b"red zone").unwrap();
    let out = frames.outstanding();
    space.shrink_stack(sp, &mut frames).ignore();
    assert_eq!(space.stack_bottom().as_usize(), t - 4 * PAGE_SIZE);
    assert_eq!(frames.outstanding(), out - 1);
    let mut got = [0; 8];
    space.copy_in(kept, &mut got).unwrap();
    assert_eq!(&got, b"red zone");
    // One byte further up, the red zone leaves that page: it goes.
    space
        .shrink_stack(t - 3 * PAGE_SIZE + RED_ZONE, &mut frames)
        .ignore();
    assert_eq!(space.stack_bottom().as_usize(), t - 3 * PAGE_SIZE);
    check_frames(&env.arena, &[&space], &frames);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn shrink_never_releases_the_top_page<M: Mode>() {
    let env = Env::new(32);
    let mut frames = env.frames();
    let mut space = grown_stack::<M>(&env, &mut frames, 3);
    let t = stack_top::<M>();
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
    let mut space = grown_stack::<M>(&env, &mut frames, 3);
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
    let mut space = grown_stack::<M>(&env, &mut frames, 4);
    let t = stack_top::<M>();
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
