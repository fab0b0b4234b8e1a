//! `sbrk` refusals, each its own test: past the heap cap, below the heap start, overflowing
//! arithmetic, deltas wider than the mode's registers, and frames running out at every
//! allocation. Each leaves the break, the mappings, the bytes and the frame count unchanged.

mod space_user_support;

use rvmm::addr::PAGE_SIZE;
use rvmm::paging::Mode;
use rvmm::space::user::{Layout, Limits, SbrkError, UserSpace};
use rvmm_testkit::FailPlan;
use space_user_support::*;

rvmm_testkit::both_modes!(
    grows_to_exactly_the_cap,
    refuses_growth_past_the_cap,
    refuses_shrinking_below_the_heap_start,
    refuses_isize_min,
    refuses_isize_max,
    refuses_a_break_beyond_the_mode_top,
    refuses_deltas_wider_than_the_mode_registers,
    out_of_frames_at_every_allocation_rolls_back,
);

/// Checks that `sbrk(delta)` fails with `err` and changes nothing.
fn refused<M: Mode>(
    space: &mut Space<'_, M>,
    delta: isize,
    frames: &mut Frames<'_>,
    err: SbrkError,
) {
    let before = snapshot(space);
    let out = frames.outstanding();
    assert_eq!(space.sbrk(delta, frames), Err(err), "delta {delta:#x}");
    assert_eq!(snapshot(space), before);
    assert_eq!(frames.outstanding(), out);
}

/// Limits that put the heap cap `pages` pages above the text start, so tests can reach it.
fn small_heap<M: Mode>(pages: usize) -> Limits {
    let top = Layout::new::<M>(Limits::default())
        .unwrap()
        .stack_top()
        .as_usize();
    let gap = 4 * PAGE_SIZE;
    Limits {
        stack_max: top - gap - (1 + pages) * PAGE_SIZE,
        guard_gap: gap,
        red_zone: 0,
    }
}

