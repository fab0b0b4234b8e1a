//! Address spaces built from page tables: the one kernel map all harts share, and one user
//! address space per process.

pub mod kernel;
pub mod user;
