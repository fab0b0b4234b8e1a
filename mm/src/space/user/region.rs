//! The regions of a process's space, for `fork`, teardown and a `vmmap`-style dump.

use super::pages::range;
use super::{USER_RW, UserSpace};
use crate::addr::{PAGE_SIZE, Page, PageRange, VirtAddr};
use crate::paging::{Mode, Perms};
use crate::phys::PhysMem;
use crate::space::{trampoline_page, trap_frame_page};
use core::fmt;

/// What a range of a process's space is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserRegion {
    /// The pages of a program segment that hold bytes of the ELF file (text, rodata, data).
    Program,
    /// The pages of a writable segment wholly past its file bytes: zero-initialised data.
    Bss,
    /// The heap, moved by `sbrk`.
    Heap,
    /// The user stack.
    Stack,
    /// The trap frame (kernel-only).
    TrapFrame,
    /// The trampoline (kernel-only, shared by every space).
    Trampoline,
}

impl fmt::Display for UserRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UserRegion::Program => "program",
            UserRegion::Bss => "bss",
            UserRegion::Heap => "heap",
            UserRegion::Stack => "stack",
            UserRegion::TrapFrame => "trap frame",
            UserRegion::Trampoline => "trampoline",
        })
    }
}

/// One row of a `vmmap`-style dump: a run of pages with one purpose and one set of
/// permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionRow {
    /// What the pages hold.
    pub what: UserRegion,
    /// First address.
    pub start: VirtAddr,
    /// Number of 4 KiB pages, all mapped.
    pub pages: usize,
    /// Permissions of every page.
    pub perms: Perms,
}

impl RegionRow {
    /// Exclusive end, as `u64` (the trampoline's is 2^32 on Sv32).
    pub fn end(&self) -> u64 {
        self.start.as_u64() + (self.pages * PAGE_SIZE) as u64
    }
}

impl fmt::Display for RegionRow {
    /// `0000000000001000-0000000000003000 r-xu     2 program`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:016x}-{:016x} {:#.4} {:>6} {}",
            self.start.as_u64(),
            self.end(),
            self.perms,
            self.pages,
            self.what
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
    pub(super) what: UserRegion,
    pub(super) pages: PageRange,
    pub(super) perms: Perms,
    /// Of a program segment: how many of its first pages hold bytes of the file; the rest
    /// are its bss. Every page, for other spans.
    pub(super) file_pages: usize,
}

impl Span {
    pub(super) const EMPTY: Span = Span {
        what: UserRegion::Program,
        pages: match PageRange::from_pages(Page::containing(VirtAddr::ZERO), 0) {
            Ok(r) => r,
            Err(_) => panic!("an empty range at 0 is a range"),
        },
        perms: Perms::empty(),
        file_pages: 0,
    };

    /// The first address.
    pub(super) fn start(&self) -> VirtAddr {
        self.pages.start().start()
    }

    /// Its rows: one, or for a segment with bss pages, the file part (if any) and the bss.
    fn rows(self) -> impl Iterator<Item = RegionRow> {
        let file = self.file_pages.min(self.pages.count());
        let row = |what, first: usize, pages| RegionRow {
            what,
            start: self
                .start()
                .checked_add(first * PAGE_SIZE)
                .expect("inside the span"),
            pages,
            perms: self.perms,
        };
        let bss = self.pages.count() - file;
        let (file_row, bss_row) = match self.what {
            UserRegion::Program if bss > 0 => (
                (file > 0).then(|| row(UserRegion::Program, 0, file)),
                Some(row(UserRegion::Bss, file, bss)),
            ),
            what => (Some(row(what, 0, self.pages.count())), None),
        };
        file_row.into_iter().chain(bss_row)
    }
}

impl<M: Mode, P: PhysMem> UserSpace<M, P> {
    /// The first address past the heap's pages: the break rounded up to a page.
    pub(super) fn heap_end(&self) -> VirtAddr {
        let end = self.brk.align_up(crate::addr::PageSize::Size4KiB);
        end.expect("the break lies at or below the page-aligned heap cap")
    }

    /// The user-accessible spans, in address order: program segments, heap, stack (the heap
    /// and stack possibly empty of pages).
    pub(super) fn user_spans(&self) -> impl Iterator<Item = Span> + use<M, P> {
        let heap = Span {
            what: UserRegion::Heap,
            pages: pages_between(self.heap_start, self.heap_end()),
            perms: USER_RW,
            file_pages: 0,
        };
        let stack = Span {
            what: UserRegion::Stack,
            pages: pages_between(self.stack_bottom, self.layout.stack_top()),
            perms: USER_RW,
            file_pages: 0,
        };
        let segments = self.segments.into_iter().take(self.segment_count);
        segments.chain([heap, stack])
    }

    /// Every mapped region in address order, one row each: program segments, heap, stack, trap
    /// frame, trampoline. Empty regions (a heap at its start) have no row.
    pub fn regions(&self) -> impl Iterator<Item = RegionRow> + use<M, P> {
        let top = |page: Page, what, perms| RegionRow {
            what,
            start: page.start(),
            pages: 1,
            perms,
        };
        let kernel = [
            top(trap_frame_page::<M>(), UserRegion::TrapFrame, Perms::RW),
            top(trampoline_page::<M>(), UserRegion::Trampoline, Perms::RX),
        ];
        self.user_spans()
            .filter(|s| !s.pages.is_empty())
            .flat_map(Span::rows)
            .chain(kernel)
    }

    /// How many frames its page table takes (the root included).
    pub fn table_frames(&self) -> usize {
        self.table.table_frames()
    }

    /// How many data frames this space owns: program, heap and stack pages and the trap frame
    /// (not the shared trampoline, not page-table frames).
    pub fn resident_pages(&self) -> usize {
        self.user_spans().map(|s| s.pages.count()).sum::<usize>() + 1
    }
}

/// The pages `[start, end)`, both page aligned, `start <= end`.
pub(super) fn pages_between(start: VirtAddr, end: VirtAddr) -> PageRange {
    range(start, (end.as_usize() - start.as_usize()) / PAGE_SIZE)
}
