//! The QEMU `virt` shaped boot description and helpers shared by the kernel-map tests.
#![allow(dead_code)] // each test file uses its own subset

use rvmm::addr::{Frame, PageSize, PhysAddr, PhysRange};
use rvmm::paging::{Mode, PageTable, Sv39};
use rvmm::space::kernel::{BootDescription, Device, KernelImage, KernelSpace, KernelStacks};
use rvmm_testkit::spec::{self, SpecLeaf, SpecMode};
use rvmm_testkit::{Arena, ArenaFrames, FailPlan, Failing, Tracking};

pub const KIB: u64 = 1 << 10;
pub const MIB: u64 = 1 << 20;
pub const GIB: u64 = 1 << 30;

pub const RAM_BASE: u64 = 0x8000_0000;
pub const RAM_SIZE: u64 = 128 * MIB;
pub const TEXT_END: u64 = 0x8002_0000;
pub const RODATA_END: u64 = 0x8003_0000;
pub const DATA_END: u64 = 0x8005_0000;
/// The trampoline's frame: the second page of text.
pub const TRAMPOLINE_PA: u64 = 0x8000_1000;
/// Where the page-table frames come from: free RAM of the description, as in the kernel.
pub const ARENA_BASE: u64 = 0x8400_0000;

/// `[start, start + len)`; test input, so a bad one is a bug in the test.
pub const fn r(start: u64, len: u64) -> PhysRange {
    match PhysRange::with_len(start, len) {
        Ok(range) => range,
        Err(_) => panic!("bad test range"),
    }
}

pub fn pa(a: u64) -> PhysAddr {
    PhysAddr::new(a).unwrap()
}

pub fn frame(a: u64) -> Frame {
    Frame::from_start(pa(a)).unwrap()
}

pub const RAM: [PhysRange; 1] = [r(RAM_BASE, RAM_SIZE)];

/// The devices of QEMU `virt` that the reference kernel uses.
pub const DEVICES: [Device; 5] = [
    Device::new("uart", 0x1000_0000, 0x100),
    Device::new("virtio", 0x1000_1000, 0x1000),
    Device::new("plic", 0x0C00_0000, 4 * MIB),
    Device::new("clint", 0x0200_0000, 64 * KIB),
    Device::new("test", 0x0010_0000, 0x1000),
];

pub fn image() -> KernelImage {
    KernelImage {
        text: r(RAM_BASE, TEXT_END - RAM_BASE),
        rodata: r(TEXT_END, RODATA_END - TEXT_END),
        data: r(RODATA_END, DATA_END - RODATA_END),
    }
}

/// QEMU `virt` with 128 MiB: the kernel image at the start of RAM, the five devices, no
/// stacks (tests add their own).
pub fn virt(ram: &[PhysRange]) -> BootDescription<'_> {
    BootDescription::new(ram, image(), frame(TRAMPOLINE_PA)).with_devices(&DEVICES)
}

pub fn virt_with_stacks(stacks: KernelStacks) -> BootDescription<'static> {
    BootDescription::new(&RAM, image(), frame(TRAMPOLINE_PA))
        .with_devices(&DEVICES)
        .with_stacks(stacks)
}

/// An arena for page-table and stack frames.
pub fn arena() -> Arena {
    Arena::new(ARENA_BASE, if cfg!(miri) { 256 } else { 2048 } * 4096)
}

/// Frames that are counted and can be made to fail.
pub type Frames<'a> = Tracking<Failing<ArenaFrames<'a>>>;

pub fn frames(arena: &Arena) -> Frames<'_> {
    Tracking::new(Failing::new(ArenaFrames::new(arena), FailPlan::Never))
}

pub type Space<'b, 'a, M> = KernelSpace<'b, M, &'a Arena>;

pub fn build<'b, 'a, M: Mode>(
    boot: BootDescription<'b>,
    arena: &'a Arena,
    frames: &mut Frames<'a>,
) -> Space<'b, 'a, M> {
    KernelSpace::build(boot, arena, frames).expect("valid description")
}

pub fn spec_mode<M: Mode>() -> SpecMode {
    if M::NAME == Sv39::NAME {
        SpecMode::Sv39
    } else {
        SpecMode::Sv32
    }
}

/// The megapage size of the mode: 2 MiB on Sv39, 4 MiB on Sv32.
pub fn mega<M: Mode>() -> PageSize {
    M::LEAF_SIZES[1]
}

pub fn root<M: Mode>(space: &Space<'_, '_, M>) -> PhysAddr {
    space.page_table().root().start()
}

/// Every leaf as the spec walker sees it (panics on a malformed entry).
pub fn leaves<M: Mode>(arena: &Arena, space: &Space<'_, '_, M>) -> Vec<SpecLeaf> {
    spec::leaves(arena, spec_mode::<M>(), root(space))
}

/// Frames the table's tree holds, counted by the spec walker.
pub fn table_frames<M: Mode, P: rvmm::PhysMem>(arena: &Arena, table: &PageTable<M, P>) -> usize {
    spec::walk(arena, spec_mode::<M>(), table.root().start())
        .tables
        .len()
}

/// Counts the RAM leaves of each size.
pub fn ram_leaf_sizes<M: Mode>(
    arena: &rvmm_testkit::Arena,
    space: &Space<'_, '_, M>,
) -> [usize; 3] {
    let mut counts = [0; 3];
    for leaf in leaves(arena, space) {
        if (RAM_BASE..RAM_BASE + RAM_SIZE).contains(&leaf.va) {
            let i = M::LEAF_SIZES.iter().position(|&s| s == leaf.size).unwrap();
            counts[i] += 1;
        }
    }
    counts
}
