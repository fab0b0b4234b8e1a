//! Freed large blocks are parked whole (not merged) for a while: a request up to 1/16 smaller
//! takes one back, and parked blocks never cost break growth or give-back.

mod support;

use support::{fill, heap, holds};
use umalloc::{Config, Heap, PAGE_SIZE, Region};

/// Frees `p`.
fn free(heap: &mut Heap<Region>, p: *mut u8) {
    // SAFETY: every caller passes a live block of `heap`, once.
    unsafe { heap.free(p) }
}

/// (parked, free) chunks after a consistency walk.
fn parked_and_free(heap: &Heap<Region>) -> (usize, usize) {
    let stats = heap.check().unwrap();
    (stats.parked, stats.free)
}

/// Frees `blocks` and checks that the break went back to its start.
fn free_all(mut heap: Heap<Region>, blocks: impl IntoIterator<Item = *mut u8>) {
    for p in blocks {
        free(&mut heap, p);
    }
    assert_eq!(heap.check().unwrap().in_use, 0);
    assert!(heap.heap_bytes() <= PAGE_SIZE, "{}", heap.heap_bytes());
}

#[test]
fn a_freed_large_block_serves_a_request_up_to_a_sixteenth_smaller() {
    let (_arena, mut heap) = heap();
    let a = heap.malloc(40_000);
    let guard = heap.malloc(100);
    free(&mut heap, a);
    assert_eq!(parked_and_free(&heap), (1, 0));
    let b = heap.malloc(38_000);
    assert_eq!(b, a);
    // The block keeps the parked chunk's whole size.
    // SAFETY: `b` is live.
    assert!(unsafe { heap.usable_size(b) } >= 40_000);
    assert_eq!(parked_and_free(&heap), (0, 0));
    // SAFETY: `b` has at least 40,000 bytes.
    unsafe { fill(b, 40_000, 7) };
    // SAFETY: as above.
    assert!(unsafe { holds(b, 40_000, 7) });
    free_all(heap, [b, guard]);
}

#[test]
fn a_request_more_than_a_sixteenth_smaller_or_any_larger_does_not_take_it() {
    let (arena, _) = heap();
    // Room in the wilderness, so the requests need not merge the parked block to be served.
    let mut heap = Heap::with_config(
        arena.region(),
        Config {
            trim_threshold: 1 << 20,
            ..Config::DEFAULT
        },
    );
    let keep = heap.malloc(100);
    let room = heap.malloc(500_000);
    free(&mut heap, room);
    let a = heap.malloc(40_000);
    let guard = heap.malloc(100);
    free(&mut heap, a);
    let smaller = heap.malloc(37_000);
    let larger = heap.malloc(40_100);
    assert!(smaller != a && larger != a);
    assert_eq!(parked_and_free(&heap), (1, 0));
    free_all(heap, [smaller, larger, guard, keep]);
}

#[test]
fn the_closest_parked_block_is_taken() {
    let (_arena, mut heap) = heap();
    // Both fit 40,000 bytes within 1/16; the second is closer.
    let roomy = heap.malloc(42_000);
    let g1 = heap.malloc(100);
    let close = heap.malloc(40_100);
    let g2 = heap.malloc(100);
    free(&mut heap, roomy);
    free(&mut heap, close);
    assert_eq!(heap.malloc(40_000), close);
    assert_eq!(heap.malloc(40_000), roomy);
    free_all(heap, [roomy, close, g1, g2]);
}

#[test]
fn parking_beyond_the_slots_releases_older_blocks_to_the_free_lists() {
    let (_arena, mut heap) = heap();
    let blocks: Vec<_> = (0..200)
        .map(|i| (heap.malloc(20_000 + 64 * i), heap.malloc(100)))
        .collect();
    for &(large, _) in &blocks {
        free(&mut heap, large);
    }
    let (parked, free) = parked_and_free(&heap);
    assert_eq!(parked + free, blocks.len(), "guards keep them apart");
    assert!(parked > 0 && free > 0, "{parked} parked, {free} free");
    free_all(heap, blocks.into_iter().map(|(_, guard)| guard));
}

#[test]
fn a_parked_block_melts_into_the_wilderness_with_the_block_above_it() {
    let (_arena, mut heap) = heap();
    let guard = heap.malloc(100);
    let a = heap.malloc(40_000);
    let b = heap.malloc(40_000);
    free(&mut heap, a);
    assert_eq!(parked_and_free(&heap), (1, 0));
    free(&mut heap, b);
    let stats = heap.check().unwrap();
    assert_eq!((stats.parked, stats.free, stats.in_use), (0, 0, 1));
    // Both went into the wilderness, which then went back down to what it keeps: the pad, or
    // room for one block (a 40,016-byte chunk) if that is more.
    let kept = Config::DEFAULT.top_pad.max(40_016);
    assert!(stats.wilderness < kept + 8 + PAGE_SIZE, "{stats:?}");
    free_all(heap, [guard]);
}

#[test]
fn parked_blocks_merge_before_the_break_grows() {
    let (_arena, mut heap) = heap();
    let run: Vec<_> = (0..4).map(|_| heap.malloc(40_000)).collect();
    let guard = heap.malloc(100);
    for &p in &run {
        free(&mut heap, p);
    }
    assert_eq!(parked_and_free(&heap), (4, 0));
    let before = heap.heap_bytes();
    // No parked block fits on its own; the four merged do.
    let big = heap.malloc(150_000);
    assert_eq!(big, run[0]);
    assert_eq!(heap.heap_bytes(), before);
    assert_eq!(parked_and_free(&heap).0, 0);
    free_all(heap, [big, guard]);
}

#[test]
fn realloc_grows_into_a_parked_neighbour_in_place() {
    let (_arena, mut heap) = heap();
    let a = heap.malloc(30_000);
    let b = heap.malloc(40_000);
    let guard = heap.malloc(100);
    // SAFETY: `a` has 30,000 bytes.
    unsafe { fill(a, 30_000, 3) };
    free(&mut heap, b);
    // SAFETY: `a` is live; on success it is replaced by the result.
    let grown = unsafe { heap.realloc(a, 70_000) };
    assert_eq!(grown, a);
    // SAFETY: the first 30,000 bytes were kept.
    assert!(unsafe { holds(a, 30_000, 3) });
    assert_eq!(parked_and_free(&heap), (0, 0));
    free_all(heap, [a, guard]);
}
