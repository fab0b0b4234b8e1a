//! `realloc`, giving memory back, and sharing the break with someone else.

mod support;

use support::{Arena, fill, heap, holds};
use umalloc::{Config, Heap, PAGE_SIZE, Sbrk};

#[test]
fn realloc_at_the_top_grows_the_break_without_moving() {
    let (_arena, mut heap) = heap();
    let below = heap.malloc(100);
    let mut p = heap.malloc(16);
    // SAFETY: `p` has 16 bytes.
    unsafe { fill(p, 16, 7) };
    let first = p;
    let mut size = 16;
    while size < 8 << 20 {
        size *= 2;
        // SAFETY: `p` is live; the result replaces it.
        p = unsafe { heap.realloc(p, size) };
        assert_eq!(p, first, "moved at size {size}");
        // SAFETY: the first 16 bytes came along.
        assert!(unsafe { holds(p, 16, 7) });
    }
    assert!(heap.heap_bytes() >= 8 << 20);
    assert!(heap.heap_bytes() <= (8 << 20) + Config::DEFAULT.top_pad + 2 * PAGE_SIZE);
    heap.check().unwrap();
    // SAFETY: live blocks, freed once.
    unsafe {
        heap.free(p);
        heap.free(below);
    }
    assert!(heap.heap_bytes() <= PAGE_SIZE);
}

#[test]
fn realloc_grows_into_a_free_neighbour_in_place() {
    let (_arena, mut heap) = heap();
    for (first, second) in [(100usize, 200usize), (3000, 5000)] {
        let a = heap.malloc(first);
        let b = heap.malloc(second);
        let guard = heap.malloc(10);
        // SAFETY: blocks are live; `b` is freed once and not used again.
        unsafe {
            fill(a, first, 1);
            heap.free(b);
            let grown = heap.realloc(a, first + second);
            assert_eq!(grown, a, "sizes {first}+{second}");
            assert!(holds(a, first, 1));
            heap.check().unwrap();
            heap.free(a);
            heap.free(guard);
        }
    }
}

#[test]
fn realloc_shrinks_in_place_and_frees_the_tail() {
    let (_arena, mut heap) = heap();
    let a = heap.malloc(10_000);
    let guard = heap.malloc(10);
    // SAFETY: blocks are live.
    unsafe {
        fill(a, 100, 3);
        assert_eq!(heap.realloc(a, 100), a);
        assert!(holds(a, 100, 3));
        let stats = heap.check().unwrap();
        assert!(stats.free_bytes >= 9000, "the tail is a free chunk");
        let reuse = heap.malloc(9000);
        assert!(reuse.addr() > a.addr() && reuse.addr() < guard.addr());
        heap.free(reuse);
        heap.free(a);
        heap.free(guard);
    }
}

#[test]
fn realloc_moves_when_blocked_and_keeps_the_contents() {
    let (_arena, mut heap) = heap();
    let a = heap.malloc(300);
    let blocker = heap.malloc(300);
    // SAFETY: blocks are live; `a` is replaced by the result.
    unsafe {
        fill(a, 300, 9);
        let moved = heap.realloc(a, 5000);
        assert_ne!(moved, a);
        assert!(holds(moved, 300, 9));
        assert_eq!(heap.check().unwrap().in_use, 2);
        heap.free(moved);
        heap.free(blocker);
    }
}

#[test]
fn realloc_of_null_allocates_and_failure_keeps_the_block() {
    let (_arena, mut heap) = heap();
    heap.sbrk_mut().set_limit(1 << 20);
    // SAFETY: null is allowed; blocks are live.
    unsafe {
        let p = heap.realloc(std::ptr::null_mut(), 50);
        assert!(!p.is_null());
        fill(p, 50, 4);
        let blocker = heap.malloc(10);
        assert!(heap.realloc(p, usize::MAX).is_null());
        assert!(heap.realloc(p, 2 << 20).is_null());
        assert!(holds(p, 50, 4));
        assert_eq!(heap.check().unwrap().in_use, 2);
        heap.free(p);
        heap.free(blocker);
    }
}

