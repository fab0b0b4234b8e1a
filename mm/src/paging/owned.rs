//! Owned leaves: pages whose frames the table allocates itself and gives back itself.
//!
//! A process's data pages and a kernel stack are frames nobody else maps. `map_new` takes
//! them from the frame source, zeroes them, lets the caller write their first bytes, and maps
//! them as 4 KiB leaves marked owned (RSW bit 8). `unmap` and `destroy` give exactly those
//! frames back, by the same argument as for table frames: the table allocated them from the
//! source it is given on every call. So freeing a process's memory needs no `unsafe` above this
//! module, and a foreign leaf (identity RAM, a device, the shared trampoline) is never freed.

use super::error::{Blocked, MapNewError};
use super::mode::Mode;
use super::pte::{Perms, Pte};
use super::table::{Fresh, PageTable, Start, index};
use crate::addr::{PAGE_SIZE, Page, PageRange};
use crate::frame::FrameSource;
use crate::phys::{FrameMut, FrameRef, PhysMem};
use crate::tlb::Flush;

impl<M: Mode, P: PhysMem> PageTable<M, P> {
    /// Maps every page of `pages` to a fresh frame from `frames` with `perms`: each frame is
    /// zeroed, handed to `fill` with its page as a [`FrameMut`] (to write its first bytes: a
    /// copy of a parent's page, a program's bytes), then mapped as an owned 4 KiB leaf.
    /// [`owned_page`](Self::owned_page) lends the bytes later; [`unmap`](Self::unmap) and
    /// [`destroy`](Self::destroy) give the frames back.
    ///
    /// All or nothing: on an error every frame taken is back and the table is as before.
    /// Refused: a range beyond the mode's top, illegal permissions, a page already mapped
    /// ([`MapNewError::AlreadyMapped`] names it), or no frame left for a page or a table.
    pub fn map_new(
        &mut self,
        pages: PageRange,
        perms: Perms,
        frames: &mut impl FrameSource,
        fill: impl FnMut(Page, FrameMut<'_>),
    ) -> Result<Flush, MapNewError> {
        self.map_fresh(pages, perms, frames, Start::Zeroed, fill)
    }

    /// [`map_new`](Self::map_new) for pages that start as copies of other frames: each fresh
    /// frame is a copy of the whole frame `source` lends for its page (`fork` copying a
    /// parent's page), and is not zeroed first, since the copy overwrites every byte. Same
    /// refusals, same all or nothing.
    pub fn map_copies<'a>(
        &mut self,
        pages: PageRange,
        perms: Perms,
        frames: &mut impl FrameSource,
        mut source: impl FnMut(Page) -> FrameRef<'a>,
    ) -> Result<Flush, MapNewError> {
        let copy = |page, mut to: FrameMut<'_>| to.copy_from(&source(page));
        self.map_fresh(pages, perms, frames, Start::Overwritten, copy)
    }

    /// `map_new` and `map_copies`: fresh frames started as `start` says, then `fill`ed.
    fn map_fresh(
        &mut self,
        pages: PageRange,
        perms: Perms,
        frames: &mut impl FrameSource,
        start_as: Start,
        mut fill: impl FnMut(Page, FrameMut<'_>),
    ) -> Result<Flush, MapNewError> {
        let (start, end) = self.bounds(pages).map_err(MapNewError::VirtOutOfRange)?;
        if !perms.is_legal_leaf() {
            return Err(MapNewError::IllegalPerms(perms));
        }
        let mut va = start;
        while va < end {
            let fresh = Fresh {
                perms,
                start: start_as,
            };
            if let Err(e) = self.fill_new(&mut va, end, fresh, frames, &mut fill) {
                self.undo_map(start, va, frames);
                return Err(e.into());
            }
        }
        Ok(Flush::pages(pages))
    }

    /// Maps fresh frames from `*va` on, as many pages as one leaf table holds before `end`,
    /// creating the tables on the way. Advances `*va` past every page mapped, also when it
    /// fails, so the caller knows what to undo.
    fn fill_new(
        &mut self,
        va: &mut u64,
        end: u64,
        fresh: Fresh,
        frames: &mut impl FrameSource,
        fill: &mut impl FnMut(Page, FrameMut<'_>),
    ) -> Result<(), Blocked> {
        let (leaves, parent) = self.descend(*va, 0, frames)?;
        let (parent, i) = parent.expect("every mode has a level above its leaves");
        self.mark_holds_owned(parent, i);
        let leaves = self.table(leaves);
        for i in index::<M>(*va, 0)..M::ENTRIES {
            if *va >= end {
                break;
            }
            let existing = self.get(leaves, i);
            if existing != Pte::INVALID {
                let found = self.describe(existing, 0, *va, frames);
                return Err(Blocked::AlreadyMapped(found));
            }
            let page = Page::containing(super::edit::virt(*va));
            let leaf = self.new_owned_leaf(page, fresh, frames, fill)?;
            self.set(leaves, i, leaf);
            *va += PAGE_SIZE as u64;
        }
        Ok(())
    }
}
