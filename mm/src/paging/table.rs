//! The page table object: owns its root, reads and writes entries through `PhysMem`, and gives
//! back the frames it owns.
//!
//! This file holds the paging module's only `unsafe`: entry loads and stores, and giving frames
//! back to the frame source. A `PageTable` owns two kinds of frames, both allocated by itself
//! from the frame source its caller passes (the same source on every call, as the type's docs
//! require): every table frame reachable from its root, and the frame of every *owned* leaf
//! (RSW bit [`Pte::OWNED`], written only by `map_new`). Frames of other leaves (identity RAM,
//! devices, the shared trampoline) belong to someone else and are never given back.

use super::Translation;
use super::error::AsidOutOfRange;
use super::mode::{Mode, check};
use super::pte::{Perms, Pte, PteFlags, PteKind};
use crate::addr::{Frame, Page, PhysAddr, VIRT_TOP, VirtAddr};
use crate::frame::{FrameSource, OutOfMemory};
use crate::phys::{FrameMut, FrameRef, PhysMem};
use core::marker::PhantomData;
use core::ptr::NonNull;

/// A page table of mode `M` whose tables live in the physical memory `P`.
///
/// Every call that allocates or frees takes a [`FrameSource`]; all calls on one table must
/// pass the same source (or sources that share their frames, like two handles on one
/// allocator): the table gives its tables and the frames of its owned leaves back where they
/// came from.
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

/// How a fresh owned frame starts, before its `fill` runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// Zeroed: `fill` may write any part of it, or none.
    Zeroed,
    /// As the frame source left it: only for a `fill` that writes every byte (a whole-frame
    /// copy), so nothing of a frame's earlier user reaches the new one.
    Overwritten,
}

/// What a fresh owned leaf gets: its permissions and how its frame starts.
#[derive(Clone, Copy)]
pub(super) struct Fresh {
    pub perms: Perms,
    pub start: Start,
}

/// A zeroed frame from `frames` that mode `M` can address. A frame `phys` does not back, or
/// beyond the mode's reach, is given back and reported as [`OutOfMemory`]: unusable is as good
/// as none.
fn fresh_frame<M: Mode>(
    phys: &impl PhysMem,
    frames: &mut impl FrameSource,
) -> Result<Frame, OutOfMemory> {
    fresh_frame_as::<M>(phys, frames, Start::Zeroed)
}

