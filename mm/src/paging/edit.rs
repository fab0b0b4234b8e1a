//! Changing a table: map, unmap, protect, and the superpage splits they need.
//!
//! Each operation either completes or leaves the tree exactly as it found it: `map` undoes the
//! leaves it wrote (and with them the tables it created, since empty tables are pruned), and
//! `unmap`/`protect` do their only allocating step, splitting the superpages that straddle the
//! range's ends, first, undoing the splits if one fails.

use super::mode::{MAX_LEVELS, Mode};
use super::pte::{Perms, Pte, PteKind};
use super::table::{PageTable, index};
use super::{Error, Mapping, PageSizes};
use crate::addr::{PageRange, PhysAddr, VirtAddr};
use crate::frame::FrameSource;
use crate::phys::PhysMem;
use crate::tlb::Flush;

/// Whether `visit` frees the tables it leaves empty.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prune {
    Yes,
    No,
}

/// Superpage splits done so far by one operation, so they can be undone.
struct Splits {
    done: [(crate::addr::Frame, usize, Pte); 2 * (MAX_LEVELS - 1)],
    len: usize,
}

impl<M: Mode, P: PhysMem> PageTable<M, P> {
    /// Maps `pages` to the physical range starting at `pa` with `perms`, using the page sizes
    /// `sizes` allows.
    ///
    /// Fails without changing anything on: a range beyond the mode's top, a `pa` that is not
    /// 4 KiB aligned or beyond the mode's physical reach, illegal permissions, a page that is
    /// already mapped ([`Error::AlreadyMapped`] names the mapping found), or running out of
    /// frames for tables.
    pub fn map(
        &mut self,
        pages: PageRange,
        pa: PhysAddr,
        perms: Perms,
        sizes: PageSizes,
        frames: &mut impl FrameSource,
    ) -> Result<Flush, Error> {
        let (start, end) = self.bounds(pages)?;
        if !perms.is_legal_leaf() {
            return Err(Error::IllegalPerms(perms));
        }
        if !pa.is_aligned(crate::addr::PageSize::Size4KiB) {
            return Err(Error::UnalignedPhys(pa));
        }
        let pa_end = pa.as_u64() + (end - start);
        if pa_end > 1 << M::PA_BITS {
            return Err(Error::PhysOutOfRange(pa));
        }
        let offset = pa.as_u64().wrapping_sub(start);
        let mut va = start;
        while va < end {
            let level = Self::level_for(va, va.wrapping_add(offset), end, sizes);
            if let Err(e) = self.fill(&mut va, end, offset, level, perms, frames) {
                self.remove(start, va, frames, &mut |_, _, _| {});
                self.prune_path(va, frames);
                return Err(e);
            }
        }
        Ok(Flush::pages(pages))
    }

    /// Unmaps every page in `pages` (unmapped pages are skipped) and frees the tables that
    /// become empty. The frames the leaves pointed to are left alone.
    pub fn unmap(
        &mut self,
        pages: PageRange,
        frames: &mut impl FrameSource,
    ) -> Result<Flush, Error> {
        self.unmap_with(pages, frames, &mut |_, _, _| {})
    }

    /// Like [`unmap`](Self::unmap), and also gives every 4 KiB frame the leaves pointed to back
    /// to `frames`.
    ///
    /// # Safety
    /// Every frame mapped in `pages` must have come from `frames`, and nothing may use it
    /// afterwards (no other mapping of it, no kernel pointer to it).
    pub unsafe fn unmap_and_free(
        &mut self,
        pages: PageRange,
        frames: &mut impl FrameSource,
    ) -> Result<Flush, Error> {
        self.unmap_with(pages, frames, &mut |frames, pa, size| {
            let first = crate::addr::Frame::containing(pa);
            for k in 0..size.base_pages() as u64 {
                if let Some(f) = first.checked_add(k) {
                    // SAFETY: by this function's contract the leaf's frames came from `frames`
                    // and are unused now that the leaf is gone.
                    unsafe { frames.deallocate(f) };
                }
            }
        })
    }

    /// Changes the permissions of every page in `pages` to `perms`. Every page must be mapped;
    /// otherwise [`Error::NotMapped`] names the first hole and nothing changes.
    pub fn protect(
        &mut self,
        pages: PageRange,
        perms: Perms,
        frames: &mut impl FrameSource,
    ) -> Result<Flush, Error> {
        let (start, end) = self.bounds(pages)?;
        if !perms.is_legal_leaf() {
            return Err(Error::IllegalPerms(perms));
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
            &mut |_, va, _, pte| match pte.kind::<M>() {
                PteKind::Invalid => Err(va.max(start)),
                _ => Ok(None),
            },
        );
        if let Err(va) = hole {
            return Err(Error::NotMapped(to_va(va)));
        }
        self.split_ends(start, end, frames)?;
        let _ = self.visit(
            root,
            M::LEVELS - 1,
            0,
            start,
            end,
            Prune::No,
            frames,
            &mut |_, _, level, pte| match pte.kind::<M>() {
                PteKind::Leaf(pa, _) => Ok::<_, ()>(Pte::leaf::<M>(pa, perms, level)),
                _ => Ok(None),
            },
        );
        Ok(Flush::pages(pages))
    }

