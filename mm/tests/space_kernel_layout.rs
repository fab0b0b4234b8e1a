//! Kernel maps of other shapes than plain `virt`, on both modes: 4 GiB with gigapages, a
//! reserved range, data sharing a megapage with free RAM, RAM ranges out of order with
//! unaligned edges, devices sharing a page.

mod space_kernel_common;

use rvmm::addr::{PAGE_SIZE, PageSize, VirtAddr};
use rvmm::paging::{Mode, Perms, Sv39};
use rvmm::space::kernel::{BootDescription, Device, KernelImage, KernelRegion, MapRow};
use rvmm_testkit::spec::{self, Access};
use space_kernel_common::*;

const PAGE: u64 = PAGE_SIZE as u64;

#[test]
fn four_gib_of_ram_uses_gigapages_sv39() {
    let ram = [r(RAM_BASE, 4 * GIB)];
    let arena = arena();
    let mut frames = frames(&arena);
    let space = build::<Sv39>(virt(&ram), &arena, &mut frames);
    let mut sizes = [0; 3];
    for leaf in leaves(&arena, &space) {
        if leaf.va >= RAM_BASE && leaf.va < RAM_BASE + 4 * GIB {
            sizes[leaf.size.shift() as usize / 9 - 1] += 1;
        }
    }
    // 0x8000_0000..0xC000_0000: one 2 MiB region split for the image, 511 megapages; then the
    // three gigabyte-aligned gigabytes 0xC000_0000, 0x1_0000_0000, 0x1_4000_0000.
    assert_eq!(sizes, [512, 511, 3]);
    let (mode, root) = (spec_mode::<Sv39>(), root(&space));
    for a in [0xC000_0000u64, 0x1_2345_6789, RAM_BASE + 4 * GIB - 1] {
        let t = spec::translate(&arena, mode, root, a, Access::write()).unwrap();
        assert_eq!(t.pa.as_u64(), a);
    }
    // Page tables: root, the level-1 table of the first GiB, the level-0 table of the image
    // megapage; the devices and the trampoline add their own.
    let tables = table_frames(&arena, space.page_table());
    assert_eq!(tables, frames.outstanding());
    assert!(tables <= 10, "{tables} table frames for 4 GiB");
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

/// The device tree blob QEMU puts near the top of 128 MiB, reserved: read-only, its pages cut
/// out of the megapage around it, and a row of its own.
fn reserved_range_is_read_only<M: Mode>() {
    let reserved = [r(0x87e0_0000, 0x1a3c)];
    let boot = virt(&RAM).with_reserved(&reserved);
    let arena = arena();
    let mut frames = frames(&arena);
    let space = build::<M>(boot, &arena, &mut frames);
    let (mode, root) = (spec_mode::<M>(), root(&space));
    for (a, writable) in [
        (0x87e0_0000, false),
        (0x87e0_1fff, false),
        (0x87e0_2000, true),
    ] {
        let read = spec::translate(&arena, mode, root, a, Access::read()).unwrap();
        assert_eq!(read.pa.as_u64(), a);
        assert_eq!(read.page_size, PageSize::Size4KiB);
        let write = spec::translate(&arena, mode, root, a, Access::write());
        assert_eq!(write.is_ok(), writable, "store to {a:#x}");
    }
    let rows: Vec<MapRow> = space.describe().collect();
    let dtb: Vec<&MapRow> = rows
        .iter()
        .filter(|r| r.what == KernelRegion::Reserved)
        .collect();
    assert_eq!(dtb.len(), 1);
    let dtb = dtb[0].mapping;
    assert_eq!((dtb.va.as_u64(), dtb.len), (0x87e0_0000, 2 * PAGE));
    assert_eq!(dtb.perms, Perms::R | Perms::G);
    let megas = (RAM_SIZE / mega::<M>().bytes()) as usize - 2;
    assert_eq!(ram_leaf_sizes(&arena, &space)[1], megas);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

rvmm_testkit::both_modes!(
    reserved_range_is_read_only,
    data_and_free_ram_share_a_megapage,
    ranges_in_any_order_edges_trimmed,
);

/// Data and the free RAM after it have the same permissions, so one megapage may hold both;
/// the rows still say where data ends.
fn data_and_free_ram_share_a_megapage<M: Mode>() {
    let m = mega::<M>().bytes();
    let img = KernelImage {
        text: r(RAM_BASE, m / 2),
        rodata: r(RAM_BASE + m / 2, m / 4),
        data: r(RAM_BASE + 3 * m / 4, m),
    };
    let boot = BootDescription::new(&RAM, img, frame(RAM_BASE));
    let arena = arena();
    let mut frames = frames(&arena);
    let space = build::<M>(boot, &arena, &mut frames);
    let shared = space
        .page_table()
        .translate(VirtAddr::new((RAM_BASE + m) as usize).unwrap());
    assert_eq!(shared.unwrap().size, mega::<M>());
    let rows: Vec<(u64, u64, PageSize, KernelRegion)> = space
        .describe()
        .filter(|r| r.what != KernelRegion::Trampoline)
        .map(|r| (r.mapping.va.as_u64(), r.mapping.len, r.mapping.size, r.what))
        .collect();
    let (k4, mp) = (PageSize::Size4KiB, mega::<M>());
    let end = RAM_BASE + RAM_SIZE;
    assert_eq!(
        rows,
        [
            (RAM_BASE, m / 2, k4, KernelRegion::Text),
            (RAM_BASE + m / 2, m / 4, k4, KernelRegion::Rodata),
            (RAM_BASE + 3 * m / 4, m / 4, k4, KernelRegion::Data),
            (RAM_BASE + m, 3 * m / 4, mp, KernelRegion::Data),
            (
                RAM_BASE + 7 * m / 4,
                end - RAM_BASE - 7 * m / 4,
                mp,
                KernelRegion::Ram
            ),
        ]
    );
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

/// RAM in two ranges listed out of order, with a hole and unaligned edges; two devices in one
/// page. Edges are trimmed inward, the shared page mapped once and named after the first.
fn ranges_in_any_order_edges_trimmed<M: Mode>() {
    let ram = [r(0x9000_0800, 8 * MIB), r(RAM_BASE, 64 * MIB + 0x800)];
    let devices = [
        Device::new("b", 0x1000_0800, 0x100),
        Device::new("a", 0x1000_0000, 0x10),
    ];
    let boot = virt(&ram).with_devices(&devices);
    let arena = arena();
    let mut frames = frames(&arena);
    let space = build::<M>(boot, &arena, &mut frames);
    let t = |a: u64| space.page_table().translate(VirtAddr::try_from(a).unwrap());
    assert!(t(0x9000_0000).is_none() && t(0x9000_1000).is_some());
    assert!(t(0x907F_FFFF).is_some() && t(0x9080_0000).is_none());
    assert!(t(RAM_BASE + 64 * MIB - 1).is_some() && t(RAM_BASE + 64 * MIB).is_none());
    assert!(t(0x1000_0800).is_some() && t(0x1000_1000).is_none());
    let named: Vec<(u64, KernelRegion)> = space
        .describe()
        .filter(|r| matches!(r.what, KernelRegion::Device(_)))
        .map(|r| (r.mapping.va.as_u64(), r.what))
        .collect();
    assert_eq!(named, [(0x1000_0000, KernelRegion::Device("a"))]);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}
