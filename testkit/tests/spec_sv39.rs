//! The spec walker on hand-built Sv39 tables: each translation and each fault kind, with
//! indices worked out by hand from the spec's VA layout (VPN[2] = bits 38..30, VPN[1] = 29..21,
//! VPN[0] = 20..12).

mod common;

use common::{BASE, arena, frame, pa, pte, put};
use rvmm::{Frame, PageSize};
use rvmm_testkit::Arena;
use rvmm_testkit::spec::{
    Access, AccessKind, PTE_A, PTE_D, PTE_G, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, Privilege,
    SpecFault, SpecMode, translate,
};

const MODE: SpecMode = SpecMode::Sv39;
const RWAD: u64 = PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
const PTR: u64 = PTE_V;

/// Root at frame 0 -> level-1 table at frame 1 -> level-0 table at frame 2, for VAs with
/// VPN[2] = 2 and VPN[1] = 3 (that is 0x8060_0000 ..= 0x807F_FFFF).
fn three_levels() -> Arena {
    let a = arena(4);
    put(&a, MODE, frame(0), 2, pte(frame(1), PTR));
    put(&a, MODE, frame(1), 3, pte(frame(2), PTR));
    a
}

/// VPN[2] = 2, VPN[1] = 3, VPN[0] = 4, offset 0x567.
const VA4K: u64 = (2 << 30) | (3 << 21) | (4 << 12) | 0x567;

fn go(
    a: &Arena,
    va: u64,
    access: Access,
) -> Result<rvmm_testkit::spec::SpecTranslation, SpecFault> {
    translate(a, MODE, a.base(), va, access)
}

#[test]
fn a_4k_leaf_translates_through_three_levels() {
    assert_eq!(VA4K, 0x8060_4567);
    let a = three_levels();
    put(&a, MODE, frame(2), 4, pte(0x1_2345_6000, RWAD | PTE_X));
    let t = go(&a, VA4K, Access::read()).unwrap();
    assert_eq!(t.pa, pa(0x1_2345_6567));
    assert_eq!((t.level, t.page_size), (0, PageSize::Size4KiB));
    assert_eq!(u64::from(t.flags), RWAD | PTE_X);
    assert!(!t.global);
    assert_eq!(t.pte_addr, pa(frame(2) + 4 * 8));
    // The neighbouring page has no leaf.
    assert_eq!(
        go(&a, VA4K + 0x1000, Access::read()),
        Err(SpecFault::Invalid { level: 0, pte: 0 })
    );
}

#[test]
fn a_2m_leaf_keeps_the_low_21_bits_of_the_va() {
    let a = arena(2);
    put(&a, MODE, frame(0), 0, pte(frame(1), PTR));
    put(&a, MODE, frame(1), 5, pte(0x8020_0000, RWAD));
    let t = go(&a, (5 << 21) | 0x1_2345, Access::write()).unwrap();
    assert_eq!(t.pa, pa(0x8021_2345));
    assert_eq!((t.level, t.page_size), (1, PageSize::Size2MiB));
}

#[test]
fn a_1g_leaf_keeps_the_low_30_bits_of_the_va() {
    let a = arena(1);
    put(&a, MODE, frame(0), 2, pte(0x4000_0000, RWAD));
    let t = go(&a, 0x9234_5678, Access::read()).unwrap();
    assert_eq!(t.pa, pa(0x5234_5678));
    assert_eq!((t.level, t.page_size), (2, PageSize::Size1GiB));
    // A 56-bit physical address: the widest PPN[2].
    put(&a, MODE, frame(0), 3, pte(0xFF_FFFF_C000_0000, RWAD));
    assert_eq!(
        go(&a, (3 << 30) | 0x3FFF_FFFF, Access::read()).unwrap().pa,
        pa(0xFF_FFFF_FFFF_FFFF)
    );
}

#[test]
fn misaligned_superpages_fault_at_their_level() {
    let a = arena(2);
    put(&a, MODE, frame(0), 0, pte(frame(1), PTR));
    put(&a, MODE, frame(1), 1, pte(0x8020_1000, RWAD)); // 2 MiB leaf, PPN[0] = 1
    let e = pte(0x8020_1000, RWAD);
    assert_eq!(
        go(&a, 1 << 21, Access::read()),
        Err(SpecFault::MisalignedSuperpage { level: 1, pte: e })
    );
    // Only the top bit of PPN[0]: 1 MiB aligned, not 2 MiB.
    put(&a, MODE, frame(1), 1, pte(0x8030_0000, RWAD));
    assert!(matches!(
        go(&a, 1 << 21, Access::read()),
        Err(SpecFault::MisalignedSuperpage { level: 1, .. })
    ));
    // 1 GiB leaves: PPN[1] = 1, then only the top bit of PPN[1] (512 MiB aligned).
    for bad in [0x8020_0000, 0xA000_0000] {
        put(&a, MODE, frame(0), 1, pte(bad, RWAD));
        assert!(matches!(
            go(&a, 1 << 30, Access::read()),
            Err(SpecFault::MisalignedSuperpage { level: 2, .. })
        ));
    }
}