#[test]
fn free_space_above_the_threshold_goes_back() {
    let arena = Arena::new(64 << 20);
    let threshold = 64 << 10;
    // Nothing kept at the top: the threshold alone decides.
    let mut heap = Heap::with_config(
        arena.region(),
        Config {
            trim_threshold: threshold,
            top_pad: 0,
            keep_limit: 0,
        },
    );
    let bottom = heap.malloc(100);
    let blocks: Vec<_> = (0..32).map(|_| heap.malloc(16 << 10)).collect();
    let peak = heap.heap_bytes();
    assert!(peak >= 32 * (16 << 10));
    // Free from the top down: the wilderness grows, and each time it passes the threshold the
    // break comes down to within a page.
    for p in blocks.into_iter().rev() {
        // SAFETY: live block, freed once.
        unsafe { heap.free(p) };
        let stats = heap.check().unwrap();
        assert!(stats.wilderness <= threshold + PAGE_SIZE, "{stats:?}");
    }
    assert!(heap.heap_bytes() <= threshold + PAGE_SIZE);
    assert!(heap.sbrk().moves().1 > 0, "the break went down");
    // SAFETY: live block, freed once.
    unsafe { heap.free(bottom) };
    assert!(heap.heap_bytes() <= PAGE_SIZE);
}

/// Moves of the break (up, down) while a block of `size` bytes is malloc'd, written and freed
/// `rounds` times above a small live block, after a first round that settles the top (grows
/// the heap, gives back the pad beyond what is kept).
fn moves_in_a_loop(size: usize, rounds: usize) -> (usize, usize) {
    let arena = Arena::new(64 << 20);
    let mut heap = Heap::new(arena.region());
    let below = heap.malloc(100);
    let mut p = heap.malloc(size);
    // SAFETY: live block, freed once and replaced.
    unsafe { heap.free(p) };
    p = heap.malloc(size);
    let before = heap.sbrk().moves();
    for i in 0..rounds {
        // SAFETY: `p` is live, `size` bytes; freed once and replaced.
        unsafe {
            fill(p, size, i as u64);
            heap.free(p);
        }
        p = heap.malloc(size);
    }
    let after = heap.sbrk().moves();
    // SAFETY: live blocks, freed once.
    unsafe {
        heap.free(p);
        heap.free(below);
    }
    assert!(
        heap.heap_bytes() <= PAGE_SIZE,
        "everything freed: back at the start"
    );
    (after.0 - before.0, after.1 - before.1)
}

#[test]
fn a_block_freed_at_the_top_and_asked_for_again_leaves_the_break_alone() {
    let rounds = if cfg!(miri) { 3 } else { 50 };
    for size in [16 << 10, 64 << 10, 1 << 20] {
        assert_eq!(moves_in_a_loop(size, rounds), (0, 0), "size {size}");
    }
}

#[test]
fn a_block_over_the_keep_limit_goes_straight_back() {
    let arena = Arena::new(64 << 20);
    let config = Config {
        keep_limit: 1 << 20,
        ..Config::DEFAULT
    };
    let mut heap = Heap::with_config(arena.region(), config);
    let below = heap.malloc(100);
    let big = heap.malloc(4 << 20);
    // SAFETY: live blocks, freed once.
    unsafe {
        heap.free(big);
        let kept = heap.heap_bytes();
        assert!(
            kept <= config.top_pad + config.trim_threshold + 2 * PAGE_SIZE,
            "{kept}"
        );
        heap.free(below);
    }
}

#[test]
fn the_break_grows_by_the_pad_not_by_the_page() {
    let (_arena, mut heap) = heap();
    let count = if cfg!(miri) { 400 } else { 2000 };
    let blocks: Vec<_> = (0..count).map(|_| heap.malloc(200)).collect();
    let grown = heap.heap_bytes();
    let grows = heap.sbrk().moves().0;
    assert!(grown >= count * 200);
    // One page at a time would be a grow per 19 blocks.
    assert!(
        grows <= grown / Config::DEFAULT.top_pad + 1,
        "{grows} grows for {grown} bytes"
    );
    for p in blocks {
        // SAFETY: live block, freed once.
        unsafe { heap.free(p) };
    }
    assert!(heap.heap_bytes() <= PAGE_SIZE);
}

#[test]
fn free_space_below_the_threshold_stays() {
    let arena = Arena::new(64 << 20);
    let mut heap = Heap::with_config(
        arena.region(),
        Config {
            trim_threshold: 1 << 20,
            ..Config::DEFAULT
        },
    );
    let bottom = heap.malloc(100);
    let top = heap.malloc(512 << 10);
    let before = heap.heap_bytes();
    // SAFETY: live blocks, freed once.
    unsafe {
        heap.free(top);
        assert_eq!(
            heap.heap_bytes(),
            before,
            "512 KiB free is under the 1 MiB threshold"
        );
        assert_eq!(heap.sbrk().moves().1, 0);
        heap.free(bottom);
    }
    assert!(
        heap.heap_bytes() <= PAGE_SIZE,
        "everything freed: back regardless"
    );
}

