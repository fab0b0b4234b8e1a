//! umalloc against talc, rlsf, dlmalloc, linked_list_allocator, the K&R free list and glibc's
//! malloc, side by side in one run.
//!
//! 1. 1,000,000 free+malloc pairs, random sizes 16..=512 bytes, 1,000 live blocks;
//! 2. the same with sizes 16..=64 KiB;
//! 3. `realloc` doubling one block from 16 bytes to 64 MiB;
//! 4. the peak break in (2) against the peak of live bytes, and the break after freeing all;
//! 5. malloc+fill+free of a 1 MiB block in a loop above a small live block, over a kernel-like
//!    break, against glibc over the real one; 6. the same with 64 KiB;
//! 7. free+malloc pairs from 4 and 16 threads on one heap, against glibc.
//!
//! In 1 to 3 every allocator runs over the same emulated `sbrk` (a `Region` over a reserved
//! arena, reused across rounds, so pages are faulted in once), and every round builds a fresh
//! allocator. `RVMM_BENCH_ROUNDS` sets the rounds (default 7); `UMALLOC_BENCH_PAIRS` the pairs
//! per round (default 1,000,000); `UMALLOC_BENCH_WORKLOADS=1,5` and
//! `UMALLOC_BENCH_CASES=umalloc,glibc` choose.
//!
//! `cargo bench -p umalloc --bench umalloc`

#[path = "adapters/mod.rs"]
mod adapters;
#[path = "../tests/support/mod.rs"]
mod support;
#[path = "workloads/threads.rs"]
mod threads;
#[path = "workloads/top.rs"]
mod top;

use std::cell::Cell;
use std::hint::black_box;

use adapters::{
    Brk, DlHeap, Glibc, KernelArena, KrHeap, LlaHeap, RlsfHeap, Subject, TalcHeap, UmallocYield,
};
use rvmm_testkit::bench::{Case, Rng, compare, rounds};
use support::Arena;
use top::{KernelCosts, TopLoop};
use umalloc::Umalloc;

/// Live blocks during the pair workloads.
const LIVE: usize = 1000;
/// Arena per allocator: address space only (pages are touched as the break moves).
const ARENA: usize = 1 << 30;

/// One pair workload: sizes drawn uniformly from `min..=max`.
#[derive(Clone, Copy)]
struct Pairs {
    min: usize,
    max: usize,
    pairs: u64,
}

/// Breaks seen by one allocator's last round: (peak, after freeing everything).
type Breaks = Cell<(usize, usize)>;

/// Fills `LIVE` slots, then frees a random slot and mallocs a random size into it `pairs`
/// times, then frees everything. Returns the number of pairs.
fn run_pairs<S: Subject>(arena: &Arena, w: Pairs, breaks: &Breaks) -> u64 {
    let heap = S::new(Brk::emulated(arena.region()));
    let mut rng = Rng::new(0x5EED);
    let span = (w.max - w.min + 1) as u64;
    let mut slots: Vec<(*mut u8, usize)> = (0..LIVE)
        .map(|_| {
            let size = w.min + rng.below(span) as usize;
            (heap.alloc(size), size)
        })
        .collect();
    for _ in 0..w.pairs {
        let slot = &mut slots[rng.below(LIVE as u64) as usize];
        // SAFETY: the slot holds a live block of its size.
        unsafe { heap.free(slot.0, slot.1) };
        let size = w.min + rng.below(span) as usize;
        let p = heap.alloc(size);
        assert!(!p.is_null());
        *slot = (black_box(p), size);
    }
    let peak = heap.brk().1;
    for (p, size) in slots {
        // SAFETY: each slot's block is live and freed once.
        unsafe { heap.free(p, size) };
    }
    breaks.set((peak, heap.brk().0));
    w.pairs
}

/// The peak of live bytes in a pair workload (the same random sequence, no allocator).
fn peak_live(w: Pairs) -> usize {
    let mut rng = Rng::new(0x5EED);
    let span = (w.max - w.min + 1) as u64;
    let mut sizes: Vec<usize> = (0..LIVE)
        .map(|_| w.min + rng.below(span) as usize)
        .collect();
    let mut live: usize = sizes.iter().sum();
    let mut peak = live;
    for _ in 0..w.pairs {
        let slot = &mut sizes[rng.below(LIVE as u64) as usize];
        live -= *slot;
        *slot = w.min + rng.below(span) as usize;
        live += *slot;
        peak = peak.max(live);
    }
    peak
}

/// Grows one block from 16 bytes to 64 MiB by doubling. Returns 1 (time is per sequence).
fn run_doubling<S: Subject>(arena: &Arena, breaks: &Breaks) -> u64 {
    let heap = S::new(Brk::emulated(arena.region()));
    let mut size = 16;
    let mut p = heap.alloc(size);
    while size < 64 << 20 {
        // SAFETY: `p` is live with `size` bytes; the result replaces it.
        p = unsafe { heap.realloc(p, size, size * 2) };
        assert!(!p.is_null());
        size *= 2;
    }
    let peak = heap.brk().1;
    // SAFETY: live block, freed once.
    unsafe { heap.free(black_box(p), size) };
    breaks.set((peak, heap.brk().0));
    1
}

