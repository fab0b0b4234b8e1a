//! `bench WORKLOAD [REPS]`: the in-QEMU memory benchmarks, in guest instructions (`rdinstret`;
//! deterministic under `-icount shift=0,sleep=off` with one hart). Each repetition prints
//! `bench WORKLOAD REP INSTRUCTIONS [UNITS]`, where UNITS is what the figure divides into for a
//! per-operation cost (pages, pairs, calls). `cargo xtask bench qemu` runs every workload and
//! compares with the anchor (the seed's own kernel, VIMIX, measured the same way).
//!
//! Workloads (a)..(e) are the anchor's; the others have no anchor figure:
//! - `a`: `sbrk(+16 MiB)` in one call, store a byte in every page, `sbrk(-16 MiB)`;
//! - `b`: 4,096 × (`sbrk(+4096)`, store a byte in the new page), then 4,096 × `sbrk(-4096)`;
//! - `c`: with 8 MiB of heap grown and touched, `fork`, the child exits at once, `wait`;
//! - `d`: 100,000 × (free a random one of 1,000 live blocks, malloc one of 16..512 bytes);
//! - `e`: boot, reset to the first instruction of the first user program (`init`'s figure);
//! - `getpid`: a syscall round trip; `sbrk`: `sbrk(+4096)` alone; `stack`: a stack-growth
//!   fault per page; `exec`: `exec` of a program up to its first instruction; `yield`: a
//!   context switch between two processes that yield to each other.
#![no_std]
#![no_main]

use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicUsize, Ordering};
use user::{HEAP, println, sys};

user::entry!(main);

const PAGE: usize = 4096;

/// The repetition running, for a workload whose child prints its own line.
static REP: AtomicUsize = AtomicUsize::new(0);

fn main(args: &user::Args) -> i32 {
    let reps = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(5);
    let run: fn() -> (u64, u64) = match args.get(1) {
        Some("a") => sbrk_one_call,
        Some("b") => sbrk_page_by_page,
        Some("c") => fork_with_heap,
        Some("d") => malloc_free_pairs,
        Some("getpid") => getpid,
        Some("sbrk") => sbrk_alone,
        Some("stack") => stack_growth,
        Some("yield") => yield_ping_pong,
        Some("exec") => return exec(args),
        Some("exec-end") => return exec_end(args),
        _ => {
            println!("usage: bench a|b|c|d|getpid|sbrk|stack|exec|yield [REPS]");
            return 2;
        }
    };
    let name = args.get(1).unwrap_or("?");
    for rep in 1..=reps {
        REP.store(rep, Ordering::Relaxed);
        let (instructions, units) = run();
        // `stack` measures in a child, which prints the repetition's line itself; the
        // parent's figure adds the fork, the exit and the wait.
        let shown = if name == "stack" {
            "stack-with-fork"
        } else {
            name
        };
        println!("bench {shown} {rep} {instructions} {units}");
    }
    0
}

/// Instructions `f` takes.
fn measure(f: impl FnOnce()) -> u64 {
    let start = sys::instret();
    f();
    sys::instret() - start
}

/// One store to `addr`: callers pass addresses in heap pages they just grew with `sbrk`,
/// mapped R+W and holding no Rust object.
fn touch(addr: usize) {
    user::raw::store(addr, 1);
}

fn sbrk_one_call() -> (u64, u64) {
    const SIZE: usize = 16 << 20;
    let n = measure(|| {
        let base = sys::sbrk(SIZE as isize).expect("16 MiB of heap");
        for page in (base..base + SIZE).step_by(PAGE) {
            touch(page);
        }
        sys::sbrk(-(SIZE as isize)).expect("shrink");
    });
    (n, (SIZE / PAGE) as u64)
}

fn sbrk_page_by_page() -> (u64, u64) {
    let n = measure(|| {
        for _ in 0..4096 {
            let page = sys::sbrk(PAGE as isize).expect("a page of heap");
            touch(page);
        }
        for _ in 0..4096 {
            sys::sbrk(-(PAGE as isize)).expect("shrink");
        }
    });
    (n, 4096)
}

fn fork_with_heap() -> (u64, u64) {
    const SIZE: usize = 8 << 20;
    let base = sys::sbrk(SIZE as isize).expect("8 MiB of heap");
    for page in (base..base + SIZE).step_by(PAGE) {
        touch(page);
    }
    let n = measure(|| match sys::fork() {
        Ok(0) => sys::exit(0),
        Ok(_) => {
            sys::wait().expect("the child");
        }
        Err(e) => panic!("fork: {e}"),
    });
    sys::sbrk(-(SIZE as isize)).expect("shrink");
    (n, (SIZE / PAGE) as u64)
}