#[test]
fn trim_now_gives_back_what_the_threshold_kept() {
    let arena = Arena::new(64 << 20);
    let mut heap = Heap::with_config(
        arena.region(),
        Config {
            trim_threshold: 1 << 20,
            ..Config::DEFAULT
        },
    );
    let bottom = heap.malloc(100);
    let top = heap.malloc(512 << 10);
    // SAFETY: live blocks, freed once.
    unsafe {
        heap.free(top);
        assert!(heap.trim_now(0) >= 500 << 10);
        assert!(heap.heap_bytes() <= 2 * PAGE_SIZE);
        heap.free(bottom);
    }
}

#[test]
fn after_everything_is_freed_the_break_is_back_at_the_start() {
    let (_arena, mut heap) = heap();
    let mut blocks = Vec::new();
    for i in 0..2000usize {
        blocks.push(heap.malloc(16 + (i * 37) % 900));
        if i % 3 == 0 {
            blocks.push(heap.memalign(256, i % 5000));
        }
    }
    // Free in an order that leaves holes, so small chunks pile up in the quick lists.
    let (even, odd): (Vec<_>, Vec<_>) = blocks.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    for (_, &p) in even.into_iter().chain(odd) {
        // SAFETY: each block is freed once.
        unsafe { heap.free(p) };
    }
    assert!(
        heap.heap_bytes() <= PAGE_SIZE,
        "{} bytes left",
        heap.heap_bytes()
    );
    let stats = heap.check().unwrap();
    assert_eq!((stats.in_use, stats.free, stats.parked), (0, 0, 0));
    // And it starts again from there.
    let p = heap.malloc(10);
    // SAFETY: live block.
    unsafe { heap.free(p) };
}

#[test]
fn memory_someone_else_took_with_sbrk_is_fenced_off() {
    let (_arena, mut heap) = heap();
    let a = heap.malloc(1000);
    // Someone else moves the break up behind the heap's back and fills their memory.
    let theirs = heap.sbrk_mut().grow(10_000).unwrap().as_ptr();
    // SAFETY: those 10,000 bytes are theirs (ours, in this test).
    unsafe { std::ptr::write_bytes(theirs, 0x77, 10_000) };
    let mut blocks = vec![a];
    for i in 0..50 {
        let p = heap.malloc(3000);
        assert!(!p.is_null());
        let outside = p.addr() + 3000 <= theirs.addr() || p.addr() >= theirs.addr() + 10_000;
        assert!(outside, "block {i} overlaps foreign memory");
        // SAFETY: `p` has 3000 bytes.
        unsafe { fill(p, 3000, i) };
        blocks.push(p);
    }
    heap.check().unwrap();
    for p in blocks {
        // SAFETY: live block, freed once.
        unsafe { heap.free(p) };
    }
    heap.check().unwrap();
    // SAFETY: the foreign bytes were never handed out or freed by the heap.
    let untouched = unsafe { std::slice::from_raw_parts(theirs, 10_000) };
    assert!(untouched.iter().all(|&b| b == 0x77));
    // The heap above their memory still gave its own top back.
    assert!(
        heap.sbrk().brk_offset()
            <= (theirs.addr() - heap.sbrk().start().as_ptr().addr()) + 10_000 + 2 * PAGE_SIZE
    );
}

#[test]
fn the_heap_never_shrinks_a_break_someone_else_moved() {
    let (_arena, mut heap) = heap();
    let bottom = heap.malloc(100);
    let big = heap.malloc(1 << 20);
    let theirs = heap.sbrk_mut().grow(4096).unwrap().as_ptr();
    // SAFETY: live block, freed once; the free space at the top is ours but the break is not.
    unsafe { heap.free(big) };
    let brk = heap.sbrk().start().as_ptr().addr() + heap.sbrk().brk_offset();
    assert_eq!(brk, theirs.addr() + 4096, "their page is still mapped");
    heap.check().unwrap();
    // SAFETY: live block, freed once.
    unsafe { heap.free(bottom) };
}
