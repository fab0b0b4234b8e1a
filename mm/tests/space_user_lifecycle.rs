//! Whole process lifecycles: create, load, grow the heap, fork, shrink, grow and shrink the
//! stack, exit both. The free frame count returns exactly to its baseline, also when the N-th
//! allocation fails, for every N: each failing step is a typed error that changes nothing.

mod space_user_support;

use rvmm::addr::PAGE_SIZE;
use rvmm::paging::Mode;
use rvmm::space::user::{Limits, NewError, UserSpace};
use rvmm_testkit::FailPlan;
use space_user_support::*;
use std::fmt::Debug;

rvmm_testkit::both_modes!(
    lifecycle_returns_every_frame,
    lifecycle_with_the_nth_allocation_failing_for_every_n,
    lifecycle_with_every_allocation_from_the_nth_failing_for_every_n,
    new_refuses_bad_limits,
    new_refuses_a_trampoline_beyond_the_mode,
    new_out_of_frames_at_every_allocation_leaks_nothing,
    regions_describe_the_whole_space,
);

/// What a lifecycle does when a step fails: try it again (the failing plan fails once), or
/// go on without it (memory stays exhausted).
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnError {
    Retry,
    Skip,
}

/// Runs `op` on `space`; on error checks it is out-of-memory and changed nothing, then retries
/// or gives up as `on_error` says. Counts the failures.
fn step<'a, M: Mode, T, E: Debug>(
    space: &mut Space<'a, M>,
    frames: &mut Frames<'_>,
    on_error: OnError,
    failures: &mut u64,
    mut op: impl FnMut(&mut Space<'a, M>, &mut Frames<'_>) -> Result<T, E>,
) -> Option<T> {
    loop {
        let before = snapshot(space);
        let out = frames.outstanding();
        match op(space, frames) {
            Ok(t) => return Some(t),
            Err(e) => {
                *failures += 1;
                assert!(format!("{e:?}").contains("OutOfMemory"), "{e:?}");
                assert_eq!(snapshot(space), before, "{e:?} changed the space");
                assert_eq!(frames.outstanding(), out, "{e:?} leaked or freed frames");
                if on_error == OnError::Skip {
                    return None;
                }
            }
        }
    }
}

/// The final contents of the two processes, if both got that far.
type Outcome = Option<(Snapshot, Snapshot)>;

/// One lifecycle. Returns the failures met and what both processes held before exiting.
fn lifecycle<M: Mode>(env: &Env, frames: &mut Frames<'_>, on_error: OnError) -> (u64, Outcome) {
    let mut failures = 0;
    let limits = Limits::default();
    let mut parent = loop {
        let out = frames.outstanding();
        match UserSpace::new(&env.arena, env.trampoline(), limits, frames) {
            Ok(s) => break s,
            Err(e) => {
                failures += 1;
                assert_eq!(e, NewError::OutOfMemory);
                assert_eq!(frames.outstanding(), out);
                if on_error == OnError::Skip {
                    return (failures, None);
                }
            }
        }
    };
    let p: &mut Space<'_, M> = &mut parent;
    let elf = program::<M>().bytes();
    let top = p.layout().stack_top().as_usize();
    let page = PAGE_SIZE as isize;
    let mut f = failures;
    let loaded = step(p, frames, on_error, &mut f, |s, fr| s.load_elf(&elf, fr)).is_some();
    let grown = step(p, frames, on_error, &mut f, |s, fr| {
        s.sbrk(5 * page + 100, fr)
    });
    let heap_grown = grown.is_some();
    if let Some((heap, flush)) = grown {
        flush.ignore();
        p.copy_out(heap.as_usize(), &pattern(3, 5 * PAGE_SIZE + 100))
            .unwrap();
    }
    let low = top - 3 * PAGE_SIZE;
    if let Some(flush) = step(p, frames, on_error, &mut f, |s, fr| {
        s.grow_stack(low, low, fr)
    }) {
        flush.ignore();
        p.copy_out(low, b"parent stack").unwrap();
    }
    let child = step(p, frames, on_error, &mut f, |s, fr| s.fork(fr));
    let Some(mut child) = child else {
        parent.destroy(frames);
        return (f, None);
    };
    let c: &mut Space<'_, M> = &mut child;
    let shrunk =
        heap_grown.then(|| step(c, frames, on_error, &mut f, |s, fr| s.sbrk(-3 * page, fr)));
    if let Some(Some((_, flush))) = shrunk {
        flush.ignore();
    }
    let deeper = top - 6 * PAGE_SIZE + 8;
    if let Some(flush) = step(c, frames, on_error, &mut f, |s, fr| {
        s.grow_stack(deeper, deeper, fr)
    }) {
        flush.ignore();
        c.copy_out(deeper, b"child stack").unwrap();
    }
    if let Some((_, flush)) = step(p, frames, on_error, &mut f, |s, fr| s.sbrk(2 * page, fr)) {
        flush.ignore();
    }
    p.shrink_stack(top - 8, frames).ignore();
    if loaded {
        c.copy_out(0x6000, b"child data").unwrap();
    }
    check_frames(&env.arena, &[&parent, &child], frames);
    let outcome = (snapshot(&parent), snapshot(&child));
    child.destroy(frames);
    parent.destroy(frames);
    (f, Some(outcome))
}

