//! Helpers for the process address space tests: hand-built ELF images, an arena with a
//! trampoline frame, snapshots that say whether a space changed, and a spec-walker check.
#![allow(dead_code)] // each test file uses its own subset

use rvmm::addr::{Frame, PAGE_SIZE};
use rvmm::paging::{Mapping, Mode, Perms};
use rvmm::space::user::elf::{EM_RISCV, ET_EXEC, PF_R, PF_W, PF_X};
use rvmm::space::user::{Limits, RegionRow, UserSpace};
use rvmm_testkit::spec::{self, PTE_U, PTE_W, PTE_X, SpecMode};
use rvmm_testkit::{Arena, ArenaFrames, FailPlan, Failing, Tracking};

/// Where every test arena starts.
pub const BASE: u64 = 0x8000_0000;

/// The space type under test.
pub type Space<'a, M> = UserSpace<M, &'a Arena>;

/// The frame source under test: counts live frames, can fail the N-th allocation.
pub type Frames<'a> = Tracking<Failing<ArenaFrames<'a>>>;

/// Whether the mode is Sv39 (ELF64) rather than Sv32 (ELF32).
pub fn is64<M: Mode>() -> bool {
    M::ENTRY_BYTES == 8
}

/// The spec walker's name for the mode.
pub fn spec_mode<M: Mode>() -> SpecMode {
    if is64::<M>() {
        SpecMode::Sv39
    } else {
        SpecMode::Sv32
    }
}

/// An arena whose first frame is the trampoline and the rest serve as frames.
pub struct Env {
    pub arena: Arena,
}

impl Env {
    /// An arena of `frames` frames (fewer under Miri, where every byte costs).
    pub fn new(frames: usize) -> Self {
        Env {
            arena: Arena::new(BASE, frames * PAGE_SIZE),
        }
    }

    /// The shared trampoline frame (the arena's first; never handed out as a frame).
    pub fn trampoline(&self) -> Frame {
        Frame::containing(self.arena.base())
    }

    /// A frame source over every frame but the trampoline, failing nothing yet.
    pub fn frames(&self) -> Frames<'_> {
        let all = ArenaFrames::with_frames(&self.arena, 1, self.arena.frames() - 1);
        Tracking::new(Failing::new(all, FailPlan::Never))
    }

    /// A fresh space with default limits.
    pub fn space<M: Mode>(&self, frames: &mut Frames<'_>) -> Space<'_, M> {
        UserSpace::new(&self.arena, self.trampoline(), Limits::default(), frames).unwrap()
    }
}

/// The N to fail at, from 1 to `last` (all of them but under Miri).
#[allow(
    unused_imports,
    reason = "not every test file that includes this module fails allocations"
)]
pub use rvmm_testkit::failing::fail_points as each_n;

/// Sets the plan of the failing layer of `frames`.
pub fn fail(frames: &mut Frames<'_>, plan: FailPlan) {
    frames.inner_mut().set_plan(plan);
}

/// One segment of a hand-built ELF file.
#[derive(Clone, Debug)]
pub struct Seg {
    pub vaddr: u64,
    pub flags: u32,
    pub data: Vec<u8>,
    pub memsz: u64,
}

impl Seg {
    /// A segment at `vaddr` whose file bytes are `data`, `memsz` long in memory.
    pub fn new(vaddr: u64, flags: u32, data: Vec<u8>, memsz: u64) -> Self {
        Seg {
            vaddr,
            flags,
            data,
            memsz,
        }
    }
}

/// A hand-built ELF file: header fields that tests change, and segments.
#[derive(Clone, Debug)]
pub struct Elf {
    pub elf64: bool,
    pub e_type: u16,
    pub machine: u16,
    pub entry: u64,
    pub segs: Vec<Seg>,
    /// Extra non-LOAD program headers (p_type) placed before the segments.
    pub other_headers: Vec<u32>,
}

impl Elf {
    /// An executable for mode `M` with `segs`, entering at `entry`.
    pub fn new<M: Mode>(entry: u64, segs: Vec<Seg>) -> Self {
        Elf {
            elf64: is64::<M>(),
            e_type: ET_EXEC,
            machine: EM_RISCV,
            entry,
            segs,
            other_headers: Vec::new(),
        }
    }

