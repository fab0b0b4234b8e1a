//! Every way a free can be wrong is a typed error that leaves the allocator unchanged.

mod frame_support;

use frame_support::drain;
use rvmm::addr::{Frame, PhysAddr, PhysRange};
use rvmm::frame::{BATCH_FRAMES, FrameAllocator, FrameSource, FreeError, Junk};
use rvmm::phys::PhysMem;
use rvmm_testkit::Arena;
use std::collections::BTreeSet;

const BASE: u64 = 0x8000_0000;
/// Enough frames for several batches (`BATCH_FRAMES` each: 1,021, or 15 under Miri).
const FRAMES: u64 = if cfg!(miri) { 160 } else { 3_000 };

fn frame(n: u64) -> Frame {
    Frame::from_number((BASE >> 12) + n).unwrap()
}

fn range(start: u64, end: u64) -> PhysRange {
    PhysRange::with_len(start, end - start).unwrap()
}

/// Arena frames 0..FRAMES; RAM is 1..FRAMES-1 with a hole at 40..45 and frames 60..65
/// reserved; the bookkeeping lands on frame 1, so managed frames start at 2.
fn setup(arena: &Arena) -> FrameAllocator<&Arena> {
    let ram = [
        range(BASE + 0x1000, BASE + 40 * 4096),
        range(BASE + 110 * 4096, BASE + (FRAMES - 1) * 4096),
    ];
    let reserved = [range(BASE + 60 * 4096, BASE + 65 * 4096)];
    // SAFETY: the arena is used by nothing else.
    let a = unsafe { FrameAllocator::new(arena, &ram, &reserved, Junk::Fill) }.unwrap();
    assert_eq!(a.bookkeeping_frames(), (frame(1), 1));
    a
}

/// The free count and the set of frames on the shared list.
fn snapshot<P: PhysMem>(a: &FrameAllocator<P>) -> (usize, BTreeSet<Frame>) {
    (a.stats().free, drain(a))
}

#[test]
fn foreign_and_unaligned_frees_are_refused_unchanged() {
    let arena = Arena::new(BASE, FRAMES as usize * 4096);
    let a = setup(&arena);
    let before = snapshot(&a);
    let foreign = [0, 1, 40, 44, 60, 64, FRAMES - 1, FRAMES, 1 << 20];
    for n in foreign {
        // SAFETY: not managed, so refused without being touched.
        let got = unsafe { a.deallocate(frame(n)) };
        assert_eq!(got, Err(FreeError::Foreign(frame(n))), "frame {n}");
    }
    let below = Frame::from_number(0).unwrap();
    // SAFETY: as above.
    let got = unsafe { a.deallocate(below) };
    assert_eq!(got, Err(FreeError::Foreign(below)));
    let odd = PhysAddr::new(BASE + 5 * 4096 + 8).unwrap();
    // SAFETY: refused before anything is touched.
    let got = unsafe { a.deallocate_addr(odd) };
    assert_eq!(got, Err(FreeError::Unaligned(odd)));
    assert!(snapshot(&a) == before, "state changed");
}

#[test]
fn double_free_of_list_entries_and_batch_nodes_is_refused_unchanged() {
    let arena = Arena::new(BASE, FRAMES as usize * 4096);
    let a = setup(&arena);
    let before = snapshot(&a);
    // Every managed frame is free now: entries, and the nodes (the first frame pushed at init,
    // and one every `BATCH_FRAMES` frames after it).
    let b = BATCH_FRAMES as u64;
    for n in [2, 3, 30, b + 1, b + 2, 2 * b + 2, FRAMES - 2] {
        // SAFETY: the frame is free, so the free is refused without touching it.
        let got = unsafe { a.deallocate(frame(n)) };
        assert_eq!(got, Err(FreeError::DoubleFree(frame(n))), "frame {n}");
        let addr = frame(n).start();
        // SAFETY: as above.
        let got = unsafe { a.deallocate_addr(addr) };
        assert_eq!(got, Err(FreeError::DoubleFree(frame(n))));
    }
    assert!(snapshot(&a) == before, "state changed");

    // Nodes made by frees: free all frames in a scattered order, then free each again.
    let mut got: Vec<Frame> = (0..before.0).map(|_| a.allocate().unwrap()).collect();
    rvmm_testkit::Rng::new(7).shuffle(&mut got);
    for &f in &got {
        // SAFETY: allocated above and not used.
        unsafe { a.deallocate(f) }.unwrap();
    }
    for &f in &got {
        // SAFETY: free already: refused untouched.
        assert_eq!(unsafe { a.deallocate(f) }, Err(FreeError::DoubleFree(f)));
    }
    assert!(snapshot(&a) == before, "state changed");
}

