//! One test per promised behaviour of `malloc`, `free`, `calloc` and aligned allocation;
//! `realloc`, give-back and the break are in `resize_and_break.rs`.

mod support;

use std::ptr;

use support::{ARENA_BYTES, Arena, PagedBreak, fill, heap, holds};
use umalloc::{Config, Heap, MIN_ALIGN, PAGE_SIZE};

#[test]
fn malloc_returns_aligned_distinct_writable_blocks() {
    let (_arena, mut heap) = heap();
    let mut blocks = Vec::new();
    for (i, size) in [1usize, 7, 16, 24, 100, 512, 1000, 4096, 70_000]
        .iter()
        .enumerate()
    {
        let p = heap.malloc(*size);
        assert!(!p.is_null());
        assert_eq!(p.addr() % MIN_ALIGN, 0, "size {size}");
        // SAFETY: `p` is a live block of this heap.
        assert!(unsafe { heap.usable_size(p) } >= *size);
        // SAFETY: `p` has `size` bytes.
        unsafe { fill(p, *size, i as u64) };
        blocks.push((p, *size, i as u64));
    }
    for &(p, size, id) in &blocks {
        // SAFETY: every block is live; none overwrote another.
        assert!(unsafe { holds(p, size, id) });
    }
    let stats = heap.check().unwrap();
    assert_eq!(stats.in_use, blocks.len());
    for (p, _, _) in blocks {
        // SAFETY: live block, freed once.
        unsafe { heap.free(p) };
    }
    assert_eq!(heap.check().unwrap().in_use, 0);
}

#[test]
fn malloc_zero_returns_unique_freeable_blocks() {
    let (_arena, mut heap) = heap();
    let a = heap.malloc(0);
    let b = heap.malloc(0);
    assert!(!a.is_null() && !b.is_null());
    assert_ne!(a, b);
    // SAFETY: live blocks, freed once.
    unsafe {
        heap.free(a);
        heap.free(b);
    }
    assert_eq!(heap.check().unwrap().in_use, 0);
}

#[test]
fn sizes_that_overflow_return_null_and_leave_the_heap_alone() {
    let (_arena, mut heap) = heap();
    let keep = heap.malloc(100);
    let before = heap.heap_bytes();
    for size in [
        usize::MAX,
        usize::MAX - 4095,
        isize::MAX as usize,
        isize::MAX as usize + 1,
    ] {
        assert!(heap.malloc(size).is_null(), "malloc({size})");
        assert!(heap.memalign(64, size).is_null(), "memalign(64, {size})");
        assert!(heap.calloc(1, size).is_null(), "calloc(1, {size})");
    }
    assert!(heap.calloc(usize::MAX, usize::MAX).is_null());
    assert!(heap.calloc(1 << 33, 1 << 33).is_null());
    assert!(heap.calloc(usize::MAX, 2).is_null());
    assert!(heap.memalign(1 << (usize::BITS - 1), 16).is_null());
    assert_eq!(heap.heap_bytes(), before);
    let stats = heap.check().unwrap();
    assert_eq!(stats.in_use, 1);
    // SAFETY: live block.
    unsafe { heap.free(keep) };
}

#[test]
fn free_of_null_does_nothing() {
    let (_arena, mut heap) = heap();
    // SAFETY: null is allowed.
    unsafe { heap.free(ptr::null_mut()) };
    assert_eq!(heap.heap_bytes(), 0);
    assert_eq!(heap.check().unwrap().in_use, 0);
}

#[test]
fn calloc_zeroes_even_reused_memory() {
    let (_arena, mut heap) = heap();
    for size in [24usize, 200, 3000, 50_000] {
        let p = heap.malloc(size);
        // SAFETY: `p` has `size` bytes; freed once.
        unsafe {
            ptr::write_bytes(p, 0xFF, size);
            heap.free(p);
        }
        let q = heap.calloc(size / 8, 8);
        assert!(!q.is_null());
        // SAFETY: `q` has at least `size / 8 * 8` bytes.
        let bytes = unsafe { std::slice::from_raw_parts(q, size / 8 * 8) };
        assert!(all_are(bytes, 0), "size {size}");
        // SAFETY: live block.
        unsafe { heap.free(q) };
    }
}

/// Not zero: a break that fills fresh pages with this breaks its promise on purpose, so that
/// every byte `calloc` writes over fresh memory shows.
const FRESH: u8 = 0xA5;