fn grows_to_exactly_the_cap<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = UserSpace::new(
        &env.arena,
        env.trampoline(),
        small_heap::<M>(8),
        &mut frames,
    )
    .unwrap();
    let cap = space.layout().heap_cap().as_usize();
    assert_eq!(cap, 0x1000 + 8 * PAGE_SIZE);
    let start = space.heap_start().as_usize();
    sbrk(&mut space, (cap - start) as isize, &mut frames);
    assert_eq!(space.brk().as_usize(), cap);
    space.copy_out(cap - 1, &[1]).unwrap();
    refused(
        &mut space,
        1,
        &mut frames,
        SbrkError::AboveCap {
            requested: cap + 1,
            cap,
        },
    );
    check_frames(&env.arena, &[&space], &frames);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn refuses_growth_past_the_cap<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = UserSpace::new(
        &env.arena,
        env.trampoline(),
        small_heap::<M>(8),
        &mut frames,
    )
    .unwrap();
    sbrk(&mut space, 7, &mut frames);
    let cap = space.layout().heap_cap().as_usize();
    let brk = space.brk().as_usize();
    let delta = (cap - brk + 1) as isize;
    refused(
        &mut space,
        delta,
        &mut frames,
        SbrkError::AboveCap {
            requested: cap + 1,
            cap,
        },
    );
    let requested = brk + 0x1000_0000;
    refused(
        &mut space,
        0x1000_0000,
        &mut frames,
        SbrkError::AboveCap { requested, cap },
    );
    // The cap lies a guard gap below the lowest possible stack page.
    let layout = *space.layout();
    assert_eq!(
        layout.stack_floor().as_usize() - cap,
        layout.limits().guard_gap
    );
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn refuses_shrinking_below_the_heap_start<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = loaded::<M>(&env, &mut frames);
    refused(
        &mut space,
        -1,
        &mut frames,
        SbrkError::BelowStart {
            requested: PROGRAM_HEAP - 1,
            start: PROGRAM_HEAP,
        },
    );
    sbrk(&mut space, 10, &mut frames);
    refused(
        &mut space,
        -11,
        &mut frames,
        SbrkError::BelowStart {
            requested: PROGRAM_HEAP - 1,
            start: PROGRAM_HEAP,
        },
    );
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn refuses_isize_min<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = loaded::<M>(&env, &mut frames);
    let brk = space.brk().as_usize();
    refused(
        &mut space,
        isize::MIN,
        &mut frames,
        SbrkError::Overflow {
            brk,
            delta: isize::MIN,
        },
    );
    // Also the mode's own minimum (i32::MIN on Sv32): the break would go below zero.
    let min = if is64::<M>() {
        isize::MIN
    } else {
        i32::MIN as isize
    };
    refused(
        &mut space,
        min,
        &mut frames,
        SbrkError::Overflow { brk, delta: min },
    );
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn refuses_isize_max<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = loaded::<M>(&env, &mut frames);
    let brk = space.brk().as_usize();
    refused(
        &mut space,
        isize::MAX,
        &mut frames,
        SbrkError::Overflow {
            brk,
            delta: isize::MAX,
        },
    );
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn refuses_a_break_beyond_the_mode_top<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = loaded::<M>(&env, &mut frames);
    let brk = space.brk().as_usize();
    if is64::<M>() {
        let delta = (1isize << 38) - brk as isize;
        refused(
            &mut space,
            delta,
            &mut frames,
            SbrkError::Overflow { brk, delta },
        );
        let cap = space.layout().heap_cap().as_usize();
        let requested = (1 << 38) - 1;
        refused(
            &mut space,
            delta - 1,
            &mut frames,
            SbrkError::AboveCap { requested, cap },
        );
    } else {
        // A 32-bit delta cannot reach the Sv32 top from the heap: the largest one is a real
        // (too large) request that runs out of frames and rolls back.
        let before = snapshot(&space);
        let out = frames.outstanding();
        let max = i32::MAX as isize;
        assert_eq!(space.sbrk(max, &mut frames), Err(SbrkError::OutOfMemory));
        assert_eq!(snapshot(&space), before);
        assert_eq!(frames.outstanding(), out);
    }
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn refuses_deltas_wider_than_the_mode_registers<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = loaded::<M>(&env, &mut frames);
    let brk = space.brk().as_usize();
    let delta = 0x8000_0000isize;
    if is64::<M>() {
        // A 64-bit process may ask for 2 GiB: a real request, refused for want of frames.
        assert_eq!(space.sbrk(delta, &mut frames), Err(SbrkError::OutOfMemory));
    } else {
        // On RV32 this value is not a positive 32-bit delta.
        refused(
            &mut space,
            delta,
            &mut frames,
            SbrkError::Overflow { brk, delta },
        );
        let below = -0x8000_0001isize;
        refused(
            &mut space,
            below,
            &mut frames,
            SbrkError::Overflow { brk, delta: below },
        );
    }
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn out_of_frames_at_every_allocation_rolls_back<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = loaded::<M>(&env, &mut frames);
    sbrk(&mut space, 100, &mut frames);
    let grow = 20 * PAGE_SIZE as isize;
    fail(&mut frames, FailPlan::Never);
    sbrk(&mut space, grow, &mut frames);
    let needed = frames.inner().calls();
    sbrk(&mut space, -grow, &mut frames);
    assert!(needed >= 20);
    for n in each_n(needed) {
        for plan in [FailPlan::Nth(n), FailPlan::FromNth(n)] {
            let before = snapshot(&space);
            let out = frames.outstanding();
            fail(&mut frames, plan);
            assert_eq!(
                space.sbrk(grow, &mut frames),
                Err(SbrkError::OutOfMemory),
                "{plan:?}"
            );
            fail(&mut frames, FailPlan::Never);
            assert_eq!(snapshot(&space), before, "{plan:?}");
            assert_eq!(frames.outstanding(), out, "{plan:?}");
        }
    }
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}
