//! The emulated TLB keeps stale translations until flushed, so a missing flush fails a test.

mod common;

use common::{arena, frame, pa, pte, put};
use rvmm::addr::{Page, PageRange, VirtAddr};
use rvmm::tlb::{Flush, Tlb};
use rvmm_testkit::spec::{
    Access, PTE_A, PTE_D, PTE_R, PTE_V, PTE_W, SpecFault, SpecMode, SpecTranslation,
};
use rvmm_testkit::{Arena, EmulatedTlb};

const RWAD: u64 = PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;

fn page(va: u64) -> Page {
    Page::containing(VirtAddr::try_from(va).unwrap())
}

/// A two-level path for 4 KiB pages at VA 0x40_0000.. (Sv32: root[1] -> frame 1; Sv39: root[0]
/// -> frame 1 -> frame 2, entry 2 of the level-1 table).
fn tables(mode: SpecMode) -> (Arena, u64) {
    let a = arena(3);
    match mode {
        SpecMode::Sv32 => {
            put(&a, mode, frame(0), 1, pte(frame(1), PTE_V));
            (a, frame(1))
        }
        SpecMode::Sv39 => {
            put(&a, mode, frame(0), 0, pte(frame(1), PTE_V));
            put(&a, mode, frame(1), 2, pte(frame(2), PTE_V));
            (a, frame(2))
        }
    }
}

const VA: u64 = 0x40_0000;

fn go(
    tlb: &mut EmulatedTlb,
    a: &Arena,
    mode: SpecMode,
    va: u64,
    access: Access,
) -> Result<SpecTranslation, SpecFault> {
    tlb.translate(a, mode, a.base(), va, access)
}

#[test]
fn a_remap_without_flush_returns_the_stale_frame_in_both_modes() {
    for mode in [SpecMode::Sv32, SpecMode::Sv39] {
        let (a, leaf_table) = tables(mode);
        put(&a, mode, leaf_table, 0, pte(0x9000_0000, RWAD));
        let mut tlb = EmulatedTlb::new();
        let pa_of = |tlb: &mut EmulatedTlb| go(tlb, &a, mode, VA + 8, Access::read()).map(|t| t.pa);
        assert_eq!(pa_of(&mut tlb), Ok(pa(0x9000_0008)));
        put(&a, mode, leaf_table, 0, pte(0x9100_0000, RWAD));
        assert_eq!(
            pa_of(&mut tlb),
            Ok(pa(0x9000_0008)),
            "{mode:?}: stale until flushed"
        );
        // Flushing another page does not help; flushing this one does.
        tlb.flush_page(page(VA + 0x1000));
        assert_eq!(pa_of(&mut tlb), Ok(pa(0x9000_0008)), "{mode:?}");
        tlb.flush_page(page(VA));
        assert_eq!(pa_of(&mut tlb), Ok(pa(0x9100_0008)), "{mode:?}");
        assert_eq!((tlb.misses(), tlb.hits()), (2, 2));
        // An unmap is just as invisible until the flush.
        put(&a, mode, leaf_table, 0, 0);
        assert!(pa_of(&mut tlb).is_ok());
        tlb.flush_all();
        assert!(matches!(pa_of(&mut tlb), Err(SpecFault::Invalid { .. })));
        assert!(tlb.is_empty(), "faults are not cached");
    }
}

#[test]
fn flush_tokens_from_rvmm_apply_to_it() {
    let mode = SpecMode::Sv39;
    let (a, leaf_table) = tables(mode);
    let mut tlb = EmulatedTlb::new();
    for i in 0..4 {
        put(&a, mode, leaf_table, i, pte(0x9000_0000 + i * 0x1000, RWAD));
        go(&mut tlb, &a, mode, VA + i * 0x1000, Access::read()).unwrap();
    }
    assert_eq!(tlb.len(), 4);
    let middle = PageRange::from_pages(page(VA + 0x1000), 2).unwrap();
    Flush::pages(middle).apply(&mut tlb);
    assert_eq!(tlb.len(), 2);
    assert!(tlb.cached(mode, VA).is_some() && tlb.cached(mode, VA + 0x3000).is_some());
    assert!(tlb.cached(mode, VA + 0x1000).is_none() && tlb.cached(mode, VA + 0x2000).is_none());
    assert_eq!(tlb.page_flushes(), 2);
    Flush::all().apply(&mut tlb);
    assert!(tlb.is_empty());
    assert_eq!(tlb.full_flushes(), 1);
}

#[test]
fn a_superpage_entry_is_flushed_by_any_of_its_pages() {
    let mode = SpecMode::Sv32;
    let a = arena(1);
    put(&a, mode, frame(0), 1, pte(0x9000_0000, RWAD)); // 4 MiB at 0x40_0000
    let mut tlb = EmulatedTlb::new();
    go(&mut tlb, &a, mode, VA, Access::read()).unwrap();
    // The one entry serves every page of the superpage.
    let far = VA + 0x3F_F123;
    assert_eq!(
        go(&mut tlb, &a, mode, far, Access::read()).unwrap().pa,
        pa(0x903F_F123)
    );
    assert_eq!((tlb.misses(), tlb.hits(), tlb.len()), (1, 1, 1));
    put(&a, mode, frame(0), 1, 0);
    assert!(go(&mut tlb, &a, mode, far, Access::read()).is_ok(), "stale");
    tlb.flush_page(page(VA + 0x20_0000));
    assert!(go(&mut tlb, &a, mode, far, Access::read()).is_err());
}

#[test]
fn a_stale_read_only_entry_still_refuses_stores() {
    let mode = SpecMode::Sv39;
    let (a, leaf_table) = tables(mode);
    put(
        &a,
        mode,
        leaf_table,
        0,
        pte(0x9000_0000, PTE_V | PTE_R | PTE_A),
    );
    let mut tlb = EmulatedTlb::new();
    go(&mut tlb, &a, mode, VA, Access::read()).unwrap();
    // The table now allows stores, but the cached entry does not.
    put(&a, mode, leaf_table, 0, pte(0x9000_0000, RWAD));
    assert!(matches!(
        go(&mut tlb, &a, mode, VA, Access::write()),
        Err(SpecFault::Permission { level: 0, .. })
    ));
    tlb.flush_page(page(VA));
    assert!(go(&mut tlb, &a, mode, VA, Access::write()).is_ok());
}

#[test]
fn a_stale_4k_entry_shadows_a_new_superpage_until_flushed() {
    let mode = SpecMode::Sv32;
    let (a, leaf_table) = tables(mode);
    put(&a, mode, leaf_table, 0, pte(0x9000_0000, RWAD));
    let mut tlb = EmulatedTlb::new();
    go(&mut tlb, &a, mode, VA, Access::read()).unwrap();
    // Replace the whole level-0 table by a 4 MiB leaf (the table frame is left unreferenced).
    put(&a, mode, frame(0), 1, pte(0xA000_0000, RWAD));
    assert_eq!(
        go(&mut tlb, &a, mode, VA, Access::read()).unwrap().pa,
        pa(0x9000_0000)
    );
    // Another page of the new superpage misses and caches the superpage next to the stale entry.
    assert_eq!(
        go(&mut tlb, &a, mode, VA + 0x1000, Access::read())
            .unwrap()
            .pa,
        pa(0xA000_1000)
    );
    assert_eq!(tlb.len(), 2);
    tlb.flush_page(page(VA));
    assert!(
        tlb.is_empty(),
        "the flush of one page drops every entry covering it"
    );
    assert_eq!(
        go(&mut tlb, &a, mode, VA, Access::read()).unwrap().pa,
        pa(0xA000_0000)
    );
}