#[test]
fn reserved_encodings_fault() {
    let a = three_levels();
    let write_only = pte(0x9000_0000, PTE_V | PTE_W | PTE_A | PTE_D);
    put(&a, MODE, frame(2), 4, write_only);
    assert_eq!(
        go(&a, VA4K, Access::read()),
        Err(SpecFault::WriteWithoutRead {
            level: 0,
            pte: write_only
        })
    );
    // W+X without R is the same reserved encoding.
    put(&a, MODE, frame(2), 4, write_only | PTE_X);
    assert!(matches!(
        go(&a, VA4K, Access::execute()),
        Err(SpecFault::WriteWithoutRead { .. })
    ));
    // Bits 63..54 must be zero: N (63), PBMT (62..61), reserved (60..54). Each one alone.
    for bit in 54..64 {
        let e = pte(0x9000_0000, RWAD) | 1 << bit;
        put(&a, MODE, frame(2), 4, e);
        assert_eq!(
            go(&a, VA4K, Access::read()),
            Err(SpecFault::ReservedBits { level: 0, pte: e }),
            "bit {bit}"
        );
    }
    // ... also on a pointer.
    put(&a, MODE, frame(0), 2, pte(frame(1), PTR) | 1 << 60);
    assert!(matches!(
        go(&a, VA4K, Access::read()),
        Err(SpecFault::ReservedBits { level: 2, .. })
    ));
}

#[test]
fn pointers_with_a_d_or_u_fault() {
    let a = three_levels();
    put(&a, MODE, frame(2), 4, pte(0x9000_0000, RWAD));
    for flag in [PTE_A, PTE_D, PTE_U] {
        let e = pte(frame(2), PTR | flag);
        put(&a, MODE, frame(1), 3, e);
        assert_eq!(
            go(&a, VA4K, Access::read()),
            Err(SpecFault::NonLeafFlags { level: 1, pte: e })
        );
    }
    // G is allowed on a pointer and makes the whole subtree global.
    put(&a, MODE, frame(1), 3, pte(frame(2), PTR | PTE_G));
    assert!(go(&a, VA4K, Access::read()).unwrap().global);
}

#[test]
fn a_pointer_at_level_0_faults() {
    let a = three_levels();
    let e = pte(frame(3), PTR);
    put(&a, MODE, frame(2), 4, e);
    assert_eq!(
        go(&a, VA4K, Access::read()),
        Err(SpecFault::PointerAtLastLevel { pte: e })
    );
}

#[test]
fn a_table_outside_memory_is_an_access_fault() {
    let a = arena(1);
    put(&a, MODE, frame(0), 0, pte(0x1000_0000, PTR));
    assert_eq!(
        go(&a, 0x1234, Access::read()),
        Err(SpecFault::PteOutsideMemory {
            level: 1,
            pte_addr: pa(0x1000_0000)
        })
    );
}

#[test]
fn svade_faults_on_a_clear_and_on_stores_with_d_clear() {
    let a = three_levels();
    let no_a = pte(0x9000_0000, PTE_V | PTE_R | PTE_W | PTE_D);
    put(&a, MODE, frame(2), 4, no_a);
    assert_eq!(
        go(&a, VA4K, Access::read()),
        Err(SpecFault::NotAccessed {
            level: 0,
            pte: no_a
        })
    );
    let no_d = pte(0x9000_0000, PTE_V | PTE_R | PTE_W | PTE_A);
    put(&a, MODE, frame(2), 4, no_d);
    assert!(go(&a, VA4K, Access::read()).is_ok());
    assert_eq!(
        go(&a, VA4K, Access::write()),
        Err(SpecFault::NotDirty {
            level: 0,
            pte: no_d
        })
    );
}

#[test]
fn faults_come_in_the_spec_order() {
    let a = arena(2);
    put(&a, MODE, frame(0), 0, pte(frame(1), PTR));
    // Step 5 (permission) before step 6 (alignment) before step 7 (A).
    put(&a, MODE, frame(1), 1, pte(0x8020_1000, PTE_V | PTE_R));
    assert!(matches!(
        go(&a, 1 << 21, Access::write()),
        Err(SpecFault::Permission { .. })
    ));
    assert!(matches!(
        go(&a, 1 << 21, Access::read()),
        Err(SpecFault::MisalignedSuperpage { .. })
    ));
    put(&a, MODE, frame(1), 1, pte(0x8020_0000, PTE_V | PTE_R));
    assert!(matches!(
        go(&a, 1 << 21, Access::read()),
        Err(SpecFault::NotAccessed { .. })
    ));
}

/// Whether an access to a 4 KiB leaf with `flags` (plus V, A, D) is allowed.
fn allowed(flags: u64, access: Access) -> bool {
    let a = three_levels();
    put(
        &a,
        MODE,
        frame(2),
        4,
        pte(0x9000_0000, PTE_V | PTE_A | PTE_D | flags),
    );
    match go(&a, VA4K, access) {
        Ok(_) => true,
        Err(SpecFault::Permission { .. }) => false,
        Err(other) => panic!("unexpected {other:?}"),
    }
}

