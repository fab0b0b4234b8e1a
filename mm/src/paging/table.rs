//! The page table object: owns its root, reads and writes entries through `PhysMem`.
//!
//! This file holds the paging module's only `unsafe`: entry loads and stores. Every table frame
//! a `PageTable` reaches from its root was allocated by it (or handed to it with
//! [`PageTable::from_root`]'s contract) and is freed only by it, so it owns those frames.

use super::mode::{Mode, check};
use super::pte::{Perms, Pte, PteFlags, PteKind};
use super::{Error, Translation};
use crate::addr::{Frame, PAGE_SIZE, PhysAddr, VirtAddr};
use crate::frame::{FrameSource, OutOfMemory};
use crate::phys::PhysMem;
use core::marker::PhantomData;
use core::ptr::NonNull;

/// A page table of mode `M` whose tables live in the physical memory `P`.
///
/// Invariant: no table below the root is empty (every operation prunes the tables it empties), so
/// a rolled-back map leaves the tree exactly as it found it.
pub struct PageTable<M: Mode, P: PhysMem> {
    root: Frame,
    root_ptr: NonNull<u8>,
    phys: P,
    _mode: PhantomData<M>,
}

// SAFETY: the table owns its frames; moving it to another thread moves that ownership, and P is
// Sync (PhysMem requires it) so it may be used from there.
unsafe impl<M: Mode, P: PhysMem + Send> Send for PageTable<M, P> {}
// SAFETY: `&PageTable` only reads entries; writes need `&mut`.
unsafe impl<M: Mode, P: PhysMem> Sync for PageTable<M, P> {}

impl<M: Mode, P: PhysMem> PageTable<M, P> {
    /// An empty table: one zeroed root frame from `frames`.
    pub fn new(phys: P, frames: &mut impl FrameSource) -> Result<Self, OutOfMemory> {
        const { check::<M>() };
        const {
            assert!(
                M::VA_TOP - 1 <= usize::MAX as u64,
                "this mode needs a wider usize"
            )
        };
        let root = frames.allocate()?;
        let (Some(root_ptr), Some(_)) = (phys.frame_ptr(root), Pte::table::<M>(root)) else {
            // SAFETY: the frame just came from `frames` and was never used.
            unsafe { frames.deallocate(root) };
            return Err(OutOfMemory);
        };
        let table = PageTable {
            root,
            root_ptr,
            phys,
            _mode: PhantomData,
        };
        table.zero(root_ptr);
        Ok(table)
    }

    /// Adopts an existing tree rooted at `root`.
    ///
    /// # Safety
    /// The tree must be one this library built (legal entries, no empty tables below the root),
    /// all its table frames must be backed by `phys`, and from now on nothing but the returned
    /// value may touch them.
    pub unsafe fn from_root(phys: P, root: Frame) -> Option<Self> {
        let root_ptr = phys.frame_ptr(root)?;
        Some(PageTable {
            root,
            root_ptr,
            phys,
            _mode: PhantomData,
        })
    }

    /// The root table's frame.
    pub fn root(&self) -> Frame {
        self.root
    }

    /// The physical memory the tables live in.
    pub fn phys(&self) -> &P {
        &self.phys
    }

    /// The `satp` value that selects this table with address-space id `asid`.
    pub fn satp(&self, asid: u16) -> Result<u64, Error> {
        if u64::from(asid) >> M::SATP_ASID_BITS != 0 {
            return Err(Error::AsidOutOfRange(asid));
        }
        Ok(M::SATP_MODE | u64::from(asid) << M::SATP_ASID_SHIFT | self.root.number())
    }

    /// Where `va` leads: physical address, permissions and page size; `None` if unmapped.
    #[inline]
    pub fn translate(&self, va: VirtAddr) -> Option<Translation> {
        let va = va.as_u64();
        if va >= M::VA_TOP {
            return None;
        }
        // The hot path of every software walk: raw bits instead of `PteKind`, and a loop over
        // the mode's constant depth that the compiler unrolls. Same decoding as `Pte::kind`.
        let mut table = self.root_ptr;
        let mut level = M::LEVELS - 1;
        // The offset mask of a leaf at `level`, kept as a variable so that each unrolled level
        // sets a constant rather than shifting by the level.
        let mut offset_mask = M::LEAF_SIZES[level].bytes() - 1;
        let pte = loop {
            let pte = self.load(table, index::<M>(va, level));
            if level == 0 || pte.flags() & Pte::KIND != PteFlags::V {
                break pte;
            }
            // A pointer to the next table: the common case above the leaves, one test.
            table = self.frame_ptr(Frame::from_number(pte.ppn::<M>()).ok()?);
            level -= 1;
            offset_mask >>= M::INDEX_BITS;
        };
        if !pte.is_leaf() {
            return None;
        }
        let flags = pte.flags();
        let pa = PhysAddr::new((pte.ppn::<M>() << 12) + (va & offset_mask)).ok()?;
        let perms = Perms::from_flags(flags);
        let size = M::LEAF_SIZES[level];
        Some(Translation { pa, perms, size })
    }

    /// Frees every table frame (not the frames leaves point to) and consumes the table.
    pub fn destroy(self, frames: &mut impl FrameSource) {
        self.free_subtree(self.root, M::LEVELS - 1, frames);
    }

