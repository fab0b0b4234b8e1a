//! Sv39 and Sv32 page tables behind one generic walker.
//!
//! [`PageTable<M, P>`] owns a tree of tables of mode `M` ([`Sv39`] or [`Sv32`]) living in the
//! physical memory `P`. The mode's constants drive the walk; there is no second copy of it.
//! Frames for tables come from a [`FrameSource`](crate::FrameSource) passed to each call, so
//! the same table works with the kernel's allocator, a per-hart cache, or a test's failing one.
//!
//! A leaf either maps someone else's memory ([`PageTable::map`]: RAM at VA = PA, a device, a
//! shared trampoline), which the table never frees, or is *owned*: its frame was allocated by
//! the table itself ([`PageTable::map_new`]: a process's pages, a kernel stack) and goes back
//! to the frame source when the leaf is unmapped or the table destroyed.
//!
//! ```
//! use rvmm::addr::{PageRange, PhysAddr, VirtAddr};
//! use rvmm::paging::{PageSizes, PageTable, Perms, Sv39};
//! # use rvmm::{Frame, FrameSource, OutOfMemory, PhysMem};
//! # fn demo<P: PhysMem>(phys: P, frames: &mut impl FrameSource) -> Result<(), Box<dyn core::error::Error>> {
//! let mut table = PageTable::<Sv39, _>::new(phys, frames)?;
//! let pages = PageRange::new(VirtAddr::new(0x8000_0000)?, 4 << 20)?;
//! let pa = PhysAddr::new(0x8000_0000)?;
//! table.map(pages, pa, Perms::RW, PageSizes::Largest, frames)?.ignore(); // not live yet
//! let t = table.translate(VirtAddr::new(0x8012_3456)?).unwrap();
//! assert_eq!(t.pa.as_u64(), 0x8012_3456);
//! // A zeroed page of the table's own, with its first bytes written before it is mapped.
//! let stack = PageRange::new(VirtAddr::new(0x10_0000)?, 4096)?;
//! table.map_new(stack, Perms::RW, frames, |_page, mut bytes| {
//!     bytes.write(0, b"hello").expect("inside the frame");
//! })?.ignore();
//! table.unmap(stack, frames)?.ignore(); // gives the page's frame back
//! table.destroy(frames);
//! # Ok(()) }
//! ```

mod edit;
mod error;
mod iter;
mod mode;
mod owned;
mod pte;
mod split;
mod table;

pub use error::{AsidOutOfRange, MapError, MapNewError, ProtectError, UnmapError};
pub use iter::Mappings;
pub use mode::{Mode, Sv32, Sv39};
pub use pte::{Perms, Pte, PteFlags, PteKind};
pub use table::PageTable;

use crate::addr::{PageSize, PhysAddr, VirtAddr};

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

/// A run of mapped memory: consecutive pages of one size, one set of permissions and one kind
/// (owned or not), whose physical addresses are consecutive too.
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
    /// Whether the table owns the run's frames ([`PageTable::map_new`]'s pages).
    pub owned: bool,
}