#[test]
fn permissions_follow_rwx_u_sum_and_mxr() {
    use AccessKind::{Execute, Read, Write};
    let s = |k| Access::new(k, Privilege::Supervisor);
    let u = |k| Access::new(k, Privilege::User);
    // Supervisor pages.
    assert!(allowed(PTE_R, s(Read)));
    assert!(!allowed(PTE_R, s(Write)));
    assert!(!allowed(PTE_R, s(Execute)));
    assert!(allowed(PTE_R | PTE_W, s(Write)));
    assert!(allowed(PTE_X, s(Execute)));
    assert!(!allowed(PTE_X, s(Read)));
    assert!(allowed(PTE_X, s(Read).with_mxr()));
    assert!(!allowed(PTE_R, u(Read)), "U-mode never touches U=0 pages");
    // User pages.
    let urwx = PTE_R | PTE_W | PTE_X | PTE_U;
    assert!(allowed(urwx, u(Read)) && allowed(urwx, u(Write)) && allowed(urwx, u(Execute)));
    assert!(!allowed(urwx, s(Read)) && !allowed(urwx, s(Write)));
    assert!(allowed(urwx, s(Read).with_sum()) && allowed(urwx, s(Write).with_sum()));
    assert!(
        !allowed(urwx, s(Execute).with_sum()),
        "SUM never allows fetches"
    );
    assert!(!allowed(PTE_X | PTE_U, u(Read)));
    assert!(allowed(PTE_X | PTE_U, u(Read).with_mxr()));
    assert!(!allowed(PTE_R | PTE_U, u(Write)));
    // The shorthand constructors mean what they say.
    assert_eq!(Access::execute().from_user(), u(Execute));
}

#[test]
fn the_last_page_of_the_lower_half() {
    // 0x3F_FFFF_F000: VPN[2] = 0xFF, VPN[1] = 0x1FF, VPN[0] = 0x1FF.
    let a = arena(3);
    put(&a, MODE, frame(0), 0xFF, pte(frame(1), PTR));
    put(&a, MODE, frame(1), 0x1FF, pte(frame(2), PTR));
    put(&a, MODE, frame(2), 0x1FF, pte(0x9000_0000, RWAD));
    let t = go(&a, 0x3F_FFFF_FFFF, Access::write()).unwrap();
    assert_eq!(t.pa, pa(0x9000_0FFF));
    assert_eq!(t.pte_addr, pa(frame(2) + 0x1FF * 8));
    assert!(go(&a, 0x3F_FFFF_E000, Access::read()).is_err());
    // One past it has bit 38 set without the sign extension.
    assert_eq!(
        go(&a, 0x40_0000_0000, Access::read()),
        Err(SpecFault::NonCanonical { va: 0x40_0000_0000 })
    );
}

#[test]
fn the_upper_half_is_sign_extended() {
    // 0xFFFF_FFFF_FFFF_F000: VPN[2] = VPN[1] = VPN[0] = 0x1FF.
    let a = arena(3);
    put(&a, MODE, frame(0), 0x1FF, pte(frame(1), PTR));
    put(&a, MODE, frame(1), 0x1FF, pte(frame(2), PTR));
    put(&a, MODE, frame(2), 0x1FF, pte(0x9000_0000, RWAD));
    let t = go(&a, 0xFFFF_FFFF_FFFF_FFFF, Access::read()).unwrap();
    assert_eq!(t.pa, pa(0x9000_0FFF));
    // The lowest upper-half address uses VPN[2] = 0x100.
    put(&a, MODE, frame(0), 0x100, pte(0x4000_0000, RWAD));
    let t = go(&a, 0xFFFF_FFC0_0000_0010, Access::read()).unwrap();
    assert_eq!((t.pa, t.level), (pa(0x4000_0010), 2));
    for va in [
        0x7FFF_FFFF_FFFF_F000,
        0xFFFF_FFBF_FFFF_F000,
        0x8000_0000_0000_0000,
    ] {
        assert_eq!(
            go(&a, va, Access::read()),
            Err(SpecFault::NonCanonical { va })
        );
    }
}

#[test]
fn ptes_are_read_little_endian_from_the_arena_bytes() {
    let a = arena(1);
    // 0x0000_0000_2000_000F: PPN 0x80000 (PA 0x8000_0000), V R W X. Written byte by byte.
    let bytes = [0x0F | 0x40 | 0x80, 0x00, 0x00, 0x20, 0, 0, 0, 0];
    a.write(Frame::containing(pa(BASE)), 8 * 7, &bytes).unwrap();
    let t = go(&a, (7 << 30) | 0x42, Access::execute()).unwrap();
    assert_eq!(t.pa, pa(0x8000_0042));
    assert_eq!(t.flags, 0xCF);
}
