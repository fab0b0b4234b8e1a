//! The kernel address space (issue 3).
