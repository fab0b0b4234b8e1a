//! Per-hart variables: one value per hart, each reached only from its own hart.
//!
//! `unsafe`: `Sync` for [`PerHart`], sound because a hart reaches only its own slot (indexed by
//! its hart id) and kernel code takes no trap that could reach the same slot meanwhile.

use super::{MAX_HARTS, hart_id};

/// One `T` per hart; [`PerHart::this`] gives the running hart's.
///
/// Rule for users: do not keep the reference across a context switch (a process that yields
/// may resume on another hart, and would then be holding the first hart's value).
pub struct PerHart<T>([T; MAX_HARTS]);

// SAFETY: each hart reaches only its own element (`this` indexes by the hart id in `tp`), and
// kernel code is never interrupted by a trap that could reach the same element (interrupts stay
// masked in S-mode; a fault in the kernel panics), so no element is ever accessed from two
// harts at once, even when `T` itself is not `Sync` (a `Cell`).
unsafe impl<T> Sync for PerHart<T> {}

impl<T> PerHart<T> {
    /// The values, indexed by hart id.
    pub const fn new(values: [T; MAX_HARTS]) -> Self {
        PerHart(values)
    }

    /// The running hart's value.
    pub fn this(&self) -> &T {
        &self.0[hart_id()]
    }
}
