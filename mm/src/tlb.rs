//! TLB flush tokens.
//!
//! Every operation that changes a live page table returns a [`Flush`]. RISC-V may cache invalid
//! entries too, so even a change from invalid to valid needs `sfence.vma`; the token makes
//! forgetting it a compiler warning. The library never issues the instruction itself: the caller
//! applies the token to its [`Tlb`] (the kernel's issues `sfence.vma`; a test's can be an
//! emulated TLB that keeps stale entries until told otherwise).

use crate::addr::{Page, PageRange};

/// Above this many pages a flush becomes a flush of everything: one `sfence.vma` with no
/// address is cheaper than hundreds with one.
pub const FLUSH_ALL_ABOVE: usize = 64;

/// What a [`Flush`] covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushScope {
    /// Nothing changed.
    Nothing,
    /// These pages changed.
    Pages(PageRange),
    /// Too much changed to name: flush everything.
    All,
}

/// Something that can drop cached translations.
pub trait Tlb {
    /// Drops any cached translation of `page`.
    fn flush_page(&mut self, page: Page);
    /// Drops every cached translation.
    fn flush_all(&mut self);
}

/// A pending TLB flush that the caller must apply or explicitly ignore.
#[must_use = "the TLB may still hold the old translation: apply the flush (or ignore it if the table is not live)"]
#[derive(Debug, PartialEq, Eq)]
pub struct Flush(FlushScope);

impl Flush {
    /// A flush of nothing.
    pub const fn nothing() -> Self {
        Flush(FlushScope::Nothing)
    }

    /// A flush of `pages` (of everything, when they are many).
    pub const fn pages(pages: PageRange) -> Self {
        if pages.is_empty() {
            Flush(FlushScope::Nothing)
        } else if pages.count() > FLUSH_ALL_ABOVE {
            Flush(FlushScope::All)
        } else {
            Flush(FlushScope::Pages(pages))
        }
    }

    /// A flush of everything.
    pub const fn all() -> Self {
        Flush(FlushScope::All)
    }

    /// What the flush covers.
    pub const fn scope(&self) -> FlushScope {
        self.0
    }

    /// Applies the flush to `tlb`.
    pub fn apply<T: Tlb + ?Sized>(self, tlb: &mut T) {
        match self.0 {
            FlushScope::Nothing => {}
            FlushScope::All => tlb.flush_all(),
            FlushScope::Pages(r) => {
                let first = r.start();
                for n in 0..r.count() {
                    // A range of pages holds only pages.
                    tlb.flush_page(first.checked_add(n).expect("a page of the range"));
                }
            }
        }
    }

    /// Drops the token without flushing: right only for a table that no hart uses yet.
    pub fn ignore(self) {}
}

/// The hart's own TLB, flushed with `sfence.vma` (RISC-V targets only).
#[cfg(any(target_arch = "riscv32", target_arch = "riscv64"))]
#[derive(Debug, Default)]
pub struct Sfence;

#[cfg(any(target_arch = "riscv32", target_arch = "riscv64"))]
impl Tlb for Sfence {
    fn flush_page(&mut self, page: Page) {
        // SAFETY: sfence.vma only orders page-table writes and drops cached translations; it
        // touches no memory Rust knows about.
        unsafe {
            core::arch::asm!("sfence.vma {0}, zero", in(reg) page.start().as_usize(), options(nostack))
        }
    }

    fn flush_all(&mut self) {
        // SAFETY: as above, for every address.
        unsafe { core::arch::asm!("sfence.vma zero, zero", options(nostack)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::VirtAddr;
    use std::vec::Vec;

    struct Log(Vec<Option<usize>>);
    impl Tlb for Log {
        fn flush_page(&mut self, page: Page) {
            self.0.push(Some(page.number()));
        }
        fn flush_all(&mut self) {
            self.0.push(None);
        }
    }

    fn range(start: usize, pages: usize) -> PageRange {
        PageRange::new(VirtAddr::new(start).unwrap(), pages * 4096).unwrap()
    }

    #[test]
    fn small_flush_names_each_page_and_large_flushes_all() {
        let mut log = Log(Vec::new());
        Flush::pages(range(0x1000, 2)).apply(&mut log);
        assert_eq!(log.0, [Some(1), Some(2)]);
        log.0.clear();
        Flush::pages(range(0x1000, FLUSH_ALL_ABOVE + 1)).apply(&mut log);
        assert_eq!(log.0, [None]);
        log.0.clear();
        Flush::pages(range(0x1000, 0)).apply(&mut log);
        assert!(log.0.is_empty());
    }
}
