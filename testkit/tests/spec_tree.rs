//! `spec::walk` and `spec::leaves` on hand-built trees: every leaf listed once with its VA, every
//! table listed, every malformed entry reported with its reason.

mod common;

use common::{arena, frame, pa, pte, put};
use rvmm::PageSize;
use rvmm::frame::FrameSource;
use rvmm_testkit::spec::{
    Defect, PTE_A, PTE_D, PTE_G, PTE_R, PTE_V, PTE_W, PTE_X, SpecFault, SpecMode, leaves, walk,
};
use rvmm_testkit::{ArenaFrames, tracking::JUNK};

const RWAD: u64 = PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;

#[test]
fn sv39_leaves_of_every_size_in_va_order() {
    let m = SpecMode::Sv39;
    let a = arena(4);
    put(&a, m, frame(0), 0x1FF, pte(frame(1), PTE_V)); // upper half
    put(&a, m, frame(1), 0x1FF, pte(frame(2), PTE_V | PTE_G));
    put(&a, m, frame(2), 0x1FF, pte(0x9000_0000, RWAD));
    put(&a, m, frame(0), 2, pte(0x8000_0000, RWAD | PTE_X)); // 1 GiB
    put(&a, m, frame(0), 0, pte(frame(3), PTE_V));
    put(&a, m, frame(3), 1, pte(0x8020_0000, RWAD)); // 2 MiB at 0x20_0000
    let got = leaves(&a, m, a.base());
    let summary: Vec<_> = got.iter().map(|l| (l.va, l.pa, l.size, l.global)).collect();
    assert_eq!(
        summary,
        [
            (0x20_0000, pa(0x8020_0000), PageSize::Size2MiB, false),
            (0x8000_0000, pa(0x8000_0000), PageSize::Size1GiB, false),
            (
                0xFFFF_FFFF_FFFF_F000,
                pa(0x9000_0000),
                PageSize::Size4KiB,
                true
            ),
        ]
    );
    assert_eq!(u64::from(got[1].flags), RWAD | PTE_X);
    assert_eq!(got[2].pte_addr, pa(frame(2) + 0x1FF * 8));
    let tree = walk(&a, m, a.base());
    assert_eq!(
        tree.tables,
        [pa(frame(0)), pa(frame(3)), pa(frame(1)), pa(frame(2))]
    );
}

#[test]
fn sv32_leaves_reach_the_top_of_the_space() {
    let m = SpecMode::Sv32;
    let a = arena(2);
    put(&a, m, frame(0), 0x3FF, pte(frame(1), PTE_V));
    put(
        &a,
        m,
        frame(1),
        0x3FF,
        pte(0x8000_0000, PTE_V | PTE_R | PTE_X | PTE_A),
    );
    put(&a, m, frame(0), 0x3FE, pte(0x3_FFC0_0000, RWAD)); // 4 MiB
    let got = leaves(&a, m, a.base());
    let summary: Vec<_> = got.iter().map(|l| (l.va, l.pa, l.size, l.level)).collect();
    assert_eq!(
        summary,
        [
            (0xFF80_0000, pa(0x3_FFC0_0000), PageSize::Size4MiB, 1),
            (0xFFFF_F000, pa(0x8000_0000), PageSize::Size4KiB, 0),
        ]
    );
}

