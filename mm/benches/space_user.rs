//! Process address space benchmark: `sbrk` +16 MiB in 4 KiB steps and back, and `fork` of a
//! process with 8 MiB of heap, for Sv39 and Sv32, with the page-table frames each needs.
//!
//! `cargo bench -p rvmm --bench space_user` (`RVMM_BENCH_ROUNDS=n` for more or fewer rounds).
//!
//! No established crate manages a process address space to compare against, so each group
//! carries the floor of its work as a baseline instead: every page `sbrk` adds must be zeroed
//! (4 KiB `memset`), and every page `fork` copies must be copied (4 KiB `memcpy`). The ratio to
//! the floor is the cost of everything else: frame allocation, table walks, bookkeeping.
//!
//! Frames come from a plain LIFO pool over one `Arena` (no junk filling, unlike the tests'
//! `ArenaFrames`), and the spaces reach them through testkit's `&Arena` as `PhysMem`. Every
//! arena frame is touched before timing so no round pays the host's first-touch faults.

use rvmm::addr::{Frame, PAGE_SIZE};
use rvmm::frame::{FrameSource, OutOfMemory};
use rvmm::paging::{Mode, Sv32, Sv39};
use rvmm::space::user::{Limits, UserSpace};
use rvmm_testkit::Arena;
use rvmm_testkit::bench::{Case, Measured, compare, rounds};
use std::cell::RefCell;
use std::hint::black_box;

/// 4 KiB pages in 16 MiB (the `sbrk` group).
const SBRK_PAGES: usize = 4096;
/// 4 KiB pages in 8 MiB (the `fork` group's heap).
const FORK_PAGES: usize = 2048;
/// Arena frames: two 8 MiB parents, a child, a 16 MiB heap, tables, and room to spare.
const FRAMES: usize = 10_240;
const BASE: u64 = 0x8000_0000;

/// A LIFO stack of the arena's frames (the first is kept back as the trampoline).
struct Pool(Vec<Frame>);

impl Pool {
    fn new(arena: &Arena) -> Self {
        let first = Frame::containing(arena.base());
        Pool(
            (1..arena.frames() as u64)
                .rev()
                .map(|i| first.checked_add(i).expect("arena frame"))
                .collect(),
        )
    }
}

// SAFETY: each arena frame is in the stack or out, never both, so it is handed out once until
// given back; the arena is the `PhysMem` the spaces use.
unsafe impl FrameSource for Pool {
    fn allocate(&mut self) -> Result<Frame, OutOfMemory> {
        self.0.pop().ok_or(OutOfMemory)
    }

    unsafe fn deallocate(&mut self, frame: Frame) {
        self.0.push(frame);
    }
}

type Space<'a, M> = UserSpace<M, &'a Arena>;

fn space<'a, M: Mode>(arena: &'a Arena, pool: &RefCell<Pool>) -> Space<'a, M> {
    let trampoline = Frame::containing(arena.base());
    UserSpace::new(
        arena,
        trampoline,
        Limits::default(),
        &mut *pool.borrow_mut(),
    )
    .expect("a new space")
}

/// `sbrk(+4 KiB)` `pages` times, then `sbrk(-4 KiB)` as often; returns `pages`.
fn sbrk_steps<M: Mode>(s: &mut Space<'_, M>, pool: &RefCell<Pool>, pages: usize) -> u64 {
    let frames = &mut *pool.borrow_mut();
    for _ in 0..pages {
        let (old, flush) = s.sbrk(PAGE_SIZE as isize, frames).expect("grow");
        black_box(old);
        flush.ignore(); // not live: a kernel would sfence.vma here
    }
    for _ in 0..pages {
        s.sbrk(-(PAGE_SIZE as isize), frames)
            .expect("shrink")
            .1
            .ignore();
    }
    pages as u64
}

