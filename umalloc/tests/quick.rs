//! Small freed blocks are parked whole per size (the quick lists). When a request finds no
//! free chunk and the wilderness is too short for it, parked blocks go back to the free lists
//! before the break grows: first all but a few of each size (so the next requests of every size
//! still find one parked), then, if that is not enough, all of them.

mod support;

use support::heap;
use umalloc::{Heap, Region};

/// `n` blocks of `bytes`, each followed by a small live guard block so that no two of them
/// ever merge when freed.
fn spaced(heap: &mut Heap<Region>, n: usize, bytes: usize) -> Vec<*mut u8> {
    (0..n)
        .map(|_| {
            let p = heap.malloc(bytes);
            assert!(!p.is_null() && !heap.malloc(16).is_null());
            p
        })
        .collect()
}

/// Leaves less than `room` bytes of wilderness and stops the break where it is: a request
/// bigger than that is served from parked blocks or not at all.
fn corner(heap: &mut Heap<Region>, room: usize) {
    let wilderness = heap.check().unwrap().wilderness;
    assert!(!heap.malloc(wilderness - room).is_null());
    assert!(heap.check().unwrap().wilderness < room);
    let brk = heap.sbrk().brk_offset();
    heap.sbrk_mut().set_limit(brk);
}

#[test]
fn a_short_wilderness_releases_all_but_a_few_parked_blocks_of_each_size() {
    let (_arena, mut heap) = heap();
    let big = spaced(&mut heap, 12, 900);
    let small = spaced(&mut heap, 12, 100);
    corner(&mut heap, 600);
    for p in big.iter().chain(&small) {
        // SAFETY: live blocks, freed once.
        unsafe { heap.free(*p) };
    }
    assert_eq!(heap.check().unwrap().parked, 24);
    let bytes_before = heap.heap_bytes();

    let p = heap.malloc(700);
    assert!(!p.is_null(), "a released 900-byte block serves it");
    assert_eq!(heap.heap_bytes(), bytes_before, "the break did not move");
    let stats = heap.check().unwrap();
    // Four of each size stay parked; the other 16 went to the free lists, and `p` took the
    // front of one of them (the rest of it is still a free chunk).
    assert_eq!((stats.parked, stats.free), (8, 16), "{stats:?}");
    // The next request of either size still takes a parked block: no free chunk is split.
    let (q, r) = (heap.malloc(900), heap.malloc(100));
    assert!(!q.is_null() && !r.is_null());
    let after = heap.check().unwrap();
    assert_eq!((after.parked, after.free), (6, 16), "{after:?}");
}

#[test]
fn when_the_few_kept_are_needed_every_parked_block_is_released() {
    let (_arena, mut heap) = heap();
    let big = spaced(&mut heap, 3, 900);
    let small = spaced(&mut heap, 3, 100);
    corner(&mut heap, 600);
    for p in big.iter().chain(&small) {
        // SAFETY: live blocks, freed once.
        unsafe { heap.free(*p) };
    }
    let bytes_before = heap.heap_bytes();

    let p = heap.malloc(700);
    assert!(!p.is_null(), "a released 900-byte block serves it");
    assert_eq!(heap.heap_bytes(), bytes_before, "the break did not move");
    let stats = heap.check().unwrap();
    // All six were released; `p` took the front of one of them.
    assert_eq!((stats.parked, stats.free), (0, 6), "{stats:?}");
}

#[test]
fn with_nothing_that_fits_parked_the_request_fails_and_the_heap_stays_whole() {
    let (_arena, mut heap) = heap();
    let small = spaced(&mut heap, 8, 100);
    corner(&mut heap, 600);
    for p in &small {
        // SAFETY: live blocks, freed once.
        unsafe { heap.free(*p) };
    }
    assert!(heap.malloc(700).is_null());
    let stats = heap.check().unwrap();
    assert_eq!((stats.parked, stats.free), (0, 8), "{stats:?}");
}
