//! S-mode traps. The kernel runs with interrupts off and expects no trap, except in the test
//! mode, which provokes page faults on purpose ([`expect_fault`]) to show that the MMU
//! enforces the kernel map. Anything else is a bug: it panics with the cause and addresses.

use super::MAX_HARTS;
use super::csr::{read_csr, write_csr};
use core::sync::atomic::{AtomicUsize, Ordering, compiler_fence};

/// The registers the trap vector saved, indexed by register number (`x2` is the `sp` before
/// the trap).
#[repr(C)]
pub struct TrapFrame {
    /// `x0` (unused) to `x31`.
    pub regs: [usize; 32],
}

/// A fault caught by [`expect_fault`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// `scause`.
    pub cause: usize,
    /// `stval`: the faulting address.
    pub addr: usize,
}

/// `scause` of a load page fault.
pub const LOAD_PAGE_FAULT: usize = 13;
/// `scause` of a store page fault.
pub const STORE_PAGE_FAULT: usize = 15;

const NONE: usize = usize::MAX;

/// Per hart: whether a fault is expected now (`EXPECTING`), and the last one caught.
static EXPECTING: [AtomicUsize; MAX_HARTS] = [const { AtomicUsize::new(0) }; MAX_HARTS];
static CAUGHT_CAUSE: [AtomicUsize; MAX_HARTS] = [const { AtomicUsize::new(NONE) }; MAX_HARTS];
static CAUGHT_ADDR: [AtomicUsize; MAX_HARTS] = [const { AtomicUsize::new(0) }; MAX_HARTS];

/// Runs `access` with page faults expected on this hart: a page fault skips the faulting
/// instruction and is returned; `None` if none happened. `access` should fault with a single
/// load or store written in `asm!` (a skipped instruction leaves its destination unchanged).
pub fn expect_fault(access: impl FnOnce()) -> Option<Fault> {
    let hart = super::hart_id();
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

/// Called by the trap vector with the saved registers.
#[unsafe(no_mangle)]
extern "C" fn s_trap(frame: &mut TrapFrame) {
    let scause: usize = read_csr!("scause");
    let sepc: usize = read_csr!("sepc");
    let stval: usize = read_csr!("stval");
    let hart = super::hart_id();
    let interrupt = scause >> (usize::BITS - 1) != 0;
    // Data faults only: skipping an instruction fault would read the unmapped instruction.
    let page_fault = matches!(scause, LOAD_PAGE_FAULT | STORE_PAGE_FAULT);
    if !interrupt && page_fault && EXPECTING[hart].load(Ordering::Relaxed) != 0 {
        CAUGHT_CAUSE[hart].store(scause, Ordering::Relaxed);
        CAUGHT_ADDR[hart].store(stval, Ordering::Relaxed);
        write_csr!("sepc", sepc + instruction_len(sepc));
        return;
    }
    panic!(
        "unexpected trap: scause {scause:#x} ({}), sepc {sepc:#x}, stval {stval:#x}, ra {:#x}, \
         sp {:#x}",
        cause_name(scause),
        frame.regs[1],
        frame.regs[2]
    );
}

/// Length of the instruction at `pc`: 4 bytes unless its low bits mark a compressed one.
fn instruction_len(pc: usize) -> usize {
    // SAFETY: `pc` is the address of a load or store that just trapped (instruction faults
    // are never skipped), so it is mapped, readable kernel text; instructions are 2-byte
    // aligned.
    let low = unsafe { core::ptr::with_exposed_provenance::<u16>(pc).read_volatile() };
    if low & 3 == 3 { 4 } else { 2 }
}

/// The privileged spec's name for an exception cause.
pub fn cause_name(scause: usize) -> &'static str {
    if scause >> (usize::BITS - 1) != 0 {
        return "interrupt";
    }
    match scause {
        0 => "instruction address misaligned",
        1 => "instruction access fault",
        2 => "illegal instruction",
        3 => "breakpoint",
        4 => "load address misaligned",
        5 => "load access fault",
        6 => "store address misaligned",
        7 => "store access fault",
        8 => "environment call from U-mode",
        9 => "environment call from S-mode",
        12 => "instruction page fault",
        13 => "load page fault",
        15 => "store page fault",
        _ => "reserved",
    }
}