/// `calloc` sizes for the fresh-memory tests.
const CALLOC_BYTES: usize = if cfg!(miri) { 16 << 10 } else { 1 << 20 };

/// The `len` bytes at `p`.
///
/// # Safety
/// `p` must be valid for `len` bytes of reads.
unsafe fn bytes<'a>(p: *mut u8, len: usize) -> &'a [u8] {
    // SAFETY: forwarded to the caller.
    unsafe { std::slice::from_raw_parts(p, len) }
}

/// Whether every byte of `bytes` is `b` (one slice comparison: Miri does it natively, where a
/// loop over the bytes would take seconds).
fn all_are(bytes: &[u8], b: u8) -> bool {
    bytes == vec![b; bytes.len()]
}

#[test]
fn calloc_writes_nothing_over_fresh_pages() {
    let arena = Arena::new(ARENA_BYTES);
    let mut heap = Heap::new(PagedBreak::new(&arena, FRESH));
    let keep = heap.malloc(100);
    let p = heap.calloc(1, CALLOC_BYTES);
    // SAFETY: `p` has `CALLOC_BYTES` bytes.
    let block = unsafe { bytes(p, CALLOC_BYTES) };
    if !all_are(block, FRESH) {
        let written = block.iter().filter(|&&b| b != FRESH).count();
        panic!("calloc wrote {written} bytes over fresh pages");
    }
    // SAFETY: live blocks, freed once.
    unsafe {
        heap.free(p);
        heap.free(keep);
    }
}

#[test]
fn calloc_clears_exactly_the_memory_used_before() {
    let arena = Arena::new(ARENA_BYTES);
    let mut heap = Heap::new(PagedBreak::new(&arena, FRESH));
    let keep = heap.malloc(100);
    let used = heap.malloc(CALLOC_BYTES);
    // SAFETY: `used` has `CALLOC_BYTES` bytes; freed once.
    unsafe {
        used.write_bytes(0x11, CALLOC_BYTES);
        heap.free(used);
    }
    // The same memory again, and as much fresh memory above it.
    let p = heap.calloc(2, CALLOC_BYTES);
    assert_eq!(p, used, "carved from the same place");
    // SAFETY: `p` has `2 * CALLOC_BYTES` bytes.
    let block = unsafe { bytes(p, 2 * CALLOC_BYTES) };
    let (used, rest) = block.split_at(CALLOC_BYTES);
    assert!(all_are(used, 0), "the used part is zero");
    // The used chunk ended a few bytes past the block it held; from there on, fresh memory.
    let cleared = rest.iter().take(32).take_while(|&&b| b == 0).count();
    assert!(
        all_are(&rest[cleared..], FRESH),
        "only the used part is cleared"
    );
    // SAFETY: live blocks, freed once.
    unsafe {
        heap.free(p);
        heap.free(keep);
    }
}

#[test]
fn calloc_clears_memory_the_break_gave_back_and_took_again() {
    let arena = Arena::new(ARENA_BYTES);
    // Zero as promised, and nothing kept at the top, so the break goes down and up.
    let config = Config {
        top_pad: 0,
        keep_limit: 0,
        trim_threshold: 0,
    };
    let mut heap = Heap::with_config(PagedBreak::new(&arena, 0), config);
    let keep = heap.malloc(100);
    for round in 0..3 {
        let p = heap.calloc(1, CALLOC_BYTES);
        // SAFETY: `p` has `CALLOC_BYTES` bytes.
        let block = unsafe { bytes(p, CALLOC_BYTES) };
        assert!(all_are(block, 0), "round {round}");
        // SAFETY: as above; freed once.
        unsafe {
            p.write_bytes(0x22, CALLOC_BYTES);
            heap.free(p);
        }
    }
    assert!(
        heap.sbrk().region().moves().1 >= 3,
        "the break went down every round"
    );
    // SAFETY: live block, freed once.
    unsafe { heap.free(keep) };
}

#[test]
fn freed_memory_is_reused() {
    let (_arena, mut heap) = heap();
    let guard = heap.malloc(10);
    let a = heap.malloc(3000);
    let b = heap.malloc(10);
    // SAFETY: live block, freed once.
    unsafe { heap.free(a) };
    let c = heap.malloc(3000);
    assert_eq!(a, c);
    let small = heap.malloc(10);
    // SAFETY: live blocks, freed once.
    unsafe {
        heap.free(small);
        assert_eq!(heap.malloc(10), small, "a small block comes straight back");
        heap.free(small);
        heap.free(b);
        heap.free(c);
        heap.free(guard);
    }
}

