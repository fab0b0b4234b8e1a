//! The spec walker on hand-built Sv32 tables: 2 levels of 1024 four-byte entries, VPN[1] = VA
//! bits 31..22, VPN[0] = 21..12, a 22-bit PPN (PPN[1] = PTE bits 31..20, PPN[0] = 19..10) giving
//! 34-bit physical addresses.

mod common;

use common::{BASE, arena, frame, pa, pte, put};
use rvmm::{Frame, PageSize};
use rvmm_testkit::Arena;
use rvmm_testkit::spec::{
    Access, PTE_A, PTE_D, PTE_G, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, SpecFault, SpecMode,
    SpecTranslation, translate,
};

const MODE: SpecMode = SpecMode::Sv32;
const RWAD: u64 = PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
const PTR: u64 = PTE_V;

/// VPN[1] = 3, VPN[0] = 5, offset 0x678.
const VA4K: u64 = (3 << 22) | (5 << 12) | 0x678;

/// Root at frame 0 -> level-0 table at frame 1 for VPN[1] = 3.
fn two_levels() -> Arena {
    let a = arena(2);
    put(&a, MODE, frame(0), 3, pte(frame(1), PTR));
    a
}

fn go(a: &Arena, va: u64, access: Access) -> Result<SpecTranslation, SpecFault> {
    translate(a, MODE, a.base(), va, access)
}

#[test]
fn a_4k_leaf_translates_through_two_levels() {
    assert_eq!(VA4K, 0x00C0_5678);
    let a = two_levels();
    put(&a, MODE, frame(1), 5, pte(0x8000_7000, RWAD));
    let t = go(&a, VA4K, Access::write()).unwrap();
    assert_eq!(t.pa, pa(0x8000_7678));
    assert_eq!((t.level, t.page_size), (0, PageSize::Size4KiB));
    assert_eq!(t.pte_addr, pa(frame(1) + 5 * 4));
    // Entry 6 of the same table, and the entry of VPN[1] = 4 in the root, are empty.
    assert!(matches!(
        go(&a, VA4K + 0x1000, Access::read()),
        Err(SpecFault::Invalid { level: 0, .. })
    ));
    assert!(matches!(
        go(&a, 4 << 22, Access::read()),
        Err(SpecFault::Invalid { level: 1, .. })
    ));
}

#[test]
fn a_4m_leaf_keeps_the_low_22_bits_of_the_va() {
    let a = arena(1);
    put(&a, MODE, frame(0), 0x200, pte(0x8040_0000, RWAD));
    let t = go(&a, 0x8012_3456, Access::read()).unwrap();
    assert_eq!(t.pa, pa(0x8052_3456));
    assert_eq!((t.level, t.page_size), (1, PageSize::Size4MiB));
}

#[test]
fn physical_addresses_are_34_bits_wide() {
    let a = two_levels();
    // The highest 4 MiB of the 34-bit space: PTE bits 31..20 all set.
    put(&a, MODE, frame(0), 1, pte(0x3_FFC0_0000, RWAD));
    assert_eq!(pte(0x3_FFC0_0000, 0), 0xFFF0_0000);
    let t = go(&a, (1 << 22) | 0x3F_FFFF, Access::read()).unwrap();
    assert_eq!(t.pa, pa(0x3_FFFF_FFFF));
    // A 4 KiB leaf above 4 GiB.
    put(&a, MODE, frame(1), 5, pte(0x2_0000_1000, RWAD));
    assert_eq!(go(&a, VA4K, Access::read()).unwrap().pa, pa(0x2_0000_1678));
}

#[test]
fn a_misaligned_4m_leaf_faults() {
    let a = arena(1);
    let e = pte(0x8000_1000, RWAD); // PPN[0] = 1
    put(&a, MODE, frame(0), 0x200, e);
    assert_eq!(
        go(&a, 0x8000_0000, Access::read()),
        Err(SpecFault::MisalignedSuperpage { level: 1, pte: e })
    );
    // Only the top bit of PPN[0]: 2 MiB aligned, not 4 MiB.
    put(&a, MODE, frame(0), 0x200, pte(0x8020_0000, RWAD));
    assert!(matches!(
        go(&a, 0x8000_0000, Access::read()),
        Err(SpecFault::MisalignedSuperpage { level: 1, .. })
    ));
}

