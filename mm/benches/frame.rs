//! Frame allocator benchmarks, side by side in one run: rvmm's `FrameAllocator` (the shared
//! path and a `HartCache`), the classic one-frame-per-node locked list (xv6's `kalloc`, below)
//! and `buddy_system_allocator`'s frame allocator behind a spin lock; for the hot pair also a
//! bare per-hart stack (no lock, no atomic, no check): the floor.
//!
//! `cargo bench -p rvmm --bench frame` (`RVMM_BENCH_ROUNDS=N` sets the rounds, default 7;
//! `-- hot`, `-- cold` or `-- threads` runs only the groups named).
//! Cases: a hot kalloc+kfree pair; 32,768 cold kallocs then 32,768 kfrees right after a fresh
//! init over 256 MiB whose frames were all freed in shuffled order; two threads doing pairs.

use buddy_system_allocator::FrameAllocator as Buddy;
use rvmm::addr::{Frame, PAGE_SIZE};
use rvmm::frame::{FrameAllocator, HartCache, Junk};
use rvmm::phys::PhysMem;
use rvmm_testkit::bench::{Case, Measured, compare, print_table, rounds};
use rvmm_testkit::{Arena, Rng};
use spin::mutex::SpinMutex;
use std::hint::black_box;
use std::ptr::NonNull;
use std::time::Instant;

const BASE: u64 = 0x8000_0000;
const BYTES: usize = 256 << 20;
const FRAMES: usize = BYTES / PAGE_SIZE;
const COLD_OPS: usize = 32_768;
const HOT_PAIRS: u64 = 2_000_000;
const THREAD_PAIRS: u64 = 500_000;

/// xv6's kalloc: every free frame is a list node whose first word links to the next one.
struct Classic {
    head: SpinMutex<Link>,
}

struct Link(Option<NonNull<Link>>);

// SAFETY: the list owns the free frames it links, and the lock serialises every access.
unsafe impl Send for Link {}

impl Classic {
    /// A list of the arena's frames, freed in `order` (indices into the arena).
    fn new(arena: &Arena, order: &[usize]) -> Self {
        let list = Classic {
            head: SpinMutex::new(Link(None)),
        };
        for &i in order {
            // SAFETY: the list is the only user of the arena's frames.
            unsafe { list.free(arena_ptr(arena, i)) };
        }
        list
    }

    fn alloc(&self) -> Option<NonNull<u8>> {
        let mut head = self.head.lock();
        let node = head.0?;
        // SAFETY: `node` is a free frame on the list, whose first word `free` wrote.
        head.0 = unsafe { node.read() }.0;
        Some(node.cast())
    }

    /// # Safety
    /// `frame` points to a 4 KiB frame the caller owns and gives up.
    unsafe fn free(&self, frame: NonNull<u8>) {
        let mut head = self.head.lock();
        let node = frame.cast::<Link>();
        // SAFETY: the caller gives the frame up, so the list may write its link there.
        unsafe { node.write(Link(head.0.take())) };
        head.0 = Some(node);
    }
}

fn arena_ptr(arena: &Arena, i: usize) -> NonNull<u8> {
    let frame = Frame::containing(arena.base())
        .checked_add(i as u64)
        .unwrap();
    arena.frame_ptr(frame).unwrap()
}

fn ours(arena: &Arena) -> FrameAllocator<&Arena> {
    // SAFETY: each benchmark builds one allocator per arena at a time, so nothing else uses it.
    unsafe { FrameAllocator::new(arena, &[arena.range()], &[], Junk::Off) }.unwrap()
}

fn buddy() -> SpinMutex<Buddy> {
    let mut b = Buddy::new();
    b.add_frame(0, FRAMES);
    SpinMutex::new(b)
}

fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    Rng::new(seed).shuffle(&mut v);
    v
}

// The hot loops are named functions, kept out of line, so that an instruction count
// (`valgrind --tool=callgrind`) attributes each case's pairs to its own symbol.

#[inline(never)]
fn classic_pairs(classic: &Classic, pairs: u64) {
    for _ in 0..pairs {
        let p = classic.alloc().unwrap();
        // SAFETY: `p` was just allocated and is not used again.
        unsafe { classic.free(black_box(p)) };
    }
}

#[inline(never)]
fn shared_pairs(a: &FrameAllocator<&Arena>, pairs: u64) {
    for _ in 0..pairs {
        let f = a.allocate().unwrap();
        // SAFETY: `f` was just allocated and is not used again.
        unsafe { a.deallocate(black_box(f)) }.unwrap();
    }
}

