//! Page-table benchmark: rvmm's Sv39 walker side by side with `page_table_multiarch` 0.6, and
//! rvmm's Sv32 alone (the other crate has no Sv32).
//!
//! `cargo bench -p rvmm --bench paging` (`RVMM_BENCH_ROUNDS=n` for more or fewer rounds).
//!
//! Fairness: both libraries take their table frames from one pool of frames of one `Arena`
//! (a free stack behind a mutex, no zeroing or junk filling: each library zeroes its new tables
//! itself), and both turn a table's physical address into a pointer into that arena by one
//! constant offset, as a kernel's linear map would: page_table_multiarch's `phys_to_virt` (no
//! check), rvmm's `PhysMem` `Linear` (the same offset plus the bounds check `PhysMem`'s contract
//! asks for). A second set of rvmm rows uses testkit's `&Arena` as `PhysMem`, whose lookup (also
//! inlined) checks both ends of the range with overflow-checked arithmetic, to show what a
//! costlier `PhysMem` does. Each library gets the addresses to translate in its own address
//! type, made before the timing: page_table_multiarch's `from_usize` checks nothing, rvmm's
//! `VirtAddr::new` checks once that the address is below 2^38, and the walk relies on that.
//! On the host page_table_multiarch builds only its generic `PageTable64`, so the Sv39 metadata
//! and entry below follow its own RISC-V `Rv64PTE` bit for bit; leaves of both libraries carry
//! the same bits (V, R, W, A, D).
//!
//! Every round starts from a fresh table. Within one round the cases form a chain: "map" creates
//! a table and maps 65,536 pages into it, the translate cases read that table, and "unmap"
//! unmaps everything and destroys the table (page_table_multiarch frees its tables only when
//! the table is dropped, rvmm as it unmaps: timing both with the destroy keeps the work equal).
//! The 1 GiB cases create, map and destroy inside the timing.

use memory_addr::{PhysAddr as MaPhys, VirtAddr as MaVirt};
use page_table_multiarch::{GenericPTE, MappingFlags, PageTable64, PagingHandler, PagingMetaData};
use rvmm::addr::{Frame, PAGE_SIZE, PageRange, PhysAddr, VirtAddr};
use rvmm::frame::{FrameSource, OutOfMemory};
use rvmm::paging::{Mode, PageSizes, PageTable, Perms, Sv32, Sv39};
use rvmm::phys::PhysMem;
use rvmm_testkit::Arena;
use rvmm_testkit::bench::{Case, Measured, Rng, compare, rounds};
use std::cell::RefCell;
use std::hint::black_box;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, OnceLock};

/// Pages in the 4 KiB map / translate / unmap cases.
const PAGES: usize = 65_536;
/// 4 KiB pages in 1 GiB.
const GIB_PAGES: usize = 1 << 18;
/// Where the arena (the table frames) sits in physical memory.
const ARENA_BASE: u64 = 0x8000_0000;
/// Table frames: enough for two 1 GiB trees of 4 KiB leaves alive at once, with room to spare.
const ARENA_FRAMES: usize = 2048;
/// Physical address the mappings point to (never touched: only entries are written).
const TARGET_PA: u64 = 0x1_0000_0000;

// ---------------------------------------------------------------------------------------------
// One frame pool for both libraries.

/// The arena both libraries' tables live in, leaked so `PagingHandler`'s static functions can
/// reach it.
static ARENA: OnceLock<&'static Arena> = OnceLock::new();
/// Free table frames of the arena (a LIFO stack).
static POOL: Mutex<Vec<Frame>> = Mutex::new(Vec::new());
/// The host address physical address 0 would have if the arena's mapping extended down to it
/// (the arena's first byte minus `ARENA_BASE`): a linear map's one constant, as a kernel keeps
/// it, for page_table_multiarch's `phys_to_virt`. Never dereferenced itself.
static ARENA_PTR: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());