/// A small deterministic generator (xorshift), so every run does the same work.
struct Random(u32);

impl Random {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
}

fn malloc_free_pairs() -> (u64, u64) {
    const LIVE: usize = 1000;
    const PAIRS: u64 = 100_000;
    let mut random = Random(0x2545_f491);
    let mut live = [core::ptr::null_mut::<u8>(); LIVE];
    for slot in live.iter_mut() {
        *slot = HEAP.malloc(16 + random.next() as usize % 497);
    }
    let n = measure(|| {
        for _ in 0..PAIRS {
            let slot = &mut live[random.next() as usize % LIVE];
            // SAFETY: each slot holds a block from this heap, freed once before it is replaced.
            unsafe { HEAP.free(*slot) };
            *slot = HEAP.malloc(16 + random.next() as usize % 497);
        }
    });
    for p in live {
        // SAFETY: as above.
        unsafe { HEAP.free(p) };
    }
    (n, PAIRS)
}

fn getpid() -> (u64, u64) {
    const CALLS: u64 = 10_000;
    let n = measure(|| {
        for _ in 0..CALLS {
            core::hint::black_box(sys::getpid());
        }
    });
    (n, CALLS)
}

fn sbrk_alone() -> (u64, u64) {
    const CALLS: usize = 1024;
    let mut n = 0;
    for _ in 0..CALLS {
        n += measure(|| {
            sys::sbrk(PAGE as isize).expect("a page");
        });
    }
    sys::sbrk(-((CALLS * PAGE) as isize)).expect("shrink");
    (n, CALLS as u64)
}

/// Recursion with a page-sized frame: every level's frame lands on a new page below the
/// stack, which faults once and grows the stack by a page. The frame is left unfilled
/// (`MaybeUninit`) and touched by one store, so a level costs the fault and almost nothing of
/// the program's own (a zeroed array was a 4 KiB `memset` per level, half the figure).
#[inline(never)]
fn deep(levels: usize) -> u8 {
    let mut frame = [const { MaybeUninit::<u8>::uninit() }; PAGE - 64];
    frame[0] = MaybeUninit::new(levels as u8);
    core::hint::black_box(&mut frame);
    if levels == 0 {
        0
    } else {
        deep(levels - 1).wrapping_add(levels as u8)
    }
}

fn stack_growth() -> (u64, u64) {
    const PAGES: usize = 256;
    // In a child, so every repetition starts from a one-page stack.
    let start = sys::instret();
    match sys::fork() {
        Ok(0) => {
            let n = measure(|| {
                core::hint::black_box(deep(PAGES));
            });
            let rep = REP.load(Ordering::Relaxed);
            println!("bench stack {rep} {n} {PAGES}");
            sys::exit(0)
        }
        Ok(_) => {
            sys::wait().expect("the child");
        }
        Err(e) => panic!("fork: {e}"),
    }
    (sys::instret() - start, PAGES as u64)
}

fn yield_ping_pong() -> (u64, u64) {
    const ROUNDS: u64 = 10_000;
    let n = measure(|| match sys::fork() {
        Ok(0) => {
            for _ in 0..ROUNDS {
                sys::yield_now();
            }
            sys::exit(0)
        }
        Ok(_) => {
            for _ in 0..ROUNDS {
                sys::yield_now();
            }
            sys::wait().expect("the child");
        }
        Err(e) => panic!("fork: {e}"),
    });
    (n, 2 * ROUNDS)
}

/// `exec`: forks a child that execs `bench exec-end START`; the new program prints its first
/// instruction's count minus START.
fn exec(args: &user::Args) -> i32 {
    let reps: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(5);
    for rep in 1..=reps {
        match sys::fork() {
            Ok(0) => {
                let mut start = [0u8; 20];
                let start = user::decimal(sys::instret(), &mut start);
                let rep = [b'0' + rep as u8];
                let rep = core::str::from_utf8(&rep).unwrap_or("?");
                let e = sys::exec("bench", &["bench", "exec-end", start, rep]);
                panic!("exec: {e}");
            }
            Ok(_) => {
                sys::wait().expect("the child");
            }
            Err(e) => panic!("fork: {e}"),
        }
    }
    0
}

fn exec_end(args: &user::Args) -> i32 {
    let now = user::start_instret() as u64;
    let start: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(now);
    let rep = args.get(3).unwrap_or("?");
    // rdinstret's low word on rv32: the difference is right modulo 2^32.
    let n = (now as usize).wrapping_sub(start as usize);
    println!("bench exec {rep} {n} 1");
    0
}
