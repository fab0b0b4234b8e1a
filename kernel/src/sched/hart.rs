//! What each hart keeps for itself: the process it runs, its scheduler's saved registers, and
//! the kernel-stack epoch of its last TLB flush.

use crate::arch::MAX_HARTS;
use crate::arch::context::{Context, ContextCell};
use crate::arch::percpu::PerHart;
use crate::proc::ProcRef;
use core::cell::Cell;

/// One hart's scheduling state.
pub struct Hart {
    /// The process running on this hart, if any.
    pub current: Cell<Option<ProcRef>>,
    /// The scheduler loop's registers while a process runs.
    pub scheduler: ContextCell,
    /// `STACK_EPOCH` when this hart last flushed its TLB.
    pub stack_epoch: Cell<usize>,
}

/// Every hart's state.
pub static HARTS: PerHart<Hart> = PerHart::new(
    [const {
        Hart {
            current: Cell::new(None),
            scheduler: ContextCell::new(Context {
                ra: 0,
                sp: 0,
                s: [0; 12],
            }),
            stack_epoch: Cell::new(0),
        }
    }; MAX_HARTS],
);

/// The process running on this hart. Panics when called outside a process (a kernel bug).
pub fn current() -> ProcRef {
    HARTS
        .this()
        .current
        .get()
        .expect("no process runs on this hart")
}