#[test]
fn every_fault_kind_of_the_walk() {
    let a = two_levels();
    let w_only = pte(0x9000_0000, PTE_V | PTE_W | PTE_A | PTE_D);
    put(&a, MODE, frame(1), 5, w_only);
    assert_eq!(
        go(&a, VA4K, Access::read()),
        Err(SpecFault::WriteWithoutRead {
            level: 0,
            pte: w_only
        })
    );
    let ptr_at_0 = pte(frame(0), PTR);
    put(&a, MODE, frame(1), 5, ptr_at_0);
    assert_eq!(
        go(&a, VA4K, Access::read()),
        Err(SpecFault::PointerAtLastLevel { pte: ptr_at_0 })
    );
    put(
        &a,
        MODE,
        frame(1),
        5,
        pte(0x9000_0000, PTE_V | PTE_R | PTE_W | PTE_D),
    );
    assert!(matches!(
        go(&a, VA4K, Access::read()),
        Err(SpecFault::NotAccessed { .. })
    ));
    put(
        &a,
        MODE,
        frame(1),
        5,
        pte(0x9000_0000, PTE_V | PTE_R | PTE_W | PTE_A),
    );
    assert!(go(&a, VA4K, Access::read()).is_ok());
    assert!(matches!(
        go(&a, VA4K, Access::write()),
        Err(SpecFault::NotDirty { .. })
    ));
    put(
        &a,
        MODE,
        frame(1),
        5,
        pte(0x9000_0000, PTE_V | PTE_R | PTE_A),
    );
    assert!(matches!(
        go(&a, VA4K, Access::write()),
        Err(SpecFault::Permission { .. })
    ));
    for flag in [PTE_A, PTE_D, PTE_U] {
        let e = pte(frame(1), PTR | flag);
        put(&a, MODE, frame(0), 3, e);
        assert_eq!(
            go(&a, VA4K, Access::read()),
            Err(SpecFault::NonLeafFlags { level: 1, pte: e })
        );
    }
    put(&a, MODE, frame(0), 3, pte(0x1000, PTR));
    assert_eq!(
        go(&a, VA4K, Access::read()),
        Err(SpecFault::PteOutsideMemory {
            level: 0,
            pte_addr: pa(0x1000 + 5 * 4)
        })
    );
}

#[test]
fn user_pages_sum_and_mxr() {
    let a = two_levels();
    put(&a, MODE, frame(1), 5, pte(0x9000_0000, RWAD | PTE_U));
    assert!(go(&a, VA4K, Access::write().from_user()).is_ok());
    assert!(matches!(
        go(&a, VA4K, Access::read()),
        Err(SpecFault::Permission { .. })
    ));
    assert!(go(&a, VA4K, Access::write().with_sum()).is_ok());
    put(
        &a,
        MODE,
        frame(1),
        5,
        pte(0x9000_0000, PTE_V | PTE_X | PTE_A | PTE_U),
    );
    assert!(go(&a, VA4K, Access::execute().from_user()).is_ok());
    assert!(go(&a, VA4K, Access::execute().with_sum()).is_err());
    assert!(go(&a, VA4K, Access::read().from_user()).is_err());
    assert!(go(&a, VA4K, Access::read().from_user().with_mxr()).is_ok());
}

#[test]
fn the_last_page_of_the_space() {
    // 0xFFFF_F000: VPN[1] = VPN[0] = 0x3FF, the last entry of each table.
    let a = arena(2);
    put(&a, MODE, frame(0), 0x3FF, pte(frame(1), PTR | PTE_G));
    put(
        &a,
        MODE,
        frame(1),
        0x3FF,
        pte(0x8000_0000, PTE_V | PTE_R | PTE_X | PTE_A),
    );
    let t = go(&a, 0xFFFF_FFFF, Access::execute()).unwrap();
    assert_eq!(t.pa, pa(0x8000_0FFF));
    assert_eq!(t.pte_addr, pa(frame(1) + 0xFFC));
    assert!(t.global, "G on the pointer covers the leaf");
    assert!(go(&a, 0xFFFF_E000, Access::read()).is_err());
    // An RV32 hart cannot form a wider address.
    assert_eq!(
        go(&a, 1 << 32, Access::read()),
        Err(SpecFault::NonCanonical { va: 1 << 32 })
    );
}

#[test]
fn ptes_are_read_little_endian_from_the_arena_bytes() {
    let a = arena(1);
    // 0x2000_00CF: PPN 0x80000 (PA 0x8000_0000) with V R W X A D. Written byte by byte, as
    // entry 0x200 of the root: a 4 MiB leaf for VA 0x8000_0000.
    let root = Frame::containing(pa(BASE));
    a.write(root, 0x200 * 4, &[0xCF, 0x00, 0x00, 0x20]).unwrap();
    let t = go(&a, 0x8000_0042, Access::read()).unwrap();
    assert_eq!((t.pa, t.flags, t.pte), (pa(0x8000_0042), 0xCF, 0x2000_00CF));
    // The next entry's bytes are untouched: Sv32 entries are four bytes, not eight.
    assert!(go(&a, 0x8040_0000, Access::read()).is_err());
}
