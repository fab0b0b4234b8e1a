//! Changing a table: map, unmap, protect.
//!
//! Each operation either completes or leaves the tree exactly as it found it: `map` undoes the
//! leaves it wrote (and with them the tables it created, since empty tables are pruned), and
//! `unmap`/`protect` do their only allocating step, splitting the superpages that straddle the
//! range's ends (`split.rs`), first, undoing the splits if one fails. An operation on an empty
//! range names no page and changes nothing.

use super::error::{Blocked, MapError, ProtectError, UnmapError};
use super::mode::{MAX_LEVELS, Mode};
use super::pte::{Perms, Pte, PteFlags, PteKind};
use super::table::{PageTable, index};
use super::{Mapping, PageSizes};
use crate::addr::{Frame, PageRange, PageSize, PhysAddr, VirtAddr};
use crate::frame::FrameSource;
use crate::phys::PhysMem;
use crate::tlb::Flush;

/// Whether `visit` frees the tables it leaves empty.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Prune {
    Yes,
    No,
}

impl<M: Mode, P: PhysMem> PageTable<M, P> {
    /// Maps `pages` to the physical range starting at `pa` with `perms`, using the page sizes
    /// `sizes` allows. The frames behind the range stay their owner's: `unmap` and `destroy`
    /// never give them back.
    ///
    /// Fails without changing anything on: a range beyond the mode's top, a `pa` that is not
    /// 4 KiB aligned or beyond the mode's physical reach, illegal permissions, a page that is
    /// already mapped ([`MapError::AlreadyMapped`] names the mapping found), or running out of
    /// frames for tables.
    pub fn map(
        &mut self,
        pages: PageRange,
        pa: PhysAddr,
        perms: Perms,
        sizes: PageSizes,
        frames: &mut impl FrameSource,
    ) -> Result<Flush, MapError> {
        let (start, end) = self.bounds(pages).map_err(MapError::VirtOutOfRange)?;
        if !perms.is_legal_leaf() {
            return Err(MapError::IllegalPerms(perms));
        }
        if !pa.is_aligned(PageSize::Size4KiB) {
            return Err(MapError::UnalignedPhys(pa));
        }
        let pa_end = pa.as_u64() + (end - start);
        if pa_end > 1 << M::PA_BITS {
            return Err(MapError::PhysOutOfRange(pa));
        }
        let offset = pa.as_u64().wrapping_sub(start);
        let mut va = start;
        while va < end {
            let level = Self::level_for(va, va.wrapping_add(offset), end, sizes);
            if let Err(e) = self.fill(&mut va, end, offset, level, perms, frames) {
                self.undo_map(start, va, frames);
                return Err(e.into());
            }
        }
        Ok(Flush::pages(pages))
    }

    /// Unmaps every page in `pages` (unmapped pages are skipped), gives back the frames of
    /// owned leaves ([`map_new`](Self::map_new)'s) and the tables that become empty. The frames
    /// of other leaves are left to their owner.
    ///
    /// Cutting a superpage that straddles an end of the range splits it first, which needs
    /// table frames: [`UnmapError::OutOfMemory`] leaves the table unchanged.
    pub fn unmap(
        &mut self,
        pages: PageRange,
        frames: &mut impl FrameSource,
    ) -> Result<Flush, UnmapError> {
        let (start, end) = self.bounds(pages).map_err(UnmapError::VirtOutOfRange)?;
        if pages.is_empty() {
            // Names no page: `split_ends` would still split a superpage around `start`.
            return Ok(Flush::nothing());
        }
        if !self.remove_in_one_leaf_table(start, end, frames) {
            self.split_ends(start, end, frames)?;
            self.remove(start, end, frames);
        }
        Ok(Flush::pages(pages))
    }

