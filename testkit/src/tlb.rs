//! An emulated TLB that keeps stale translations until it is flushed.
//!
//! Why: on the host a page table change takes effect at once, so a forgotten `sfence.vma` goes
//! unnoticed until it corrupts a process on real hardware. [`EmulatedTlb`] caches what the spec
//! walker returned and keeps answering from the cache until [`Tlb::flush_page`] or
//! [`Tlb::flush_all`] drops the entry, so a test that changes a live table, skips applying the
//! [`Flush`](rvmm::tlb::Flush) token and translates again gets the old answer and fails.
//!
//! Simplifications, each on the side of "a missing flush is caught less often", never of a false
//! alarm:
//! - Only successful translations are cached. Real harts may also cache invalid entries (which
//!   is why RISC-V needs `sfence.vma` even when an entry goes from invalid to valid); this TLB
//!   does not, so it cannot catch a missing flush after a map into empty space.
//! - Entries are not tagged with a root or an ASID: switching tables needs `flush_all`, as on a
//!   hart that does not use ASIDs.
//! - No intermediate (non-leaf) entries are cached.
//!
//! On a hit the cached leaf is checked against the access again (permissions, Svade's A/D rule),
//! as hardware checks the cached PTE: a stale read-only entry makes a store fault even after the
//! table made the page writable.

use crate::arena::Arena;
use crate::spec::Access;
use crate::spec::{FoundLeaf, SpecFault, SpecMode, SpecTranslation, check_leaf, find_leaf};
use rvmm::addr::{Page, PageSize, PhysAddr};
use rvmm::tlb::Tlb;
use std::collections::BTreeMap;

/// A cache of leaf translations, filled by the spec walker and emptied only by flushes.
///
/// ```
/// use rvmm::tlb::Flush;
/// use rvmm_testkit::{Arena, EmulatedTlb};
/// use rvmm_testkit::spec::{Access, PTE_A, PTE_R, PTE_V, SpecMode};
///
/// let arena = Arena::new(0x8000_0000, 4096);
/// # use rvmm::Frame;
/// let put = |leaf: u64| arena.write(Frame::containing(arena.base()), 0, &leaf.to_le_bytes());
/// put((0x1_0000_0000 >> 12) << 10 | PTE_V | PTE_R | PTE_A); // 1 GiB at VA 0
/// let mut tlb = EmulatedTlb::new();
/// let t = |tlb: &mut EmulatedTlb| {
///     tlb.translate(&arena, SpecMode::Sv39, arena.base(), 0x42, Access::read()).map(|t| t.pa.as_u64())
/// };
/// assert_eq!(t(&mut tlb), Ok(0x1_0000_0042));
/// put(0); // unmapped, but not flushed yet
/// assert_eq!(t(&mut tlb), Ok(0x1_0000_0042));
/// Flush::all().apply(&mut tlb);
/// assert!(t(&mut tlb).is_err());
/// ```
#[derive(Clone, Debug, Default)]
pub struct EmulatedTlb {
    /// Keyed by the first VA of the (super)page and its size: after a table change without a
    /// flush, a stale 4 KiB entry and a fresh 2 MiB one may both cover an address.
    entries: BTreeMap<(u64, PageSize), SpecTranslation>,
    hits: u64,
    misses: u64,
    page_flushes: u64,
    full_flushes: u64,
}

impl EmulatedTlb {
    /// An empty TLB.
    pub fn new() -> Self {
        Self::default()
    }

    /// Translates `va` for `access` as a hart would: from a cached entry if one covers `va`
    /// (checked again against the access), else by walking the table at `root` with the spec
    /// walker and caching the result if it succeeded.
    ///
    /// # Panics
    /// As [`spec::translate`](crate::spec::translate), on a root no satp can name.
    pub fn translate(
        &mut self,
        arena: &Arena,
        mode: SpecMode,
        root: PhysAddr,
        va: u64,
        access: Access,
    ) -> Result<SpecTranslation, SpecFault> {
        if let Some(cached) = self.lookup(mode, va) {
            self.hits += 1;
            return check_leaf(mode, leaf_of(&cached), va, access);
        }
        self.misses += 1;
        let leaf = find_leaf(arena, mode, root, va)?;
        let t = check_leaf(mode, leaf, va, access)?;
        let base = va & !(t.page_size.bytes() - 1);
        self.entries.insert((base, t.page_size), t);
        Ok(t)
    }

    /// The cached entry covering `va`, if any, without walking or counting.
    pub fn cached(&self, mode: SpecMode, va: u64) -> Option<SpecTranslation> {
        self.lookup(mode, va)
    }

    fn lookup(&self, mode: SpecMode, va: u64) -> Option<SpecTranslation> {
        (0..mode.levels())
            .filter_map(|level| mode.page_size(level))
            .find_map(|size| self.entries.get(&(va & !(size.bytes() - 1), size)).copied())
    }

    /// How many translations are cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Translations answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Translations that walked the table.
    pub fn misses(&self) -> u64 {
        self.misses
    }

    /// Calls to [`Tlb::flush_page`].
    pub fn page_flushes(&self) -> u64 {
        self.page_flushes
    }

    /// Calls to [`Tlb::flush_all`].
    pub fn full_flushes(&self) -> u64 {
        self.full_flushes
    }
}

/// Every page size any mode has, so a flush need not know the mode.
const ALL_SIZES: [PageSize; 4] = [
    PageSize::Size4KiB,
    PageSize::Size2MiB,
    PageSize::Size4MiB,
    PageSize::Size1GiB,
];

fn leaf_of(t: &SpecTranslation) -> FoundLeaf {
    FoundLeaf {
        level: t.level,
        pte: t.pte,
        pte_addr: t.pte_addr,
        global: t.global,
    }
}

impl Tlb for EmulatedTlb {
    /// Drops every entry that covers `page`: like `sfence.vma` with an address, this removes a
    /// superpage entry whichever of its 4 KiB pages is named.
    fn flush_page(&mut self, page: Page) {
        self.page_flushes += 1;
        let va = page.start().as_u64();
        for size in ALL_SIZES {
            self.entries.remove(&(va & !(size.bytes() - 1), size));
        }
    }

    fn flush_all(&mut self) {
        self.full_flushes += 1;
        self.entries.clear();
    }
}