    fn unmap_with<F: FrameSource>(
        &mut self,
        pages: PageRange,
        frames: &mut F,
        on_leaf: &mut impl FnMut(&mut F, PhysAddr, crate::addr::PageSize),
    ) -> Result<Flush, Error> {
        let (start, end) = self.bounds(pages)?;
        if pages.is_empty() {
            // Names no page: `split_ends` would still split a superpage around `start`.
            return Ok(Flush::nothing());
        }
        self.split_ends(start, end, frames)?;
        self.remove(start, end, frames, on_leaf);
        Ok(Flush::pages(pages))
    }

    /// The range as `u64` bounds, checked against the mode's top.
    fn bounds(&self, pages: PageRange) -> Result<(u64, u64), Error> {
        let (start, end) = (pages.start().start().as_u64(), pages.end_u64());
        if end > M::VA_TOP {
            return Err(Error::VirtOutOfRange(pages.start().start()));
        }
        Ok((start, end))
    }

    /// The largest level whose page size `sizes` allows and that fits at `va`/`pa` before `end`.
    fn level_for(va: u64, pa: u64, end: u64, sizes: PageSizes) -> usize {
        if sizes == PageSizes::Only4KiB {
            return 0;
        }
        (0..M::LEVELS)
            .rev()
            .find(|&l| {
                let size = M::LEAF_SIZES[l].bytes();
                (va | pa) & (size - 1) == 0 && end - va >= size
            })
            .unwrap_or(0)
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
    ) -> Result<(), Error> {
        let table = self.descend(*va, level, frames)?;
        let table = self.table(table);
        let size = M::LEAF_SIZES[level].bytes();
        // `map` checked the physical end against the mode's width, so this always succeeds.
        let pa = PhysAddr::new(va.wrapping_add(offset)).unwrap_or_default();
        let mut leaf = Pte::leaf::<M>(pa, perms, level).ok_or(Error::PhysOutOfRange(pa))?;
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
                return Err(Error::AlreadyMapped(
                    self.describe(existing, level, *va, frames),
                ));
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

    /// The table at `level` on `va`'s path, creating missing tables above it.
    fn descend(
        &mut self,
        va: u64,
        level: usize,
        frames: &mut impl FrameSource,
    ) -> Result<crate::addr::Frame, Error> {
        let mut table = self.root();
        for l in (level + 1..M::LEVELS).rev() {
            let i = index::<M>(va, l);
            let pte = self.read(table, i);
            table = match pte.kind::<M>() {
                PteKind::Table(next) => next,
                PteKind::Invalid => {
                    let (next, pointer) = self.new_table(frames)?;
                    self.write(table, i, pointer);
                    next
                }
                PteKind::Leaf(..) => {
                    let at = va & !(M::LEAF_SIZES[l].bytes() - 1);
                    return Err(Error::AlreadyMapped(self.describe(pte, l, at, frames)));
                }
            };
        }
        Ok(table)
    }

    /// What an occupied entry at `level` for `va` holds: its leaf, or the first leaf below it.
    fn describe(
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
                    &mut |_, va, l, p| match p.kind::<M>() {
                        PteKind::Leaf(..) => Err((va, l, p)),
                        _ => Ok(None),
                    },
                )
                .err()
            }
            _ => Some((va, level, pte)),
        };
        let (va, level, pte) = found.unwrap_or((va, level, pte));
        let size = M::LEAF_SIZES[level];
        let (pa, perms) = match pte.kind::<M>() {
            PteKind::Leaf(pa, perms) => (pa, perms),
            _ => (PhysAddr::default(), Perms::empty()),
        };
        Mapping {
            va: to_va(va),
            pa,
            len: size.bytes(),
            perms,
            size,
        }
    }

    /// Removes every leaf in `[start, end)`, which must not cut a superpage, calling `on_leaf`
    /// for each, and frees emptied tables.
    fn remove<F: FrameSource>(
        &mut self,
        start: u64,
        end: u64,
        frames: &mut F,
        on_leaf: &mut impl FnMut(&mut F, PhysAddr, crate::addr::PageSize),
    ) {
        let root = self.root();
        let _ = self.visit(
            root,
            M::LEVELS - 1,
            0,
            start,
            end,
            Prune::Yes,
            frames,
            &mut |frames, _, level, pte| match pte.kind::<M>() {
                PteKind::Leaf(pa, _) => {
                    on_leaf(frames, pa, M::LEAF_SIZES[level]);
                    Ok::<_, ()>(Some(Pte::INVALID))
                }
                _ => Ok(None),
            },
        );
    }

    /// Calls `f` on every leaf or invalid entry overlapping `[start, end)` below `table` (which
    /// sits at `level` and starts at `table_va`), writing back the entry `f` returns, if any.
    /// With `Prune::Yes`, tables left empty are freed.
    #[allow(clippy::too_many_arguments)]
    fn visit<F: FrameSource, E>(
        &mut self,
        table: crate::addr::Frame,
        level: usize,
        table_va: u64,
        start: u64,
        end: u64,
        prune: Prune,
        frames: &mut F,
        f: &mut impl FnMut(&mut F, u64, usize, Pte) -> Result<Option<Pte>, E>,
    ) -> Result<(), E> {
        if start >= end {
            return Ok(());
        }
        let size = M::LEAF_SIZES[level].bytes();
        let t = self.table(table);
        for i in index::<M>(start, level)..=index::<M>(end - 1, level) {
            let entry_va = table_va + i as u64 * size;
            let pte = self.get(t, i);
            match pte.kind::<M>() {
                PteKind::Table(child) if level > 0 => {
                    let (lo, hi) = (start.max(entry_va), end.min(entry_va + size));
                    let result = self.visit(child, level - 1, entry_va, lo, hi, prune, frames, f);
                    if prune == Prune::Yes && self.is_empty(child) {
                        self.set(t, i, Pte::INVALID);
                        // SAFETY: the empty table frame came from `frames` via `new_table`
                        // and its only pointer was just cleared.
                        unsafe { frames.deallocate(child) };
                    }
                    result?;
                }
                _ => {
                    if let Some(new) = f(frames, entry_va, level, pte)? {
                        self.set(t, i, new);
                    }
                }
            }
        }
        Ok(())
    }

    /// Frees the empty tables on `va`'s path, bottom up: the ones a failed `fill` created before
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
            self.write(parent, i, Pte::INVALID);
            // SAFETY: an empty table below the root was made by `new_table` from `frames`; its
            // only pointer was just cleared.
            unsafe { frames.deallocate(table) };
            table = parent;
        }
    }

    /// Splits the superpages that straddle `start` or `end`, undoing every split if one fails.
    fn split_ends(
        &mut self,
        start: u64,
        end: u64,
        frames: &mut impl FrameSource,
    ) -> Result<(), Error> {
        let mut splits = Splits {
            done: [(self.root(), 0, Pte::INVALID); 2 * (MAX_LEVELS - 1)],
            len: 0,
        };
        let result = self
            .split_at(start, &mut splits, frames)
            .and_then(|()| self.split_at(end, &mut splits, frames));
        if result.is_err() {
            while splits.len > 0 {
                splits.len -= 1;
                let (table, i, old) = splits.done[splits.len];
                if let PteKind::Table(made) = self.read(table, i).kind::<M>() {
                    self.write(table, i, old);
                    // SAFETY: `made` was allocated by this split from `frames`; the entry that
                    // pointed to it now holds the old superpage again.
                    unsafe { frames.deallocate(made) };
                }
            }
        }
        result
    }

    /// Makes `va` a leaf boundary by splitting the superpage around it into the next smaller
    /// size, repeatedly, recording each split.
    fn split_at(
        &mut self,
        va: u64,
        splits: &mut Splits,
        frames: &mut impl FrameSource,
    ) -> Result<(), Error> {
        if va >= M::VA_TOP {
            return Ok(());
        }
        let mut table = self.root();
        for level in (0..M::LEVELS).rev() {
            let i = index::<M>(va, level);
            let pte = self.read(table, i);
            match pte.kind::<M>() {
                PteKind::Table(next) => table = next,
                PteKind::Leaf(pa, perms)
                    if level > 0 && va & (M::LEAF_SIZES[level].bytes() - 1) != 0 =>
                {
                    let (made, pointer) = self.new_table(frames)?;
                    let sub = M::LEAF_SIZES[level - 1].bytes();
                    for j in 0..M::ENTRIES {
                        let part = pa
                            .checked_add(j as u64 * sub)
                            .and_then(|p| Pte::leaf::<M>(p, perms, level - 1));
                        self.write(made, j, part.unwrap_or(Pte::INVALID));
                    }
                    self.write(table, i, pointer);
                    splits.done[splits.len] = (table, i, pte);
                    splits.len += 1;
                    table = made;
                }
                _ => return Ok(()),
            }
        }
        Ok(())
    }
}

/// A `u64` address below the mode's top as a `VirtAddr` (the top fits in `usize`: checked when
/// the table is created).
fn to_va(va: u64) -> VirtAddr {
    VirtAddr::new(va as usize).unwrap_or_default()
}