    /// `unmap`'s common case in one walk: a range within what one leaf table maps (every
    /// `sbrk` shrink of up to 2 MiB, say). Returns `false`, having changed nothing, if the range
    /// leaves that span or a superpage lies on its path: the general path (split the ends,
    /// then remove) handles those. No split is needed otherwise: a superpage can straddle an
    /// end of the range only if it covers it, and both ends lie in the span of a leaf table
    /// (or at its aligned end).
    fn remove_in_one_leaf_table(
        &mut self,
        start: u64,
        end: u64,
        frames: &mut impl FrameSource,
    ) -> bool {
        let span = M::LEAF_SIZES[1].bytes();
        if start / span != (end - 1) / span {
            return false;
        }
        let mut table = self.root();
        let mut holds_owned = false;
        for level in (1..M::LEVELS).rev() {
            let pte = self.read(table, index::<M>(start, level));
            match pte.kind::<M>() {
                PteKind::Table(next) => table = next,
                // Nothing mapped anywhere in the range: the entry covers all of it.
                PteKind::Invalid => return true,
                PteKind::Leaf(..) => return false,
            }
            holds_owned = pte.0 & Pte::HOLDS_OWNED != 0;
        }
        let t = self.table(table);
        for i in index::<M>(start, 0)..=index::<M>(end - 1, 0) {
            let pte = self.get(t, i);
            if holds_owned && pte.is_owned() {
                self.replace(t, i, Pte::INVALID, frames);
            } else if pte != Pte::INVALID {
                self.set(t, i, Pte::INVALID);
            }
        }
        if self.is_empty(table) {
            self.prune_path(start, frames);
        }
        true
    }

    /// Changes the permissions of every page in `pages` to `perms` (owned leaves stay owned).
    /// Every page must be mapped; otherwise [`ProtectError::NotMapped`] names the first hole
    /// and nothing changes.
    pub fn protect(
        &mut self,
        pages: PageRange,
        perms: Perms,
        frames: &mut impl FrameSource,
    ) -> Result<Flush, ProtectError> {
        let (start, end) = self.bounds(pages).map_err(ProtectError::VirtOutOfRange)?;
        if !perms.is_legal_leaf() {
            return Err(ProtectError::IllegalPerms(perms));
        }
        if pages.is_empty() {
            // Names no page: nothing to split, nothing to change.
            return Ok(Flush::nothing());
        }
        let root = self.root();
        let hole = self.visit(
            root,
            M::LEVELS - 1,
            0,
            start,
            end,
            Prune::No,
            frames,
            &mut |va, _, pte| match pte.kind::<M>() {
                PteKind::Invalid => Err(va.max(start)),
                _ => Ok(None),
            },
        );
        if let Err(va) = hole {
            return Err(ProtectError::NotMapped(virt(va)));
        }
        self.split_ends(start, end, frames)?;
        let Ok(()) = self.visit(
            root,
            M::LEVELS - 1,
            0,
            start,
            end,
            Prune::No,
            frames,
            &mut |_, level, pte| match pte.kind::<M>() {
                PteKind::Leaf(pa, _) => {
                    let leaf = Pte::leaf::<M>(pa, perms, level).expect("perms and pa are legal");
                    let owned = Pte(leaf.0 | (pte.0 & Pte::OWNED));
                    Ok::<_, core::convert::Infallible>(Some(owned))
                }
                _ => Ok(None),
            },
        );
        Ok(Flush::pages(pages))
    }

    /// The range as `u64` bounds, or its start if it reaches above the mode's top.
    pub(super) fn bounds(&self, pages: PageRange) -> Result<(u64, u64), VirtAddr> {
        let (start, end) = (pages.start().start().as_u64(), pages.end_u64());
        if end > M::VA_TOP {
            return Err(pages.start().start());
        }
        Ok((start, end))
    }

    /// The largest level whose page size `sizes` allows and that fits at `va`/`pa` before `end`:
    /// a superpage where one fits, else 4 KiB (level 0).
    fn level_for(va: u64, pa: u64, end: u64, sizes: PageSizes) -> usize {
        if sizes == PageSizes::Only4KiB {
            return 0;
        }
        let superpage = (1..M::LEVELS).rev().find(|&l| {
            let size = M::LEAF_SIZES[l].bytes();
            (va | pa) & (size - 1) == 0 && end - va >= size
        });
        superpage.unwrap_or(0)
    }

