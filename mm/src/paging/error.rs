//! What each page-table operation can refuse, one enum per operation, so a caller matches only
//! the causes its operation has. The table is unchanged whenever one is returned.

use super::{Mapping, Perms};
use crate::addr::{PhysAddr, VirtAddr};
use crate::frame::OutOfMemory;
use core::fmt;

/// Why [`PageTable::map`](super::PageTable::map) refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// No frame was left for a table.
    OutOfMemory,
    /// The range reaches above the mode's top virtual address.
    VirtOutOfRange(VirtAddr),
    /// The physical range reaches beyond what the mode can address.
    PhysOutOfRange(PhysAddr),
    /// The physical address is not 4 KiB aligned.
    UnalignedPhys(PhysAddr),
    /// The permissions make no legal leaf (none of R/W/X, or W without R).
    IllegalPerms(Perms),
    /// Part of the range is already mapped; this is the mapping found there.
    AlreadyMapped(Mapping),
}

/// Why [`PageTable::map_new`](super::PageTable::map_new) refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapNewError {
    /// No frame was left for a page or a table.
    OutOfMemory,
    /// The range reaches above the mode's top virtual address.
    VirtOutOfRange(VirtAddr),
    /// The permissions make no legal leaf (none of R/W/X, or W without R).
    IllegalPerms(Perms),
    /// Part of the range is already mapped; this is the mapping found there.
    AlreadyMapped(Mapping),
}

/// Why [`PageTable::unmap`](super::PageTable::unmap) refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnmapError {
    /// No frame was left to split a superpage that straddles an end of the range.
    OutOfMemory,
    /// The range reaches above the mode's top virtual address.
    VirtOutOfRange(VirtAddr),
}

/// Why [`PageTable::protect`](super::PageTable::protect) refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtectError {
    /// No frame was left to split a superpage that straddles an end of the range.
    OutOfMemory,
    /// The range reaches above the mode's top virtual address.
    VirtOutOfRange(VirtAddr),
    /// The permissions make no legal leaf (none of R/W/X, or W without R).
    IllegalPerms(Perms),
    /// This address, the first hole in the range, is not mapped.
    NotMapped(VirtAddr),
}

/// The address-space id does not fit the mode's `satp.ASID` field (9 bits on Sv32, 16 on
/// Sv39); from [`PageTable::satp`](super::PageTable::satp).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsidOutOfRange(pub u16);

/// How a map stopped part-way, before the caller's error type is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Blocked {
    OutOfMemory,
    AlreadyMapped(Mapping),
}

impl From<OutOfMemory> for Blocked {
    fn from(_: OutOfMemory) -> Self {
        Blocked::OutOfMemory
    }
}

macro_rules! out_of_memory {
    ($($t:ident),+) => {$(
        impl From<OutOfMemory> for $t {
            fn from(_: OutOfMemory) -> Self {
                $t::OutOfMemory
            }
        }
    )+};
}

out_of_memory!(MapError, MapNewError, UnmapError, ProtectError);

impl From<Blocked> for MapError {
    fn from(b: Blocked) -> Self {
        match b {
            Blocked::OutOfMemory => MapError::OutOfMemory,
            Blocked::AlreadyMapped(m) => MapError::AlreadyMapped(m),
        }
    }
}

/// Every way `map_new` can fail is a way `map` can: for callers that report both as one.
impl From<MapNewError> for MapError {
    fn from(e: MapNewError) -> Self {
        match e {
            MapNewError::OutOfMemory => MapError::OutOfMemory,
            MapNewError::VirtOutOfRange(va) => MapError::VirtOutOfRange(va),
            MapNewError::IllegalPerms(p) => MapError::IllegalPerms(p),
            MapNewError::AlreadyMapped(m) => MapError::AlreadyMapped(m),
        }
    }
}

impl From<Blocked> for MapNewError {
    fn from(b: Blocked) -> Self {
        match b {
            Blocked::OutOfMemory => MapNewError::OutOfMemory,
            Blocked::AlreadyMapped(m) => MapNewError::AlreadyMapped(m),
        }
    }
}

/// `va: already mapped to pa (2M page, R-X--)`.
fn already_mapped(f: &mut fmt::Formatter<'_>, m: &Mapping) -> fmt::Result {
    write!(
        f,
        "already mapped: {:?} -> {:?} ({} page, {})",
        m.va, m.pa, m.size, m.perms
    )
}

const NO_TABLE: &str = "out of frames for page tables";
const TOO_HIGH: &str = "range beyond the mode's top";
const ILLEGAL: &str = "is not a legal leaf";

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapError::OutOfMemory => f.write_str(NO_TABLE),
            MapError::VirtOutOfRange(va) => write!(f, "{va:?}: {TOO_HIGH}"),
            MapError::PhysOutOfRange(pa) => write!(f, "{pa:?}: beyond the mode's physical reach"),
            MapError::UnalignedPhys(pa) => write!(f, "{pa:?} is not 4 KiB aligned"),
            MapError::IllegalPerms(p) => write!(f, "{p} {ILLEGAL}"),
            MapError::AlreadyMapped(m) => already_mapped(f, m),
        }
    }
}

impl fmt::Display for MapNewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapNewError::OutOfMemory => f.write_str("out of frames for pages or page tables"),
            // The other causes read as `map`'s.
            e => write!(f, "{}", MapError::from(*e)),
        }
    }
}

impl fmt::Display for UnmapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnmapError::OutOfMemory => f.write_str(NO_TABLE),
            UnmapError::VirtOutOfRange(va) => write!(f, "{va:?}: {TOO_HIGH}"),
        }
    }
}

impl fmt::Display for ProtectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtectError::OutOfMemory => f.write_str(NO_TABLE),
            ProtectError::VirtOutOfRange(va) => write!(f, "{va:?}: {TOO_HIGH}"),
            ProtectError::IllegalPerms(p) => write!(f, "{p} {ILLEGAL}"),
            ProtectError::NotMapped(va) => write!(f, "{va:?} is not mapped"),
        }
    }
}

impl fmt::Display for AsidOutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ASID {} too wide for the mode", self.0)
    }
}

impl core::error::Error for MapError {}
impl core::error::Error for MapNewError {}
impl core::error::Error for UnmapError {}
impl core::error::Error for ProtectError {}
impl core::error::Error for AsidOutOfRange {}
