//! Counters, the low-water mark, junk fill, and hart cache slots.

use rvmm::addr::{Frame, PAGE_SIZE};
use rvmm::frame::{BATCH_FRAMES, FrameAllocator, Junk, MAX_HARTS, Stats};
use rvmm_testkit::Arena;

const BASE: u64 = 0x8000_0000;
/// More than two batches (`BATCH_FRAMES` each: 1,021, or 15 under Miri), for the cache tests.
const FRAMES: usize = if cfg!(miri) { 100 } else { 3_000 };
/// For tests that need no second batch.
const SMALL: usize = 64;

fn setup(arena: &Arena, junk: Junk) -> FrameAllocator<&Arena> {
    // SAFETY: the arena is used by nothing else.
    unsafe { FrameAllocator::new(arena, &[arena.range()], &[], junk) }.unwrap()
}

fn bytes(arena: &Arena, f: Frame) -> Vec<u8> {
    let mut buf = vec![0; PAGE_SIZE];
    arena.read(f, 0, &mut buf).unwrap();
    buf
}

#[test]
fn counters_and_low_water_follow_the_shared_path() {
    let arena = Arena::new(BASE, SMALL * PAGE_SIZE);
    let a = setup(&arena, Junk::Off);
    let total = SMALL - 1;
    let stats = |free, low_water| Stats {
        free,
        cached: 0,
        total,
        low_water,
    };
    assert_eq!(a.stats(), stats(total, total));
    let got: Vec<Frame> = (0..10).map(|_| a.allocate().unwrap()).collect();
    assert_eq!(a.stats(), stats(total - 10, total - 10));
    for &f in &got[..6] {
        // SAFETY: allocated above and not used.
        unsafe { a.deallocate(f) }.unwrap();
    }
    assert_eq!(a.stats(), stats(total - 4, total - 10));
    let more: Vec<Frame> = (0..total - 4).map(|_| a.allocate().unwrap()).collect();
    assert_eq!(a.allocate(), Err(rvmm::OutOfMemory));
    assert_eq!(a.stats(), stats(0, 0));
    for f in more.into_iter().chain(got[6..].iter().copied()) {
        // SAFETY: allocated above and not used.
        unsafe { a.deallocate(f) }.unwrap();
    }
    assert_eq!(a.stats(), stats(total, 0));
}

#[test]
fn cached_frames_count_as_free_and_low_water_bounds_the_true_minimum() {
    let arena = Arena::new(BASE, FRAMES * PAGE_SIZE);
    let a = setup(&arena, Junk::Off);
    let total = FRAMES - 1;
    let mut cache = a.hart(3).unwrap();
    let f = cache.allocate().unwrap();
    let s = a.stats();
    assert_eq!(s.free, total - 1);
    assert!(s.cached > 0 && s.cached < s.free, "{s:?}");
    // The cache took a whole batch from the shared list: the low-water mark counts only the
    // shared list, so it is below the true free count.
    assert_eq!(s.low_water, total - 1 - s.cached);
    // SAFETY: allocated above and not used.
    unsafe { cache.deallocate(f) }.unwrap();
    assert_eq!(a.stats().free, total);
    drop(cache);
    let s = a.stats();
    assert_eq!((s.free, s.cached), (total, 0));
    assert!(s.low_water < total);
}

#[test]
fn hart_slots_are_exclusive_and_released_on_drop() {
    let arena = Arena::new(BASE, SMALL * PAGE_SIZE);
    let a = setup(&arena, Junk::Off);
    let first = a.hart(0).unwrap();
    assert!(a.hart(0).is_none());
    assert!(a.hart(MAX_HARTS).is_none());
    let all: Vec<_> = (1..MAX_HARTS).map(|id| a.hart(id).unwrap()).collect();
    drop(first);
    assert!(a.hart(0).is_some());
    drop(all);
}