#[test]
fn memalign_honours_every_power_of_two() {
    let (_arena, mut heap) = heap();
    let mut blocks = Vec::new();
    let mut align = 1usize;
    while align <= 1 << 20 {
        for size in [0usize, 1, 100, 5000] {
            let p = heap.memalign(align, size);
            assert!(!p.is_null());
            assert_eq!(
                p.addr() % align.max(MIN_ALIGN),
                0,
                "align {align} size {size}"
            );
            // SAFETY: `p` has `size` bytes.
            unsafe { fill(p, size, (align + size) as u64) };
            blocks.push((p, size, (align + size) as u64));
        }
        align *= 2;
    }
    heap.check().unwrap();
    for (p, size, id) in blocks {
        // SAFETY: live block, freed once.
        unsafe {
            assert!(holds(p, size, id));
            heap.free(p);
        }
    }
    assert!(heap.heap_bytes() <= PAGE_SIZE);
}

#[test]
fn memalign_rejects_alignments_that_are_not_powers_of_two() {
    let (_arena, mut heap) = heap();
    for align in [3usize, 24, 48, 1000, usize::MAX] {
        assert!(heap.memalign(align, 16).is_null(), "align {align}");
    }
    assert_eq!(heap.check().unwrap().in_use, 0);
}

#[test]
fn usable_size_covers_the_request_without_waste() {
    let (_arena, mut heap) = heap();
    for size in [0usize, 1, 24, 25, 100, 1000, 100_000] {
        let p = heap.malloc(size);
        // SAFETY: live block.
        let usable = unsafe { heap.usable_size(p) };
        assert!(usable >= size);
        assert!(
            usable < size + 2 * MIN_ALIGN + 16,
            "size {size} usable {usable}"
        );
        // SAFETY: live block, freed once.
        unsafe { heap.free(p) };
    }
}

#[test]
fn sbrk_refusal_returns_null_and_keeps_the_heap_consistent() {
    let (_arena, mut heap) = heap();
    heap.sbrk_mut().set_limit(256 << 10);
    let a = heap.malloc(100_000);
    assert!(!a.is_null());
    assert!(heap.malloc(200_000).is_null());
    assert!(heap.memalign(4096, 200_000).is_null());
    assert!(heap.calloc(200, 1000).is_null());
    let stats = heap.check().unwrap();
    assert_eq!(stats.in_use, 1);
    // Smaller requests still work, and the refused memory was never taken.
    let b = heap.malloc(100_000);
    assert!(!b.is_null());
    assert!(heap.heap_bytes() <= 256 << 10);
    // SAFETY: live blocks, freed once.
    unsafe {
        heap.free(a);
        heap.free(b);
    }
    assert!(heap.heap_bytes() <= PAGE_SIZE);
}

#[test]
fn a_heap_that_cannot_start_returns_null() {
    let (_arena, mut heap) = heap();
    heap.sbrk_mut().set_limit(0);
    assert!(heap.malloc(1).is_null());
    assert!(heap.calloc(1, 1).is_null());
    assert_eq!(heap.check().unwrap(), umalloc::HeapStats::default());
}

#[test]
fn check_counts_blocks_and_free_chunks() {
    let (_arena, mut heap) = heap();
    // 500-byte blocks are parked in the quick lists when freed, until flushed.
    let blocks: Vec<_> = (0..10).map(|_| heap.malloc(500)).collect();
    // SAFETY: live blocks, freed once.
    unsafe {
        heap.free(blocks[2]);
        heap.free(blocks[5]);
    }
    let stats = heap.check().unwrap();
    assert_eq!(
        (stats.in_use, stats.parked, stats.free),
        (8, 2, 0),
        "{stats:?}"
    );
    heap.flush_parked();
    let stats = heap.check().unwrap();
    assert_eq!(
        (stats.in_use, stats.parked, stats.free),
        (8, 0, 2),
        "{stats:?}"
    );
    assert!(stats.free_bytes >= 1000);
    assert!(stats.wilderness <= Config::DEFAULT.top_pad + PAGE_SIZE);
    for (i, p) in blocks.into_iter().enumerate() {
        if i != 2 && i != 5 {
            // SAFETY: live block, freed once.
            unsafe { heap.free(p) };
        }
    }
}