fn arena() -> &'static Arena {
    ARENA.get_or_init(|| {
        let arena: &'static Arena =
            Box::leak(Box::new(Arena::new(ARENA_BASE, ARENA_FRAMES * PAGE_SIZE)));
        // Touch every frame now so no round pays the host's first-touch page faults.
        for i in 0..ARENA_FRAMES {
            let pa = PhysAddr::new(ARENA_BASE + (i * PAGE_SIZE) as u64).expect("arena address");
            arena
                .fill_bytes(Frame::containing(pa), 0, PAGE_SIZE, 1)
                .expect("arena frame");
        }
        let start = arena.ptr(arena.base(), PAGE_SIZE).expect("arena start");
        ARENA_PTR.store(
            start.as_ptr().wrapping_sub(ARENA_BASE as usize),
            Ordering::Relaxed,
        );
        let first = Frame::containing(arena.base());
        let mut pool = POOL.lock().expect("pool lock");
        pool.extend(
            (0..ARENA_FRAMES as u64)
                .rev()
                .map(|i| first.checked_add(i).expect("arena frame")),
        );
        arena
    })
}

fn pool_take() -> Option<Frame> {
    POOL.lock().expect("pool lock").pop()
}

fn pool_give(frame: Frame) {
    POOL.lock().expect("pool lock").push(frame);
}

fn pool_free() -> usize {
    POOL.lock().expect("pool lock").len()
}

/// rvmm's view of the pool.
struct PoolFrames;

// SAFETY: the pool hands out each arena frame once until it is given back (a frame is in the
// stack or out, never both), and the arena is the `PhysMem` both libraries use for them.
unsafe impl FrameSource for PoolFrames {
    fn allocate(&mut self) -> Result<Frame, OutOfMemory> {
        pool_take().ok_or(OutOfMemory)
    }

    unsafe fn deallocate(&mut self, frame: Frame) {
        pool_give(frame);
    }
}

/// rvmm's view of the arena: the same constant as page_table_multiarch's `phys_to_virt` (one
/// add), plus the one bounds check `PhysMem` asks for. (`Arena`'s own `PhysMem`
/// checks more: both ends of a byte range, with overflow checks; its rows show that cost.)
#[derive(Clone, Copy)]
struct Linear {
    /// Where physical address 0 would be (`ARENA_PTR`).
    zero: *mut u8,
}

// SAFETY: a pointer derived from the leaked, never freed arena; `&Linear` only hands out
// pointers into it.
unsafe impl Sync for Linear {}

impl Linear {
    fn new() -> Self {
        arena();
        Linear {
            zero: ARENA_PTR.load(Ordering::Relaxed),
        }
    }
}

// SAFETY: 1. each frame of the arena maps to its own 4 KiB aligned piece of the arena's one
// allocation, which lives forever (leaked), and frames outside are refused; 2. distinct frames
// give disjoint pieces; 3. the arena is touched only through these pointers and
// `phys_to_virt`'s, by the library that owns the frame.
unsafe impl PhysMem for Linear {
    #[inline]
    fn frame_ptr(&self, frame: Frame) -> Option<NonNull<u8>> {
        let offset = frame.start().as_u64().wrapping_sub(ARENA_BASE);
        // SAFETY: offset < the arena's size and a multiple of PAGE_SIZE, so `zero` plus the
        // frame's address lies inside the arena's allocation, which is not at address 0.
        (offset < (ARENA_FRAMES * PAGE_SIZE) as u64).then(|| unsafe {
            NonNull::new_unchecked(self.zero.wrapping_add(frame.start().as_u64() as usize))
        })
    }
}

/// page_table_multiarch's view of the pool.
struct PoolHandler;

impl PagingHandler for PoolHandler {
    fn alloc_frames(num: usize, align: usize) -> Option<MaPhys> {
        if num != 1 || align > PAGE_SIZE {
            return None;
        }
        pool_take().map(|f| MaPhys::from_usize(f.start().as_u64() as usize))
    }

    fn dealloc_frames(paddr: MaPhys, num: usize) {
        assert_eq!(num, 1, "the pool hands out single frames");
        let pa = PhysAddr::new(paddr.as_usize() as u64).expect("pool frame");
        pool_give(Frame::containing(pa));
    }

