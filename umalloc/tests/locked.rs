//! `Umalloc`: the locked heap, its `GlobalAlloc`, and use from several threads.

mod support;

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rvmm_testkit::bench::Rng;
use support::{Arena, fill, holds};
use umalloc::{PAGE_SIZE, Region, Umalloc};

#[test]
fn global_alloc_honours_size_and_alignment() {
    let arena = Arena::new(64 << 20);
    let heap = Umalloc::new(arena.region());
    let mut blocks = Vec::new();
    for (i, (size, align)) in [(1, 1), (24, 8), (100, 64), (5000, 4096), (1 << 20, 1 << 16)]
        .into_iter()
        .enumerate()
    {
        let layout = Layout::from_size_align(size, align).unwrap();
        // SAFETY: non-zero size.
        let p = unsafe { heap.alloc(layout) };
        assert!(!p.is_null());
        assert_eq!(p.addr() % align, 0);
        // SAFETY: `p` has `size` bytes.
        unsafe { fill(p, size, i as u64) };
        blocks.push((p, layout, i as u64));
    }
    for (p, layout, id) in blocks {
        // SAFETY: live block with its layout.
        unsafe {
            assert!(holds(p, layout.size(), id));
            heap.dealloc(p, layout);
        }
    }
    assert!(heap.lock().heap_bytes() <= PAGE_SIZE);
}

#[test]
fn global_alloc_realloc_keeps_alignment_when_it_moves() {
    let arena = Arena::new(64 << 20);
    let heap = Umalloc::new(arena.region());
    let layout = Layout::from_size_align(100, 256).unwrap();
    // SAFETY: non-zero size; blocks are live and used with their layouts.
    unsafe {
        let p = heap.alloc(layout);
        fill(p, 100, 5);
        let blocker = heap.malloc(10);
        let q = GlobalAlloc::realloc(&heap, p, layout, 10_000);
        assert_eq!(q.addr() % 256, 0);
        assert!(holds(q, 100, 5));
        heap.dealloc(q, Layout::from_size_align(10_000, 256).unwrap());
        heap.free(blocker);
    }
}

#[test]
fn alloc_zeroed_zeroes_reused_memory() {
    let arena = Arena::new(64 << 20);
    let heap = Umalloc::new(arena.region());
    let layout = Layout::from_size_align(4000, 128).unwrap();
    // SAFETY: non-zero size; blocks are live and used with their layouts.
    unsafe {
        let keep = heap.malloc(10);
        let p = heap.alloc(layout);
        std::ptr::write_bytes(p, 0xEE, 4000);
        heap.dealloc(p, layout);
        let q = heap.alloc_zeroed(layout);
        assert!(std::slice::from_raw_parts(q, 4000).iter().all(|&b| b == 0));
        heap.dealloc(q, layout);
        heap.free(keep);
    }
}

/// A pointer that may cross threads (the blocks are plain memory; the heap is locked).
struct Block(*mut u8, usize, u64);
// SAFETY: a block is exclusively owned by whichever thread holds it.
unsafe impl Send for Block {}

#[test]
fn threads_share_one_heap_without_corrupting_it() {
    let arena = Arena::new(support::ARENA_BYTES.min(256 << 20));
    let heap: Umalloc<Region> = Umalloc::new(arena.region());
    // Under Miri a spinning thread burns interpreter steps: keep it small.
    let (threads, ops, max) = if cfg!(miri) {
        (2, 60, 300)
    } else {
        (4, 20_000, 3000)
    };
    thread::scope(|s| {
        for t in 0..threads {
            let heap = &heap;
            s.spawn(move || {
                let mut rng = Rng::new(t + 1);
                let mut mine: Vec<Block> = Vec::new();
                for i in 0..ops {
                    if mine.len() < 50 && rng.below(2) == 0 {
                        let size = rng.below(max) as usize;
                        let p = heap.malloc(size);
                        let id = t << 32 | i;
                        // SAFETY: `p` has `size` bytes.
                        unsafe { fill(p, size, id) };
                        mine.push(Block(p, size, id));
                    } else if !mine.is_empty() {
                        let Block(p, size, id) =
                            mine.swap_remove(rng.below(mine.len() as u64) as usize);
                        // SAFETY: our live block, freed once.
                        unsafe {
                            assert!(holds(p, size, id));
                            heap.free(p);
                        }
                    }
                }
                for Block(p, size, id) in mine {
                    // SAFETY: our live block, freed once.
                    unsafe {
                        assert!(holds(p, size, id));
                        heap.free(p);
                    }
                }
            });
        }
    });
    let heap = heap.lock();
    let stats = heap.check().unwrap();
    assert_eq!(stats.in_use, 0);
    assert!(heap.heap_bytes() <= PAGE_SIZE);
}