    /// Writes leaves of `level` from `*va` on, as many as fit in one table before `end`; creates
    /// the tables on the way. Advances `*va` past every leaf written, also when it fails, so the
    /// caller knows what to undo.
    fn fill(
        &mut self,
        va: &mut u64,
        end: u64,
        offset: u64,
        level: usize,
        perms: Perms,
        frames: &mut impl FrameSource,
    ) -> Result<(), Blocked> {
        let (table, _) = self.descend(*va, level, frames)?;
        let table = self.table(table);
        let size = M::LEAF_SIZES[level].bytes();
        // `map` checked the physical end against the mode's width and `perms`, and `level_for`
        // the alignment, so this leaf is legal.
        let pa = PhysAddr::new(va.wrapping_add(offset)).expect("below the mode's reach");
        let mut leaf = Pte::leaf::<M>(pa, perms, level).expect("a legal leaf");
        // Each next leaf is this one with the PPN one page of `size` further: same permissions,
        // still aligned, and within the mode's width (checked by `map`), so adding to the PPN
        // field spares re-checking all that per entry (the debug assertion re-checks).
        let step = (size >> 12) << Pte::PPN_SHIFT;
        for i in index::<M>(*va, level)..M::ENTRIES {
            if end - *va < size {
                break;
            }
            let existing = self.get(table, i);
            if existing != Pte::INVALID {
                let found = self.describe(existing, level, *va, frames);
                return Err(Blocked::AlreadyMapped(found));
            }
            debug_assert_eq!(
                Some(leaf),
                PhysAddr::new(va.wrapping_add(offset))
                    .ok()
                    .and_then(|pa| Pte::leaf::<M>(pa, perms, level))
            );
            self.set(table, i, leaf);
            leaf = Pte(leaf.0 + step);
            *va += size;
        }
        Ok(())
    }

    /// The table at `level` on `va`'s path, creating missing tables above it, and where the
    /// entry pointing to it lives (table and index; `None` for the root).
    pub(super) fn descend(
        &mut self,
        va: u64,
        level: usize,
        frames: &mut impl FrameSource,
    ) -> Result<(Frame, Option<(Frame, usize)>), Blocked> {
        let mut table = self.root();
        let mut parent = None;
        for l in (level + 1..M::LEVELS).rev() {
            let i = index::<M>(va, l);
            let pte = self.read(table, i);
            let next = match pte.kind::<M>() {
                PteKind::Table(next) => next,
                PteKind::Invalid => {
                    let (next, pointer) = self.new_table(frames)?;
                    self.set(self.table(table), i, pointer);
                    next
                }
                PteKind::Leaf(..) => {
                    let at = va & !(M::LEAF_SIZES[l].bytes() - 1);
                    return Err(Blocked::AlreadyMapped(self.describe(pte, l, at, frames)));
                }
            };
            parent = Some((table, i));
            table = next;
        }
        Ok((table, parent))
    }

    /// What an occupied entry at `level` for `va` holds: its leaf, or the first leaf below it.
    pub(super) fn describe(
        &mut self,
        pte: Pte,
        level: usize,
        va: u64,
        frames: &mut impl FrameSource,
    ) -> Mapping {
        let found = match pte.kind::<M>() {
            PteKind::Table(child) if level > 0 => {
                let span = M::LEAF_SIZES[level].bytes();
                self.visit(
                    child,
                    level - 1,
                    va,
                    va,
                    va + span,
                    Prune::No,
                    frames,
                    &mut |va, l, p| match p.kind::<M>() {
                        PteKind::Leaf(..) => Err((va, l, p)),
                        _ => Ok(None),
                    },
                )
                .err()
            }
            _ => Some((va, level, pte)),
        };
        // A non-empty table holds a leaf below it (no empty tables: module invariant).
        let (va, level, pte) = found.expect("an occupied entry leads to a leaf");
        let PteKind::Leaf(pa, perms) = pte.kind::<M>() else {
            unreachable!("the search above stops at leaves only")
        };
        let size = M::LEAF_SIZES[level];
        Mapping {
            va: virt(va),
            pa,
            len: size.bytes(),
            perms,
            size,
            owned: pte.is_owned(),
        }
    }

    /// Removes every leaf in `[start, end)`, which must not cut a superpage, giving back the
    /// frames of owned ones, and frees emptied tables.
    pub(super) fn remove(&mut self, start: u64, end: u64, frames: &mut impl FrameSource) {
        let root = self.root();
        let Ok(()) = self.visit(
            root,
            M::LEVELS - 1,
            0,
            start,
            end,
            Prune::Yes,
            frames,
            &mut |_, _, pte| {
                Ok::<_, core::convert::Infallible>(pte.is_leaf().then_some(Pte::INVALID))
            },
        );
    }

    /// Undoes a map that wrote `[start, va)` and stopped at `va`: removes those leaves and the
    /// tables it created (an empty one may be left on `va`'s path before any leaf went in).
    pub(super) fn undo_map(&mut self, start: u64, va: u64, frames: &mut impl FrameSource) {
        self.remove(start, va, frames);
        self.prune_path(va, frames);
    }

