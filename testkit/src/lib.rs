//! Host-only helpers for testing code built on `rvmm`: host memory as physical memory, a
//! benchmark harness and PRNG, tracking and failing frame sources, an independent spec page
//! walker and an emulated TLB.

pub mod arena;
pub mod bench;
pub mod failing;
pub mod spec;
pub mod tracking;

pub use arena::Arena;
pub use bench::Rng;
pub use failing::{FailPlan, Failing};
pub use tracking::{ArenaFrames, Tracking};
