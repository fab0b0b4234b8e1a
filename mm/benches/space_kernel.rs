//! Kernel-map benchmark: building the whole kernel map of a QEMU `virt` shaped machine with
//! 128 MiB and 4 GiB of RAM (Sv39), 128 MiB and 1 GiB (Sv32), side by side with the same map
//! made the xv6 way (`kvmmake`: every range in 4 KiB pages), and the page-table frames each
//! uses per mapped MiB.
//!
//! `cargo bench -p rvmm --bench space_kernel` (`RVMM_BENCH_ROUNDS=n` for more or fewer rounds).
//!
//! One operation is a build plus its teardown (`destroy`), so every round starts from the same
//! free frames. Table frames come from a plain stack of arena frames (no junk filling, no
//! tracking); each library zeroes its new tables itself. The RAM being mapped is never touched:
//! only entries are written, so 4 GiB of RAM needs no 4 GiB of host memory.

use rvmm::addr::{Frame, PAGE_SIZE, PageRange, PhysAddr, PhysRange, VirtAddr};
use rvmm::frame::{FrameSource, OutOfMemory};
use rvmm::paging::{Mode, PageSizes, PageTable, Perms, Sv32, Sv39};
use rvmm::space::kernel::{BootDescription, Device, KernelImage, KernelSpace, KernelStacks};
use rvmm::space::trampoline_page;
use rvmm_testkit::Arena;
use rvmm_testkit::bench::{Case, compare, rounds};
use std::cell::RefCell;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const RAM_BASE: u64 = 0x8000_0000;
/// Table frames live here, in the described RAM as they would in the kernel.
const ARENA_BASE: u64 = 0x8400_0000;
/// Enough for the 4 KiB-only map of 4 GiB on Sv39 (2048 leaf tables and a few more).
const ARENA_FRAMES: usize = 2200;

const DEVICES: [Device; 5] = [
    Device::new("uart", 0x1000_0000, 0x100),
    Device::new("virtio", 0x1000_1000, 0x1000),
    Device::new("plic", 0x0C00_0000, 4 * MIB),
    Device::new("clint", 0x0200_0000, 64 * 1024),
    Device::new("test", 0x0010_0000, 0x1000),
];

fn range(start: u64, len: u64) -> PhysRange {
    PhysRange::with_len(start, len).expect("bench range")
}

/// The kernel image at the start of RAM: 128 KiB text, 64 KiB rodata, 128 KiB data.
fn image() -> KernelImage {
    KernelImage {
        text: range(RAM_BASE, 0x2_0000),
        rodata: range(RAM_BASE + 0x2_0000, 0x1_0000),
        data: range(RAM_BASE + 0x3_0000, 0x2_0000),
    }
}

/// A stack of free arena frames.
struct Pool(Vec<Frame>);

impl Pool {
    fn new(arena: &Arena) -> Self {
        let first = Frame::containing(arena.base());
        let all = (0..arena.frames() as u64).rev();
        Pool(
            all.map(|i| first.checked_add(i).expect("arena frame"))
                .collect(),
        )
    }
}

// SAFETY: each arena frame is in the stack or handed out, never both, so it is handed out once
// until given back; the arena is the PhysMem the tables use.
unsafe impl FrameSource for Pool {
    fn allocate(&mut self) -> Result<Frame, OutOfMemory> {
        self.0.pop().ok_or(OutOfMemory)
    }

    unsafe fn deallocate(&mut self, frame: Frame) {
        self.0.push(frame);
    }
}

/// Builds the map with `KernelSpace` and tears it down; returns the table frames it used.
fn build_rvmm<M: Mode>(arena: &Arena, pool: &mut Pool, boot: BootDescription<'_>) -> usize {
    let free = pool.0.len();
    let space = KernelSpace::<M, _>::build(boot, arena, pool).expect("bench map builds");
    let used = free - pool.0.len();
    space.destroy(pool);
    used
}

/// Bytes the map of `boot` covers, summed over its description rows.
fn mapped_bytes<M: Mode>(arena: &Arena, pool: &mut Pool, boot: BootDescription<'_>) -> u64 {
    let space = KernelSpace::<M, _>::build(boot, arena, pool).expect("bench map builds");
    let mapped = space.describe().map(|row| row.mapping.len).sum();
    space.destroy(pool);
    mapped
}

