//! Faults that a test provokes on purpose, caught apart from the kernel's own trap handling:
//! the kernel's trap handler offers each fault here first, and only a hart that announced one
//! with [`expect_fault`] claims it.

use crate::arch::trap::{Cause, exception, instruction_len};
use crate::arch::{MAX_HARTS, hart_id};
use core::sync::atomic::{AtomicUsize, Ordering, compiler_fence};

/// A fault caught by [`expect_fault`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// `scause`.
    pub cause: usize,
    /// `stval`: the faulting address.
    pub addr: usize,
}

pub use exception::{LOAD_PAGE_FAULT, STORE_PAGE_FAULT};

const NONE: usize = usize::MAX;

/// Per hart: whether a fault is expected now, and the last one caught.
static EXPECTING: [AtomicUsize; MAX_HARTS] = [const { AtomicUsize::new(0) }; MAX_HARTS];
static CAUGHT_CAUSE: [AtomicUsize; MAX_HARTS] = [const { AtomicUsize::new(NONE) }; MAX_HARTS];
static CAUGHT_ADDR: [AtomicUsize; MAX_HARTS] = [const { AtomicUsize::new(0) }; MAX_HARTS];

/// Runs `access` with page faults expected on this hart: a page fault skips the faulting
/// instruction and is returned; `None` if none happened. `access` should fault with a single
/// load or store written in `asm!` (a skipped instruction leaves its destination unchanged).
pub fn expect_fault(access: impl FnOnce()) -> Option<Fault> {
    let hart = hart_id();
    CAUGHT_CAUSE[hart].store(NONE, Ordering::Relaxed);
    EXPECTING[hart].store(1, Ordering::Relaxed);
    compiler_fence(Ordering::SeqCst);
    access();
    compiler_fence(Ordering::SeqCst);
    EXPECTING[hart].store(0, Ordering::Relaxed);
    let cause = CAUGHT_CAUSE[hart].load(Ordering::Relaxed);
    (cause != NONE).then(|| Fault {
        cause,
        addr: CAUGHT_ADDR[hart].load(Ordering::Relaxed),
    })
}

/// Claims a data page fault this hart expects: records it and returns where to resume (the
/// instruction after the faulting one). Anything else is not a test's.
pub fn claim(cause: Cause) -> Option<usize> {
    let hart = hart_id();
    // Data faults only: skipping an instruction fault would read the unmapped instruction.
    let data_fault = matches!(cause.scause, LOAD_PAGE_FAULT | STORE_PAGE_FAULT);
    if cause.is_interrupt() || !data_fault || EXPECTING[hart].load(Ordering::Relaxed) == 0 {
        return None;
    }
    CAUGHT_CAUSE[hart].store(cause.scause, Ordering::Relaxed);
    CAUGHT_ADDR[hart].store(cause.stval, Ordering::Relaxed);
    Some(cause.sepc + instruction_len(cause.sepc))
}