/// One arena and one break record per allocator, in table order.
struct Lanes {
    arenas: Vec<Arena>,
    breaks: Vec<Breaks>,
}

impl Lanes {
    fn new() -> Lanes {
        Lanes {
            arenas: (0..6).map(|_| Arena::new(ARENA)).collect(),
            breaks: (0..6).map(|_| Cell::new((0, 0))).collect(),
        }
    }
}

const NAMES: [&str; 6] = [
    <Umalloc<Brk> as Subject>::NAME,
    TalcHeap::NAME,
    RlsfHeap::NAME,
    DlHeap::NAME,
    LlaHeap::NAME,
    KrHeap::NAME,
];

fn pair_cases<'a>(lanes: &'a Lanes, w: Pairs, kr_pairs: u64) -> Vec<Case<'a>> {
    let (a, b) = (&lanes.arenas, &lanes.breaks);
    let kr = Pairs {
        pairs: kr_pairs,
        ..w
    };
    vec![
        Case::new(NAMES[0], move || run_pairs::<Umalloc<Brk>>(&a[0], w, &b[0])),
        Case::new(NAMES[1], move || run_pairs::<TalcHeap>(&a[1], w, &b[1])),
        Case::new(NAMES[2], move || run_pairs::<RlsfHeap>(&a[2], w, &b[2])),
        Case::new(NAMES[3], move || run_pairs::<DlHeap>(&a[3], w, &b[3])),
        Case::new(NAMES[4], move || run_pairs::<LlaHeap>(&a[4], kr, &b[4])),
        Case::new(NAMES[5], move || run_pairs::<KrHeap>(&a[5], kr, &b[5])),
    ]
}

fn doubling_cases(lanes: &Lanes) -> Vec<Case<'_>> {
    let (a, b) = (&lanes.arenas, &lanes.breaks);
    vec![
        Case::new(NAMES[0], move || run_doubling::<Umalloc<Brk>>(&a[0], &b[0])),
        Case::new(NAMES[1], move || run_doubling::<TalcHeap>(&a[1], &b[1])),
        Case::new(NAMES[2], move || run_doubling::<RlsfHeap>(&a[2], &b[2])),
        Case::new(NAMES[3], move || run_doubling::<DlHeap>(&a[3], &b[3])),
        Case::new(NAMES[4], move || run_doubling::<LlaHeap>(&a[4], &b[4])),
        Case::new(NAMES[5], move || run_doubling::<KrHeap>(&a[5], &b[5])),
    ]
}

/// One kernel-like arena and one cost record per allocator of the top-loop table.
struct TopLanes {
    arenas: Vec<KernelArena>,
    costs: Vec<KernelCosts>,
}

const TOP_NAMES: [&str; 5] = [
    <Umalloc<Brk> as Subject>::NAME,
    TalcHeap::NAME,
    RlsfHeap::NAME,
    DlHeap::NAME,
    Glibc::NAME,
];

impl TopLanes {
    fn new() -> TopLanes {
        TopLanes {
            arenas: (0..TOP_NAMES.len())
                .map(|_| KernelArena::new(ARENA))
                .collect(),
            costs: (0..TOP_NAMES.len())
                .map(|_| Cell::new(((0, 0), 0)))
                .collect(),
        }
    }
}

fn top_cases(lanes: &TopLanes, w: TopLoop) -> Vec<Case<'_>> {
    let (a, c) = (&lanes.arenas, &lanes.costs);
    vec![
        Case::new(TOP_NAMES[0], move || {
            top::run::<Umalloc<Brk>>(&a[0], w, &c[0])
        }),
        Case::new(TOP_NAMES[1], move || top::run::<TalcHeap>(&a[1], w, &c[1])),
        Case::new(TOP_NAMES[2], move || top::run::<RlsfHeap>(&a[2], w, &c[2])),
        Case::new(TOP_NAMES[3], move || top::run::<DlHeap>(&a[3], w, &c[3])),
        Case::new(TOP_NAMES[4], move || top::run::<Glibc>(&a[4], w, &c[4])),
    ]
}

fn print_kernel_costs(title: &str, lanes: &TopLanes, w: TopLoop) {
    println!("\n### {title}\n");
    println!("| case | break moves up / down | per iteration | page faults per iteration |");
    println!("|---|---:|---:|---:|");
    for (name, c) in TOP_NAMES.iter().zip(&lanes.costs) {
        let ((up, down), faults) = c.get();
        let per = |n: u64| n as f64 / w.iterations as f64;
        let moves = if *name == Glibc::NAME {
            "(real brk: see strace)".to_string()
        } else {
            format!("{up} / {down}")
        };
        let per_moves = per((up + down) as u64);
        println!("| {name} | {moves} | {per_moves:.2} | {:.1} |", per(faults));
    }
}