#[test]
fn malformed_entries_are_reported_and_not_listed_as_leaves() {
    let m = SpecMode::Sv39;
    let a = arena(3);
    put(&a, m, frame(0), 0, pte(frame(1), PTE_V));
    put(&a, m, frame(1), 0, pte(0x8000_1000, RWAD)); // misaligned 2 MiB
    put(&a, m, frame(1), 1, pte(frame(2), PTE_V));
    put(&a, m, frame(2), 0, pte(0x9000_0000, RWAD)); // the one good leaf
    put(&a, m, frame(2), 1, pte(frame(2), PTE_V)); // pointer at level 0
    put(&a, m, frame(2), 2, pte(0x9000_0000, RWAD) | 1 << 61); // PBMT set
    put(&a, m, frame(1), 2, pte(frame(2), PTE_V)); // the level-0 table again
    put(&a, m, frame(1), 3, pte(frame(0), PTE_V)); // the root, as a level-0 table
    put(&a, m, frame(0), 1, pte(0x1_0000_0000, PTE_V)); // a table outside the arena
    put(&a, m, frame(0), 2, pte(frame(1), PTE_V | PTE_A)); // A on a pointer
    put(&a, m, frame(0), 3, pte(0x9000_0000, PTE_V | PTE_W)); // W without R
    let tree = walk(&a, m, a.base());
    assert_eq!(tree.leaves.len(), 1);
    assert_eq!(tree.leaves[0].va, 1 << 21);
    let found: Vec<_> = tree
        .malformed
        .iter()
        .map(|b| (b.va, b.level, b.defect))
        .collect();
    let e = |i: usize| tree.malformed[i].pte;
    assert_eq!(
        found,
        [
            (
                0,
                1,
                Defect::Fault(SpecFault::MisalignedSuperpage {
                    level: 1,
                    pte: e(0)
                })
            ),
            (
                0x20_1000,
                0,
                Defect::Fault(SpecFault::PointerAtLastLevel { pte: e(1) })
            ),
            (
                0x20_2000,
                0,
                Defect::Fault(SpecFault::ReservedBits {
                    level: 0,
                    pte: e(2)
                })
            ),
            (0x40_0000, 1, Defect::SharedTable(pa(frame(2)))),
            (0x60_0000, 1, Defect::SharedTable(pa(frame(0)))),
            (
                1 << 30,
                2,
                Defect::Fault(SpecFault::PteOutsideMemory {
                    level: 1,
                    pte_addr: pa(1 << 32)
                })
            ),
            (
                2 << 30,
                2,
                Defect::Fault(SpecFault::NonLeafFlags {
                    level: 2,
                    pte: e(6)
                })
            ),
            (
                3 << 30,
                2,
                Defect::Fault(SpecFault::WriteWithoutRead {
                    level: 2,
                    pte: e(7)
                })
            ),
        ]
    );
    assert_eq!(tree.tables, [pa(frame(0)), pa(frame(1)), pa(frame(2))]);
}

#[test]
#[should_panic(expected = "1 malformed entries")]
fn leaves_refuses_a_malformed_tree() {
    let a = arena(1);
    put(
        &a,
        SpecMode::Sv32,
        frame(0),
        0,
        pte(0x8000_0000, PTE_V | PTE_W),
    );
    let _ = leaves(&a, SpecMode::Sv32, a.base());
}

#[test]
fn an_unreadable_root_is_reported() {
    let a = arena(1);
    let tree = walk(&a, SpecMode::Sv39, pa(0x1000));
    assert!(tree.leaves.is_empty() && tree.tables.is_empty());
    assert!(matches!(
        tree.malformed[..],
        [m] if m.defect == Defect::Fault(SpecFault::PteOutsideMemory { level: 2, pte_addr: pa(0x1000) })
    ));
}

#[test]
fn an_unzeroed_table_frame_is_caught_in_both_modes() {
    // A table taken from ArenaFrames and not zeroed is full of junk; the walker must not take
    // the junk for mappings.
    for m in [SpecMode::Sv32, SpecMode::Sv39] {
        let a = arena(2);
        let mut frames = ArenaFrames::with_frames(&a, 1, 1);
        let table = frames.allocate().unwrap();
        put(&a, m, frame(0), 0, pte(table.start().as_u64(), PTE_V));
        let tree = walk(&a, m, a.base());
        assert!(tree.leaves.is_empty(), "{m:?}");
        assert_eq!(
            tree.malformed.len(),
            m.entries(),
            "{m:?}: every junk entry is reported"
        );
        assert_eq!(tree.malformed[0].pte as u8, JUNK);
    }
}
