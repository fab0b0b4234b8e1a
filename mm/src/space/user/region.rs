//! The regions of a process's space, for `fork`, teardown and a `vmmap`-style dump.

use super::UserSpace;
use super::layout::{page_up, to_va};
use crate::addr::{PAGE_SIZE, VirtAddr};
use crate::paging::{Mode, Perms};
use crate::phys::PhysMem;
use crate::space::{trampoline_page, trap_frame_page};
use core::fmt;

/// What a region holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// A program segment loaded from the ELF image (text, rodata, data and bss).
    Program,
    /// The heap, moved by `sbrk`.
    Heap,
    /// The user stack.
    Stack,
    /// The trap frame (kernel-only).
    TrapFrame,
    /// The trampoline (kernel-only, shared by every space).
    Trampoline,
}

impl fmt::Display for RegionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegionKind::Program => "program",
            RegionKind::Heap => "heap",
            RegionKind::Stack => "stack",
            RegionKind::TrapFrame => "trap frame",
            RegionKind::Trampoline => "trampoline",
        })
    }
}

/// One row of a `vmmap`-style dump: a run of pages with one purpose and one set of
/// permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// What the pages hold.
    pub kind: RegionKind,
    /// First address.
    pub start: VirtAddr,
    /// Number of 4 KiB pages, all mapped.
    pub pages: usize,
    /// Permissions of every page.
    pub perms: Perms,
}

impl Region {
    /// Exclusive end, as `u64` (the trampoline's is 2^32 on Sv32).
    pub fn end(&self) -> u64 {
        self.start.as_u64() + (self.pages * PAGE_SIZE) as u64
    }
}

impl fmt::Display for Region {
    /// `0000000000001000-0000000000003000 r-xu     2 program`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bit = |p: Perms, c: char| if self.perms.contains(p) { c } else { '-' };
        write!(
            f,
            "{:016x}-{:016x} {}{}{}{} {:>6} {}",
            self.start.as_u64(),
            self.end(),
            bit(Perms::R, 'r'),
            bit(Perms::W, 'w'),
            bit(Perms::X, 'x'),
            bit(Perms::U, 'u'),
            self.pages,
            self.kind
        )
    }
}

/// A run of data pages of one region, as the space keeps it.
///
/// Every span is a private copy owned by one space. Copy-on-write would add a sharing state
/// here: `fork` would map the parent's frames read-only in both and count references, and the
/// write paths (`copy_out`, the store-fault handler) would copy a shared page before writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) kind: RegionKind,
    pub(super) start: usize,
    pub(super) pages: usize,
    pub(super) perms: Perms,
}

impl Span {
    pub(super) const EMPTY: Span = Span {
        kind: RegionKind::Program,
        start: 0,
        pages: 0,
        perms: Perms::empty(),
    };

    pub(super) fn end(&self) -> usize {
        self.start + self.pages * PAGE_SIZE
    }

    fn row(self) -> Region {
        Region {
            kind: self.kind,
            start: to_va(self.start),
            pages: self.pages,
            perms: self.perms,
        }
    }
}

impl<M: Mode, P: PhysMem> UserSpace<M, P> {
    /// The user-accessible spans, in address order: program segments, heap, stack (the heap
    /// and stack possibly empty of pages).
    pub(super) fn user_spans(&self) -> impl Iterator<Item = Span> + use<M, P> {
        let heap = Span {
            kind: RegionKind::Heap,
            start: self.heap_start,
            pages: (page_up(self.brk) - self.heap_start) / PAGE_SIZE,
            perms: super::USER_RW,
        };
        let stack = Span {
            kind: RegionKind::Stack,
            start: self.stack_bottom,
            pages: (self.layout.top() - self.stack_bottom) / PAGE_SIZE,
            perms: super::USER_RW,
        };
        let segments = self.segments.into_iter().take(self.segment_count);
        segments.chain([heap, stack])
    }

    /// Every mapped region in address order, one row each: program segments, heap, stack, trap
    /// frame, trampoline. Empty regions (a heap at its start) have no row.
    pub fn regions(&self) -> impl Iterator<Item = Region> + use<M, P> {
        let top = |page: crate::addr::Page, kind, perms| Region {
            kind,
            start: page.start(),
            pages: 1,
            perms,
        };
        let kernel = [
            top(trap_frame_page::<M>(), RegionKind::TrapFrame, Perms::RW),
            top(trampoline_page::<M>(), RegionKind::Trampoline, Perms::RX),
        ];
        self.user_spans()
            .filter(|s| s.pages > 0)
            .map(Span::row)
            .chain(kernel)
    }

    /// How many frames its page table takes (the root included).
    pub fn table_frames(&self) -> usize {
        self.table.table_frames()
    }

    /// How many data frames this space owns: program, heap and stack pages and the trap frame
    /// (not the shared trampoline, not page-table frames).
    pub fn resident_pages(&self) -> usize {
        self.user_spans().map(|s| s.pages).sum::<usize>() + 1
    }
}
