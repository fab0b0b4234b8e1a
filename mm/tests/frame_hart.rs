//! A hart cache's hot path and its rare turns: numbers popped from the head node, the node
//! frames themselves, refills from the shared list, and a free that starts a new node.

use rvmm::addr::{Frame, PAGE_SIZE};
use rvmm::frame::{FrameAllocator, FreeError, Junk, OutOfMemory};
use rvmm_testkit::Arena;
use std::collections::BTreeSet;

const BASE: u64 = 0x8000_0000;
/// Several batches (1,021 frames each, 15 under Miri), so every rare turn is taken many times.
const FRAMES: usize = if cfg!(miri) { 80 } else { 4_000 };

fn setup(arena: &Arena) -> FrameAllocator<&Arena> {
    // SAFETY: the arena is used by nothing else.
    unsafe { FrameAllocator::new(arena, &[arena.range()], &[], Junk::Fill) }.unwrap()
}

#[test]
fn a_hart_cache_hands_out_every_frame_once_then_refuses_unchanged() {
    let arena = Arena::new(BASE, FRAMES * PAGE_SIZE);
    let a = setup(&arena);
    let total = a.stats().total;
    let (first_kept, kept) = a.bookkeeping_frames();
    let mut cache = a.hart(0).unwrap();
    let mut seen = BTreeSet::new();
    for _ in 0..total {
        let f = cache.allocate().unwrap();
        assert!(arena.range().contains(f.start()), "{f:?} outside the arena");
        let bookkeeping = first_kept.number()..first_kept.number() + kept as u64;
        assert!(
            !bookkeeping.contains(&f.number()),
            "{f:?} holds the bookkeeping"
        );
        assert!(seen.insert(f), "{f:?} handed out twice");
    }
    assert_eq!(cache.allocate(), Err(OutOfMemory));
    assert_eq!((a.stats().free, a.stats().cached), (0, 0));

    // One frame back and out again: the cache's own list serves it, no refill needed.
    let f = *seen.iter().next().unwrap();
    // SAFETY: allocated above and not used.
    assert_eq!(unsafe { cache.deallocate(f) }, Ok(()));
    // SAFETY: as above; refused, since it is free already.
    let twice = unsafe { cache.deallocate(f) };
    assert_eq!(twice, Err(FreeError::DoubleFree(f)));
    assert_eq!((a.stats().free, a.stats().cached), (1, 1));
    assert_eq!(cache.allocate(), Ok(f));
    assert_eq!(cache.allocate(), Err(OutOfMemory));
}

#[test]
fn frames_freed_on_the_shared_list_reach_an_empty_cache_and_come_back_in_full() {
    let arena = Arena::new(BASE, FRAMES * PAGE_SIZE);
    let a = setup(&arena);
    let total = a.stats().total;
    let mut all = Vec::new();
    while let Ok(f) = a.allocate() {
        all.push(f);
    }
    assert_eq!(all.len(), total);
    let (back, kept) = all.split_at(total / 2);
    for &f in back {
        // SAFETY: allocated above and not used.
        unsafe { a.deallocate(f) }.unwrap();
    }
    let mut cache = a.hart(2).unwrap();
    let mut again: Vec<Frame> = (0..back.len()).map(|_| cache.allocate().unwrap()).collect();
    assert_eq!(cache.allocate(), Err(OutOfMemory));
    again.sort();
    let mut expected = back.to_vec();
    expected.sort();
    assert_eq!(
        again, expected,
        "the cache handed out exactly the frames freed"
    );
    // Everything back through the cache (spilling batches as it goes), the rest shared.
    for &f in again.iter().chain(kept) {
        // SAFETY: allocated above and not used since.
        unsafe { cache.deallocate(f) }.unwrap();
    }
    drop(cache);
    assert_eq!((a.stats().free, a.stats().cached), (total, 0));
}