/// One `sbrk(+pages)` and one `sbrk(-pages)`; returns `pages`.
fn sbrk_once<M: Mode>(s: &mut Space<'_, M>, pool: &RefCell<Pool>, pages: usize) -> u64 {
    let frames = &mut *pool.borrow_mut();
    let bytes = (pages * PAGE_SIZE) as isize;
    s.sbrk(bytes, frames).expect("grow").1.ignore();
    s.sbrk(-bytes, frames).expect("shrink").1.ignore();
    pages as u64
}

fn free(pool: &RefCell<Pool>) -> usize {
    pool.borrow().0.len()
}

fn sbrk_group(arena: &Arena, pool: &RefCell<Pool>) -> Vec<Measured> {
    let before = free(pool);
    let s39 = RefCell::new(space::<Sv39>(arena, pool));
    let held39 = before - free(pool);
    let before = free(pool);
    let s32 = RefCell::new(space::<Sv32>(arena, pool));
    let held32 = before - free(pool);
    let mut floor = vec![1u8; SBRK_PAGES * PAGE_SIZE]; // touched: no first-touch faults
    let mut cases = [
        Case::new("memset 4 KiB (floor)", || {
            for page in floor.chunks_mut(PAGE_SIZE) {
                black_box(page).fill(0);
            }
            SBRK_PAGES as u64
        }),
        Case::new("Sv39 sbrk 4 KiB steps", || {
            sbrk_steps(&mut s39.borrow_mut(), pool, SBRK_PAGES)
        }),
        Case::new("Sv32 sbrk 4 KiB steps", || {
            sbrk_steps(&mut s32.borrow_mut(), pool, SBRK_PAGES)
        }),
        Case::new("Sv39 sbrk 16 MiB at once", || {
            sbrk_once(&mut s39.borrow_mut(), pool, SBRK_PAGES)
        }),
        Case::new("Sv32 sbrk 16 MiB at once", || {
            sbrk_once(&mut s32.borrow_mut(), pool, SBRK_PAGES)
        }),
    ];
    let rows = compare(
        "sbrk +16 MiB and back: ns per 4 KiB page (grown and shrunk)",
        &mut cases,
        rounds(),
    );
    drop(cases);
    report_tables("Sv39", s39.into_inner(), held39, pool);
    report_tables("Sv32", s32.into_inner(), held32, pool);
    rows
}

/// Grows the heap of `s` (which holds `held` frames) by 16 MiB, prints the table frames per
/// mapped MiB, and tears the space down.
fn report_tables<M: Mode>(name: &str, mut s: Space<'_, M>, held: usize, pool: &RefCell<Pool>) {
    let (before, resident) = (free(pool), s.resident_pages());
    s.sbrk((SBRK_PAGES * PAGE_SIZE) as isize, &mut *pool.borrow_mut())
        .expect("grow")
        .1
        .ignore();
    let used = before - free(pool);
    let tables = used - (s.resident_pages() - resident);
    let all_tables = held + used - s.resident_pages();
    println!(
        "{name}: +16 MiB of heap took {used} frames: {SBRK_PAGES} data, {tables} tables \
         ({:.3} table frames per mapped MiB); the whole space then holds {all_tables} table \
         frames for {} resident pages",
        tables as f64 / 16.0,
        s.resident_pages()
    );
    s.destroy(&mut *pool.borrow_mut());
}