fn lifecycle_returns_every_frame<M: Mode>() {
    let env = Env::new(96);
    let mut frames = env.frames();
    let baseline = frames.inner().inner().free_frames();
    let (failures, outcome) = lifecycle::<M>(&env, &mut frames, OnError::Retry);
    assert_eq!(failures, 0);
    let (parent, child) = outcome.unwrap();
    // The parent kept its heap; the child gave three pages back and grew its stack.
    assert_eq!(parent.brk - parent.heap_start, 7 * PAGE_SIZE + 100);
    assert_eq!(child.brk - child.heap_start, 2 * PAGE_SIZE + 100);
    // Program 6 pages and trap frame 1 each; parent heap 8 pages, stack shrunk back to 1;
    // child heap 3 pages, stack grown to 6.
    assert_eq!((parent.resident, child.resident), (16, 16));
    assert_eq!(frames.inner().inner().free_frames(), baseline);
    frames.assert_no_leaks();
}

/// Every allocation of the lifecycle fails once in turn; each failing step is retried.
fn lifecycle_with_the_nth_allocation_failing_for_every_n<M: Mode>() {
    let env = Env::new(96);
    let mut frames = env.frames();
    let baseline = frames.inner().inner().free_frames();
    let (_, reference) = lifecycle::<M>(&env, &mut frames, OnError::Retry);
    let total = frames.inner().calls();
    assert!(total > 40, "{total} allocations");
    let reference = reference.unwrap();
    for n in each_n(total) {
        fail(&mut frames, FailPlan::Nth(n));
        let (failures, outcome) = lifecycle::<M>(&env, &mut frames, OnError::Retry);
        assert_eq!(failures, 1, "n = {n}");
        let (p, c) = outcome.unwrap();
        assert_eq!(
            (&p.regions, &p.bytes),
            (&reference.0.regions, &reference.0.bytes),
            "n = {n}"
        );
        assert_eq!(
            (&c.regions, &c.bytes),
            (&reference.1.regions, &reference.1.bytes),
            "n = {n}"
        );
        assert_eq!(frames.inner().inner().free_frames(), baseline, "n = {n}");
        frames.assert_no_leaks();
    }
}

/// From the N-th allocation on every one fails; the lifecycle goes on without the steps that
/// failed, and still returns every frame.
fn lifecycle_with_every_allocation_from_the_nth_failing_for_every_n<M: Mode>() {
    let env = Env::new(96);
    let mut frames = env.frames();
    let baseline = frames.inner().inner().free_frames();
    lifecycle::<M>(&env, &mut frames, OnError::Skip);
    let total = frames.inner().calls();
    for n in each_n(total + 1) {
        fail(&mut frames, FailPlan::FromNth(n));
        let (failures, _) = lifecycle::<M>(&env, &mut frames, OnError::Skip);
        assert_eq!(failures > 0, n <= total, "n = {n}");
        assert_eq!(frames.inner().inner().free_frames(), baseline, "n = {n}");
        frames.assert_no_leaks();
    }
}

