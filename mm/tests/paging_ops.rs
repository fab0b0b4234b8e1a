//! Page-table operations on both modes: map, translate, unmap, protect, splits, iteration,
//! rollback on every failing allocation, and the top of the address space.

use rvmm::addr::{PageRange, PageSize, PhysAddr, VirtAddr};
use rvmm::paging::{AsidOutOfRange, MapError, MapNewError, Mapping, Mode, PageSizes, PageTable};
use rvmm::paging::{Perms, ProtectError, Sv32, Sv39, UnmapError};
use rvmm::tlb::FlushScope;
use rvmm_testkit::{Arena, ArenaFrames, FailPlan, Failing, Tracking};

const MIB: u64 = 1 << 20;

fn arena() -> Arena {
    Arena::new(0x8000_0000, if cfg!(miri) { 64 } else { 1024 } * 4096)
}

fn va(a: u64) -> VirtAddr {
    VirtAddr::try_from(a).unwrap()
}

fn pa(a: u64) -> PhysAddr {
    PhysAddr::new(a).unwrap()
}

fn range(start: u64, len: u64) -> PageRange {
    PageRange::new(va(start), len as usize).unwrap()
}

fn mega<M: Mode>() -> u64 {
    M::LEAF_SIZES[1].bytes()
}

type Table<'a, M> = PageTable<M, &'a Arena>;

fn all<M: Mode>(t: &Table<'_, M>) -> Vec<Mapping> {
    t.mappings().collect()
}

fn superpages_where_aligned<M: Mode>() {
    let arena = arena();
    let mut frames = Tracking::new(ArenaFrames::new(&arena));
    let mut t = Table::<M>::new(&arena, &mut frames).unwrap();
    let m = mega::<M>();
    // One 4 KiB page before a megapage boundary, two megapages, one page after.
    let start = 0x4000_0000 - 0x1000;
    let len = 0x1000 + 2 * m + 0x1000;
    t.map(
        range(start, len),
        pa(start),
        Perms::RW,
        PageSizes::Largest,
        &mut frames,
    )
    .unwrap()
    .ignore();
    let sizes: Vec<PageSize> = all(&t).iter().map(|r| r.size).collect();
    assert_eq!(
        sizes,
        [PageSize::Size4KiB, M::LEAF_SIZES[1], PageSize::Size4KiB]
    );
    let tr = t.translate(va(0x4000_0000 + m + 0x123)).unwrap();
    assert_eq!(
        (tr.pa.as_u64(), tr.size, tr.perms),
        (0x4000_0000 + m + 0x123, M::LEAF_SIZES[1], Perms::RW)
    );
    assert!(t.translate(va(start - 1)).is_none());
    assert!(t.translate(va(start + len)).is_none());
    t.destroy(&mut frames);
    frames.assert_no_leaks();
}

rvmm_testkit::both_modes!(
    superpages_where_aligned,
    overlap_is_refused_and_named,
    bad_input_is_refused,
    partial_unmap_and_protect_split_superpages,
    map_of_many_tables_rolls_back,
    last_page_of_the_space,
    above_the_top_is_unmapped,
);

