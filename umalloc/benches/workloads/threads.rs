//! Threads on one heap (issue 13): more threads than cores, each running free+malloc pairs
//! (16..=512 B, 64 live blocks of its own) on one shared allocator. With a lock that only spins,
//! a thread descheduled while it holds the lock leaves the others spinning out their time
//! slices; glibc gives each thread its own arena and cache.

use std::thread;

use rvmm_testkit::bench::Rng;

use crate::adapters::Subject;

/// Live blocks per thread.
const LIVE: usize = 64;

/// `threads` threads doing `pairs / threads` pairs each on `heap`; returns the pairs.
pub fn run<S: Subject + Sync>(heap: &S, threads: u64, pairs: u64) -> u64 {
    let per_thread = pairs / threads;
    thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                let mut rng = Rng::new(t + 1);
                let mut live: Vec<(*mut u8, usize)> = (0..LIVE)
                    .map(|_| {
                        let size = 16 + rng.below(497) as usize;
                        (heap.alloc(size), size)
                    })
                    .collect();
                for _ in 0..per_thread {
                    let slot = &mut live[rng.below(LIVE as u64) as usize];
                    // SAFETY: the slot holds a live block of its size.
                    unsafe { heap.free(slot.0, slot.1) };
                    let size = 16 + rng.below(497) as usize;
                    let p = heap.alloc(size);
                    assert!(!p.is_null());
                    *slot = (std::hint::black_box(p), size);
                }
                for (p, size) in live {
                    // SAFETY: live block, freed once.
                    unsafe { heap.free(p, size) };
                }
            });
        }
    });
    per_thread * threads
}