    fn phys_to_virt(paddr: MaPhys) -> MaVirt {
        // A kernel's linear map: one constant offset into the arena.
        MaVirt::from_mut_ptr_of(
            ARENA_PTR
                .load(Ordering::Relaxed)
                .wrapping_add(paddr.as_usize()),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Sv39 for page_table_multiarch on the host, after its own riscv `Sv39MetaData` and `Rv64PTE`.

struct Sv39Meta;

impl PagingMetaData for Sv39Meta {
    const LEVELS: usize = 3;
    const PA_MAX_BITS: usize = 56;
    const VA_MAX_BITS: usize = 39;
    type VirtAddr = MaVirt;

    fn flush_tlb(_: Option<MaVirt>) {}
}

/// An Sv39 entry: flags in bits 0..8 (V R W X U G A D), PPN in bits 10..54.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
struct Sv39Pte(u64);

const V: u64 = 1 << 0;
const R: u64 = 1 << 1;
const W: u64 = 1 << 2;
const X: u64 = 1 << 3;
const U: u64 = 1 << 4;
const A: u64 = 1 << 6;
const D: u64 = 1 << 7;
const PPN_MASK: u64 = (1 << 54) - (1 << 10);

impl Sv39Pte {
    fn pte_flags(f: MappingFlags) -> u64 {
        if f.is_empty() {
            return 0;
        }
        let mut bits = V | A | D;
        for (m, b) in [
            (MappingFlags::READ, R),
            (MappingFlags::WRITE, W),
            (MappingFlags::EXECUTE, X),
            (MappingFlags::USER, U),
        ] {
            if f.contains(m) {
                bits |= b;
            }
        }
        bits
    }
}

impl GenericPTE for Sv39Pte {
    fn new_page(paddr: MaPhys, flags: MappingFlags, _is_huge: bool) -> Self {
        Sv39Pte(Self::pte_flags(flags) | ((paddr.as_usize() as u64 >> 2) & PPN_MASK))
    }

    fn new_table(paddr: MaPhys) -> Self {
        Sv39Pte(V | ((paddr.as_usize() as u64 >> 2) & PPN_MASK))
    }

    fn paddr(&self) -> MaPhys {
        MaPhys::from_usize(((self.0 & PPN_MASK) << 2) as usize)
    }

    fn flags(&self) -> MappingFlags {
        let mut f = MappingFlags::empty();
        if self.0 & V == 0 {
            return f;
        }
        for (m, b) in [
            (MappingFlags::READ, R),
            (MappingFlags::WRITE, W),
            (MappingFlags::EXECUTE, X),
            (MappingFlags::USER, U),
        ] {
            if self.0 & b != 0 {
                f |= m;
            }
        }
        f
    }

    fn set_paddr(&mut self, paddr: MaPhys) {
        self.0 = (self.0 & !PPN_MASK) | ((paddr.as_usize() as u64 >> 2) & PPN_MASK);
    }

    fn set_flags(&mut self, flags: MappingFlags, _is_huge: bool) {
        self.0 = (self.0 & PPN_MASK) | Self::pte_flags(flags);
    }

    fn bits(self) -> usize {
        self.0 as usize
    }

    fn is_unused(&self) -> bool {
        self.0 == 0
    }

    fn is_present(&self) -> bool {
        self.0 & V != 0
    }

    fn is_huge(&self) -> bool {
        self.0 & (R | X) != 0
    }

    fn clear(&mut self) {
        self.0 = 0;
    }
}

type Multi = PageTable64<Sv39Meta, Sv39Pte, PoolHandler>;
type Rvmm<M> = PageTable<M, Linear>;

// ---------------------------------------------------------------------------------------------
// The operations, one function per library and case.

const RW: MappingFlags = MappingFlags::READ.union(MappingFlags::WRITE);

fn multi_map(va: usize, pages: usize, huge: bool) -> Multi {
    let mut table = Multi::try_new().expect("root frame");
    let offset = TARGET_PA as usize - va;
    table
        .cursor()
        .map_region(
            MaVirt::from_usize(va),
            |v| MaPhys::from_usize(v.as_usize() + offset),
            pages * PAGE_SIZE,
            RW,
            huge,
        )
        .expect("multiarch map");
    table
}

fn multi_translate(table: &Multi, vas: impl Iterator<Item = usize>) -> u64 {
    let mut sum = 0u64;
    for va in vas {
        let (pa, _, _) = table.query(MaVirt::from_usize(va)).expect("mapped");
        sum = sum.wrapping_add(pa.as_usize() as u64);
    }
    sum
}

fn multi_unmap(mut table: Multi, va: usize, pages: usize) {
    table
        .cursor()
        .unmap_region(MaVirt::from_usize(va), pages * PAGE_SIZE)
        .expect("multiarch unmap");
    drop(table);
}

fn range(va: usize, pages: usize) -> PageRange {
    PageRange::new(VirtAddr::new(va).expect("va"), pages * PAGE_SIZE).expect("range")
}

fn rvmm_map<M: Mode>(va: usize, pages: usize, sizes: PageSizes) -> Rvmm<M> {
    rvmm_map_in(Linear::new(), va, pages, sizes)
}

fn rvmm_map_in<M: Mode, P: PhysMem>(
    phys: P,
    va: usize,
    pages: usize,
    sizes: PageSizes,
) -> PageTable<M, P> {
    let mut table = PageTable::<M, P>::new(phys, &mut PoolFrames).expect("root frame");
    let pa = PhysAddr::new(TARGET_PA).expect("pa");
    table
        .map(range(va, pages), pa, Perms::RW, sizes, &mut PoolFrames)
        .expect("rvmm map")
        .ignore(); // the table is not live
    table
}

fn rvmm_translate<M: Mode, P: PhysMem>(table: &PageTable<M, P>, vas: &[VirtAddr]) -> u64 {
    let mut sum = 0u64;
    for &va in vas {
        let t = table.translate(va).expect("mapped");
        sum = sum.wrapping_add(t.pa.as_u64());
    }
    sum
}

fn rvmm_unmap<M: Mode, P: PhysMem>(mut table: PageTable<M, P>, va: usize, pages: usize) {
    table
        .unmap(range(va, pages), &mut PoolFrames)
        .expect("rvmm unmap")
        .ignore();
    table.destroy(&mut PoolFrames);
}

/// `pages` sequential page addresses from `va`, and the same shuffled.
fn addresses(va: usize, pages: usize) -> (Vec<usize>, Vec<usize>) {
    let seq: Vec<usize> = (0..pages).map(|i| va + i * PAGE_SIZE + 0x123).collect();
    let mut shuffled = seq.clone();
    Rng::new(0x5EED).shuffle(&mut shuffled);
    (seq, shuffled)
}

/// The same addresses as rvmm's `VirtAddr`, made before the timing as page_table_multiarch's
/// are (its `from_usize` checks nothing; `VirtAddr::new` checks the address once, and the walk
/// then relies on it).
fn typed(vas: &[usize]) -> Vec<VirtAddr> {
    vas.iter().map(|&v| VirtAddr::new(v).expect("va")).collect()
}

/// Checks, outside any timing, that both libraries build equivalent tables and give every frame
/// back.
fn check_equivalent(va: usize) {
    let before = pool_free();
    let multi = multi_map(va, PAGES, false);
    let ours = rvmm_map::<Sv39>(va, PAGES, PageSizes::Only4KiB);
    let (seq, _) = addresses(va, PAGES);
    for &v in seq.iter().step_by(7) {
        let (pa, _, _) = multi
            .query(MaVirt::from_usize(v))
            .expect("multiarch mapped");
        let t = ours
            .translate(VirtAddr::new(v).expect("va"))
            .expect("rvmm mapped");
        assert_eq!(pa.as_usize() as u64, t.pa.as_u64(), "at {v:#x}");
    }
    let outside = va + PAGES * PAGE_SIZE;
    assert!(multi.query(MaVirt::from_usize(outside)).is_err());
    assert!(
        ours.translate(VirtAddr::new(outside).expect("va"))
            .is_none()
    );
    multi_unmap(multi, va, PAGES);
    rvmm_unmap(ours, va, PAGES);
    assert_eq!(pool_free(), before, "a library leaked table frames");
}

// ---------------------------------------------------------------------------------------------
// The cases.

/// Sv39, 65,536 pages: map, translate (sequential, random), unmap; multiarch then rvmm.
fn sv39_pages(va: usize) -> Vec<Measured> {
    let (seq, shuffled) = addresses(va, PAGES);
    let (seq_va, shuffled_va) = (typed(&seq), typed(&shuffled));
    let multi: RefCell<Option<Multi>> = RefCell::new(None);
    let ours: RefCell<Option<Rvmm<Sv39>>> = RefCell::new(None);
    let via_arena: RefCell<Option<PageTable<Sv39, &Arena>>> = RefCell::new(None);
    let n = PAGES as u64;
    let mut cases = vec![
        Case::new("multiarch map", || {
            *multi.borrow_mut() = Some(multi_map(va, PAGES, false));
            n
        }),
        Case::new("rvmm map", || {
            *ours.borrow_mut() = Some(rvmm_map(va, PAGES, PageSizes::Only4KiB));
            n
        }),
        Case::new("multiarch translate seq", || {
            let t = multi.borrow();
            black_box(multi_translate(
                t.as_ref().expect("mapped"),
                seq.iter().copied(),
            ));
            n
        }),
        Case::new("rvmm translate seq", || {
            let t = ours.borrow();
            black_box(rvmm_translate(t.as_ref().expect("mapped"), &seq_va));
            n
        }),
        Case::new("multiarch translate random", || {
            let t = multi.borrow();
            black_box(multi_translate(
                t.as_ref().expect("mapped"),
                shuffled.iter().copied(),
            ));
            n
        }),
        Case::new("rvmm translate random", || {
            let t = ours.borrow();
            black_box(rvmm_translate(t.as_ref().expect("mapped"), &shuffled_va));
            n
        }),
        Case::new("multiarch unmap+destroy", || {
            multi_unmap(multi.borrow_mut().take().expect("mapped"), va, PAGES);
            n
        }),
        Case::new("rvmm unmap+destroy", || {
            rvmm_unmap(ours.borrow_mut().take().expect("mapped"), va, PAGES);
            n
        }),
        Case::new("rvmm/&Arena map", || {
            *via_arena.borrow_mut() = Some(rvmm_map_in(arena(), va, PAGES, PageSizes::Only4KiB));
            n
        }),
        Case::new("rvmm/&Arena translate seq", || {
            let t = via_arena.borrow();
            black_box(rvmm_translate(t.as_ref().expect("mapped"), &seq_va));
            n
        }),
        Case::new("rvmm/&Arena translate random", || {
            let t = via_arena.borrow();
            black_box(rvmm_translate(t.as_ref().expect("mapped"), &shuffled_va));
            n
        }),
        Case::new("rvmm/&Arena unmap+destroy", || {
            rvmm_unmap(via_arena.borrow_mut().take().expect("mapped"), va, PAGES);
            n
        }),
    ];
    compare(
        "Sv39: 65,536 4 KiB pages (ns per page)",
        &mut cases,
        rounds(),
    )
}

/// Sv39, 1 GiB: as 4 KiB leaves and with superpages; map and destroy, ns per 4 KiB page.
fn sv39_gib(va: usize) -> Vec<Measured> {
    let n = GIB_PAGES as u64;
    let mut cases = vec![
        Case::new("multiarch 1 GiB 4 KiB", || {
            drop(black_box(multi_map(va, GIB_PAGES, false)));
            n
        }),
        Case::new("rvmm 1 GiB 4 KiB", || {
            black_box(rvmm_map::<Sv39>(va, GIB_PAGES, PageSizes::Only4KiB))
                .destroy(&mut PoolFrames);
            n
        }),
        Case::new("multiarch 1 GiB huge", || {
            drop(black_box(multi_map(va, GIB_PAGES, true)));
            n
        }),
        Case::new("rvmm 1 GiB Largest", || {
            black_box(rvmm_map::<Sv39>(va, GIB_PAGES, PageSizes::Largest)).destroy(&mut PoolFrames);
            n
        }),
    ];
    compare(
        "Sv39: map 1 GiB, destroy included (ns per 4 KiB page)",
        &mut cases,
        rounds(),
    )
}

/// Sv32, rvmm alone: the same set.
fn sv32(va: usize) -> Vec<Measured> {
    let (seq, shuffled) = addresses(va, PAGES);
    let (seq_va, shuffled_va) = (typed(&seq), typed(&shuffled));
    let ours: RefCell<Option<Rvmm<Sv32>>> = RefCell::new(None);
    let (n, g) = (PAGES as u64, GIB_PAGES as u64);
    let mut cases = vec![
        Case::new("rvmm Sv32 map", || {
            *ours.borrow_mut() = Some(rvmm_map(va, PAGES, PageSizes::Only4KiB));
            n
        }),
        Case::new("rvmm Sv32 translate seq", || {
            let t = ours.borrow();
            black_box(rvmm_translate(t.as_ref().expect("mapped"), &seq_va));
            n
        }),
        Case::new("rvmm Sv32 translate random", || {
            let t = ours.borrow();
            black_box(rvmm_translate(t.as_ref().expect("mapped"), &shuffled_va));
            n
        }),
        Case::new("rvmm Sv32 unmap+destroy", || {
            rvmm_unmap(ours.borrow_mut().take().expect("mapped"), va, PAGES);
            n
        }),
        Case::new("rvmm Sv32 1 GiB 4 KiB", || {
            black_box(rvmm_map::<Sv32>(va, GIB_PAGES, PageSizes::Only4KiB))
                .destroy(&mut PoolFrames);
            g
        }),
        Case::new("rvmm Sv32 1 GiB Largest", || {
            black_box(rvmm_map::<Sv32>(va, GIB_PAGES, PageSizes::Largest)).destroy(&mut PoolFrames);
            g
        }),
    ];
    compare("Sv32, rvmm only (ns per 4 KiB page)", &mut cases, rounds())
}

/// One summary line: multiarch, rvmm, their ratio and the targets (the issue that set each).
fn summary_row(what: &str, multi: &Measured, ours: &Measured, targets: &[(f64, u32)]) {
    let ratio = ours.median_ns / multi.median_ns;
    let verdicts: Vec<String> = targets
        .iter()
        .map(|&(t, issue)| {
            let verdict = if ratio <= t { "met" } else { "MISSED" };
            format!("<= {t:?} (issue {issue}) {verdict}")
        })
        .collect();
    let verdict = if verdicts.is_empty() {
        "-".to_string()
    } else {
        verdicts.join("; ")
    };
    println!(
        "| {what} | {:.2} | {:.2} | {ratio:.3} | {verdict} |",
        multi.median_ns, ours.median_ns
    );
}

fn main() {
    let sv39_va = 0x10_0000_0000; // 64 GiB: 1 GiB aligned, below Sv39's 2^38 top
    let sv32_va = 0x4000_0000; // 1 GiB: 1 GiB (and 4 MiB) aligned, 1 GiB fits below 2^32
    let free_at_start = {
        arena();
        pool_free()
    };
    check_equivalent(sv39_va);

    let p = sv39_pages(sv39_va);
    let g = sv39_gib(sv39_va);
    sv32(sv32_va);
    assert_eq!(pool_free(), free_at_start, "table frames leaked");

    println!("\n### Sv39 summary: medians, ns per 4 KiB page; ratio rvmm / multiarch\n");
    println!("| case | multiarch | rvmm | ratio | targets |");
    println!("|---|---:|---:|---:|---|");
    summary_row("map 65,536 x 4 KiB", &p[0], &p[1], &[(0.65, 2)]);
    summary_row("translate sequential", &p[2], &p[3], &[(0.8, 2), (1.0, 14)]);
    summary_row("translate random", &p[4], &p[5], &[(0.8, 2), (1.0, 14)]);
    summary_row("unmap 65,536 (+destroy)", &p[6], &p[7], &[(0.8, 2)]);
    summary_row("map 1 GiB as 4 KiB (+destroy)", &g[0], &g[1], &[(0.7, 2)]);
    summary_row("map 1 GiB superpages (+destroy)", &g[2], &g[3], &[]);
    println!("\nrvmm over testkit's `&Arena` as `PhysMem` (a fuller bounds check), same run:\n");
    println!("| case | multiarch | rvmm/&Arena | ratio | target |");
    println!("|---|---:|---:|---:|---|");
    summary_row("map 65,536 x 4 KiB", &p[0], &p[8], &[]);
    summary_row("translate sequential", &p[2], &p[9], &[]);
    summary_row("translate random", &p[4], &p[10], &[]);
    summary_row("unmap 65,536 (+destroy)", &p[6], &p[11], &[]);
    println!(
        "\n1 GiB as 4 KiB leaves: multiarch {:.3} ms, rvmm {:.3} ms",
        g[0].median_ns * GIB_PAGES as f64 / 1e6,
        g[1].median_ns * GIB_PAGES as f64 / 1e6
    );
    println!(
        "1 GiB with superpages (one 1 GiB leaf): multiarch {:.0} ns, rvmm {:.0} ns",
        g[2].median_ns * GIB_PAGES as f64,
        g[3].median_ns * GIB_PAGES as f64
    );
}
