//! Walking every mapping of a table, merged into runs.

use super::Mapping;
use super::mode::{MAX_LEVELS, Mode};
use super::pte::PteKind;
use super::table::PageTable;
use crate::addr::Frame;
use crate::phys::PhysMem;

/// Iterator over a table's mappings in address order, adjacent leaves of the same size,
/// permissions and ownership with consecutive physical addresses merged into one [`Mapping`].
pub struct Mappings<'a, M: Mode, P: PhysMem> {
    table: &'a PageTable<M, P>,
    /// Per level: the table being scanned, the next index in it, and the VA where it starts.
    at: [(Frame, usize, u64); MAX_LEVELS],
    level: usize,
    pending: Option<Mapping>,
    done: bool,
}

impl<M: Mode, P: PhysMem> PageTable<M, P> {
    /// Every mapping, merged into runs, in address order.
    pub fn mappings(&self) -> Mappings<'_, M, P> {
        let top = M::LEVELS - 1;
        let mut at = [(self.root(), 0, 0); MAX_LEVELS];
        at[top] = (self.root(), 0, 0);
        Mappings {
            table: self,
            at,
            level: top,
            pending: None,
            done: false,
        }
    }
}

impl<M: Mode, P: PhysMem> PageTable<M, P> {
    /// How many frames the tree of tables takes, the root included (not the frames the leaves
    /// map).
    pub fn table_frames(&self) -> usize {
        self.tables_below(self.root(), M::LEVELS - 1)
    }

    fn tables_below(&self, table: Frame, level: usize) -> usize {
        if level == 0 {
            return 1;
        }
        let children = (0..M::ENTRIES).filter_map(|i| match self.read(table, i).kind::<M>() {
            PteKind::Table(child) => Some(self.tables_below(child, level - 1)),
            _ => None,
        });
        1 + children.sum::<usize>()
    }
}

impl<M: Mode, P: PhysMem> Mappings<'_, M, P> {
    /// The next leaf as a one-page mapping.
    fn next_leaf(&mut self) -> Option<Mapping> {
        loop {
            let (table, i, base) = self.at[self.level];
            if i == M::ENTRIES {
                if self.level == M::LEVELS - 1 {
                    return None;
                }
                self.level += 1;
                continue;
            }
            self.at[self.level].1 += 1;
            let size = M::LEAF_SIZES[self.level];
            let va = base + i as u64 * size.bytes();
            let pte = self.table.read(table, i);
            match pte.kind::<M>() {
                PteKind::Invalid => {}
                PteKind::Table(child) if self.level > 0 => {
                    self.level -= 1;
                    self.at[self.level] = (child, 0, va);
                }
                PteKind::Table(_) => {}
                PteKind::Leaf(pa, perms) => {
                    return Some(Mapping {
                        va: super::edit::virt(va),
                        pa,
                        len: size.bytes(),
                        perms,
                        size,
                        owned: pte.is_owned(),
                    });
                }
            }
        }
    }
}

impl<M: Mode, P: PhysMem> Iterator for Mappings<'_, M, P> {
    type Item = Mapping;

    fn next(&mut self) -> Option<Mapping> {
        while !self.done {
            let Some(leaf) = self.next_leaf() else {
                self.done = true;
                break;
            };
            match &mut self.pending {
                Some(run)
                    if run.va.as_u64() + run.len == leaf.va.as_u64()
                        && run.pa.as_u64() + run.len == leaf.pa.as_u64()
                        && run.perms == leaf.perms
                        && run.size == leaf.size
                        && run.owned == leaf.owned =>
                {
                    run.len += leaf.len;
                }
                _ => {
                    if let Some(run) = self.pending.replace(leaf) {
                        return Some(run);
                    }
                }
            }
        }
        self.pending.take()
    }
}