fn thread_cases(threads: u64, pairs: u64) -> Vec<Case<'static>> {
    vec![
        Case::new(UmallocYield::NAME, move || {
            let arena = Arena::new(64 << 20);
            threads::run(
                &UmallocYield::new(Brk::emulated(arena.region())),
                threads,
                pairs,
            )
        }),
        Case::new("umalloc, spin only", move || {
            let arena = Arena::new(64 << 20);
            let heap = <Umalloc<Brk> as Subject>::new(Brk::emulated(arena.region()));
            threads::run(&heap, threads, pairs)
        }),
        Case::new(Glibc::NAME, move || threads::run(&Glibc, threads, pairs)),
    ]
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn print_breaks(title: &str, lanes: &Lanes, live: Option<usize>) {
    println!("\n### {title}\n");
    match live {
        Some(live) => {
            println!("peak live bytes: {:.2} MiB\n", mib(live));
            println!("| case | peak break MiB | peak / peak live | break after freeing all |");
            println!("|---|---:|---:|---:|");
        }
        None => {
            println!("| case | peak break MiB | | break after freeing all |");
            println!("|---|---:|---:|---:|");
        }
    }
    for (name, b) in NAMES.iter().zip(&lanes.breaks) {
        let (peak, after) = b.get();
        let ratio = live.map_or(String::new(), |l| format!("{:.3}", peak as f64 / l as f64));
        println!("| {name} | {:.2} | {ratio} | {after} B |", mib(peak));
    }
}

/// Whether workload `n` is selected (`UMALLOC_BENCH_WORKLOADS=1,3`; default all).
fn selected(n: char) -> bool {
    std::env::var("UMALLOC_BENCH_WORKLOADS").map_or(true, |v| v.contains(n))
}

/// Keeps the cases named in `UMALLOC_BENCH_CASES=umalloc,rlsf` (default all; the first one
/// listed in the table is the ratio's base).
fn chosen(mut cases: Vec<Case<'_>>) -> Vec<Case<'_>> {
    if let Ok(names) = std::env::var("UMALLOC_BENCH_CASES") {
        cases.retain(|c| names.split(',').any(|n| n == c.name));
    }
    cases
}

fn main() {
    let pairs: u64 = std::env::var("UMALLOC_BENCH_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // The O(n) allocators walk their free lists: fewer pairs keep a round short; the figure
    // is per pair either way.
    let slow_pairs = (pairs / 10).max(1);
    let rounds = rounds();
    println!("rounds: {rounds}, pairs: {pairs} (linked_list_allocator and K&R: {slow_pairs})");

    let lanes = Lanes::new();
    if selected('1') {
        let small = Pairs {
            min: 16,
            max: 512,
            pairs,
        };
        compare(
            "1. free+malloc pairs, 16..=512 B, 1,000 live (ns per pair)",
            &mut chosen(pair_cases(&lanes, small, slow_pairs)),
            rounds,
        );
        print_breaks("1b. breaks in (1)", &lanes, Some(peak_live(small)));
    }
    if selected('2') {
        let large = Pairs {
            min: 16 << 10,
            max: 64 << 10,
            pairs,
        };
        compare(
            "2. free+malloc pairs, 16..=64 KiB, 1,000 live (ns per pair)",
            &mut chosen(pair_cases(&lanes, large, slow_pairs)),
            rounds,
        );
        print_breaks("4. breaks in (2)", &lanes, Some(peak_live(large)));
    }
    if selected('3') {
        compare(
            "3. realloc doubling 16 B -> 64 MiB (ns per whole sequence)",
            &mut chosen(doubling_cases(&lanes)),
            rounds,
        );
        print_breaks("3b. breaks in (3)", &lanes, None);
    }
    let top_lanes = TopLanes::new();
    for (n, size, iterations) in [('5', 1 << 20, 1000), ('6', 64 << 10, 20_000)] {
        if !selected(n) {
            continue;
        }
        let w = TopLoop { size, iterations };
        let kib = size >> 10;
        compare(
            &format!(
                "{n}. malloc+fill+free of {kib} KiB above a live block, kernel-like break (ns per iteration)"
            ),
            &mut chosen(top_cases(&top_lanes, w)),
            rounds,
        );
        print_kernel_costs(
            &format!("{n}b. what the kernel did in ({n})"),
            &top_lanes,
            w,
        );
    }
    if selected('7') {
        for threads in [4, 16] {
            compare(
                &format!(
                    "7. free+malloc pairs, 16..=512 B, {threads} threads on 2 cores (ns per pair)"
                ),
                &mut chosen(thread_cases(threads, pairs)),
                rounds,
            );
        }
    }
}
