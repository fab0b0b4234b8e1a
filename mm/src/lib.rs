//! `rvmm`: the memory-management core of a small RISC-V kernel. It began as the memory
//! management of VIMIX, a public xv6-style teaching OS, rebuilt as a library.
//!
//! The layers, bottom up:
//! - [`addr`]: typed physical and virtual addresses, frame and page numbers, page sizes;
//! - [`phys`]: the one seam through which the library touches physical memory;
//! - [`frame`]: the physical frame allocator;
//! - [`paging`]: Sv39 and Sv32 page tables behind one generic walker;
//! - [`tlb`]: flush tokens that every change to a live table hands back;
//! - [`space`]: the kernel map all harts share and one process's address space.
//!
//! Everything here is `no_std`, runs on the host in tests, and never panics on bad input:
//! errors are typed and leave state unchanged.
#![no_std]
#![cfg_attr(not(test), warn(missing_docs))]

#[cfg(test)]
extern crate std;

pub mod addr;
pub mod frame;
pub mod paging;
pub mod phys;
pub mod space;
pub mod tlb;

pub use addr::{AddrError, Frame, Page, PageSize, PhysAddr, VirtAddr};
pub use frame::{FrameAllocator, FreeError, HartCache, InitError, Junk, Stats};
pub use frame::{FrameSource, OutOfMemory};
pub use phys::PhysMem;
pub use tlb::{Flush, Tlb};

/// The README's example, compiled and run as a doctest so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExample;