#[inline(never)]
fn hart_pairs(cache: &mut HartCache<'_, &Arena>, pairs: u64) {
    for _ in 0..pairs {
        let f = cache.allocate().unwrap();
        // SAFETY: `f` was just allocated and is not used again.
        unsafe { cache.deallocate(black_box(f)) }.unwrap();
    }
}

/// The floor: a per-hart stack of frame pointers with no lock, no atomic and no check, what
/// the issue calls "what a lock-free per-hart stack costs".
#[inline(never)]
fn stack_pairs(stack: &mut Vec<NonNull<u8>>, pairs: u64) {
    for _ in 0..pairs {
        let p = stack.pop().unwrap();
        stack.push(black_box(p));
    }
}

#[inline(never)]
fn buddy_pairs(buddy: &SpinMutex<Buddy>, pairs: u64) {
    for _ in 0..pairs {
        let f = buddy.lock().alloc(1).unwrap();
        buddy.lock().dealloc(black_box(f), 1);
    }
}

fn hot(arena_ours: &Arena, arena_classic: &Arena) {
    let a = ours(arena_ours);
    let classic = Classic::new(arena_classic, &(0..FRAMES).collect::<Vec<_>>());
    let buddy = buddy();
    let mut stack: Vec<NonNull<u8>> = (0..1024).map(|i| arena_ptr(arena_classic, i)).collect();
    let mut cases = [
        Case::new("classic list", || {
            classic_pairs(&classic, HOT_PAIRS);
            HOT_PAIRS
        }),
        Case::new("rvmm shared", || {
            shared_pairs(&a, HOT_PAIRS);
            HOT_PAIRS
        }),
        Case::new("rvmm hart cache", || {
            hart_pairs(&mut a.hart(0).unwrap(), HOT_PAIRS);
            HOT_PAIRS
        }),
        Case::new("buddy (locked)", || {
            buddy_pairs(&buddy, HOT_PAIRS);
            HOT_PAIRS
        }),
        Case::new("bare per-hart stack (floor)", || {
            stack_pairs(&mut stack, HOT_PAIRS);
            HOT_PAIRS
        }),
    ];
    compare("hot kalloc+kfree pair, ns per pair", &mut cases, rounds());
}

/// One cold round: `setup` builds the state (untimed), then the timed allocs and frees.
/// Returns ns per alloc and ns per free.
fn cold_round<T, H: Copy>(
    setup: impl FnOnce() -> T,
    mut alloc: impl FnMut(&mut T) -> H,
    mut free: impl FnMut(&mut T, H),
) -> (f64, f64) {
    let mut state = setup();
    // Evict what the set-up left in the caches, for every allocator alike.
    let mut flush = vec![0u8; BYTES];
    flush.fill(1);
    black_box(&flush);
    drop(flush);
    let mut got = Vec::with_capacity(COLD_OPS);
    let t = Instant::now();
    for _ in 0..COLD_OPS {
        got.push(alloc(&mut state));
    }
    let alloc_ns = t.elapsed().as_nanos() as f64 / COLD_OPS as f64;
    let t = Instant::now();
    for &f in &got {
        free(&mut state, f);
    }
    let free_ns = t.elapsed().as_nanos() as f64 / COLD_OPS as f64;
    (alloc_ns, free_ns)
}

/// Allocates every frame of `a`, then frees them all in shuffled order.
fn shuffle_ours(a: &FrameAllocator<&Arena>, seed: u64) {
    let mut all = Vec::with_capacity(FRAMES);
    while let Ok(f) = a.allocate() {
        all.push(f);
    }
    Rng::new(seed).shuffle(&mut all);
    for f in all {
        // SAFETY: allocated just above and not used.
        unsafe { a.deallocate(f) }.unwrap();
    }
}

