//! Host-only helpers for testing code built on `rvmm`: host memory as physical memory, a
//! benchmark harness and PRNG, and (as they land) tracking and failing frame allocators, an
//! independent spec page walker and an emulated TLB.

pub mod arena;
pub mod bench;

pub use arena::Arena;
pub use bench::Rng;