    /// Header size, program header size.
    pub fn sizes(&self) -> (usize, usize) {
        if self.elf64 { (64, 56) } else { (52, 32) }
    }

    /// The file's bytes: header, program headers, then each segment's bytes in order.
    pub fn bytes(&self) -> Vec<u8> {
        let (eh, ph) = self.sizes();
        let phnum = self.other_headers.len() + self.segs.len();
        let mut data_off = eh + phnum * ph;
        let mut out = vec![0u8; data_off];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = if self.elf64 { 2 } else { 1 };
        out[5] = 1;
        out[6] = 1;
        put16(&mut out, 16, self.e_type);
        put16(&mut out, 18, self.machine);
        put32(&mut out, 20, 1);
        if self.elf64 {
            put64(&mut out, 24, self.entry);
            put64(&mut out, 32, eh as u64);
            put16(&mut out, 52, eh as u16);
            put16(&mut out, 54, ph as u16);
            put16(&mut out, 56, phnum as u16);
        } else {
            put32(&mut out, 24, self.entry as u32);
            put32(&mut out, 28, eh as u32);
            put16(&mut out, 40, eh as u16);
            put16(&mut out, 42, ph as u16);
            put16(&mut out, 44, phnum as u16);
        }
        let mut at = eh;
        for &t in &self.other_headers {
            put32(&mut out, at, t);
            at += ph;
        }
        let mut payload = Vec::new();
        for s in &self.segs {
            let fields = [
                data_off as u64,
                s.vaddr,
                s.vaddr,
                s.data.len() as u64,
                s.memsz,
            ];
            put32(&mut out, at, 1);
            if self.elf64 {
                put32(&mut out, at + 4, s.flags);
                for (k, v) in fields.iter().enumerate() {
                    put64(&mut out, at + 8 + 8 * k, *v);
                }
                put64(&mut out, at + 48, 0x1000);
            } else {
                for (k, v) in fields.iter().enumerate() {
                    put32(&mut out, at + 4 + 4 * k, *v as u32);
                }
                put32(&mut out, at + 24, s.flags);
                put32(&mut out, at + 28, 0x1000);
            }
            at += ph;
            data_off += s.data.len();
            payload.extend_from_slice(&s.data);
        }
        out.extend_from_slice(&payload);
        out
    }

    /// Where program header `i`'s field at (ELF32 offset, ELF64 offset) lives in the file.
    pub fn ph_field(&self, i: usize, off32: usize, off64: usize) -> usize {
        let (eh, ph) = self.sizes();
        eh + i * ph + if self.elf64 { off64 } else { off32 }
    }
}

pub fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

pub fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

pub fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Writes an address-sized field (4 bytes in ELF32, 8 in ELF64).
pub fn put_word(b: &mut [u8], elf64: bool, at: usize, v: u64) {
    if elf64 {
        put64(b, at, v)
    } else {
        put32(b, at, v as u32)
    }
}

/// Recognisable file bytes: `n` bytes counting up from `seed`.
pub fn pattern(seed: u8, n: usize) -> Vec<u8> {
    (0..n).map(|i| seed.wrapping_add(i as u8) | 1).collect()
}

/// The program most tests load: text (R+X) at 0x1000 over two pages, rodata (R) at 0x4000, and
/// data (R+W) at 0x6000 whose 0x100 file bytes are followed by bss up to 0x8800, so the heap
/// starts at 0x9000.
pub fn program<M: Mode>() -> Elf {
    Elf::new::<M>(
        0x1010,
        vec![
            Seg::new(0x1000, PF_R | PF_X, pattern(1, 0x1800), 0x1800),
            Seg::new(0x4000, PF_R, pattern(7, 0x20), 0x20),
            Seg::new(0x6000, PF_R | PF_W, pattern(9, 0x100), 0x2800),
        ],
    )
}

/// Where [`program`]'s heap starts.
pub const PROGRAM_HEAP: usize = 0x9000;

/// Everything observable about a space: its rows, its bookkeeping, its mappings and the bytes
/// of every user page.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub regions: Vec<RegionRow>,
    pub brk: usize,
    pub heap_start: usize,
    pub stack_bottom: usize,
    pub resident: usize,
    pub mappings: Vec<Mapping>,
    pub bytes: Vec<u8>,
}

