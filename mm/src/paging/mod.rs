//! Sv39 and Sv32 page tables behind one generic walker.
//!
//! [`PageTable<M, P>`] owns a tree of tables of mode `M` ([`Sv39`] or [`Sv32`]) living in the
//! physical memory `P`. The mode's constants drive the walk; there is no second copy of it.
//! Frames for tables come from a [`FrameSource`](crate::FrameSource) passed to each call, so
//! the same table works with the kernel's allocator, a per-hart cache, or a test's failing one.
//!
//! ```
//! use rvmm::addr::{PageRange, PhysAddr, VirtAddr};
//! use rvmm::paging::{PageSizes, PageTable, Perms, Sv39};
//! # use rvmm::{Frame, FrameSource, OutOfMemory, PhysMem};
//! # fn demo<P: PhysMem>(phys: P, frames: &mut impl FrameSource) -> Result<(), rvmm::paging::Error> {
//! let mut table = PageTable::<Sv39, _>::new(phys, frames)?;
//! let pages = PageRange::new(VirtAddr::new(0x8000_0000)?, 4 << 20)?;
//! let pa = PhysAddr::new(0x8000_0000)?;
//! table.map(pages, pa, Perms::RW, PageSizes::Largest, frames)?.ignore(); // not live yet
//! let t = table.translate(VirtAddr::new(0x8012_3456)?).unwrap();
//! assert_eq!(t.pa.as_u64(), 0x8012_3456);
//! table.destroy(frames);
//! # Ok(()) }
//! ```

mod edit;
mod iter;
mod mode;
mod pte;
mod table;

pub use iter::Mappings;
pub use mode::{Mode, Sv32, Sv39};
pub use pte::{Perms, Pte, PteFlags, PteKind};
pub use table::PageTable;

use crate::addr::{AddrError, PageSize, PhysAddr, VirtAddr};
use core::fmt;

/// Which page sizes [`PageTable::map`] may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageSizes {
    /// The largest pages that the alignment of VA and PA and the remaining length allow.
    Largest,
    /// 4 KiB pages only (e.g. memory that will later be unmapped page by page).
    Only4KiB,
}

/// Where an address leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// The physical address.
    pub pa: PhysAddr,
    /// The leaf's permissions.
    pub perms: Perms,
    /// The size of the page that maps it.
    pub size: PageSize,
}

/// A run of mapped memory: consecutive pages of one size and one set of permissions, whose
/// physical addresses are consecutive too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// First virtual address.
    pub va: VirtAddr,
    /// First physical address.
    pub pa: PhysAddr,
    /// Length in bytes.
    pub len: u64,
    /// Permissions.
    pub perms: Perms,
    /// Page size of every leaf in the run.
    pub size: PageSize,
}

/// Why a page-table operation was refused. The table is unchanged whenever one is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
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
    /// Part of the range is not mapped (operations that need every page mapped).
    NotMapped(VirtAddr),
    /// The ASID does not fit the mode's `satp.ASID` field.
    AsidOutOfRange(u16),
    /// An address argument was malformed.
    Addr(AddrError),
}

impl From<AddrError> for Error {
    fn from(e: AddrError) -> Self {
        Error::Addr(e)
    }
}

impl From<crate::frame::OutOfMemory> for Error {
    fn from(_: crate::frame::OutOfMemory) -> Self {
        Error::OutOfMemory
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::OutOfMemory => f.write_str("out of frames for page tables"),
            Error::VirtOutOfRange(va) => write!(f, "{va:?}: range beyond the mode's top"),
            Error::PhysOutOfRange(pa) => write!(f, "{pa:?}: beyond the mode's physical reach"),
            Error::UnalignedPhys(pa) => write!(f, "{pa:?} is not 4 KiB aligned"),
            Error::IllegalPerms(p) => write!(f, "{p:?} is not a legal leaf"),
            Error::AlreadyMapped(m) => write!(
                f,
                "already mapped: {:?} -> {:?} ({} page, {:?})",
                m.va, m.pa, m.size, m.perms
            ),
            Error::NotMapped(va) => write!(f, "{va:?} is not mapped"),
            Error::AsidOutOfRange(a) => write!(f, "ASID {a} too wide for the mode"),
            Error::Addr(e) => write!(f, "{e}"),
        }
    }
}