    fn free_subtree(&self, table: Frame, level: usize, frames: &mut impl FrameSource) {
        if level > 0 {
            let t = self.table(table);
            for i in 0..M::ENTRIES {
                if let PteKind::Table(child) = self.get(t, i).kind::<M>() {
                    self.free_subtree(child, level - 1, frames);
                }
            }
        }
        // SAFETY: the table frame came from `frames` (module invariant) and, its parent being
        // gone with `self`, is no longer reachable.
        unsafe { frames.deallocate(table) };
    }

    /// A zeroed table frame and the entry that points to it, or `OutOfMemory` (also when the
    /// frame is one `phys` does not back or the mode cannot address: unusable is as good as none).
    pub(super) fn new_table(&self, frames: &mut impl FrameSource) -> Result<(Frame, Pte), Error> {
        let frame = frames.allocate().map_err(|_| Error::OutOfMemory)?;
        match (self.phys.frame_ptr(frame), Pte::table::<M>(frame)) {
            (Some(p), Some(pte)) => {
                self.zero(p);
                Ok((frame, pte))
            }
            _ => {
                // SAFETY: just allocated, never used.
                unsafe { frames.deallocate(frame) };
                Err(Error::OutOfMemory)
            }
        }
    }

    /// Whether every entry of `table` is invalid.
    pub(super) fn is_empty(&self, table: Frame) -> bool {
        let t = self.table(table);
        (0..M::ENTRIES).all(|i| self.get(t, i) == Pte::INVALID)
    }

    fn zero(&self, p: NonNull<u8>) {
        // SAFETY: `p` is a frame this table owns (fresh from the frame source); PhysMem makes it
        // valid for PAGE_SIZE bytes.
        unsafe { p.as_ptr().write_bytes(0, PAGE_SIZE) }
    }

    /// The root table.
    pub(super) fn root_table(&self) -> Table {
        Table { ptr: self.root_ptr }
    }

    /// The table in `frame`, which must be one of this page table's, with its pointer looked
    /// up once, for loops that touch many of its entries.
    pub(super) fn table(&self, frame: Frame) -> Table {
        if frame == self.root {
            return self.root_table();
        }
        Table {
            ptr: self.frame_ptr(frame),
        }
    }

    /// The pointer to one of this page table's table frames.
    fn frame_ptr(&self, frame: Frame) -> NonNull<u8> {
        // Every table frame came through `new_table`, which refuses frames `phys` does not
        // back (or through `from_root`, whose contract says the same): not reachable.
        self.phys
            .frame_ptr(frame)
            .expect("page-table frame not backed by PhysMem")
    }

    /// Entry `i` of `table`.
    pub(super) fn read(&self, table: Frame, i: usize) -> Pte {
        self.get(self.table(table), i)
    }

    /// Sets entry `i` of `table` to `pte`.
    pub(super) fn write(&mut self, table: Frame, i: usize, pte: Pte) {
        self.set(self.table(table), i, pte);
    }

    /// Entry `i` of `table`.
    pub(super) fn get(&self, table: Table, i: usize) -> Pte {
        self.load(table.ptr, i)
    }

    /// Entry `i` of the table at `table`, a pointer to one of this page table's tables (from
    /// `root_ptr`, `frame_ptr` or a `Table`).
    fn load(&self, table: NonNull<u8>, i: usize) -> Pte {
        debug_assert!(i < M::ENTRIES);
        // SAFETY: i < ENTRIES and ENTRIES * ENTRY_BYTES == PAGE_SIZE, so the entry is inside
        // the frame.
        let p = unsafe { table.add(i * M::ENTRY_BYTES) };
        // SAFETY: the table frame is owned by this page table (module invariant; a `Table` is
        // only made from this table's frames) and the entry is aligned (frames are 4 KiB
        // aligned, entries ENTRY_BYTES apart); nothing else writes it while we hold `&self`.
        unsafe {
            if M::ENTRY_BYTES == 8 {
                Pte(p.cast::<u64>().read())
            } else {
                Pte(u64::from(p.cast::<u32>().read()))
            }
        }
    }

    /// Sets entry `i` of `table` to `pte`.
    pub(super) fn set(&mut self, table: Table, i: usize, pte: Pte) {
        debug_assert!(i < M::ENTRIES);
        // SAFETY: i < ENTRIES and ENTRIES * ENTRY_BYTES == PAGE_SIZE, so the entry is inside
        // the frame.
        let p = unsafe { table.ptr.add(i * M::ENTRY_BYTES) };
        // SAFETY: as in `load`, and `&mut self` makes this the only access. An Sv32 entry fits
        // in u32 because encoders keep the PPN within PPN_BITS (22) above bit 10.
        unsafe {
            if M::ENTRY_BYTES == 8 {
                p.cast::<u64>().write(pte.0)
            } else {
                p.cast::<u32>().write(pte.0 as u32)
            }
        }
    }
}

/// The pointer `PhysMem` gave for one of a page table's table frames. Made only by
/// [`PageTable::table`] and [`PageTable::root_table`], so it always points to an owned table.
#[derive(Clone, Copy, Debug)]
pub(super) struct Table {
    ptr: NonNull<u8>,
}

/// The index of `va` in a table at `level`.
pub(super) const fn index<M: Mode>(va: u64, level: usize) -> usize {
    ((va >> (12 + M::INDEX_BITS * level as u32)) as usize) & (M::ENTRIES - 1)
}
