//! Traps from user mode: syscalls, page faults (stack growth, or the end of the process),
//! the timer's preemption, and wake-ups from other harts.
//!
//! A trap arrives through the trampoline's `uservec` on the process's kernel stack, with the
//! kernel's page table active and the user registers in the trap frame. Every path ends in
//! [`return_to_user`], which also ends a process that was killed meanwhile.
//!
//! Its one `unsafe` is the jump to user mode at the end of [`return_to_user`]: whether the trap
//! frame and `satp` are ready for `userret` is known here, where they were just filled in.

use crate::arch::trap::{Cause, exception, interrupt};
use crate::arch::trap_frame::reg;
use crate::arch::{self, ipi};
use crate::proc::{self, ProcRef};
use crate::{mem, sched, syscall};
use abi::{ExitStatus, KillCause};
use rvmm::space::user::GrowStackError;
use rvmm::tlb::Sfence;

/// The kernel's entry from user mode (`uservec` jumps here).
extern "C" fn user_trap() -> ! {
    arch::trap::use_kernel_vector();
    let p = sched::current();
    let cause = Cause::read();
    p.with_trap_frame(|tf| tf.epc = cause.sepc);
    if cause.is_interrupt() {
        match cause.code() {
            interrupt::TIMER => {
                arch::stop_timer();
                sched::wake_sleepers();
                preempted(p);
            }
            interrupt::SOFTWARE => ipi::clear_pending(),
            interrupt::EXTERNAL => super::device::interrupt(),
            _ => {}
        }
    } else {
        match cause.code() {
            exception::USER_ECALL => {
                p.with_trap_frame(|tf| tf.epc += 4);
                syscall::handle(p);
            }
            exception::LOAD_PAGE_FAULT
            | exception::STORE_PAGE_FAULT
            | exception::INSTRUCTION_PAGE_FAULT => page_fault(p, cause),
            _ => kill_for_fault(p, cause),
        }
    }
    return_to_user(p)
}

/// A new process's first instructions on its kernel stack: straight to user mode.
pub extern "C" fn process_start() -> ! {
    return_to_user(sched::current())
}

/// The end of its time slice: the process gives back stack pages it no longer uses (its
/// saved `sp` says which) and lets others run.
fn preempted(p: ProcRef) {
    let sp = p.with_trap_frame(|tf| tf.regs[reg::SP]);
    if let Some(space) = p.space.lock().as_mut() {
        space
            .shrink_stack(sp, &mut mem::frames())
            .apply(&mut Sfence);
    }
    sched::yield_now();
}

/// A page fault: a stack growth if the library says so, else the end of the process.
fn page_fault(p: ProcRef, cause: Cause) {
    let sp = p.with_trap_frame(|tf| tf.regs[reg::SP]);
    let grown = p
        .space
        .lock()
        .as_mut()
        .expect("a process in user mode has an address space")
        .grow_stack(cause.stval, sp, &mut mem::frames());
    match grown {
        Ok(flush) => flush.apply(&mut Sfence),
        // A fault in the guard gap under the stack's floor is a stack that outgrew its limit;
        // anywhere lower it is just a bad address.
        Err(GrowStackError::BeyondLimit(at)) if in_guard_gap(p, at) => {
            let limit = p
                .space
                .lock()
                .as_ref()
                .map_or(0, |s| s.layout().limits().stack_max);
            let limit = abi::Size(limit as u64);
            kill_for_fault_because(p, cause, format_args!("beyond the {limit} stack limit"));
        }
        Err(_) => kill_for_fault(p, cause),
    }
}

/// Whether `addr` lies between the heap's cap and the stack's floor of `p`'s space.
fn in_guard_gap(p: ProcRef, addr: usize) -> bool {
    p.space.lock().as_ref().is_some_and(|s| {
        let layout = s.layout();
        (layout.heap_cap().as_usize()..layout.stack_floor().as_usize()).contains(&addr)
    })
}

/// The kill cause of a user exception.
fn kill_cause(code: usize) -> KillCause {
    match code {
        exception::INSTRUCTION_PAGE_FAULT | 1 => KillCause::InstructionPageFault,
        exception::LOAD_PAGE_FAULT | 5 => KillCause::LoadPageFault,
        exception::STORE_PAGE_FAULT | 7 => KillCause::StorePageFault,
        exception::ILLEGAL_INSTRUCTION => KillCause::IllegalInstruction,
        exception::BREAKPOINT => KillCause::Breakpoint,
        0 | exception::LOAD_MISALIGNED | exception::STORE_MISALIGNED => KillCause::Misaligned,
        _ => KillCause::Other,
    }
}

/// Ends `p` for an exception it caused, with one console line saying why.
fn kill_for_fault(p: ProcRef, cause: Cause) {
    kill_for_fault_because(p, cause, format_args!(""));
}

/// As [`kill_for_fault`], with `rule` (the rule of the address space the access broke) added
/// to the line when it says something.
fn kill_for_fault_because(p: ProcRef, cause: Cause, rule: core::fmt::Arguments<'_>) {
    let why = kill_cause(cause.code());
    let mut note = crate::console::Line::new();
    let _ = core::fmt::write(&mut note, rule);
    crate::println!(
        "pid {} ({}) killed: {} at {:#x}, pc {:#x}{}{}",
        p.pid(),
        p.name(),
        why.describe(),
        cause.stval,
        cause.sepc,
        if note.is_empty() { "" } else { ": " },
        note.as_str(),
    );
    p.kill_with(&mut p.status.lock(), why);
}

/// Leaves the kernel for `p`'s user code, or ends `p` if it was killed.
pub fn return_to_user(p: ProcRef) -> ! {
    if let Some(cause) = p.killed() {
        proc::exit(p, ExitStatus::killed(cause));
    }
    let epc = p.with_trap_frame(|tf| {
        tf.kernel_satp = mem::kernel_satp();
        tf.kernel_sp = p.kernel_stack_top();
        tf.kernel_trap = user_trap as *const () as usize;
        tf.hart = arch::hart_id();
        tf.epc
    });
    // SAFETY: the trap frame now holds the process's registers (saved by `uservec` or set by
    // `exec`/`fork`) and the kernel's entry data; every process's table maps the trampoline.
    unsafe { arch::trap::enter_user(p.satp(), epc) }
}
