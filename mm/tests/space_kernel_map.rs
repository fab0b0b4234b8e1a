//! The kernel map of a QEMU `virt` shaped machine, checked with the independent spec walker on
//! both modes: RAM identity-mapped with the right permissions and superpages, devices, the
//! trampoline, W^X, no U, G everywhere, and the description rows.

mod space_kernel_common;

use rvmm::addr::{PAGE_SIZE, PageSize, VirtAddr};
use rvmm::paging::{Mode, Perms, Sv32, Sv39};
use rvmm::space::kernel::{BootDescription, Device, KernelImage, KernelStacks, MapRow, Region};
use rvmm::space::{trampoline_page, trap_frame_page};
use rvmm_testkit::spec::{self, Access, PTE_G, PTE_R, PTE_U, PTE_W, PTE_X, SpecFault};
use space_kernel_common::*;

const PAGE: u64 = PAGE_SIZE as u64;

/// What the spec walker must see for a RAM page of the virt description.
fn expected_flags(a: u64) -> u64 {
    match a {
        _ if a < TEXT_END => PTE_R | PTE_X,
        _ if a < RODATA_END => PTE_R,
        _ => PTE_R | PTE_W,
    }
}

fn every_ram_page_maps_to_itself<M: Mode>() {
    let arena = arena();
    let mut frames = frames(&arena);
    let space = build::<M>(virt(&RAM), &arena, &mut frames);
    let (mode, root) = (spec_mode::<M>(), root(&space));
    // Every 4 KiB page (32768), a sample under Miri.
    let step = if cfg!(miri) { 97 * PAGE } else { PAGE };
    let mut checked = 0;
    for a in (RAM_BASE..RAM_BASE + RAM_SIZE).step_by(step as usize) {
        let va = a + 0x123;
        let t = spec::translate(&arena, mode, root, va, Access::read())
            .unwrap_or_else(|f| panic!("{va:#x} does not translate: {f:?}"));
        assert_eq!(t.pa.as_u64(), va, "{va:#x} is not identity-mapped");
        let rwxu = u64::from(t.flags) & (PTE_R | PTE_W | PTE_X | PTE_U);
        assert_eq!(rwxu, expected_flags(a), "permissions of {a:#x}");
        assert!(t.global, "{a:#x} is not global");
        let write = spec::translate(&arena, mode, root, va, Access::write());
        assert_eq!(write.is_ok(), rwxu & PTE_W != 0, "store to {a:#x}");
        let fetch = spec::translate(&arena, mode, root, va, Access::execute());
        assert_eq!(fetch.is_ok(), rwxu & PTE_X != 0, "fetch from {a:#x}");
        let user = spec::translate(&arena, mode, root, va, Access::read().from_user());
        assert!(
            matches!(user, Err(SpecFault::Permission { .. })),
            "user read of {a:#x}"
        );
        checked += 1;
    }
    assert!(checked >= RAM_SIZE / step);
    for outside in [RAM_BASE - 1, RAM_BASE + RAM_SIZE] {
        assert!(spec::translate(&arena, mode, root, outside, Access::read()).is_err());
    }
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

#[test]
fn every_ram_page_maps_to_itself_sv39() {
    every_ram_page_maps_to_itself::<Sv39>();
}

#[test]
fn every_ram_page_maps_to_itself_sv32() {
    every_ram_page_maps_to_itself::<Sv32>();
}

/// Counts the RAM leaves of each size.
fn ram_leaf_sizes<M: Mode>(arena: &rvmm_testkit::Arena, space: &Space<'_, '_, M>) -> [usize; 3] {
    let mut counts = [0; 3];
    for leaf in leaves(arena, space) {
        if (RAM_BASE..RAM_BASE + RAM_SIZE).contains(&leaf.va) {
            let i = M::LEAF_SIZES.iter().position(|&s| s == leaf.size).unwrap();
            counts[i] += 1;
        }
    }
    counts
}

fn superpages_wherever_aligned<M: Mode>() {
    let arena = arena();
    let mut frames = frames(&arena);
    let space = build::<M>(virt(&RAM), &arena, &mut frames);
    let mega = mega::<M>();
    // Only the megapage holding the kernel image is split into 4 KiB pages.
    let per_mega = mega.base_pages();
    let megas = (RAM_SIZE / mega.bytes()) as usize - 1;
    assert_eq!(ram_leaf_sizes(&arena, &space), [per_mega, megas, 0]);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

#[test]
fn superpages_wherever_aligned_sv39() {
    superpages_wherever_aligned::<Sv39>();
}

#[test]
fn superpages_wherever_aligned_sv32() {
    superpages_wherever_aligned::<Sv32>();
}

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
    let tables = table_frames(&arena, space.table());
    assert_eq!(tables, frames.outstanding());
    assert!(tables <= 10, "{tables} table frames for 4 GiB");
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn no_writable_executable_or_user_page_and_all_global<M: Mode>() {
    let arena = arena();
    let mut frames = frames(&arena);
    let boot = virt_with_stacks(KernelStacks::new(8).mapped_at_build(8));
    let space = build::<M>(boot, &arena, &mut frames);
    let all = leaves(&arena, &space);
    assert!(all.len() > 100);
    for leaf in &all {
        let f = u64::from(leaf.flags);
        assert!(f & (PTE_W | PTE_X) != PTE_W | PTE_X, "W+X leaf {leaf:x?}");
        assert_eq!(f & PTE_U, 0, "user leaf {leaf:x?}");
        assert!(leaf.global && f & PTE_G != 0, "non-global leaf {leaf:x?}");
    }
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

#[test]
fn no_writable_executable_or_user_page_and_all_global_sv39() {
    no_writable_executable_or_user_page_and_all_global::<Sv39>();
}

#[test]
fn no_writable_executable_or_user_page_and_all_global_sv32() {
    no_writable_executable_or_user_page_and_all_global::<Sv32>();
}

fn trampoline_at_the_top<M: Mode>(expected_va: u64) {
    let arena = arena();
    let mut frames = frames(&arena);
    let space = build::<M>(virt(&RAM), &arena, &mut frames);
    let (mode, root) = (spec_mode::<M>(), root(&space));
    assert_eq!(trampoline_page::<M>().start().as_u64(), expected_va);
    let t = spec::translate(&arena, mode, root, expected_va + 0x10, Access::execute()).unwrap();
    assert_eq!(t.pa.as_u64(), TRAMPOLINE_PA + 0x10);
    assert_eq!(t.page_size, PageSize::Size4KiB);
    assert_eq!(
        u64::from(t.flags) & (PTE_R | PTE_W | PTE_X | PTE_U),
        PTE_R | PTE_X
    );
    assert!(spec::translate(&arena, mode, root, expected_va, Access::write()).is_err());
    let guard = trap_frame_page::<M>().start().as_u64();
    let below = spec::translate(&arena, mode, root, guard, Access::read());
    assert!(matches!(below, Err(SpecFault::Invalid { .. })), "{below:?}");
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

#[test]
fn trampoline_at_the_top_sv39() {
    trampoline_at_the_top::<Sv39>(0x3F_FFFF_F000);
}

#[test]
fn trampoline_at_the_top_sv32() {
    trampoline_at_the_top::<Sv32>(0xFFFF_F000);
}

fn devices_read_write_not_executable<M: Mode>() {
    let arena = arena();
    let mut frames = frames(&arena);
    let space = build::<M>(virt(&RAM), &arena, &mut frames);
    let (mode, root) = (spec_mode::<M>(), root(&space));
    for d in DEVICES {
        for a in (d.base..d.base + d.size).step_by(PAGE_SIZE) {
            let t = spec::translate(&arena, mode, root, a, Access::write()).unwrap();
            assert_eq!(t.pa.as_u64(), a, "{} at {a:#x}", d.name);
            assert!(spec::translate(&arena, mode, root, a, Access::execute()).is_err());
        }
        let below = d.base - 1;
        // Mapped only when it is another device's page (the UART's 0x100 bytes below virtio).
        let page_of = |o: &Device| (o.base & !(PAGE - 1))..(o.base + o.size).next_multiple_of(PAGE);
        let other = DEVICES.iter().any(|o| page_of(o).contains(&below));
        let before = spec::translate(&arena, mode, root, below, Access::read());
        assert_eq!(before.is_ok(), other, "page below {}", d.name);
    }
    // The PLIC is one 4 MiB megapage on Sv32, two 2 MiB ones on Sv39.
    let plic = space
        .table()
        .translate(VirtAddr::new(0x0C00_0000).unwrap())
        .unwrap();
    assert_eq!(plic.size, mega::<M>());
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

#[test]
fn devices_read_write_not_executable_sv39() {
    devices_read_write_not_executable::<Sv39>();
}

#[test]
fn devices_read_write_not_executable_sv32() {
    devices_read_write_not_executable::<Sv32>();
}

fn row(va: u64, to: u64, len: u64, perms: Perms, size: PageSize, what: Region) -> MapRow {
    MapRow {
        va: VirtAddr::try_from(va).unwrap(),
        pa: pa(to),
        len,
        perms: perms | Perms::G,
        page_size: size,
        what,
    }
}

fn describe_rows_match_the_map<M: Mode>() {
    let arena = arena();
    let mut frames = frames(&arena);
    let boot = virt_with_stacks(KernelStacks::new(4).mapped_at_build(2));
    let space = build::<M>(boot, &arena, &mut frames);
    let (k4, mega) = (PageSize::Size4KiB, mega::<M>());
    let id = |start: u64, len, perms, size, what| row(start, start, len, perms, size, what);
    let mut expected = vec![
        id(0x0010_0000, PAGE, Perms::RW, k4, Region::Device("test")),
        id(
            0x0200_0000,
            64 * KIB,
            Perms::RW,
            k4,
            Region::Device("clint"),
        ),
        id(
            0x0C00_0000,
            4 * MIB,
            Perms::RW,
            mega,
            Region::Device("plic"),
        ),
        id(0x1000_0000, PAGE, Perms::RW, k4, Region::Device("uart")),
        id(0x1000_1000, PAGE, Perms::RW, k4, Region::Device("virtio")),
        id(RAM_BASE, TEXT_END - RAM_BASE, Perms::RX, k4, Region::Text),
        id(
            TEXT_END,
            RODATA_END - TEXT_END,
            Perms::R,
            k4,
            Region::Rodata,
        ),
        id(
            RODATA_END,
            DATA_END - RODATA_END,
            Perms::RW,
            k4,
            Region::Data,
        ),
        id(
            DATA_END,
            RAM_BASE + mega.bytes() - DATA_END,
            Perms::RW,
            k4,
            Region::Ram,
        ),
        id(
            RAM_BASE + mega.bytes(),
            RAM_SIZE - mega.bytes(),
            Perms::RW,
            mega,
            Region::Ram,
        ),
    ];
    // Stacks from the lowest address up: slot 1, then slot 0. Their frames come from the
    // arena one after the other, so each stack is one run.
    for slot in [1, 0] {
        let pages = space.stack_pages(slot).unwrap();
        let va = pages.start().start();
        let frame = space.table().translate(va).unwrap().pa.as_u64();
        let len = pages.len_u64();
        expected.push(row(
            va.as_u64(),
            frame,
            len,
            Perms::RW,
            k4,
            Region::KernelStack(slot),
        ));
    }
    let top = trampoline_page::<M>().start().as_u64();
    expected.push(row(
        top,
        TRAMPOLINE_PA,
        PAGE,
        Perms::RX,
        k4,
        Region::Trampoline,
    ));
    let rows: Vec<MapRow> = space.describe().collect();
    assert_eq!(rows, expected);
    let text = format!("{}", rows[5]);
    assert_eq!(
        text,
        "0x80000000..0x80020000 -> 0x80000000..0x80020000 R-X-G 4K text"
    );
    assert!(format!("{}", rows[11]).ends_with("RW--G 4K kernel stack 0"));
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

#[test]
fn describe_rows_match_the_map_sv39() {
    describe_rows_match_the_map::<Sv39>();
}

#[test]
fn describe_rows_match_the_map_sv32() {
    describe_rows_match_the_map::<Sv32>();
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
    let dtb: Vec<&MapRow> = rows.iter().filter(|r| r.what == Region::Reserved).collect();
    assert_eq!(dtb.len(), 1);
    assert_eq!((dtb[0].va.as_u64(), dtb[0].len), (0x87e0_0000, 2 * PAGE));
    assert_eq!(dtb[0].perms, Perms::R | Perms::G);
    let megas = (RAM_SIZE / mega::<M>().bytes()) as usize - 2;
    assert_eq!(ram_leaf_sizes(&arena, &space)[1], megas);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

#[test]
fn reserved_range_is_read_only_sv39() {
    reserved_range_is_read_only::<Sv39>();
}

#[test]
fn reserved_range_is_read_only_sv32() {
    reserved_range_is_read_only::<Sv32>();
}

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
        .table()
        .translate(VirtAddr::new((RAM_BASE + m) as usize).unwrap());
    assert_eq!(shared.unwrap().size, mega::<M>());
    let rows: Vec<(u64, u64, PageSize, Region)> = space
        .describe()
        .filter(|r| r.what != Region::Trampoline)
        .map(|r| (r.va.as_u64(), r.len, r.page_size, r.what))
        .collect();
    let (k4, mp) = (PageSize::Size4KiB, mega::<M>());
    let end = RAM_BASE + RAM_SIZE;
    assert_eq!(
        rows,
        [
            (RAM_BASE, m / 2, k4, Region::Text),
            (RAM_BASE + m / 2, m / 4, k4, Region::Rodata),
            (RAM_BASE + 3 * m / 4, m / 4, k4, Region::Data),
            (RAM_BASE + m, 3 * m / 4, mp, Region::Data),
            (
                RAM_BASE + 7 * m / 4,
                end - RAM_BASE - 7 * m / 4,
                mp,
                Region::Ram
            ),
        ]
    );
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

#[test]
fn data_and_free_ram_share_a_megapage_sv39() {
    data_and_free_ram_share_a_megapage::<Sv39>();
}

#[test]
fn data_and_free_ram_share_a_megapage_sv32() {
    data_and_free_ram_share_a_megapage::<Sv32>();
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
    let t = |a: u64| space.table().translate(VirtAddr::try_from(a).unwrap());
    assert!(t(0x9000_0000).is_none() && t(0x9000_1000).is_some());
    assert!(t(0x907F_FFFF).is_some() && t(0x9080_0000).is_none());
    assert!(t(RAM_BASE + 64 * MIB - 1).is_some() && t(RAM_BASE + 64 * MIB).is_none());
    assert!(t(0x1000_0800).is_some() && t(0x1000_1000).is_none());
    let named: Vec<(u64, Region)> = space
        .describe()
        .filter(|r| matches!(r.what, Region::Device(_)))
        .map(|r| (r.va.as_u64(), r.what))
        .collect();
    assert_eq!(named, [(0x1000_0000, Region::Device("a"))]);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

#[test]
fn ranges_in_any_order_edges_trimmed_sv39() {
    ranges_in_any_order_edges_trimmed::<Sv39>();
}

#[test]
fn ranges_in_any_order_edges_trimmed_sv32() {
    ranges_in_any_order_edges_trimmed::<Sv32>();
}

fn satp_selects_the_root_with_asid_zero<M: Mode>(mode_bits: u64) {
    let arena = arena();
    let mut frames = frames(&arena);
    let space = build::<M>(virt(&RAM), &arena, &mut frames);
    let root = space.table().root().number();
    assert_eq!(space.satp(), mode_bits | root);
    let satp = spec::Satp::new(spec_mode::<M>(), 0, space.table().root().start()).unwrap();
    assert_eq!(space.satp(), satp.encode());
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

#[test]
fn satp_selects_the_root_with_asid_zero_sv39() {
    satp_selects_the_root_with_asid_zero::<Sv39>(8 << 60);
}

#[test]
fn satp_selects_the_root_with_asid_zero_sv32() {
    satp_selects_the_root_with_asid_zero::<Sv32>(1 << 31);
}