#[test]
fn double_free_of_a_cached_frame_is_refused_from_everywhere() {
    let arena = Arena::new(BASE, FRAMES as usize * 4096);
    let a = setup(&arena);
    let total = a.stats().total;
    let mut cache = a.hart(0).unwrap();
    let mut other = a.hart(1).unwrap();
    let (f, g) = (cache.allocate().unwrap(), cache.allocate().unwrap());
    // SAFETY: allocated above and not used.
    unsafe { cache.deallocate(f) }.unwrap();
    let cached = a.stats().cached;
    // `f` is free in `cache`: each free is refused without touching it.
    // SAFETY: as said.
    let got = unsafe { cache.deallocate(f) };
    assert_eq!(got, Err(FreeError::DoubleFree(f)));
    // SAFETY: as said.
    let got = unsafe { other.deallocate(f) };
    assert_eq!(got, Err(FreeError::DoubleFree(f)));
    // SAFETY: as said.
    assert_eq!(unsafe { a.deallocate(f) }, Err(FreeError::DoubleFree(f)));
    // SAFETY: not managed: refused.
    let got = unsafe { cache.deallocate(frame(1)) };
    assert_eq!(got, Err(FreeError::Foreign(frame(1))));
    assert_eq!(a.stats().cached, cached);
    assert_eq!(a.stats().free, total - 1);
    // A frame on the shared list freed into a cache.
    let on_list = drain(&a).into_iter().next().unwrap();
    // SAFETY: free on the shared list: refused untouched.
    let got = unsafe { cache.deallocate(on_list) };
    assert_eq!(got, Err(FreeError::DoubleFree(on_list)));
    // SAFETY: `g` was allocated above and not used.
    unsafe { other.deallocate(g) }.unwrap();
    drop((cache, other));
    assert_eq!(a.stats().free, total);
    assert_eq!(drain(&a).len(), total);
}

#[test]
fn deallocate_contiguous_checks_every_frame_before_freeing_any() {
    let arena = Arena::new(BASE, FRAMES as usize * 4096);
    let a = setup(&arena);
    let total = a.stats().total;
    let run: Vec<Frame> = (0..total).map(|_| a.allocate().unwrap()).collect();
    let low = *run.iter().min().unwrap();
    // Frames 2..40 are all allocated; free one in the middle.
    // SAFETY: allocated above and not used.
    unsafe { a.deallocate(frame(20)) }.unwrap();
    // SAFETY: refused before any frame is freed.
    let got = unsafe { a.deallocate_contiguous(low, 30) };
    assert_eq!(got, Err(FreeError::DoubleFree(frame(20))));
    // SAFETY: as above.
    let got = unsafe { a.deallocate_contiguous(frame(35), 10) };
    assert_eq!(got, Err(FreeError::Foreign(frame(40))));
    assert_eq!(a.stats().free, 1);
    // SAFETY: frames 2..20 are allocated and unused.
    unsafe { a.deallocate_contiguous(frame(2), 18) }.unwrap();
    assert_eq!(a.stats().free, 19);
    // SAFETY: an empty run frees nothing.
    unsafe { a.deallocate_contiguous(frame(0), 0) }.unwrap();
    for f in run.into_iter().filter(|f| *f >= frame(21)) {
        // SAFETY: allocated above and not used.
        unsafe { a.deallocate(f) }.unwrap();
    }
    assert_eq!(drain(&a).len(), total);
}

/// `FrameSource::deallocate` of a frame the source did not hand out (or got back already)
/// breaks the caller's contract: it panics instead of dropping the refusal, and the allocator
/// is unchanged.
#[test]
fn frame_source_deallocate_panics_on_bad_frames() {
    let arena = Arena::new(BASE, FRAMES as usize * 4096);
    let a = setup(&arena);
    let before = snapshot(&a);
    let mut source = &a;
    let f = FrameSource::allocate(&mut source).unwrap();
    // SAFETY: `f` came from `allocate` and is not used after this.
    unsafe { FrameSource::deallocate(&mut source, f) };
    for bad in [f, frame(1)] {
        let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut source = &a;
            // SAFETY: a double free and a foreign frame, which the allocator detects.
            unsafe { FrameSource::deallocate(&mut source, bad) }
        }));
        assert!(refused.is_err(), "deallocate of {bad:?} did not panic");
        assert!(snapshot(&a) == before, "state changed");
    }
}
