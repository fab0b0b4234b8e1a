//! The kernel map of a QEMU `virt` shaped machine, checked with the independent spec walker on
//! both modes: RAM identity-mapped with the right permissions and superpages, devices, the
//! trampoline, W^X, no U, G everywhere, and the description rows.

mod space_kernel_common;

use rvmm::addr::{PAGE_SIZE, PageSize, VirtAddr};
use rvmm::paging::{Mapping, Mode, Perms, Sv32, Sv39};
use rvmm::space::kernel::{Device, KernelRegion, KernelStacks, MapRow};
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

rvmm_testkit::both_modes!(
    every_ram_page_maps_to_itself,
    superpages_wherever_aligned,
    no_writable_executable_or_user_page_and_all_global,
    devices_read_write_not_executable,
    describe_rows_match_the_map,
);

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

fn no_writable_executable_or_user_page_and_all_global<M: Mode>() {
    let arena = arena();
    let mut frames = frames(&arena);
    let boot = virt_with_stacks(KernelStacks::new(8).with_mapped_at_build(8));
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
        .page_table()
        .translate(VirtAddr::new(0x0C00_0000).unwrap())
        .unwrap();
    assert_eq!(plic.size, mega::<M>());
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn row(va: u64, to: u64, len: u64, perms: Perms, size: PageSize, what: KernelRegion) -> MapRow {
    let mapping = Mapping {
        va: VirtAddr::try_from(va).unwrap(),
        pa: pa(to),
        len,
        perms: perms | Perms::G,
        size,
        owned: matches!(what, KernelRegion::KernelStack(_)),
    };
    MapRow { mapping, what }
}

fn describe_rows_match_the_map<M: Mode>() {
    let arena = arena();
    let mut frames = frames(&arena);
    let boot = virt_with_stacks(KernelStacks::new(4).with_mapped_at_build(2));
    let space = build::<M>(boot, &arena, &mut frames);
    let (k4, mega) = (PageSize::Size4KiB, mega::<M>());
    let id = |start: u64, len, perms, size, what| row(start, start, len, perms, size, what);
    let mut expected = vec![
        id(
            0x0010_0000,
            PAGE,
            Perms::RW,
            k4,
            KernelRegion::Device("test"),
        ),
        id(
            0x0200_0000,
            64 * KIB,
            Perms::RW,
            k4,
            KernelRegion::Device("clint"),
        ),
        id(
            0x0C00_0000,
            4 * MIB,
            Perms::RW,
            mega,
            KernelRegion::Device("plic"),
        ),
        id(
            0x1000_0000,
            PAGE,
            Perms::RW,
            k4,
            KernelRegion::Device("uart"),
        ),
        id(
            0x1000_1000,
            PAGE,
            Perms::RW,
            k4,
            KernelRegion::Device("virtio"),
        ),
        id(
            RAM_BASE,
            TEXT_END - RAM_BASE,
            Perms::RX,
            k4,
            KernelRegion::Text,
        ),
        id(
            TEXT_END,
            RODATA_END - TEXT_END,
            Perms::R,
            k4,
            KernelRegion::Rodata,
        ),
        id(
            RODATA_END,
            DATA_END - RODATA_END,
            Perms::RW,
            k4,
            KernelRegion::Data,
        ),
        id(
            DATA_END,
            RAM_BASE + mega.bytes() - DATA_END,
            Perms::RW,
            k4,
            KernelRegion::Ram,
        ),
        id(
            RAM_BASE + mega.bytes(),
            RAM_SIZE - mega.bytes(),
            Perms::RW,
            mega,
            KernelRegion::Ram,
        ),
    ];
    // Stacks from the lowest address up: slot 1, then slot 0. Their frames come from the
    // arena one after the other, so each stack is one run.
    for slot in [1, 0] {
        let pages = space.stack_pages(slot).unwrap();
        let va = pages.start().start();
        let frame = space.page_table().translate(va).unwrap().pa.as_u64();
        let len = pages.len_u64();
        expected.push(row(
            va.as_u64(),
            frame,
            len,
            Perms::RW,
            k4,
            KernelRegion::KernelStack(slot),
        ));
    }
    let top = trampoline_page::<M>().start().as_u64();
    expected.push(row(
        top,
        TRAMPOLINE_PA,
        PAGE,
        Perms::RX,
        k4,
        KernelRegion::Trampoline,
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

fn satp_selects_the_root_with_asid_zero<M: Mode>(mode_bits: u64) {
    let arena = arena();
    let mut frames = frames(&arena);
    let space = build::<M>(virt(&RAM), &arena, &mut frames);
    let root = space.page_table().root().number();
    assert_eq!(space.satp(), mode_bits | root);
    let satp = spec::Satp::new(spec_mode::<M>(), 0, space.page_table().root().start()).unwrap();
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