#[test]
fn a_cache_spills_to_the_shared_list_and_drop_returns_everything() {
    let arena = Arena::new(BASE, FRAMES * PAGE_SIZE);
    let a = setup(&arena, Junk::Off);
    let total = FRAMES - 1;
    let mut cache = a.hart(1).unwrap();
    let got: Vec<Frame> = (0..total).map(|_| cache.allocate().unwrap()).collect();
    assert!(cache.allocate().is_err());
    assert_eq!(a.stats().free, 0);
    for &f in &got {
        // SAFETY: allocated above and not used.
        unsafe { cache.deallocate(f) }.unwrap();
        let s = a.stats();
        // At most two batches stay in the cache.
        assert!(s.cached <= 2 * BATCH_FRAMES, "{s:?}");
    }
    assert_eq!(a.stats().free, total);
    assert!(a.stats().cached < total, "nothing spilled");
    drop(cache);
    assert_eq!(a.stats().cached, 0);
    assert_eq!((0..total).filter(|_| a.allocate().is_ok()).count(), total);
}

#[test]
fn junk_fill_marks_freed_and_allocated_frames() {
    let arena = Arena::new(BASE, SMALL * PAGE_SIZE);
    let a = setup(&arena, Junk::Fill);
    let f = a.allocate().unwrap();
    assert!(bytes(&arena, f).iter().all(|&b| b == Junk::ALLOCATED));
    let g = a.allocate().unwrap();
    arena.fill_bytes(g, 0, PAGE_SIZE, 0x77).unwrap();
    // SAFETY: allocated above and not used.
    unsafe { a.deallocate(g) }.unwrap();
    // `g` went into the head batch's array, so only the junk touched it.
    assert!(bytes(&arena, g).iter().all(|&b| b == Junk::FREED));
    let z = a.allocate_zeroed().unwrap();
    assert!(bytes(&arena, z).iter().all(|&b| b == 0));
    let mut cache = a.hart(0).unwrap();
    let c = cache.allocate().unwrap();
    assert!(bytes(&arena, c).iter().all(|&b| b == Junk::ALLOCATED));
    let cz = cache.allocate_zeroed().unwrap();
    assert!(bytes(&arena, cz).iter().all(|&b| b == 0));
}

#[test]
fn junk_off_leaves_contents_alone() {
    let arena = Arena::new(BASE, SMALL * PAGE_SIZE);
    let a = setup(&arena, Junk::Off);
    let _keep = a.allocate().unwrap();
    let f = a.allocate().unwrap();
    arena.fill_bytes(f, 0, PAGE_SIZE, 0x77).unwrap();
    // SAFETY: allocated above and not used.
    unsafe { a.deallocate(f) }.unwrap();
    assert_eq!(a.allocate(), Ok(f));
    assert!(bytes(&arena, f).iter().all(|&b| b == 0x77));
    assert_eq!(
        Junk::default(),
        if cfg!(debug_assertions) {
            Junk::Fill
        } else {
            Junk::Off
        }
    );
}

/// A frame from `allocate_owned` is its token's: writable through `bytes`, freed by the
/// token's drop, kept by `into_frame` until an explicit `deallocate`.
#[test]
fn owned_frames_free_themselves() {
    let arena = Arena::new(BASE, SMALL * PAGE_SIZE);
    let a = setup(&arena, Junk::Fill);
    let free = a.stats().free;
    let mut owned = a.allocate_owned().unwrap();
    owned.bytes().write_word(8, 0x5A5A).unwrap();
    assert_eq!(owned.bytes().read_word(8), Ok(0x5A5A));
    assert_eq!(arena.read_word(owned.frame(), 8), Ok(0x5A5A));
    assert_eq!(a.stats().free, free - 1);
    drop(owned);
    assert_eq!(a.stats().free, free, "the token's drop gave the frame back");
    let kept = a.allocate_owned().unwrap().into_frame();
    assert_eq!(
        a.stats().free,
        free - 1,
        "into_frame keeps the frame allocated"
    );
    // SAFETY: allocated above and held by number only.
    unsafe { a.deallocate(kept) }.unwrap();
    assert_eq!(a.stats().free, free);
}
