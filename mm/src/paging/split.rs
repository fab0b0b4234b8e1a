//! Splitting the superpages that straddle the ends of a range, so that `unmap` and `protect`
//! can change whole leaves: their only step that allocates, done first and undone on failure.

use super::mode::{MAX_LEVELS, Mode};
use super::pte::{Pte, PteKind};
use super::table::{PageTable, index};
use crate::addr::Frame;
use crate::frame::{FrameSource, OutOfMemory};
use crate::phys::PhysMem;

/// Superpage splits done so far by one operation, so they can be undone: where each split
/// entry lives and the superpage it held.
struct Splits {
    done: [(Frame, usize, Pte); 2 * (MAX_LEVELS - 1)],
    len: usize,
}

impl<M: Mode, P: PhysMem> PageTable<M, P> {
    /// Splits the superpages that straddle `start` or `end`, undoing every split if one fails.
    pub(super) fn split_ends(
        &mut self,
        start: u64,
        end: u64,
        frames: &mut impl FrameSource,
    ) -> Result<(), OutOfMemory> {
        let mut splits = Splits {
            done: [(self.root(), 0, Pte::INVALID); 2 * (MAX_LEVELS - 1)],
            len: 0,
        };
        let result = self
            .split_at(start, &mut splits, frames)
            .and_then(|()| self.split_at(end, &mut splits, frames));
        if result.is_err() {
            // Newest first: a split inside a table made by an earlier split goes back before
            // that table does.
            while splits.len > 0 {
                splits.len -= 1;
                let (table, i, superpage) = splits.done[splits.len];
                self.replace(self.table(table), i, superpage, frames);
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
    ) -> Result<(), OutOfMemory> {
        if va >= M::VA_TOP {
            return Ok(());
        }
        let mut table = self.root();
        // Down to level 1 only: a leaf table (level 0) holds 4 KiB leaves, which every
        // page-aligned `va` already bounds, so the walk stops at the pointer to it.
        for level in (1..M::LEVELS).rev() {
            let i = index::<M>(va, level);
            let pte = self.read(table, i);
            match pte.kind::<M>() {
                PteKind::Table(next) => table = next,
                PteKind::Leaf(pa, perms) if va & (M::LEAF_SIZES[level].bytes() - 1) != 0 => {
                    // Owned leaves are 4 KiB: a superpage's frames are someone else's.
                    debug_assert!(!pte.is_owned());
                    let (made, pointer) = self.new_table(frames)?;
                    let sub = M::LEAF_SIZES[level - 1].bytes();
                    let made_table = self.table(made);
                    for j in 0..M::ENTRIES {
                        // The parts of a legal superpage are legal, aligned and in reach.
                        let part = pa
                            .checked_add(j as u64 * sub)
                            .and_then(|p| Pte::leaf::<M>(p, perms, level - 1))
                            .expect("a part of a legal superpage");
                        self.set(made_table, j, part);
                    }
                    self.set(self.table(table), i, pointer);
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
