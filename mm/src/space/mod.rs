//! Address spaces built from page tables: the one kernel map all harts share, and one user
//! address space per process.
//!
//! Both kinds share the top of the space: the trampoline in the highest page (so the code that
//! switches `satp` is mapped at the same address before and after the switch), and just below
//! it the process's trap frame in user spaces (a guard page in the kernel map).

use crate::addr::Page;
use crate::paging::Mode;

pub mod kernel;
pub mod user;

/// The highest page of the mode's space, where every address space maps the trampoline
/// (Sv39: `0x3F_FFFF_F000`; Sv32: `0xFFFF_F000`).
pub fn trampoline_page<M: Mode>() -> Page {
    // VA_TOP is at most 2^38, so the page number fits and is below `VIRT_TOP`.
    Page::from_number((M::VA_TOP >> 12) as usize - 1).unwrap_or_else(|_| unreachable_page())
}

/// The page below the trampoline: a process's trap frame (user spaces), a guard (kernel).
pub fn trap_frame_page<M: Mode>() -> Page {
    Page::from_number((M::VA_TOP >> 12) as usize - 2).unwrap_or_else(|_| unreachable_page())
}

#[cold]
fn unreachable_page() -> Page {
    // Mode::VA_TOP <= VIRT_TOP is checked for every mode at compile time (paging::mode::check).
    Page::containing(crate::addr::VirtAddr::default())
}
