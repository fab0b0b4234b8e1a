//! `fork`: a full, independent copy of every region, rolled back completely when frames run
//! out at any allocation.

mod space_user_support;

use rvmm::addr::PAGE_SIZE;
use rvmm::paging::{Mode, Perms};
use rvmm::space::user::UserRegion;
use rvmm_testkit::FailPlan;
use space_user_support::*;
use std::collections::BTreeSet;

rvmm_testkit::both_modes!(
    child_has_the_same_regions_and_bytes,
    child_owns_every_data_frame,
    writes_after_fork_stay_on_their_side,
    trap_frame_is_copied,
    forks_of_forks_tear_down_in_any_order,
    out_of_frames_at_every_allocation_rolls_back,
);

/// A loaded space with heap and grown stack, all holding recognisable bytes.
fn parent<'a, M: Mode>(env: &'a Env, frames: &mut Frames<'_>) -> Space<'a, M> {
    let mut space = env.space::<M>(frames);
    space.load_elf(&program::<M>().bytes(), frames).unwrap();
    space
        .sbrk(2 * PAGE_SIZE as isize + 123, frames)
        .unwrap()
        .1
        .ignore();
    space
        .copy_out(PROGRAM_HEAP, &pattern(11, 2 * PAGE_SIZE + 123))
        .unwrap();
    let low = space.layout().stack_top().as_usize() - 3 * PAGE_SIZE;
    space.grow_stack(low, low, frames).unwrap().ignore();
    space.copy_out(low, &pattern(13, 3 * PAGE_SIZE)).unwrap();
    space.copy_out(0x6000, b"data").unwrap();
    space
}

/// The snapshot without physical addresses, which a copy must not share.
fn same_contents(a: &Snapshot, b: &Snapshot) -> bool {
    (
        &a.regions,
        a.brk,
        a.heap_start,
        a.stack_bottom,
        a.resident,
        &a.bytes,
    ) == (
        &b.regions,
        b.brk,
        b.heap_start,
        b.stack_bottom,
        b.resident,
        &b.bytes,
    )
}

fn data_frames<M: Mode>(space: &Space<'_, M>) -> BTreeSet<u64> {
    space
        .page_table()
        .mappings()
        .filter(|m| m.perms != Perms::RX) // the trampoline (program text is RX | U)
        .flat_map(|m| (0..m.len / PAGE_SIZE as u64).map(move |k| m.pa.as_u64() / 4096 + k))
        .collect()
}

fn child_has_the_same_regions_and_bytes<M: Mode>() {
    let env = Env::new(96);
    let mut frames = env.frames();
    let parent = parent::<M>(&env, &mut frames);
    let before = snapshot(&parent);
    let child = parent.fork(&mut frames).unwrap();
    assert!(same_contents(&snapshot(&child), &before));
    assert_eq!(snapshot(&parent), before, "fork changed the parent");
    assert_eq!(child.entry(), parent.entry());
    assert_eq!(child.trampoline(), parent.trampoline());
    check_frames(&env.arena, &[&parent, &child], &frames);
    child.destroy(&mut frames);
    parent.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn child_owns_every_data_frame<M: Mode>() {
    let env = Env::new(96);
    let mut frames = env.frames();
    let parent = parent::<M>(&env, &mut frames);
    let child = parent.fork(&mut frames).unwrap();
    let (p, c) = (data_frames(&parent), data_frames(&child));
    assert_eq!(p.len(), parent.resident_pages());
    assert_eq!(c.len(), child.resident_pages());
    assert!(p.is_disjoint(&c), "parent and child share a data frame");
    assert_ne!(parent.trap_frame().frame(), child.trap_frame().frame());
    child.destroy(&mut frames);
    parent.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn writes_after_fork_stay_on_their_side<M: Mode>() {
    let env = Env::new(96);
    let mut frames = env.frames();
    let mut parent = parent::<M>(&env, &mut frames);
    let mut child = parent.fork(&mut frames).unwrap();
    child.copy_out(PROGRAM_HEAP + 5, b"child").unwrap();
    parent.copy_out(0x6000, b"PARENT").unwrap();
    let (mut p, mut c) = ([0; 5], [0; 5]);
    parent.copy_in(PROGRAM_HEAP + 5, &mut p).unwrap();
    child.copy_in(PROGRAM_HEAP + 5, &mut c).unwrap();
    assert_eq!(&c, b"child");
    assert_eq!(p, pattern(11, 10)[5..]);
    let (mut p, mut c) = ([0; 6], [0; 6]);
    parent.copy_in(0x6000, &mut p).unwrap();
    child.copy_in(0x6000, &mut c).unwrap();
    assert_eq!((&p, &c[..4]), (b"PARENT", &b"data"[..]));
    // Their heaps and stacks move independently too.
    child
        .sbrk(-(PAGE_SIZE as isize), &mut frames)
        .unwrap()
        .1
        .ignore();
    assert_ne!(child.brk(), parent.brk());
    check_frames(&env.arena, &[&parent, &child], &frames);
    parent.destroy(&mut frames);
    child.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn trap_frame_is_copied<M: Mode>() {
    let env = Env::new(96);
    let mut frames = env.frames();
    let mut parent = parent::<M>(&env, &mut frames);
    let regs = pattern(42, 288);
    parent.trap_frame_mut().write(0, &regs).unwrap();
    let child = parent.fork(&mut frames).unwrap();
    let mut got = vec![0; 288];
    child.trap_frame().read(0, &mut got).unwrap();
    assert_eq!(got, regs);
    // The kernel's view and the memory agree: the frame holds the registers.
    let mut raw = vec![0; 288];
    env.arena
        .read(child.trap_frame().frame(), 0, &mut raw)
        .unwrap();
    assert_eq!(raw, regs);
    let kinds: Vec<_> = child.regions().map(|r| r.what).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|&&k| k == UserRegion::TrapFrame)
            .count(),
        1
    );
    child.destroy(&mut frames);
    parent.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn forks_of_forks_tear_down_in_any_order<M: Mode>() {
    let env = Env::new(160);
    let mut frames = env.frames();
    let a = parent::<M>(&env, &mut frames);
    let want = snapshot(&a);
    let b = a.fork(&mut frames).unwrap();
    let c = b.fork(&mut frames).unwrap();
    check_frames(&env.arena, &[&a, &b, &c], &frames);
    b.destroy(&mut frames);
    let d = c.fork(&mut frames).unwrap();
    a.destroy(&mut frames);
    c.destroy(&mut frames);
    assert!(same_contents(&snapshot(&d), &want));
    d.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn out_of_frames_at_every_allocation_rolls_back<M: Mode>() {
    let env = Env::new(96);
    let mut frames = env.frames();
    let parent = parent::<M>(&env, &mut frames);
    fail(&mut frames, FailPlan::Never);
    parent.fork(&mut frames).unwrap().destroy(&mut frames);
    let needed = frames.inner().calls();
    assert!(needed as usize > parent.resident_pages());
    let before = snapshot(&parent);
    let out = frames.outstanding();
    for n in each_n(needed) {
        for plan in [FailPlan::Nth(n), FailPlan::FromNth(n)] {
            fail(&mut frames, plan);
            let got = parent.fork(&mut frames);
            fail(&mut frames, FailPlan::Never);
            assert!(got.is_err(), "{plan:?}");
            assert_eq!(snapshot(&parent), before, "{plan:?}");
            assert_eq!(frames.outstanding(), out, "{plan:?}");
        }
    }
    parent.destroy(&mut frames);
    frames.assert_no_leaks();
}