/// Runs `hold` (which takes the lock and keeps it), then a thread that wants the lock; once
/// that thread has called the yield hook (counted in `yields`), runs `release`, and returns
/// when the thread got in. Fails, rather than hangs, if the waiter never yields.
fn waiter_yields_until(
    heap: &Umalloc<Region>,
    yields: &AtomicUsize,
    hold: impl FnOnce(),
    release: impl FnOnce(),
) {
    hold();
    thread::scope(|s| {
        let waiter = s.spawn(|| {
            let p = heap.malloc(100);
            // SAFETY: live block, freed once.
            unsafe { heap.free(p) };
        });
        let start = Instant::now();
        while yields.load(Ordering::SeqCst) == 0 {
            if start.elapsed() > Duration::from_secs(30) {
                release();
                panic!("the waiter never called the yield hook");
            }
            std::hint::spin_loop();
        }
        release();
        waiter.join().unwrap();
    });
}

static LOCK_YIELDS: AtomicUsize = AtomicUsize::new(0);
fn count_lock_yield() {
    LOCK_YIELDS.fetch_add(1, Ordering::SeqCst);
    thread::yield_now();
}

#[test]
fn a_waiter_calls_the_yield_hook_while_the_lock_stays_taken() {
    let arena = Arena::new(16 << 20);
    let heap = Umalloc::new(arena.region()).with_yield(count_lock_yield);
    let guard = std::cell::Cell::new(None);
    waiter_yields_until(
        &heap,
        &LOCK_YIELDS,
        || guard.set(Some(heap.lock())),
        || drop(guard.take()),
    );
    assert!(LOCK_YIELDS.load(Ordering::SeqCst) > 0);
}

static PARENT_YIELDS: AtomicUsize = AtomicUsize::new(0);
fn count_parent_yield() {
    PARENT_YIELDS.fetch_add(1, Ordering::SeqCst);
    thread::yield_now();
}

#[test]
fn fork_prepare_holds_the_lock_until_fork_parent() {
    let arena = Arena::new(16 << 20);
    let heap = Umalloc::new(arena.region()).with_yield(count_parent_yield);
    waiter_yields_until(
        &heap,
        &PARENT_YIELDS,
        || heap.fork_prepare(),
        // SAFETY: this thread called `fork_prepare` just before, and nothing since.
        || unsafe { heap.fork_parent() },
    );
    assert_eq!(heap.lock().check().unwrap().in_use, 0);
}

static CHILD_YIELDS: AtomicUsize = AtomicUsize::new(0);
fn count_child_yield() {
    CHILD_YIELDS.fetch_add(1, Ordering::SeqCst);
    thread::yield_now();
}

#[test]
fn fork_prepare_holds_the_lock_until_fork_child() {
    let arena = Arena::new(16 << 20);
    let heap = Umalloc::new(arena.region()).with_yield(count_child_yield);
    let kept = heap.malloc(1000);
    waiter_yields_until(
        &heap,
        &CHILD_YIELDS,
        || heap.fork_prepare(),
        // SAFETY: as above (a real child would be a copy of this process; here the heap
        // itself plays the child's copy).
        || unsafe { heap.fork_child() },
    );
    // The child owns the blocks the parent held.
    // SAFETY: live block, freed once.
    unsafe { heap.free(kept) };
    assert_eq!(heap.lock().check().unwrap().in_use, 0);
}
