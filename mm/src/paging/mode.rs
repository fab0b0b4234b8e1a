//! Paging modes: the constants that drive the one walker.

use crate::addr::PageSize;
use core::fmt::Debug;

/// A RISC-V paging mode. The walker is written once against these constants; `Sv39` and `Sv32`
/// differ only here.
pub trait Mode: Copy + Debug + Default + Send + Sync + 'static {
    /// Name, for messages.
    const NAME: &'static str;
    /// Levels of tables (the root is level `LEVELS - 1`, leaves of 4 KiB are level 0).
    const LEVELS: usize;
    /// Bits of the virtual address each level consumes.
    const INDEX_BITS: u32;
    /// Bytes per entry.
    const ENTRY_BYTES: usize;
    /// Exclusive top of the virtual addresses this project uses in the mode.
    const VA_TOP: u64;
    /// Width of a physical address.
    const PA_BITS: u32;
    /// The leaf size each level maps, indexed by level.
    const LEAF_SIZES: &'static [PageSize];
    /// `satp.MODE`, already shifted into place.
    const SATP_MODE: u64;
    /// Bit position of `satp.ASID`.
    const SATP_ASID_SHIFT: u32;
    /// Width of `satp.ASID`.
    const SATP_ASID_BITS: u32;

    /// Entries per table.
    const ENTRIES: usize = 1 << Self::INDEX_BITS;
    /// Bits of the PPN field in an entry.
    const PPN_BITS: u32 = Self::PA_BITS - 12;
}

/// Sv39: three levels of 512 eight-byte entries; 4 KiB, 2 MiB and 1 GiB pages; 56-bit PA.
///
/// Only the lower half of the 39-bit space is used (`VA_TOP` = 2^38): addresses need no sign
/// extension and the trampoline sits in the page just below 2^38.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sv39;

impl Mode for Sv39 {
    const NAME: &'static str = "Sv39";
    const LEVELS: usize = 3;
    const INDEX_BITS: u32 = 9;
    const ENTRY_BYTES: usize = 8;
    const VA_TOP: u64 = 1 << 38;
    const PA_BITS: u32 = 56;
    const LEAF_SIZES: &'static [PageSize] =
        &[PageSize::Size4KiB, PageSize::Size2MiB, PageSize::Size1GiB];
    const SATP_MODE: u64 = 8 << 60;
    const SATP_ASID_SHIFT: u32 = 44;
    const SATP_ASID_BITS: u32 = 16;
}

/// Sv32: two levels of 1024 four-byte entries; 4 KiB and 4 MiB pages; 34-bit PA.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sv32;

impl Mode for Sv32 {
    const NAME: &'static str = "Sv32";
    const LEVELS: usize = 2;
    const INDEX_BITS: u32 = 10;
    const ENTRY_BYTES: usize = 4;
    const VA_TOP: u64 = 1 << 32;
    const PA_BITS: u32 = 34;
    const LEAF_SIZES: &'static [PageSize] = &[PageSize::Size4KiB, PageSize::Size4MiB];
    const SATP_MODE: u64 = 1 << 31;
    const SATP_ASID_SHIFT: u32 = 22;
    const SATP_ASID_BITS: u32 = 9;
}

/// Deepest tree any mode has; sizes the walker's fixed stacks.
pub(crate) const MAX_LEVELS: usize = 3;

/// Checks that a mode's constants agree with each other; evaluated at compile time for every
/// mode the walker is instantiated with.
pub(crate) const fn check<M: Mode>() {
    assert!(M::ENTRIES * M::ENTRY_BYTES == crate::addr::PAGE_SIZE);
    assert!(M::LEVELS <= MAX_LEVELS && M::LEAF_SIZES.len() == M::LEVELS);
    assert!(M::ENTRY_BYTES == 8 || M::ENTRY_BYTES == 4);
    assert!(12 + M::INDEX_BITS * M::LEVELS as u32 >= 64 - M::VA_TOP.leading_zeros() - 1);
    assert!(M::VA_TOP <= crate::addr::VIRT_TOP && M::VA_TOP.is_power_of_two());
    // Every PPN the mode can hold names a frame (`Pte::kind` relies on it).
    assert!(M::PA_BITS <= crate::addr::PHYS_BITS);
    let mut l = 0;
    while l < M::LEVELS {
        assert!(M::LEAF_SIZES[l].shift() == 12 + M::INDEX_BITS * l as u32);
        l += 1;
    }
    // A PPN must fit in the entry between bit 10 and the entry's top (Sv39 keeps 54..63 zero).
    assert!(10 + M::PPN_BITS <= (M::ENTRY_BYTES * 8) as u32);
}

const _: () = check::<Sv39>();
const _: () = check::<Sv32>();