fn new_refuses_bad_limits<M: Mode>() {
    use rvmm::space::user::LimitsError;
    let env = Env::new(8);
    let mut frames = env.frames();
    let d = Limits::default();
    let cases = [
        (Limits { stack_max: 0, ..d }, LimitsError::BadStackMax(0)),
        (
            Limits {
                stack_max: 4097,
                ..d
            },
            LimitsError::BadStackMax(4097),
        ),
        (Limits { guard_gap: 0, ..d }, LimitsError::BadGuardGap(0)),
        (
            Limits {
                guard_gap: 100,
                ..d
            },
            LimitsError::BadGuardGap(100),
        ),
        (
            Limits {
                stack_max: usize::MAX & !0xfff,
                ..d
            },
            LimitsError::NoRoomForProgram {
                stack_max: usize::MAX & !0xfff,
                guard_gap: d.guard_gap,
            },
        ),
    ];
    for (limits, err) in cases {
        let got = UserSpace::<M, _>::new(&env.arena, env.trampoline(), limits, &mut frames);
        assert_eq!(got.err(), Some(NewError::Limits(err)));
        frames.assert_no_leaks();
    }
    // A stack and gap that leave exactly one page above the text start are fine.
    let top = rvmm::space::trap_frame_page::<M>().start().as_usize();
    let tight = Limits {
        stack_max: top - 0x2000 - d.guard_gap,
        ..d
    };
    let space = UserSpace::<M, _>::new(&env.arena, env.trampoline(), tight, &mut frames).unwrap();
    assert_eq!(space.layout().heap_cap().as_usize(), 0x2000);
    space.destroy(&mut frames);
    let tighter = Limits {
        stack_max: tight.stack_max + PAGE_SIZE,
        ..d
    };
    assert!(UserSpace::<M, _>::new(&env.arena, env.trampoline(), tighter, &mut frames).is_err());
    frames.assert_no_leaks();
}

fn new_refuses_a_trampoline_beyond_the_mode<M: Mode>() {
    let env = Env::new(8);
    let mut frames = env.frames();
    // Sv32 reaches 2^34 bytes of physical memory; Sv39 all of the 2^56 a Frame can name.
    if is64::<M>() {
        assert!(rvmm::Frame::from_number(1 << (M::PA_BITS - 12)).is_err());
        return;
    }
    let beyond = rvmm::Frame::from_number(1 << (M::PA_BITS - 12)).unwrap();
    let got = UserSpace::<M, _>::new(&env.arena, beyond, Limits::default(), &mut frames);
    assert!(matches!(got.err(), Some(NewError::Trampoline(_))));
    frames.assert_no_leaks();
}

fn new_out_of_frames_at_every_allocation_leaks_nothing<M: Mode>() {
    let env = Env::new(16);
    let mut frames = env.frames();
    env.space::<M>(&mut frames).destroy(&mut frames);
    let needed = frames.inner().calls();
    for n in each_n(needed) {
        fail(&mut frames, FailPlan::Nth(n));
        let got =
            UserSpace::<M, _>::new(&env.arena, env.trampoline(), Limits::default(), &mut frames);
        assert_eq!(got.err(), Some(NewError::OutOfMemory), "n = {n}");
        frames.assert_no_leaks();
    }
}

fn regions_describe_the_whole_space<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    space
        .load_elf(&program::<M>().bytes(), &mut frames)
        .unwrap();
    space.sbrk(100, &mut frames).unwrap().1.ignore();
    let rows: Vec<String> = space.regions().map(|r| r.to_string()).collect();
    let top = rvmm::space::trap_frame_page::<M>().start().as_u64();
    let expected = [
        format!("{:016x}-{:016x} r-xu      2 program", 0x1000, 0x3000),
        format!("{:016x}-{:016x} r--u      1 program", 0x4000, 0x5000),
        format!("{:016x}-{:016x} rw-u      1 program", 0x6000, 0x7000),
        format!("{:016x}-{:016x} rw-u      2 bss", 0x7000, 0x9000),
        format!("{:016x}-{:016x} rw-u      1 heap", 0x9000, 0xa000),
        format!("{:016x}-{:016x} rw-u      1 stack", top - 0x1000, top),
        format!("{:016x}-{:016x} rw--      1 trap frame", top, top + 0x1000),
        format!(
            "{:016x}-{:016x} r-x-      1 trampoline",
            top + 0x1000,
            top + 0x2000
        ),
    ];
    assert_eq!(rows, expected);
    assert_eq!(space.resident_pages(), 6 + 1 + 1 + 1);
    let tables = check_tables(&env.arena, &space);
    assert_eq!(frames.outstanding(), space.resident_pages() + tables);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}