/// [`fresh_frame`], zeroed or not as `start` says.
fn fresh_frame_as<M: Mode>(
    phys: &impl PhysMem,
    frames: &mut impl FrameSource,
    start: Start,
) -> Result<Frame, OutOfMemory> {
    let frame = frames.allocate()?;
    // SAFETY: the frame just came from `frames` (FrameSource contract: nothing else uses it)
    // and is not in any table yet; the view lives for this statement.
    let fresh = unsafe { FrameMut::new(phys, frame) };
    if let (Some(_), Ok(mut bytes)) = (Pte::table::<M>(frame), fresh) {
        if start == Start::Zeroed {
            bytes.zero();
        }
        return Ok(frame);
    }
    // SAFETY: the frame just came from `frames` and was never used.
    unsafe { frames.deallocate(frame) };
    Err(OutOfMemory)
}

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
        let root = fresh_frame::<M>(&phys, frames)?;
        let root_ptr = phys
            .frame_ptr(root)
            .expect("`fresh_frame` zeroed it through `phys`");
        Ok(PageTable {
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
    pub fn satp(&self, asid: u16) -> Result<u64, AsidOutOfRange> {
        if u64::from(asid) >> M::SATP_ASID_BITS != 0 {
            return Err(AsidOutOfRange(asid));
        }
        Ok(M::SATP_MODE | u64::from(asid) << M::SATP_ASID_SHIFT | self.root.number())
    }

    /// Where `va` leads: physical address, permissions and page size; `None` if unmapped.
    #[inline]
    pub fn translate(&self, va: VirtAddr) -> Option<Translation> {
        let va = va.as_u64();
        // A `VirtAddr` is below `VIRT_TOP` (every constructor checks), which is Sv39's top, so
        // only a mode with a lower one (Sv32 on a 64-bit host) has to look.
        if M::VA_TOP < VIRT_TOP && va >= M::VA_TOP {
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
            // A pointer to the next table: the common case above the leaves, one test. A PPN of
            // the mode's width names a frame (`mode::check`).
            table = self.next_table_ptr(Frame::from_masked_number(pte.ppn::<M>()));
            level -= 1;
            offset_mask >>= M::INDEX_BITS;
        };
        // A leaf is V with any of R/W/X. Above the leaves the loop stopped at an entry that is
        // not a pointer, so V is enough there; at the leaves too, because no entry there is V
        // alone: this module writes pointers only into tables above the leaves (`new_table`'s
        // entry goes into the parent) and leaves only with legal permissions (`Pte::leaf`), and
        // the hardware sets only A and D. One bit test instead of a table lookup: about 0.07
        // of the walk's time on AMD EPYC (docs/benchmarks.md, issue 14).
        if !pte.flags().contains(PteFlags::V) {
            return None;
        }
        debug_assert!(pte.is_leaf(), "a pointer at the leaves: {pte:?}");
        let flags = pte.flags();
        // `|`, not `+`: a leaf's PPN is aligned to its page size (`Pte::leaf` builds no other),
        // so the two are the same here, and with `|` the compiler sees that a PPN of at most 44
        // bits and an offset below 1 GiB stay below 2^56: no branch for the `expect`.
        let pa = PhysAddr::new((pte.ppn::<M>() << 12) | (va & offset_mask));
        let pa = pa.expect("a PPN and an offset form a physical address");
        let perms = Perms::from_flags(flags);
        let size = M::LEAF_SIZES[level];
        Some(Translation { pa, perms, size })
    }

    /// Gives every frame the table owns back to `frames` (its tables and the frames of its
    /// owned leaves, not those of other leaves) and consumes the table. No hart may use it any
    /// more.
    pub fn destroy(self, frames: &mut impl FrameSource) {
        self.free_subtree(self.root, M::LEVELS - 1, false, frames);
    }

    /// Frees `table` at `level` and everything it owns below; `holds_owned` says whether the
    /// pointer to it had [`Pte::HOLDS_OWNED`] (only then can a leaf table hold owned leaves).
    fn free_subtree(
        &self,
        table: Frame,
        level: usize,
        holds_owned: bool,
        frames: &mut impl FrameSource,
    ) {
        if level > 0 || holds_owned {
            let t = self.table(table);
            for i in 0..M::ENTRIES {
                let pte = self.get(t, i);
                match pte.kind::<M>() {
                    PteKind::Table(child) if level > 0 => {
                        let below = pte.0 & Pte::HOLDS_OWNED != 0;
                        self.free_subtree(child, level - 1, below, frames);
                    }
                    // SAFETY: an owned leaf's frame came from `frames` through `map_new`
                    // (module rule: one source per table), and with the table gone nothing
                    // maps it any more.
                    PteKind::Leaf(pa, _) if pte.is_owned() => unsafe {
                        frames.deallocate(Frame::containing(pa))
                    },
                    _ => {}
                }
            }
        }
        // SAFETY: the table frame came from `frames` through `fresh_frame` (module rule) and,
        // its parent being gone with `self`, is no longer reachable.
        unsafe { frames.deallocate(table) };
    }

    /// A zeroed table frame and the entry that points to it.
    pub(super) fn new_table(
        &self,
        frames: &mut impl FrameSource,
    ) -> Result<(Frame, Pte), OutOfMemory> {
        let frame = fresh_frame::<M>(&self.phys, frames)?;
        let pointer = Pte::table::<M>(frame).expect("`fresh_frame` checked the mode's reach");
        Ok((frame, pointer))
    }

    /// An owned leaf for `page` as `fresh` says: a frame (zeroed unless `fill` overwrites it
    /// all), handed to `fill` before anything maps it.
    pub(super) fn new_owned_leaf(
        &self,
        page: Page,
        fresh: Fresh,
        frames: &mut impl FrameSource,
        fill: &mut impl FnMut(Page, FrameMut<'_>),
    ) -> Result<Pte, OutOfMemory> {
        let frame = fresh_frame_as::<M>(&self.phys, frames, fresh.start)?;
        // SAFETY: `fresh_frame_as` checked `phys` backs the frame; it just came from `frames`
        // and no entry maps it yet, so the view handed to `fill` is its only access.
        let bytes = unsafe { FrameMut::new(&self.phys, frame) };
        fill(
            page,
            bytes.expect("`fresh_frame_as` reached it through `phys`"),
        );
        // A frame the mode can address as a table can be a 4 KiB leaf; `map_new` checked perms.
        Ok(Pte::owned_leaf::<M>(frame, fresh.perms).expect("a legal 4 KiB leaf"))
    }

    /// The frame of the owned leaf (a `map_new` page) that maps `page`, if one does.
    fn owned_frame_at(&self, page: Page) -> Option<Frame> {
        let va = page.start().as_u64();
        if va >= M::VA_TOP {
            return None;
        }
        let mut table = self.root_table();
        for level in (0..M::LEVELS).rev() {
            let pte = self.get(table, index::<M>(va, level));
            match pte.kind::<M>() {
                PteKind::Table(next) if level > 0 => table = self.table(next),
                PteKind::Leaf(pa, _) if level == 0 && pte.is_owned() => {
                    return Some(Frame::containing(pa));
                }
                _ => return None,
            }
        }
        None
    }

    /// The bytes of `page` if it is one of the table's owned pages ([`map_new`]'s), to read.
    /// While the view lives the table cannot change, so the page stays mapped and its frame
    /// the table's.
    ///
    /// [`map_new`]: Self::map_new
    pub fn owned_page(&self, page: Page) -> Option<FrameRef<'_>> {
        let frame = self.owned_frame_at(page)?;
        // SAFETY: the frame is an owned leaf's: allocated by this table, mapped by that one
        // leaf only, plain data; the view borrows the table, so no `unmap`, `protect` or
        // `owned_page_mut` (all `&mut self`) can free or write it meanwhile.
        let bytes = unsafe { FrameRef::new(&self.phys, frame) };
        Some(bytes.expect("`map_new` zeroed it through `phys`"))
    }

    /// The bytes of `page` if it is one of the table's owned pages, to read and write.
    pub fn owned_page_mut(&mut self, page: Page) -> Option<FrameMut<'_>> {
        let frame = self.owned_frame_at(page)?;
        // SAFETY: as in `owned_page`, and the view borrows the table mutably: it is the one
        // access to the frame from Rust while it lives.
        let bytes = unsafe { FrameMut::new(&self.phys, frame) };
        Some(bytes.expect("`map_new` zeroed it through `phys`"))
    }

    /// Whether every entry of `table` is invalid.
    pub(super) fn is_empty(&self, table: Frame) -> bool {
        let t = self.table(table);
        (0..M::ENTRIES).all(|i| self.get(t, i) == Pte::INVALID)
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
        // Every table frame came through `fresh_frame`, which refuses frames `phys` does not
        // back: not reachable.
        self.phys
            .frame_ptr(frame)
            .expect("page-table frame not backed by PhysMem")
    }

    /// The pointer to the table in `frame`, read from one of this table's pointer entries, for
    /// `translate`'s walk: no "not backed" branch, as `frame_ptr` has. Every pointer entry
    /// (V without R/W/X) is written by `new_table`, for a frame that `fresh_frame` zeroed
    /// through `phys` (so `phys` backed it), and table frames come from nowhere else: the
    /// lookup cannot fail, and its check would guard against nothing that can happen.
    #[inline]
    fn next_table_ptr(&self, frame: Frame) -> NonNull<u8> {
        let ptr = self.phys.frame_ptr(frame);
        // SAFETY: `frame` is one of this table's table frames (above): `phys` returned `Some`
        // for it in `fresh_frame`, and by `PhysMem`'s contract (2: one frame always gives a
        // pointer to the same memory) it does again.
        unsafe { ptr.unwrap_unchecked() }
    }

    /// Entry `i` of `table`.
    pub(super) fn read(&self, table: Frame, i: usize) -> Pte {
        self.get(self.table(table), i)
    }

    /// Entry `i` of `table`.
    pub(super) fn get(&self, table: Table, i: usize) -> Pte {
        self.load(table.ptr, i)
    }

    /// Sets entry `i` of `table`, whose old value owns nothing (invalid, or a foreign leaf or
    /// superpage being split), to `pte`.
    pub(super) fn set(&mut self, table: Table, i: usize, pte: Pte) {
        debug_assert!(self.owned_frame(self.get(table, i)).is_none());
        self.store(table, i, pte);
    }

    /// Sets entry `i` of `table` to `new` and gives back to `frames` what the old entry owned
    /// and `new` does not keep: a next-level table (which the caller has emptied), or an owned
    /// leaf's frame (a leaf that `new` rewrites with the same frame keeps it).
    pub(super) fn replace(
        &mut self,
        table: Table,
        i: usize,
        new: Pte,
        frames: &mut impl FrameSource,
    ) {
        let old = self.get(table, i);
        self.store(table, i, new);
        // The common case first, in two bit tests: an invalid entry or a foreign leaf owns
        // nothing (only pointers, V without R/W/X, and owned leaves do).
        if !old.is_owned() && old.flags() & Pte::KIND != PteFlags::V {
            return;
        }
        let kept = new.is_owned() && new.ppn::<M>() == old.ppn::<M>();
        if let Some(frame) = self.owned_frame(old).filter(|_| !kept) {
            // SAFETY: `owned_frame` names only frames this table allocated from `frames` (a
            // table through `new_table`, an owned leaf through `new_owned_leaf`; module rule:
            // one source per table), and the one entry that reached it was just overwritten.
            unsafe { frames.deallocate(frame) };
        }
    }

    /// Marks the pointer in entry `i` of `table` (to a leaf table) [`Pte::HOLDS_OWNED`].
    pub(super) fn mark_holds_owned(&mut self, table: Frame, i: usize) {
        let t = self.table(table);
        let pointer = self.get(t, i);
        debug_assert!(matches!(pointer.kind::<M>(), PteKind::Table(_)));
        if pointer.0 & Pte::HOLDS_OWNED == 0 {
            self.store(t, i, Pte(pointer.0 | Pte::HOLDS_OWNED));
        }
    }

    /// The frame entry `pte` owns: the table a pointer leads to, or an owned leaf's frame.
    fn owned_frame(&self, pte: Pte) -> Option<Frame> {
        match pte.kind::<M>() {
            PteKind::Table(frame) => Some(frame),
            PteKind::Leaf(pa, _) if pte.is_owned() => Some(Frame::containing(pa)),
            _ => None,
        }
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

    /// Writes entry `i` of `table`, whatever it held.
    fn store(&mut self, table: Table, i: usize, pte: Pte) {
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