#[test]
fn gigapage_on_sv39_and_only_4k_policy() {
    let arena = arena();
    let mut frames = Tracking::new(ArenaFrames::new(&arena));
    let mut t = Table::<Sv39>::new(&arena, &mut frames).unwrap();
    t.map(
        range(0x4000_0000, 1 << 30),
        pa(0x8000_0000),
        Perms::RX,
        PageSizes::Largest,
        &mut frames,
    )
    .unwrap()
    .ignore();
    assert_eq!(
        frames.outstanding(),
        1,
        "a gigapage needs no table below the root"
    );
    assert_eq!(
        t.translate(va(0x4000_0000)).unwrap().size,
        PageSize::Size1GiB
    );
    t.map(
        range(0x1_0000_0000, 4 * MIB),
        pa(0x1_0000_0000),
        Perms::R,
        PageSizes::Only4KiB,
        &mut frames,
    )
    .unwrap()
    .ignore();
    let runs = all(&t);
    assert_eq!(runs.len(), 2);
    assert_eq!((runs[1].size, runs[1].len), (PageSize::Size4KiB, 4 * MIB));
    t.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn overlap_is_refused_and_named<M: Mode>() {
    let arena = arena();
    let mut frames = Tracking::new(ArenaFrames::new(&arena));
    let mut t = Table::<M>::new(&arena, &mut frames).unwrap();
    let m = mega::<M>();
    t.map(
        range(m, m),
        pa(2 * m),
        Perms::R,
        PageSizes::Largest,
        &mut frames,
    )
    .unwrap()
    .ignore();
    t.map(
        range(3 * m + 0x5000, 0x1000),
        pa(0x7000),
        Perms::RW,
        PageSizes::Largest,
        &mut frames,
    )
    .unwrap()
    .ignore();
    let before = all(&t);
    let outstanding = frames.outstanding();
    // 4 KiB pages running into the megapage.
    let e = t.map(
        range(m - 0x2000, 0x3000),
        pa(0),
        Perms::R,
        PageSizes::Only4KiB,
        &mut frames,
    );
    match e {
        Err(MapError::AlreadyMapped(found)) => {
            assert_eq!(
                (found.va.as_u64(), found.pa.as_u64(), found.size),
                (m, 2 * m, M::LEAF_SIZES[1])
            )
        }
        other => panic!("expected AlreadyMapped, got {other:?}"),
    }
    // A megapage over a table holding one 4 KiB page names that page.
    let e = t.map(
        range(3 * m, m),
        pa(0),
        Perms::R,
        PageSizes::Largest,
        &mut frames,
    );
    match e {
        Err(MapError::AlreadyMapped(found)) => assert_eq!(found.va.as_u64(), 3 * m + 0x5000),
        other => panic!("expected AlreadyMapped, got {other:?}"),
    }
    assert_eq!(all(&t), before);
    assert_eq!(frames.outstanding(), outstanding);
    t.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn bad_input_is_refused<M: Mode>() {
    let arena = arena();
    let mut frames = Tracking::new(ArenaFrames::new(&arena));
    let mut t = Table::<M>::new(&arena, &mut frames).unwrap();
    let r = range(0x1000, 0x1000);
    let bad_perms = [Perms::W, Perms::U, Perms::empty(), Perms::W | Perms::X];
    for p in bad_perms {
        assert_eq!(
            t.map(r, pa(0), p, PageSizes::Largest, &mut frames),
            Err(MapError::IllegalPerms(p))
        );
    }
    assert_eq!(
        t.map(r, pa(0x1234), Perms::R, PageSizes::Largest, &mut frames),
        Err(MapError::UnalignedPhys(pa(0x1234)))
    );
    let beyond = pa((1 << M::PA_BITS) - 0x1000);
    assert_eq!(
        t.map(
            range(0x1000, 0x2000),
            beyond,
            Perms::R,
            PageSizes::Largest,
            &mut frames
        ),
        Err(MapError::PhysOutOfRange(beyond))
    );
    // A range past the mode's top: refused by the table, or (Sv39, whose top is the top of every
    // mode) already by the range type.
    let top = M::VA_TOP;
    match PageRange::new(va(top - 0x1000), 0x2000) {
        Ok(r) => {
            let e = t.map(r, pa(0), Perms::R, PageSizes::Largest, &mut frames);
            assert!(matches!(e, Err(MapError::VirtOutOfRange(_))));
            let e = t.unmap(r, &mut frames).map(|f| f.ignore());
            assert!(matches!(e, Err(UnmapError::VirtOutOfRange(_))));
            let e = t.map_new(r, Perms::R, &mut frames, |_, _| {});
            assert!(matches!(e, Err(MapNewError::VirtOutOfRange(_))));
        }
        Err(_) => assert_eq!(top, rvmm::addr::VIRT_TOP),
    }
    assert_eq!(
        t.protect(r, Perms::R, &mut frames),
        Err(ProtectError::NotMapped(va(0x1000)))
    );
    assert!(all(&t).is_empty());
    assert_eq!(frames.outstanding(), 1);
    t.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn partial_unmap_and_protect_split_superpages<M: Mode>() {
    let arena = arena();
    let mut frames = Tracking::new(ArenaFrames::new(&arena));
    let mut t = Table::<M>::new(&arena, &mut frames).unwrap();
    let m = mega::<M>();
    t.map(
        range(m, 2 * m),
        pa(4 * m),
        Perms::RW,
        PageSizes::Largest,
        &mut frames,
    )
    .unwrap()
    .ignore();
    // Punch one page out of the middle of the first megapage.
    let flush = t.unmap(range(m + 0x3000, 0x1000), &mut frames).unwrap();
    assert_eq!(flush.scope(), FlushScope::Pages(range(m + 0x3000, 0x1000)));
    flush.ignore();
    assert!(t.translate(va(m + 0x3000)).is_none());
    let left = t.translate(va(m + 0x2fff)).unwrap();
    assert_eq!(
        (left.pa.as_u64(), left.size),
        (4 * m + 0x2fff, PageSize::Size4KiB)
    );
    assert_eq!(t.translate(va(2 * m)).unwrap().size, M::LEAF_SIZES[1]);
    // Make the second megapage's last page read-only.
    t.protect(range(3 * m - 0x1000, 0x1000), Perms::R, &mut frames)
        .unwrap()
        .ignore();
    assert_eq!(t.translate(va(3 * m - 1)).unwrap().perms, Perms::R);
    assert_eq!(t.translate(va(3 * m - 0x1001)).unwrap().perms, Perms::RW);
    let runs = all(&t);
    assert_eq!(runs.iter().map(|r| r.len).sum::<u64>(), 2 * m - 0x1000);
    // Unmapping everything frees every table but the root.
    t.unmap(range(m, 2 * m), &mut frames).unwrap().ignore();
    assert!(all(&t).is_empty());
    assert_eq!(frames.outstanding(), 1);
    t.destroy(&mut frames);
    frames.assert_no_leaks();
}

#[test]
fn gigapage_splits_down_to_4k() {
    let arena = arena();
    let mut frames = Tracking::new(ArenaFrames::new(&arena));
    let mut t = Table::<Sv39>::new(&arena, &mut frames).unwrap();
    t.map(
        range(1 << 30, 1 << 30),
        pa(1 << 30),
        Perms::RW,
        PageSizes::Largest,
        &mut frames,
    )
    .unwrap()
    .ignore();
    t.unmap(range((1 << 30) + 0x20_1000, 0x1000), &mut frames)
        .unwrap()
        .ignore();
    let sizes: Vec<(PageSize, u64)> = all(&t).iter().map(|r| (r.size, r.len)).collect();
    assert_eq!(
        sizes,
        [
            (PageSize::Size2MiB, 2 * MIB),
            (PageSize::Size4KiB, 0x1000),
            (PageSize::Size4KiB, 2 * MIB - 0x2000),
            (PageSize::Size2MiB, (1 << 30) - 4 * MIB),
        ]
    );
    assert_eq!(
        frames.outstanding(),
        3,
        "root, a 2 MiB table and a 4 KiB table"
    );
    t.destroy(&mut frames);
    frames.assert_no_leaks();
}

/// Runs `op` with the N-th allocation failing for every N until it succeeds, and checks that
/// each failure left the mappings and the frame count exactly as before.
fn rollback_at_every_failure<M: Mode>(
    setup: impl Fn(&mut Table<'_, M>, &mut Failing<Tracking<ArenaFrames<'_>>>),
    op: impl Fn(&mut Table<'_, M>, &mut Failing<Tracking<ArenaFrames<'_>>>) -> Result<(), String>,
) -> u64 {
    let mut n = 1;
    loop {
        let arena = arena();
        let mut frames = Failing::new(Tracking::new(ArenaFrames::new(&arena)), FailPlan::Never);
        let mut t = Table::<M>::new(&arena, &mut frames).unwrap();
        setup(&mut t, &mut frames);
        let before = all(&t);
        let live = frames.inner().live_frames();
        frames.set_plan(FailPlan::FromNth(n)); // counts restart at zero
        match op(&mut t, &mut frames) {
            Ok(()) => {
                frames.set_plan(FailPlan::Never);
                t.destroy(&mut frames);
                frames.inner().assert_no_leaks();
                return n;
            }
            Err(e) => {
                assert_eq!(e, "OutOfMemory");
                assert_eq!(all(&t), before, "mappings changed after failure {n}");
                assert_eq!(
                    frames.inner().live_frames(),
                    live,
                    "frames changed after failure {n}"
                );
            }
        }
        frames.set_plan(FailPlan::Never);
        t.destroy(&mut frames);
        frames.inner().assert_no_leaks();
        n += 1;
    }
}

fn map_rolls_back<M: Mode>() {
    let m = mega::<M>();
    let tries = rollback_at_every_failure::<M>(
        |t, f| {
            t.map(
                range(m - 0x4000, 0x1000),
                pa(0),
                Perms::R,
                PageSizes::Largest,
                f,
            )
            .unwrap()
            .ignore()
        },
        |t, f| {
            // 4 KiB pages through three leaf tables, the first of them pre-existing.
            let r = range(m - 0x3000, 0x3000 + m + 0x5000);
            t.map(r, pa(0x100_0000), Perms::RW, PageSizes::Only4KiB, f)
                .map(|fl| fl.ignore())
                .map_err(|e| format!("{e:?}"))
        },
    );
    assert!(tries > 2, "the operation should have needed several tables");
}

#[test]
fn map_rolls_back_at_every_failure_sv39() {
    map_rolls_back::<Sv39>();
}

#[test]
fn map_rolls_back_at_every_failure_sv32() {
    map_rolls_back::<Sv32>();
}

fn map_of_many_tables_rolls_back<M: Mode>() {
    let m = mega::<M>();
    let tries = rollback_at_every_failure::<M>(
        |_, _| {},
        |t, f| {
            t.map(
                range(m - 0x2000, 3 * m),
                pa(0),
                Perms::RW,
                PageSizes::Only4KiB,
                f,
            )
            .map(|fl| fl.ignore())
            .map_err(|e| format!("{e:?}"))
        },
    );
    assert!(tries >= 4);
}

#[test]
fn unmap_and_protect_roll_back_their_splits() {
    let g = 1u64 << 30;
    let setup = |t: &mut Table<'_, Sv39>, f: &mut Failing<Tracking<ArenaFrames<'_>>>| {
        t.map(range(g, 2 * g), pa(g), Perms::RW, PageSizes::Largest, f)
            .unwrap()
            .ignore()
    };
    // Cutting inside both gigapages needs four splits (1G -> 2M -> 4K at each end).
    let tries = rollback_at_every_failure::<Sv39>(setup, |t, f| {
        t.unmap(range(g + 0x20_1000, g), f)
            .map(|fl| fl.ignore())
            .map_err(|e| format!("{e:?}"))
    });
    assert_eq!(tries, 5);
    let tries = rollback_at_every_failure::<Sv39>(setup, |t, f| {
        t.protect(range(g + 0x20_1000, g), Perms::R, f)
            .map(|fl| fl.ignore())
            .map_err(|e| format!("{e:?}"))
    });
    assert_eq!(tries, 5);
}

fn last_page_of_the_space<M: Mode>() {
    let arena = arena();
    let mut frames = Tracking::new(ArenaFrames::new(&arena));
    let mut t = Table::<M>::new(&arena, &mut frames).unwrap();
    let last = M::VA_TOP - 0x1000;
    t.map(
        range(last, 0x1000),
        pa(0x8000_0000),
        Perms::RX,
        PageSizes::Largest,
        &mut frames,
    )
    .unwrap()
    .ignore();
    let tr = t.translate(va(M::VA_TOP - 1)).unwrap();
    assert_eq!((tr.pa.as_u64(), tr.perms), (0x8000_0fff, Perms::RX));
    assert_eq!(all(&t)[0].va.as_u64(), last);
    t.protect(range(last, 0x1000), Perms::R, &mut frames)
        .unwrap()
        .ignore();
    t.unmap(range(last, 0x1000), &mut frames).unwrap().ignore();
    assert!(t.translate(va(last)).is_none());
    assert_eq!(frames.outstanding(), 1);
    t.destroy(&mut frames);
    frames.assert_no_leaks();
}

/// An address at or above the mode's top is unmapped, even where its low bits, which are all a
/// walk indexes with, name a mapped page (Sv32 on a 64-bit host: `VirtAddr` allows up to 2^38).
fn above_the_top_is_unmapped<M: Mode>() {
    let arena = arena();
    let mut frames = Tracking::new(ArenaFrames::new(&arena));
    let mut t = Table::<M>::new(&arena, &mut frames).unwrap();
    t.map(
        range(0x1000, 0x1000),
        pa(0x8000_0000),
        Perms::R,
        PageSizes::Only4KiB,
        &mut frames,
    )
    .unwrap()
    .ignore();
    assert!(t.translate(va(0x1234)).is_some());
    let mut above = M::VA_TOP;
    while let Ok(alias) = VirtAddr::try_from(above + 0x1234) {
        assert!(t.translate(alias).is_none(), "{above:#x} + 0x1234");
        above <<= 1;
    }
    t.destroy(&mut frames);
    frames.assert_no_leaks();
}

#[test]
fn satp_encodes_mode_asid_and_root() {
    let arena = arena();
    let mut frames = ArenaFrames::new(&arena);
    let t39 = Table::<Sv39>::new(&arena, &mut frames).unwrap();
    let root = t39.root().number();
    assert_eq!(t39.satp(0x1234).unwrap(), 8 << 60 | 0x1234 << 44 | root);
    let t32 = Table::<Sv32>::new(&arena, &mut frames).unwrap();
    let root = t32.root().number();
    assert_eq!(t32.satp(0x1ff).unwrap(), 1 << 31 | 0x1ff << 22 | root);
    assert_eq!(t32.satp(0x200), Err(AsidOutOfRange(0x200)));
    t39.destroy(&mut frames);
    t32.destroy(&mut frames);
}

#[test]
fn sv32_reaches_34_bit_physical_addresses() {
    let arena = arena();
    let mut frames = Tracking::new(ArenaFrames::new(&arena));
    let mut t = Table::<Sv32>::new(&arena, &mut frames).unwrap();
    let high = pa(0x3_FFC0_0000);
    t.map(
        range(0x40_0000, 4 * MIB),
        high,
        Perms::RW,
        PageSizes::Largest,
        &mut frames,
    )
    .unwrap()
    .ignore();
    assert_eq!(
        t.translate(va(0x7F_FFFF)).unwrap().pa.as_u64(),
        0x3_FFFF_FFFF
    );
    t.destroy(&mut frames);
    frames.assert_no_leaks();
}

#[test]
fn mappings_merge_only_contiguous_runs() {
    let arena = arena();
    let mut frames = Tracking::new(ArenaFrames::new(&arena));
    let mut t = Table::<Sv39>::new(&arena, &mut frames).unwrap();
    let map =
        |t: &mut Table<'_, Sv39>, f: &mut Tracking<ArenaFrames<'_>>, v: u64, p: u64, perms| {
            t.map(range(v, 0x1000), pa(p), perms, PageSizes::Only4KiB, f)
                .unwrap()
                .ignore()
        };
    map(&mut t, &mut frames, 0x1000, 0xa000, Perms::R);
    map(&mut t, &mut frames, 0x2000, 0xb000, Perms::R); // merges
    map(&mut t, &mut frames, 0x3000, 0xd000, Perms::R); // PA jumps
    map(&mut t, &mut frames, 0x4000, 0xe000, Perms::RW); // perms differ
    let runs: Vec<(u64, u64, u64)> = all(&t)
        .iter()
        .map(|r| (r.va.as_u64(), r.pa.as_u64(), r.len))
        .collect();
    assert_eq!(
        runs,
        [
            (0x1000, 0xa000, 0x2000),
            (0x3000, 0xd000, 0x1000),
            (0x4000, 0xe000, 0x1000)
        ]
    );
    t.destroy(&mut frames);
    frames.assert_no_leaks();
}

/// `unmap` gives back the frames of owned leaves and never those of mapped ones, even when
/// the mapped ones came from the same source; `destroy` gives back the owned ones left.
#[test]
fn unmap_and_destroy_give_back_owned_frames_only() {
    let arena = arena();
    let mut frames = Tracking::new(ArenaFrames::new(&arena));
    let mut t = Table::<Sv32>::new(&arena, &mut frames).unwrap();
    let foreign = rvmm::FrameSource::allocate(&mut frames).unwrap();
    t.map(
        range(0x10_0000, 0x1000),
        foreign.start(),
        Perms::RW,
        PageSizes::Only4KiB,
        &mut frames,
    )
    .unwrap()
    .ignore();
    t.map_new(range(0x10_1000, 0x3000), Perms::RW, &mut frames, |_, _| {})
        .unwrap()
        .ignore();
    t.map_new(range(0x40_0000, 0x1000), Perms::R, &mut frames, |_, _| {})
        .unwrap()
        .ignore();
    // Root, two leaf tables, the foreign frame, four owned frames.
    assert_eq!(frames.outstanding(), 8);
    let runs = all(&t);
    assert!(
        !runs[0].owned && runs[1..].iter().all(|m| m.owned),
        "{runs:?}"
    );
    t.unmap(range(0x10_0000, 0x4000), &mut frames)
        .unwrap()
        .ignore();
    assert!(
        frames.is_live(foreign),
        "unmap gave back a frame it did not own"
    );
    assert_eq!(
        frames.outstanding(),
        4,
        "root, one leaf table, the foreign frame, one page"
    );
    t.destroy(&mut frames);
    assert_eq!(frames.live_frames(), [foreign]);
    // SAFETY: allocated above, mapped only by the destroyed table.
    unsafe { rvmm::FrameSource::deallocate(&mut frames, foreign) };
    frames.assert_no_leaks();
}

/// Regression: a map that hit an existing mapping inside the first leaf table it filled left
/// the leaves it had written in that table (the undo only covered whole tables done before).
#[test]
fn map_running_into_a_mapping_in_its_first_table_undoes_its_leaves() {
    let arena = arena();
    let mut frames = Tracking::new(ArenaFrames::new(&arena));
    let mut t = Table::<Sv32>::new(&arena, &mut frames).unwrap();
    t.map(
        range(0x9000, 0x1000),
        pa(0),
        Perms::R,
        PageSizes::Largest,
        &mut frames,
    )
    .unwrap()
    .ignore();
    let e = t.map(
        range(0x1000, 0x10000),
        pa(0x10000),
        Perms::R,
        PageSizes::Largest,
        &mut frames,
    );
    assert!(matches!(e, Err(MapError::AlreadyMapped(m)) if m.va.as_u64() == 0x9000));
    assert!(t.translate(va(0x1000)).is_none());
    assert_eq!(all(&t).len(), 1);
    t.destroy(&mut frames);
    frames.assert_no_leaks();
}

/// The superpages of mode `M` (every leaf size above 4 KiB), each mapped alone at a VA and PA
/// aligned to it, with the empty ranges that start inside it: one page in, and half-way.
fn superpage_cases<M: Mode>() -> Vec<(PageSize, u64, PageRange)> {
    let mut cases = Vec::new();
    for &size in &M::LEAF_SIZES[1..] {
        let base = size.bytes();
        for offset in [0x1000, size.bytes() / 2] {
            let start = rvmm::addr::Page::containing(va(base + offset));
            cases.push((size, base, PageRange::from_pages(start, 0).unwrap()));
        }
    }
    cases
}

/// Runs `op` on an empty range inside a lone superpage, with every allocation failing, and
/// checks that it succeeds, flushes nothing, takes no frame and leaves the superpage whole.
fn empty_range_inside_a_superpage_changes_nothing<M: Mode>(
    op: impl Fn(&mut Table<'_, M>, PageRange, &mut Failing<Tracking<ArenaFrames<'_>>>) -> FlushScope,
) {
    for (size, base, empty) in superpage_cases::<M>() {
        let arena = arena();
        let mut frames = Failing::new(Tracking::new(ArenaFrames::new(&arena)), FailPlan::Never);
        let mut t = Table::<M>::new(&arena, &mut frames).unwrap();
        let whole = range(base, size.bytes());
        t.map(whole, pa(base), Perms::RW, PageSizes::Largest, &mut frames)
            .unwrap()
            .ignore();
        let before = all(&t);
        let live = frames.inner().live_frames();
        frames.set_plan(FailPlan::FromNth(1));
        assert_eq!(
            op(&mut t, empty, &mut frames),
            FlushScope::Nothing,
            "{size}"
        );
        assert_eq!(frames.calls(), 0, "{size}: an empty range allocated");
        assert_eq!(
            all(&t),
            before,
            "{size}: an empty range changed the mappings"
        );
        assert_eq!(frames.inner().live_frames(), live, "{size}");
        assert_eq!(t.translate(va(base)).unwrap().size, size);
        frames.set_plan(FailPlan::Never);
        t.destroy(&mut frames);
        frames.inner().assert_no_leaks();
    }
}

/// Regression: `unmap` of 0 pages starting inside a superpage split it (taking table frames,
/// failing with `OutOfMemory` when none were left) though it named no page.
fn empty_unmap_inside_a_superpage_changes_nothing<M: Mode>() {
    empty_range_inside_a_superpage_changes_nothing::<M>(|t, empty, f| {
        let flush = t.unmap(empty, f).expect("an empty unmap cannot fail");
        let scope = flush.scope();
        flush.ignore();
        scope
    });
}

/// Regression: `protect` of 0 pages starting inside a superpage split it, as `unmap` did.
fn empty_protect_inside_a_superpage_changes_nothing<M: Mode>() {
    empty_range_inside_a_superpage_changes_nothing::<M>(|t, empty, f| {
        let flush = t
            .protect(empty, Perms::R, f)
            .expect("an empty protect cannot fail");
        let scope = flush.scope();
        flush.ignore();
        scope
    });
}

rvmm_testkit::both_modes!(
    empty_unmap_inside_a_superpage_changes_nothing,
    empty_protect_inside_a_superpage_changes_nothing,
);

/// `map_new` hands `fill` each page with its own zeroed frame (the source junk-fills frames),
/// maps what `fill` wrote, lends the pages back through `owned_page`, and `protect` keeps them
/// owned; mapped (not owned) pages are not lent.
fn map_new_fills_zeroed_frames_and_protect_keeps_them_owned<M: Mode>() {
    let arena = arena();
    let mut frames = Tracking::new(ArenaFrames::new(&arena));
    let mut t = Table::<M>::new(&arena, &mut frames).unwrap();
    let pages = range(mega::<M>() - 0x2000, 0x4000); // across two leaf tables
    let mut seen = Vec::new();
    t.map_new(pages, Perms::RW, &mut frames, |page, mut frame| {
        let mut bytes = [0xEE; 4096];
        frame.read(0, &mut bytes).unwrap();
        assert!(bytes.iter().all(|&b| b == 0), "{page:?}: frame not zeroed");
        frame.write_word(8, page.number()).unwrap();
        seen.push(page.start().as_u64());
    })
    .unwrap()
    .ignore();
    let starts: Vec<u64> = (0..4).map(|k| mega::<M>() - 0x2000 + k * 0x1000).collect();
    assert_eq!(seen, starts);
    for &v in &starts {
        let tr = t.translate(va(v + 8)).unwrap();
        let frame = rvmm::Frame::containing(tr.pa);
        assert_eq!(arena.read_word(frame, 8), Ok((v >> 12) as usize));
        let page = rvmm::Page::containing(va(v));
        let lent = t.owned_page(page).unwrap();
        assert_eq!(
            (lent.frame(), lent.read_word(8)),
            (frame, Ok((v >> 12) as usize))
        );
        t.owned_page_mut(page).unwrap().write_word(16, 7).unwrap();
        assert_eq!(arena.read_word(frame, 16), Ok(7));
    }
    t.map(
        range(0x10_0000, 0x1000),
        pa(0x10_0000),
        Perms::R,
        PageSizes::Only4KiB,
        &mut frames,
    )
    .unwrap()
    .ignore();
    let foreign = rvmm::Page::containing(va(0x10_0000));
    assert!(
        t.owned_page(foreign).is_none(),
        "a mapped page is not the table's to lend"
    );
    let unmapped = rvmm::Page::containing(va(0x30_0000));
    assert!(t.owned_page_mut(unmapped).is_none());
    t.unmap(range(0x10_0000, 0x1000), &mut frames)
        .unwrap()
        .ignore();
    t.protect(pages, Perms::R, &mut frames).unwrap().ignore();
    assert!(all(&t).iter().all(|m| m.owned && m.perms == Perms::R));
    // Root, two leaf tables (one per megapage, the first above it new too), four pages.
    let tables = frames.outstanding() - 4;
    t.unmap(pages, &mut frames).unwrap().ignore();
    assert_eq!(
        frames.outstanding(),
        1,
        "pages and emptied tables back ({tables} tables)"
    );
    t.destroy(&mut frames);
    frames.assert_no_leaks();
}

/// A `map_new` running into a mapping, or out of frames at any point, gives back every frame
/// it took (pages and tables) and leaves the table as it was.
fn map_new_is_all_or_nothing<M: Mode>() {
    let m = mega::<M>();
    let arena = arena();
    let mut frames = Tracking::new(ArenaFrames::new(&arena));
    let mut t = Table::<M>::new(&arena, &mut frames).unwrap();
    t.map(
        range(m + 0x3000, 0x1000),
        pa(0),
        Perms::R,
        PageSizes::Largest,
        &mut frames,
    )
    .unwrap()
    .ignore();
    let (before, held) = (all(&t), frames.live_frames());
    let e = t.map_new(range(m - 0x2000, 0x6000), Perms::RW, &mut frames, |_, _| {});
    assert!(matches!(e, Err(MapNewError::AlreadyMapped(f)) if f.va.as_u64() == m + 0x3000));
    assert_eq!((all(&t), frames.live_frames()), (before, held));
    let e = t.map_new(range(m, 0x1000), Perms::W, &mut frames, |_, _| {});
    assert_eq!(e, Err(MapNewError::IllegalPerms(Perms::W)));
    t.destroy(&mut frames);
    frames.assert_no_leaks();
    let tries = rollback_at_every_failure::<M>(
        |_, _| {},
        |t, f| {
            // Five pages across a leaf-table boundary: two leaf tables (and on Sv39 the table
            // above them), five frames.
            t.map_new(range(m - 0x3000, 0x5000), Perms::RW, f, |_, _| {})
                .map(|fl| fl.ignore())
                .map_err(|e| format!("{e:?}"))
        },
    );
    let needed = (M::LEVELS as u64 - 2) + 2 + 5;
    assert_eq!(
        tries,
        needed + 1,
        "each table and page allocation failed once"
    );
}

/// `map_copies` maps fresh owned frames that hold exactly what the source frames held (no
/// byte of the frames' junk survives, though they are not zeroed first), and is all or nothing
/// like `map_new`: refused on a mapped page, and on running out of frames at any point.
fn map_copies_copies_whole_frames_and_is_all_or_nothing<M: Mode>() {
    let m = mega::<M>();
    let arena = arena();
    let mut frames = Tracking::new(ArenaFrames::new(&arena));
    let mut from = Table::<M>::new(&arena, &mut frames).unwrap();
    let pages = range(m - 0x2000, 0x4000); // across two leaf tables
    let source_pages = range(m - 0x3000, 0x5000); // and one more below
    from.map_new(source_pages, Perms::RW, &mut frames, |page, mut frame| {
        for at in (0..4096).step_by(8) {
            frame.write_word(at, page.number() * 1000 + at).unwrap();
        }
    })
    .unwrap()
    .ignore();
    let mut to = Table::<M>::new(&arena, &mut frames).unwrap();
    let lend = |page| from.owned_page(page).unwrap();
    to.map_copies(pages, Perms::R, &mut frames, lend)
        .unwrap()
        .ignore();
    for k in 0..pages.count() {
        let page = rvmm::Page::containing(va(m - 0x2000 + k as u64 * 0x1000));
        let (mut want, mut got) = ([0u8; 4096], [0u8; 4096]);
        from.owned_page(page).unwrap().read(0, &mut want).unwrap();
        let copy = to.owned_page(page).expect("an owned copy");
        copy.read(0, &mut got).unwrap();
        assert!(want == got, "{page:?}: the copy differs");
        assert_ne!(copy.frame(), from.owned_page(page).unwrap().frame());
    }
    assert!(all(&to).iter().all(|mp| mp.owned && mp.perms == Perms::R));
    // A new page, then one already mapped in the target: the first frame given back, nothing
    // changed.
    let (before, held) = (all(&to), frames.live_frames());
    let e = to.map_copies(range(m - 0x3000, 0x2000), Perms::R, &mut frames, lend);
    assert!(matches!(e, Err(MapNewError::AlreadyMapped(_))));
    assert_eq!((all(&to), frames.live_frames()), (before, held));
    to.destroy(&mut frames);
    from.destroy(&mut frames);
    frames.assert_no_leaks();
    // Out of frames at every allocation: every frame back each time.
    let tries = rollback_at_every_failure::<M>(
        |_, _| {},
        |t, f| {
            let arena2 = self::arena();
            let mut source_frames = ArenaFrames::new(&arena2);
            let mut source = Table::<M>::new(&arena2, &mut source_frames).unwrap();
            source
                .map_new(
                    range(m - 0x3000, 0x5000),
                    Perms::RW,
                    &mut source_frames,
                    |_, _| {},
                )
                .unwrap()
                .ignore();
            let copied = t
                .map_copies(range(m - 0x3000, 0x5000), Perms::RW, f, |page| {
                    source.owned_page(page).unwrap()
                })
                .map(|fl| fl.ignore())
                .map_err(|e| format!("{e:?}"));
            source.destroy(&mut source_frames);
            copied
        },
    );
    let needed = (M::LEVELS as u64 - 2) + 2 + 5;
    assert_eq!(
        tries,
        needed + 1,
        "each table and page allocation failed once"
    );
}

rvmm_testkit::both_modes!(
    map_new_fills_zeroed_frames_and_protect_keeps_them_owned,
    map_new_is_all_or_nothing,
    map_copies_copies_whole_frames_and_is_all_or_nothing,
);
