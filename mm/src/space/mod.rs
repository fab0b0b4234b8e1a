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
    top_page::<M>(1)
}

/// The page below the trampoline: a process's trap frame (user spaces), a guard (kernel).
pub fn trap_frame_page<M: Mode>() -> Page {
    top_page::<M>(2)
}

/// The `n`-th page from the top of the mode's space.
fn top_page<M: Mode>(n: usize) -> Page {
    let page = Page::from_number((M::VA_TOP >> 12) as usize - n);
    // Mode::VA_TOP <= VIRT_TOP is checked for every mode at compile time (paging::mode::check).
    page.expect("a page below the mode's top")
}