    /// Calls `f` on every leaf or invalid entry overlapping `[start, end)` below `table` (which
    /// sits at `level` and starts at `table_va`), writing back the entry `f` returns, if any
    /// (giving back what the old entry owned and the new one does not keep). With `Prune::Yes`,
    /// tables left empty are freed.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn visit<F: FrameSource, E>(
        &mut self,
        table: Frame,
        level: usize,
        table_va: u64,
        start: u64,
        end: u64,
        prune: Prune,
        frames: &mut F,
        f: &mut impl FnMut(u64, usize, Pte) -> Result<Option<Pte>, E>,
    ) -> Result<(), E> {
        let at = Walk {
            table,
            level,
            table_va,
            may_own: false,
        };
        self.walk(at, start, end, prune, frames, f)
    }

    /// `visit` from `at`: `at.may_own` says whether the pointer to this table had
    /// [`Pte::HOLDS_OWNED`]; without it no entry here is an owned leaf, and writing one back is
    /// a plain store (the loop the compiler keeps for tables of mapped memory).
    fn walk<F: FrameSource, E>(
        &mut self,
        at: Walk,
        start: u64,
        end: u64,
        prune: Prune,
        frames: &mut F,
        f: &mut impl FnMut(u64, usize, Pte) -> Result<Option<Pte>, E>,
    ) -> Result<(), E> {
        let Walk {
            table,
            level,
            table_va,
            may_own,
        } = at;
        if start >= end {
            return Ok(());
        }
        let size = M::LEAF_SIZES[level].bytes();
        let t = self.table(table);
        for i in index::<M>(start, level)..=index::<M>(end - 1, level) {
            let entry_va = table_va + i as u64 * size;
            let pte = self.get(t, i);
            // A pointer (V without R/W/X) above the leaves: the one bit test `Pte::kind` makes.
            match pte.flags() & Pte::KIND == PteFlags::V && level > 0 {
                true => {
                    let child = Frame::from_masked_number(pte.ppn::<M>());
                    let (lo, hi) = (start.max(entry_va), end.min(entry_va + size));
                    let below = Walk {
                        table: child,
                        level: level - 1,
                        table_va: entry_va,
                        may_own: pte.0 & Pte::HOLDS_OWNED != 0,
                    };
                    let result = self.walk(below, lo, hi, prune, frames, f);
                    if prune == Prune::Yes && self.is_empty(child) {
                        self.replace(t, i, Pte::INVALID, frames);
                    }
                    result?;
                }
                false => match f(entry_va, level, pte)? {
                    // An owned leaf's frame may go back to `frames`; other leaves own nothing,
                    // so the common case is a plain store.
                    Some(new) if may_own && pte.is_owned() => self.replace(t, i, new, frames),
                    Some(new) => self.set(t, i, new),
                    None => {}
                },
            }
        }
        Ok(())
    }

    /// Frees the empty tables on `va`'s path, bottom up: the ones a failed map created before
    /// it wrote a leaf into them. Tables that were there before are never empty (invariant).
    fn prune_path(&mut self, va: u64, frames: &mut impl FrameSource) {
        let mut path = [(self.root(), 0); MAX_LEVELS];
        let mut depth = 0;
        let mut table = self.root();
        for level in (1..M::LEVELS).rev() {
            let i = index::<M>(va, level);
            match self.read(table, i).kind::<M>() {
                PteKind::Table(next) => {
                    path[depth] = (table, i);
                    depth += 1;
                    table = next;
                }
                _ => break,
            }
        }
        while depth > 0 && self.is_empty(table) {
            depth -= 1;
            let (parent, i) = path[depth];
            self.replace(self.table(parent), i, Pte::INVALID, frames);
            table = parent;
        }
    }
}

/// Where `walk` is: a table, its level, the first address it maps, and whether the pointer to
/// it allows owned leaves in it.
#[derive(Clone, Copy)]
struct Walk {
    table: Frame,
    level: usize,
    table_va: u64,
    may_own: bool,
}

/// A `u64` address below the mode's top as a `VirtAddr`.
pub(super) fn virt(va: u64) -> VirtAddr {
    // Every mode's top fits `usize` (checked when a table is created) and lies at or below
    // `VIRT_TOP` (`mode::check`), so an address below it is a `VirtAddr`.
    VirtAddr::try_from(va).expect("an address below the mode's top")
}