fn fork_group<M: Mode>(name: &str, arena: &Arena, pool: &RefCell<Pool>) -> Vec<Measured> {
    let mut parent = space::<M>(arena, pool);
    let heap = parent.heap_start().as_usize();
    parent
        .sbrk((FORK_PAGES * PAGE_SIZE) as isize, &mut *pool.borrow_mut())
        .expect("8 MiB heap")
        .1
        .ignore();
    let fill: Vec<u8> = (0..FORK_PAGES * PAGE_SIZE).map(|i| i as u8).collect();
    parent.copy_out(heap, &fill).expect("fill the heap");
    let child: RefCell<Option<Space<'_, M>>> = RefCell::new(None);
    let (src, mut dst) = (fill, vec![1u8; FORK_PAGES * PAGE_SIZE]); // touched
    let (fork_name, exit_name) = (format!("{name} fork"), format!("{name} exit of the child"));
    let mut cases = [
        Case::new("memcpy 4 KiB (floor)", || {
            for (d, s) in dst.chunks_mut(PAGE_SIZE).zip(src.chunks(PAGE_SIZE)) {
                black_box(d).copy_from_slice(s);
            }
            FORK_PAGES as u64
        }),
        Case::new(&fork_name, || {
            let c = parent.fork(&mut *pool.borrow_mut()).expect("fork");
            *child.borrow_mut() = Some(c);
            FORK_PAGES as u64
        }),
        Case::new(&exit_name, || {
            if let Some(c) = child.borrow_mut().take() {
                c.destroy(&mut *pool.borrow_mut());
            }
            FORK_PAGES as u64
        }),
    ];
    let rows = compare(
        &format!("{name} fork of a process with 8 MiB of heap: ns per 4 KiB page"),
        &mut cases,
        rounds(),
    );
    drop(cases);
    let before = pool.borrow().0.len();
    let c = parent.fork(&mut *pool.borrow_mut()).expect("fork");
    let used = before - pool.borrow().0.len();
    println!(
        "{name}: the child holds {} frames: {} data pages and {} table frames",
        used,
        c.resident_pages(),
        used - c.resident_pages()
    );
    c.destroy(&mut *pool.borrow_mut());
    parent.destroy(&mut *pool.borrow_mut());
    rows
}

fn main() {
    let arena = Arena::new(BASE, FRAMES * PAGE_SIZE);
    for i in 0..FRAMES {
        let pa = arena
            .base()
            .checked_add((i * PAGE_SIZE) as u64)
            .expect("arena address");
        arena
            .fill_bytes(Frame::containing(pa), 0, PAGE_SIZE, 1)
            .expect("arena frame");
    }
    let pool = RefCell::new(Pool::new(&arena));
    let free_at_start = pool.borrow().0.len();
    let s = sbrk_group(&arena, &pool);
    let f39 = fork_group::<Sv39>("Sv39", &arena, &pool);
    let f32 = fork_group::<Sv32>("Sv32", &arena, &pool);
    println!("\n### Summary: medians per operation\n");
    println!("| operation | Sv39 | Sv32 |");
    println!("|---|---:|---:|");
    let ms = |m: &Measured, pages: usize| m.median_ns * pages as f64 / 1e6;
    println!(
        "| sbrk +16 MiB in 4 KiB steps and back | {:.2} ms | {:.2} ms |",
        ms(&s[1], SBRK_PAGES),
        ms(&s[2], SBRK_PAGES)
    );
    println!(
        "| sbrk +16 MiB and back in two calls | {:.2} ms | {:.2} ms |",
        ms(&s[3], SBRK_PAGES),
        ms(&s[4], SBRK_PAGES)
    );
    println!(
        "| one sbrk(+4 KiB) and sbrk(-4 KiB) | {:.0} ns | {:.0} ns |",
        s[1].median_ns, s[2].median_ns
    );
    println!(
        "| fork, 8 MiB heap | {:.2} ms | {:.2} ms |",
        ms(&f39[1], FORK_PAGES),
        ms(&f32[1], FORK_PAGES)
    );
    println!(
        "| exit of that child | {:.2} ms | {:.2} ms |",
        ms(&f39[2], FORK_PAGES),
        ms(&f32[2], FORK_PAGES)
    );
    println!(
        "| floors: memset 16 MiB / memcpy 8 MiB | {:.2} ms | {:.2} ms |",
        ms(&s[0], SBRK_PAGES),
        ms(&f39[0], FORK_PAGES)
    );
    assert_eq!(pool.borrow().0.len(), free_at_start, "frames leaked");
}