fn cold(arena_ours: &Arena, arena_classic: &Arena) {
    let names = [
        "classic list",
        "rvmm shared",
        "rvmm hart cache",
        "buddy (locked)",
    ];
    let (mut allocs, mut frees) = (vec![Vec::new(); names.len()], vec![Vec::new(); names.len()]);
    for round in 0..rounds() {
        let seed = round as u64 + 1;
        let results = [
            cold_round(
                || Classic::new(arena_classic, &shuffled(FRAMES, seed)),
                |c| c.alloc().unwrap(),
                // SAFETY: `p` came from `alloc` on this list and is not used again.
                |c, p| unsafe { c.free(p) },
            ),
            cold_round(
                || {
                    let a = ours(arena_ours);
                    shuffle_ours(&a, seed);
                    a
                },
                |a| a.allocate().unwrap(),
                // SAFETY: the frame came from `alloc` and is not used again.
                |a, f| unsafe { a.deallocate(f) }.unwrap(),
            ),
            {
                let a = ours(arena_ours);
                shuffle_ours(&a, seed);
                cold_round(
                    || a.hart(0).unwrap(),
                    |c| c.allocate().unwrap(),
                    // SAFETY: the frame came from `alloc` and is not used again.
                    |c, f| unsafe { c.deallocate(f) }.unwrap(),
                )
            },
            cold_round(
                || {
                    let b = buddy();
                    let mut all: Vec<usize> =
                        (0..FRAMES).map(|_| b.lock().alloc(1).unwrap()).collect();
                    Rng::new(seed).shuffle(&mut all);
                    all.into_iter().for_each(|f| b.lock().dealloc(f, 1));
                    b
                },
                |b| b.lock().alloc(1).unwrap(),
                |b, f| b.lock().dealloc(f, 1),
            ),
        ];
        for (k, (a, f)) in results.into_iter().enumerate() {
            allocs[k].push(a);
            frees[k].push(f);
        }
    }
    let table = |samples: Vec<Vec<f64>>| -> Vec<Measured> {
        let rows = names.iter().zip(samples);
        rows.map(|(name, mut rounds)| {
            rounds.sort_by(f64::total_cmp);
            Measured {
                name: name.to_string(),
                median_ns: rounds[rounds.len() / 2],
                rounds,
            }
        })
        .collect()
    };
    let title = "cold kalloc over 256 MiB freed in shuffled order, ns per kalloc";
    print_table(title, &table(allocs));
    print_table(
        "then kfree of those 32,768 frames, ns per kfree",
        &table(frees),
    );
}

/// Runs `pairs` on two threads at once; returns the pairs done in all.
fn two_threads(pairs: impl Fn(usize) + Sync) -> u64 {
    std::thread::scope(|s| {
        for t in 0..2 {
            let pairs = &pairs;
            s.spawn(move || pairs(t));
        }
    });
    2 * THREAD_PAIRS
}

fn threads(arena_ours: &Arena, arena_classic: &Arena) {
    let a = ours(arena_ours);
    let classic = Classic::new(arena_classic, &(0..FRAMES).collect::<Vec<_>>());
    let buddy = buddy();
    let mut cases = [
        Case::new("classic list", || {
            two_threads(|_| {
                for _ in 0..THREAD_PAIRS {
                    let p = classic.alloc().unwrap();
                    // SAFETY: `p` was just allocated and is not used again.
                    unsafe { classic.free(black_box(p)) };
                }
            })
        }),
        Case::new("rvmm shared", || {
            two_threads(|_| {
                for _ in 0..THREAD_PAIRS {
                    let f = a.allocate().unwrap();
                    // SAFETY: `f` was just allocated and is not used again.
                    unsafe { a.deallocate(black_box(f)) }.unwrap();
                }
            })
        }),
        Case::new("rvmm hart cache", || {
            two_threads(|t| {
                let mut cache = a.hart(t).unwrap();
                for _ in 0..THREAD_PAIRS {
                    let f = cache.allocate().unwrap();
                    // SAFETY: `f` was just allocated and is not used again.
                    unsafe { cache.deallocate(black_box(f)) }.unwrap();
                }
            })
        }),
        Case::new("buddy (locked)", || {
            two_threads(|_| {
                for _ in 0..THREAD_PAIRS {
                    let f = buddy.lock().alloc(1).unwrap();
                    buddy.lock().dealloc(black_box(f), 1);
                }
            })
        }),
    ];
    compare(
        "two threads doing pairs, ns per pair (wall time / pairs of both)",
        &mut cases,
        rounds(),
    );
}

/// The groups named on the command line (`cargo bench -p rvmm --bench frame -- hot`), or all
/// of them when none is; cargo's own `--bench` flag is not a name.
fn wanted(group: &str) -> bool {
    let names: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    names.is_empty() || names.iter().any(|n| n == group)
}

fn main() {
    let arena_ours = Arena::new(BASE, BYTES);
    let arena_classic = Arena::new(BASE, BYTES);
    if wanted("hot") {
        hot(&arena_ours, &arena_classic);
    }
    if wanted("cold") {
        cold(&arena_ours, &arena_classic);
    }
    if wanted("threads") {
        threads(&arena_ours, &arena_classic);
    }
}