/// The same ranges mapped the xv6 way: each in 4 KiB pages, in one table.
fn build_4k_only<M: Mode>(arena: &Arena, pool: &mut Pool, ram: u64) -> usize {
    let free = pool.0.len();
    let mut table = PageTable::<M, _>::new(arena, pool).expect("root");
    let mut map = |start: u64, len: u64, perms: Perms, pool: &mut Pool| {
        let va = VirtAddr::try_from(start).expect("va");
        let pages = PageRange::new(va, len as usize).expect("pages");
        let pa = PhysAddr::new(start).expect("pa");
        let flush = table.map(pages, pa, perms | Perms::G, PageSizes::Only4KiB, pool);
        flush.expect("4 KiB map").ignore();
    };
    for d in DEVICES {
        map(d.base & !0xFFF, (d.size + 0xFFF) & !0xFFF, Perms::RW, pool);
    }
    map(RAM_BASE, 0x2_0000, Perms::RX, pool);
    map(RAM_BASE + 0x2_0000, 0x1_0000, Perms::R, pool);
    map(RAM_BASE + 0x3_0000, ram - 0x3_0000, Perms::RW, pool);
    let top = PageRange::from_pages(trampoline_page::<M>(), 1).expect("top");
    let tramp = PhysAddr::new(RAM_BASE + 0x1000).expect("pa");
    let flush = table.map(top, tramp, Perms::RX | Perms::G, PageSizes::Only4KiB, pool);
    flush.expect("trampoline").ignore();
    let used = free - pool.0.len();
    table.destroy(pool);
    used
}

fn bench<M: Mode>(arena: &Arena, ram_bytes: u64) {
    let ram = [range(RAM_BASE, ram_bytes)];
    let trampoline = Frame::containing(PhysAddr::new(RAM_BASE + 0x1000).expect("pa"));
    let boot = BootDescription::new(&ram, image(), trampoline)
        .with_devices(&DEVICES)
        .with_stacks(KernelStacks::new(64));
    let pool = RefCell::new(Pool::new(arena));
    let frames = build_rvmm::<M>(arena, &mut pool.borrow_mut(), boot);
    let mapped = mapped_bytes::<M>(arena, &mut pool.borrow_mut(), boot);
    let frames_4k = build_4k_only::<M>(arena, &mut pool.borrow_mut(), ram_bytes);
    let label = format!("{} kernel map, {} MiB RAM", M::NAME, ram_bytes / MIB);
    let mut cases = [
        Case::new("rvmm KernelSpace::build + destroy", || {
            build_rvmm::<M>(arena, &mut pool.borrow_mut(), boot);
            1
        }),
        Case::new("4 KiB pages only (xv6 kvmmake) + destroy", || {
            build_4k_only::<M>(arena, &mut pool.borrow_mut(), ram_bytes);
            1
        }),
    ];
    compare(&label, &mut cases, rounds());
    let per_mib = |f: usize| f as f64 / (mapped as f64 / MIB as f64);
    println!(
        "\n{label}: {:.1} MiB mapped (RAM + devices + trampoline); table frames: \
         rvmm {frames} ({:.4} per MiB), 4 KiB only {frames_4k} ({:.4} per MiB)",
        mapped as f64 / MIB as f64,
        per_mib(frames),
        per_mib(frames_4k),
    );
}

fn main() {
    let arena = Arena::new(ARENA_BASE, ARENA_FRAMES * PAGE_SIZE);
    // Touch every frame once so no round pays the host's first-touch page faults.
    for i in 0..ARENA_FRAMES as u64 {
        let pa = PhysAddr::new(ARENA_BASE + i * PAGE_SIZE as u64).expect("arena");
        arena
            .fill_bytes(Frame::containing(pa), 0, PAGE_SIZE, 1)
            .expect("arena frame");
    }
    bench::<Sv39>(&arena, 128 * MIB);
    bench::<Sv39>(&arena, 4 * GIB);
    bench::<Sv32>(&arena, 128 * MIB);
    bench::<Sv32>(&arena, GIB);
}
