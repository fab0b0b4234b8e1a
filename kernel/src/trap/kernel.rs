//! Traps taken in kernel code. The kernel runs with interrupts masked, so these are faults:
//! bugs, which panic with a report, except the faults an in-kernel test provokes on purpose,
//! which the test's catcher (apart from this file) claims first.

use crate::arch::trap::{Cause, KernelRegs, cause_name};

/// Handles a trap in kernel code; returns where to resume, when a test catcher claimed it.
pub fn handle(cause: Cause, regs: &KernelRegs) -> Option<usize> {
    if let Some(resume_at) = crate::ktest::fault::claim(cause) {
        return Some(resume_at);
    }
    let stack_note = stack_overflow_note(cause);
    panic!(
        "trap in kernel code: scause {:#x} ({}), sepc {:#x}, stval {:#x}, ra {:#x}, sp {:#x}{}",
        cause.scause,
        cause_name(cause.scause),
        cause.sepc,
        cause.stval,
        regs.regs[1],
        regs.regs[2],
        stack_note
    );
}

/// A hint when a fault address lies in a kernel-stack guard page.
fn stack_overflow_note(cause: Cause) -> &'static str {
    let in_guard = crate::mem::stacks::is_guard(cause.stval);
    if !cause.is_interrupt() && in_guard {
        " (a kernel-stack guard page: kernel stack overflow)"
    } else {
        ""
    }
}
