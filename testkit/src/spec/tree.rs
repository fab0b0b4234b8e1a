//! The whole tree at once: every valid leaf, every table, every malformed entry.
//!
//! Why: translating page by page checks the pages a test thought of; listing the tree checks the
//! ones it did not (a stray leaf left behind by an unmap, a table never freed, a table reachable
//! twice). Tests compare [`SpecTree::leaves`] with their model and [`SpecTree::tables`] with the
//! frames a tracking allocator says are out.
//!
//! An entry is malformed when it would fault for every access whatever the privilege: a reserved
//! encoding, a pointer at level 0 or out of memory, a misaligned superpage. Leaves with A = 0, or
//! W = 1 and D = 0, are listed as leaves (they are legal; a hart with Svade faults on them);
//! compare their `flags` to catch that.

use super::{Arena, PTE_G, PTE_R, PTE_X, SpecFault, SpecMode, check_entry, misaligned};
use rvmm::addr::{PageSize, PhysAddr};
use std::collections::BTreeSet;

/// One valid leaf entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpecLeaf {
    /// First virtual address mapped (sign-extended in the upper half of Sv39).
    pub va: u64,
    /// First physical address mapped.
    pub pa: PhysAddr,
    /// Size of the page.
    pub size: PageSize,
    /// Level of the entry (0 = 4 KiB).
    pub level: usize,
    /// Flag bits 7..0 (`PTE_V` .. `PTE_D`).
    pub flags: u8,
    /// G on the leaf or on a pointer above it.
    pub global: bool,
    /// The raw entry.
    pub pte: u64,
    /// Where the entry lives.
    pub pte_addr: PhysAddr,
}

/// What is wrong with a malformed entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Defect {
    /// The fault every access through it would take.
    Fault(SpecFault),
    /// A pointer to a table already reached another way (or to the root): the tree is not a
    /// tree, and a teardown would free that table twice. Not followed again.
    SharedTable(PhysAddr),
}

/// A malformed entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Malformed {
    /// First virtual address the entry covers.
    pub va: u64,
    /// Level of the entry.
    pub level: usize,
    /// Where the entry lives (for an unreadable root: the root).
    pub pte_addr: PhysAddr,
    /// The raw entry (0 for an unreadable root).
    pub pte: u64,
    /// What is wrong.
    pub defect: Defect,
}

/// Everything reachable from a root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpecTree {
    /// Valid leaves in VA order (as `u64`, so the Sv39 upper half comes last).
    pub leaves: Vec<SpecLeaf>,
    /// Table pages reached, root first, then in the order the walk met them.
    pub tables: Vec<PhysAddr>,
    /// Malformed entries in VA order.
    pub malformed: Vec<Malformed>,
}

/// Walks every entry reachable from `root`.
///
/// # Panics
/// As [`translate`](super::translate), on a root no satp can name.
pub fn walk(arena: &Arena, mode: SpecMode, root: PhysAddr) -> SpecTree {
    assert!(
        root.is_aligned(PageSize::Size4KiB) && root.as_u64() >> mode.pa_bits() == 0,
        "{root:?} cannot be the root of an {mode:?} table"
    );
    let mut walker = Walker {
        arena,
        mode,
        seen: BTreeSet::new(),
        tree: SpecTree::default(),
    };
    let top = mode.levels() - 1;
    if readable(arena, root) {
        walker.seen.insert(root);
        walker.tree.tables.push(root);
        walker.table(root, top, 0, false);
    } else {
        walker.tree.malformed.push(Malformed {
            va: 0,
            level: top,
            pte_addr: root,
            pte: 0,
            defect: Defect::Fault(SpecFault::PteOutsideMemory {
                level: top,
                pte_addr: root,
            }),
        });
    }
    walker.tree
}

/// The valid leaves reachable from `root`.
///
/// # Panics
/// If any entry is malformed, listing them all: callers that expect a well-formed table (the
/// usual case) get the reason in the failure message. Use [`walk`] to inspect them instead.
#[track_caller]
pub fn leaves(arena: &Arena, mode: SpecMode, root: PhysAddr) -> Vec<SpecLeaf> {
    let tree = walk(arena, mode, root);
    assert!(
        tree.malformed.is_empty(),
        "{} malformed entries: {:#x?}",
        tree.malformed.len(),
        tree.malformed
    );
    tree.leaves
}

struct Walker<'a> {
    arena: &'a Arena,
    mode: SpecMode,
    seen: BTreeSet<PhysAddr>,
    tree: SpecTree,
}

/// Whether the whole table page at `table` lies in the arena.
fn readable(arena: &Arena, table: PhysAddr) -> bool {
    arena.ptr(table, 4096).is_some()
}

impl Walker<'_> {
    /// Visits the table at `table` (already known readable) at `level`, whose first entry covers
    /// `base_va`; `global` says whether a pointer above had G.
    fn table(&mut self, table: PhysAddr, level: usize, base_va: u64, global: bool) {
        let mode = self.mode;
        let mut bytes = [0u8; 4096];
        let frame = rvmm::Frame::containing(table);
        let read = self.arena.read(frame, 0, &mut bytes);
        read.expect("checked readable");
        let shift = 12 + mode.vpn_bits() * level as u32;
        for (index, raw) in bytes.chunks_exact(mode.pte_bytes()).enumerate() {
            let pte = mode.decode(raw);
            let va = sign_extend(mode, base_va | ((index as u64) << shift));
            let pte_addr = PhysAddr::new(table.as_u64() + (index * mode.pte_bytes()) as u64)
                .expect("inside the table");
            let mut malformed = |defect| {
                self.tree.malformed.push(Malformed {
                    va,
                    level,
                    pte_addr,
                    pte,
                    defect,
                })
            };
            match check_entry(mode, level, pte) {
                Err(SpecFault::Invalid { .. }) => continue,
                Err(fault) => {
                    malformed(Defect::Fault(fault));
                    continue;
                }
                Ok(()) => {}
            }
            let global = global || pte & PTE_G != 0;
            if pte & (PTE_R | PTE_X) != 0 {
                if misaligned(mode, level, pte) {
                    malformed(Defect::Fault(SpecFault::MisalignedSuperpage { level, pte }));
                    continue;
                }
                self.tree.leaves.push(SpecLeaf {
                    va,
                    pa: PhysAddr::new(mode.ppn(pte) << 12).expect("a PPN fits the PA space"),
                    size: mode.page_size(level).expect("within the levels"),
                    level,
                    flags: pte as u8,
                    global,
                    pte,
                    pte_addr,
                });
                continue;
            }
            let next = PhysAddr::new(mode.ppn(pte) << 12).expect("a PPN fits the PA space");
            if !readable(self.arena, next) {
                let fault = SpecFault::PteOutsideMemory {
                    level: level - 1,
                    pte_addr: next,
                };
                malformed(Defect::Fault(fault));
            } else if !self.seen.insert(next) {
                malformed(Defect::SharedTable(next));
            } else {
                self.tree.tables.push(next);
                self.table(next, level - 1, va, global);
            }
        }
    }
}

/// Sv39 addresses with bit 38 set are sign-extended; Sv32 ones are plain 32-bit.
fn sign_extend(mode: SpecMode, va: u64) -> u64 {
    match mode {
        SpecMode::Sv32 => va,
        SpecMode::Sv39 => (((va as i64) << 25) >> 25) as u64,
    }
}
