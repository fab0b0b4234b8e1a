//! Host-only helpers for testing code built on `rvmm`: host memory as physical memory, a
//! benchmark harness and PRNG, tracking and failing frame sources, an independent spec page
//! walker and an emulated TLB.

pub mod arena;
pub mod bench;
pub mod failing;
pub mod spec;
pub mod tlb;
pub mod tracking;

pub use arena::Arena;
pub use bench::Rng;
pub use failing::{FailPlan, Failing};
pub use tlb::EmulatedTlb;
pub use tracking::{ArenaFrames, Tracking};

/// One `#[test]` per paging mode for each generic test function named: `both_modes!(f, g)`
/// makes the tests `f::sv39` and `f::sv32` (calling `f::<Sv39>()` and `f::<Sv32>()`), and
/// the same for `g`.
#[macro_export]
macro_rules! both_modes {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sv39() {
                    super::$name::<rvmm::paging::Sv39>();
                }
                #[test]
                fn sv32() {
                    super::$name::<rvmm::paging::Sv32>();
                }
            }
        )*
    };
}