/// Takes a [`Snapshot`] of `space`.
pub fn snapshot<M: Mode>(space: &Space<'_, M>) -> Snapshot {
    let regions: Vec<RegionRow> = space.regions().collect();
    let mut bytes = Vec::new();
    for r in regions.iter().filter(|r| r.perms.contains(Perms::U)) {
        let mut b = vec![0; r.pages * PAGE_SIZE];
        space.copy_in(r.start.as_usize(), &mut b).unwrap();
        bytes.extend_from_slice(&b);
    }
    Snapshot {
        regions,
        brk: space.brk().as_usize(),
        heap_start: space.heap_start().as_usize(),
        stack_bottom: space.stack_bottom().as_usize(),
        resident: space.resident_pages(),
        mappings: space.page_table().mappings().collect(),
        bytes,
    }
}

/// Checks the raw tables with the spec walker: well formed, no W+X leaf, U leaves exactly on
/// the user regions, page 0 unmapped, one leaf per resident page plus the trampoline. Returns
/// the number of table frames.
pub fn check_tables<M: Mode>(arena: &Arena, space: &Space<'_, M>) -> usize {
    let root = space.page_table().root().start();
    let tree = spec::walk(arena, spec_mode::<M>(), root);
    assert!(tree.malformed.is_empty(), "{:#x?}", tree.malformed);
    let user_pages: usize = space
        .regions()
        .filter(|r| r.perms.contains(Perms::U))
        .map(|r| r.pages)
        .sum();
    let mut user_leaves = 0;
    for leaf in &tree.leaves {
        let flags = u64::from(leaf.flags);
        assert!(
            flags & (PTE_W | PTE_X) != PTE_W | PTE_X,
            "W+X at {:#x}",
            leaf.va
        );
        assert!(leaf.va >= 0x1000, "page 0 mapped");
        assert_eq!(leaf.size, rvmm::PageSize::Size4KiB);
        if flags & PTE_U != 0 {
            user_leaves += 1;
            let in_region = space.regions().any(|r| {
                r.perms.contains(Perms::U) && r.start.as_u64() <= leaf.va && leaf.va < r.end()
            });
            assert!(
                in_region,
                "U leaf at {:#x} outside every user region",
                leaf.va
            );
        }
    }
    assert_eq!(user_leaves, user_pages);
    assert_eq!(tree.leaves.len(), space.resident_pages() + 1);
    tree.tables.len()
}

/// Checks that the frames out are exactly the spaces' data frames and tables.
pub fn check_frames<M: Mode>(arena: &Arena, spaces: &[&Space<'_, M>], frames: &Frames<'_>) {
    let expected: usize = spaces
        .iter()
        .map(|s| s.resident_pages() + check_tables(arena, s))
        .sum();
    assert_eq!(frames.outstanding(), expected);
}

/// A space with [`program`] loaded.
pub fn loaded<'a, M: Mode>(env: &'a Env, frames: &mut Frames<'_>) -> Space<'a, M> {
    let mut space = env.space::<M>(frames);
    space.load_elf(&program::<M>().bytes(), frames).unwrap();
    space
}

/// `sbrk(delta)`, which must succeed; returns the old break (the flush is not needed: no hart
/// runs the space).
pub fn sbrk<M: Mode>(space: &mut Space<'_, M>, delta: isize, frames: &mut Frames<'_>) -> usize {
    let (old, flush) = space.sbrk(delta, frames).unwrap();
    flush.ignore();
    old.as_usize()
}

/// The exclusive top of the stack: the trap frame page.
pub fn stack_top<M: Mode>() -> usize {
    rvmm::space::trap_frame_page::<M>().start().as_usize()
}

/// How many pages the stack has.
pub fn stack_pages<M: Mode>(space: &Space<'_, M>) -> usize {
    space
        .regions()
        .find(|r| r.what == rvmm::space::user::UserRegion::Stack)
        .map_or(0, |r| r.pages)
}

/// A fresh space whose stack has grown to `pages` pages.
pub fn grown_stack<'a, M: Mode>(
    env: &'a Env,
    frames: &mut Frames<'_>,
    pages: usize,
) -> Space<'a, M> {
    let mut space: Space<'_, M> = env.space(frames);
    let low = stack_top::<M>() - pages * PAGE_SIZE;
    space.grow_stack(low, low, frames).unwrap().ignore();
    assert_eq!(stack_pages(&space), pages);
    space
}
