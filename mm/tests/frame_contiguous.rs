//! Contiguous runs: alignment, holes, fragmentation, hart caches, and the list afterwards.

mod frame_support;

use frame_support::drain;
use rvmm::OutOfMemory;
use rvmm::addr::{Frame, PAGE_SIZE, PageSize, PhysRange};
use rvmm::frame::{BATCH_FRAMES, FrameAllocator, FreeError, Junk};
use rvmm_testkit::Arena;
use std::collections::BTreeSet;
use std::num::NonZeroUsize;

const BASE: u64 = 0x8000_0000;
/// A 2 MiB-aligned run past the first frames, and several batches.
const FRAMES: u64 = if cfg!(miri) { 530 } else { 3_072 };

fn frame(n: u64) -> Frame {
    Frame::from_number((BASE >> 12) + n).unwrap()
}

fn n(count: usize) -> NonZeroUsize {
    NonZeroUsize::new(count).unwrap()
}

fn setup<'a>(arena: &'a Arena, reserved: &[PhysRange]) -> FrameAllocator<&'a Arena> {
    // SAFETY: the arena is used by nothing else.
    unsafe { FrameAllocator::new(arena, &[arena.range()], reserved, Junk::Fill) }.unwrap()
}

#[test]
fn runs_are_aligned_allocated_and_leave_the_list_whole() {
    let arena = Arena::new(BASE, FRAMES as usize * PAGE_SIZE);
    let a = setup(&arena, &[]);
    let total = a.stats().total;
    // The bookkeeping sits in frame 0, so the first 2 MiB-aligned run starts at frame 512.
    let big = a.allocate_contiguous(n(3), PageSize::Size2MiB).unwrap();
    assert_eq!(big, frame(512));
    let small = a.allocate_contiguous(n(5), PageSize::Size4KiB).unwrap();
    assert_eq!(small, frame(1));
    assert_eq!(a.stats().free, total - 8);
    let rest = drain(&a);
    assert_eq!(rest.len(), total - 8);
    for k in 0..3 {
        assert!(!rest.contains(&big.checked_add(k).unwrap()));
    }
    // SAFETY: the runs were allocated above and are not used.
    unsafe { a.deallocate_contiguous(big, 3) }.unwrap();
    // SAFETY: as above, frame by frame.
    (0..5).for_each(|k| unsafe { a.deallocate(small.checked_add(k).unwrap()) }.unwrap());
    // SAFETY: already free: refused untouched.
    let again = unsafe { a.deallocate(big) };
    assert_eq!(again, Err(FreeError::DoubleFree(big)));
    assert_eq!(drain(&a).len(), total);
    assert!(a.allocate_contiguous(n(total), PageSize::Size4KiB).is_ok());
    assert_eq!(a.stats().free, 0);
}

#[test]
fn runs_do_not_cross_reserved_frames_and_fail_when_too_long() {
    let arena = Arena::new(BASE, 64 * PAGE_SIZE);
    // Frame 0: bookkeeping; 1..20 and 21..64 managed; frame 20 reserved.
    let reserved = [PhysRange::with_len(BASE + 20 * 4096, 8).unwrap()];
    let a = setup(&arena, &reserved);
    let before = drain(&a);
    assert_eq!(
        a.allocate_contiguous(n(44), PageSize::Size4KiB),
        Err(OutOfMemory)
    );
    assert_eq!(
        a.allocate_contiguous(n(1), PageSize::Size2MiB),
        Err(OutOfMemory)
    );
    assert!(drain(&a) == before, "a failed run changed the list");
    assert_eq!(
        a.allocate_contiguous(n(43), PageSize::Size4KiB),
        Ok(frame(21))
    );
    assert_eq!(
        a.allocate_contiguous(n(20), PageSize::Size4KiB),
        Err(OutOfMemory)
    );
    assert_eq!(
        a.allocate_contiguous(n(19), PageSize::Size4KiB),
        Ok(frame(1))
    );
    assert_eq!(a.stats().free, 0);
}

#[test]
fn a_fragmented_allocator_fails_and_stays_as_it_was() {
    let arena = Arena::new(BASE, FRAMES as usize * PAGE_SIZE);
    let a = setup(&arena, &[]);
    let all: Vec<Frame> = (0..a.stats().total)
        .map(|_| a.allocate().unwrap())
        .collect();
    for f in all.iter().filter(|f| f.number() % 2 == 0) {
        // SAFETY: allocated above and not used.
        unsafe { a.deallocate(*f) }.unwrap();
    }
    let before = (a.stats().free, drain(&a));
    assert_eq!(
        a.allocate_contiguous(n(2), PageSize::Size4KiB),
        Err(OutOfMemory)
    );
    assert!(
        (a.stats().free, drain(&a)) == before,
        "a failed run changed the state"
    );
    // One more free frame makes a run of three.
    // SAFETY: allocated above and not used.
    unsafe { a.deallocate(frame(101)) }.unwrap();
    assert_eq!(
        a.allocate_contiguous(n(3), PageSize::Size4KiB),
        Ok(frame(100))
    );
    assert_eq!(a.stats().free, before.0 - 2);
}

#[test]
fn frames_in_hart_caches_are_never_taken() {
    let arena = Arena::new(BASE, FRAMES as usize * PAGE_SIZE);
    let a = setup(&arena, &[]);
    let total = a.stats().total;
    let mut cache = a.hart(2).unwrap();
    // Enough to empty the (partial) head batch and make the cache take a full one.
    let got: Vec<Frame> = (0..100).map(|_| cache.allocate().unwrap()).collect();
    for f in got {
        // SAFETY: allocated above and not used.
        unsafe { cache.deallocate(f) }.unwrap();
    }
    let cached = a.stats().cached;
    assert!(cached > BATCH_FRAMES / 2, "the cache holds a batch");
    // Take everything the shared list has, in runs of falling length.
    let mut runs = BTreeSet::new();
    for len in [256, 16, 1] {
        while let Ok(r) = a.allocate_contiguous(n(len), PageSize::Size4KiB) {
            for k in 0..len as u64 {
                assert!(runs.insert(r.checked_add(k).unwrap()));
            }
        }
    }
    assert_eq!(runs.len(), total - cached);
    let from_cache: BTreeSet<Frame> = (0..cached).map(|_| cache.allocate().unwrap()).collect();
    assert_eq!(from_cache.len(), cached);
    assert!(from_cache.is_disjoint(&runs), "a cached frame was taken");
    for f in from_cache.into_iter().chain(runs) {
        // SAFETY: allocated above and not used.
        unsafe { cache.deallocate(f) }.unwrap();
    }
    drop(cache);
    assert_eq!(drain(&a).len(), total);
}

#[test]
fn a_cache_holding_everything_leaves_no_run() {
    // Small enough for one batch, which the cache takes whole.
    let frames = BATCH_FRAMES.min(64);
    let arena = Arena::new(BASE, frames * PAGE_SIZE);
    let a = setup(&arena, &[]);
    let mut cache = a.hart(0).unwrap();
    let f = cache.allocate().unwrap();
    assert_eq!(
        a.allocate_contiguous(n(1), PageSize::Size4KiB),
        Err(OutOfMemory)
    );
    // SAFETY: allocated above and not used.
    unsafe { cache.deallocate(f) }.unwrap();
    drop(cache);
    assert_eq!(
        a.allocate_contiguous(n(frames - 1), PageSize::Size4KiB),
        Ok(frame(1))
    );
}
