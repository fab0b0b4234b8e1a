//! The `debug` feature: double and foreign frees are reported, not obeyed; freed and fresh
//! memory is junk. Run with `cargo test -p umalloc --features debug`.
#![cfg(feature = "debug")]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use support::heap;
use umalloc::{JUNK_FREED, JUNK_FRESH, Report};

#[test]
fn double_free_is_reported_and_ignored() {
    let (_arena, mut heap) = heap();
    for size in [24usize, 600, 5000, 100_000] {
        let guard = heap.malloc(10);
        let p = heap.malloc(size);
        let after = heap.malloc(10);
        // SAFETY: the second free is the bug under test; the debug checks catch it.
        unsafe {
            heap.free(p);
            heap.free(p);
        }
        assert_eq!(
            heap.reports().1,
            Some(Report::DoubleFree(p.addr())),
            "size {size}"
        );
        let stats = heap.check().unwrap();
        assert_eq!(stats.in_use, 2);
        // SAFETY: live blocks, freed once.
        unsafe {
            heap.free(after);
            heap.free(guard);
        }
    }
    assert_eq!(heap.reports().0, 4);
}

#[test]
fn double_free_after_merging_is_still_caught() {
    let (_arena, mut heap) = heap();
    let keep = heap.malloc(10);
    let a = heap.malloc(5000);
    let b = heap.malloc(5000);
    let guard = heap.malloc(10);
    // SAFETY: `b`'s second free is the bug under test.
    unsafe {
        heap.free(a);
        heap.free(b); // merges into `a`'s chunk
        heap.free(b);
    }
    assert_eq!(heap.reports().1, Some(Report::DoubleFree(b.addr())));
    heap.check().unwrap();
    // SAFETY: live blocks, freed once.
    unsafe {
        heap.free(guard); // merges everything above `keep` into the wilderness
        heap.free(a);
    }
    assert!(matches!(
        heap.reports().1,
        Some(Report::DoubleFree(_) | Report::ForeignFree(_))
    ));
    heap.check().unwrap();
    // SAFETY: live block.
    unsafe { heap.free(keep) };
}

#[test]
fn foreign_pointers_are_reported_and_ignored() {
    let (_arena, mut heap) = heap();
    let p = heap.malloc(1000);
    let mut on_stack = [0u8; 64];
    let foreign = [
        on_stack.as_mut_ptr(),
        p.wrapping_add(16),   // inside a block
        p.wrapping_add(1),    // misaligned
        p.wrapping_sub(4096), // below the heap
    ];
    for f in foreign {
        // SAFETY: the bad free is the bug under test.
        unsafe { heap.free(f) };
        assert_eq!(
            heap.reports().1,
            Some(Report::ForeignFree(f.addr())),
            "{f:p}"
        );
        // SAFETY: as above.
        assert!(unsafe { heap.realloc(f, 10) }.is_null());
    }
    assert_eq!(heap.reports().0, 8);
    assert_eq!(heap.check().unwrap().in_use, 1);
    // SAFETY: live block.
    unsafe { heap.free(p) };
}

#[test]
fn the_report_hook_sees_every_report() {
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    let (_arena, mut heap) = heap();
    heap.set_report_hook(|_| {
        SEEN.fetch_add(1, Ordering::Relaxed);
    });
    let p = heap.malloc(10);
    let keep = heap.malloc(10);
    // SAFETY: the second free is the bug under test.
    unsafe {
        heap.free(p);
        heap.free(p);
        heap.free(keep);
    }
    assert_eq!(SEEN.load(Ordering::Relaxed), 1);
}

#[test]
fn fresh_and_freed_memory_is_junk() {
    let (_arena, mut heap) = heap();
    let keep = heap.malloc(10);
    let p = heap.malloc(3000);
    // SAFETY: `p` has 3000 bytes; after the free we only read heap memory that is still
    // inside the arena (junk by design), past the free-list links.
    unsafe {
        let fresh = std::slice::from_raw_parts(p, 3000);
        assert!(fresh.iter().all(|&b| b == JUNK_FRESH));
        std::ptr::write_bytes(p, 0, 3000);
        let guard = heap.malloc(10);
        heap.free(p);
        let freed = std::slice::from_raw_parts(p.add(32), 2900);
        assert!(freed.iter().all(|&b| b == JUNK_FREED));
        heap.free(guard);
        heap.free(keep);
    }
}
