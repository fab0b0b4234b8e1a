//! Trap entry and exit on the Rust side: the vector of traps taken in S-mode hands its saved
//! registers to [`crate::trap::kernel`]; a process leaves the kernel through
//! [`enter_user`], which jumps to the trampoline's `userret`.

use super::csr::{clear_csr, read_csr, set_csr, write_csr};
use super::trap_frame::TRAP_FRAME_VA;

/// The registers the kernel vector saved on the stack when a trap hit kernel code, indexed by
/// register number (`x2` is the `sp` before the trap).
#[repr(C)]
pub struct KernelRegs {
    /// `x0` (unused) to `x31`.
    pub regs: [usize; 32],
}

/// What a trap says about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cause {
    /// `scause`.
    pub scause: usize,
    /// `stval`: the faulting address, for page faults.
    pub stval: usize,
    /// `sepc`: the trapping instruction.
    pub sepc: usize,
}

impl Cause {
    /// The CSRs of the trap being handled.
    pub fn read() -> Self {
        Cause {
            scause: read_csr!("scause"),
            stval: read_csr!("stval"),
            sepc: read_csr!("sepc"),
        }
    }

    /// Whether it is an interrupt (else an exception).
    pub fn is_interrupt(self) -> bool {
        self.scause >> (usize::BITS - 1) != 0
    }

    /// The exception or interrupt code.
    pub fn code(self) -> usize {
        self.scause & !(1 << (usize::BITS - 1))
    }
}

/// Exception codes the kernel handles by name.
pub mod exception {
    /// Illegal instruction.
    pub const ILLEGAL_INSTRUCTION: usize = 2;
    /// `ebreak`.
    pub const BREAKPOINT: usize = 3;
    /// Misaligned load.
    pub const LOAD_MISALIGNED: usize = 4;
    /// Misaligned store.
    pub const STORE_MISALIGNED: usize = 6;
    /// `ecall` from user mode.
    pub const USER_ECALL: usize = 8;
    /// Instruction page fault.
    pub const INSTRUCTION_PAGE_FAULT: usize = 12;
    /// Load page fault.
    pub const LOAD_PAGE_FAULT: usize = 13;
    /// Store page fault.
    pub const STORE_PAGE_FAULT: usize = 15;
}

/// Interrupt codes.
pub mod interrupt {
    /// Supervisor software interrupt (another hart woke this one).
    pub const SOFTWARE: usize = 1;
    /// Supervisor timer interrupt.
    pub const TIMER: usize = 5;
    /// Supervisor external interrupt (the PLIC).
    pub const EXTERNAL: usize = 9;
}

/// Called by the kernel vector with the saved registers.
#[unsafe(no_mangle)]
extern "C" fn kernel_trap(regs: &mut KernelRegs) {
    let cause = Cause::read();
    if let Some(resume_at) = crate::trap::kernel::handle(cause, regs) {
        write_csr!("sepc", resume_at);
    }
}

/// Length of the instruction at `pc`: 4 bytes unless its low bits mark a compressed one.
///
/// # Panics
/// Never for the `pc` of a load or store that trapped in kernel text; any other `pc` is a bug.
pub fn instruction_len(pc: usize) -> usize {
    // SAFETY: callers pass the address of a load or store that just trapped in kernel code
    // (instruction faults are never resumed), so it is mapped, readable kernel text, and
    // instructions are 2-byte aligned.
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

/// log2 of each hart's trap stack size (`TRAP_STACK_SIZE` in the linker script).
pub const TRAP_STACK_SHIFT: u32 = 12;

unsafe extern "C" {
    static _trap_stacks_end: u8;
    static trampoline: u8;
    static uservec: u8;
    static userret: u8;
    static kernel_vector: u8;
}

/// Where `symbol` (in the trampoline page) is seen through the page's alias at the top of
/// every address space.
fn top_alias(symbol: *const u8) -> usize {
    let base = (&raw const trampoline).addr();
    rvmm::space::trampoline_page::<crate::mem::KernelMode>()
        .start()
        .as_usize()
        + (symbol.addr() - base)
}

/// Sends traps to the kernel vector, on this hart's trap stack (on entry to the kernel from
/// user mode: `uservec` borrowed `sscratch`).
pub fn use_kernel_vector() {
    write_csr!("stvec", (&raw const kernel_vector).addr());
    let top = (&raw const _trap_stacks_end).addr() - (super::hart_id() << TRAP_STACK_SHIFT);
    write_csr!("sscratch", top);
}

/// `sstatus.SPP`: the mode `sret` returns to (set: S, clear: U).
const SSTATUS_SPP: usize = 1 << 8;
/// `sstatus.SPIE`: `SIE` after `sret`.
const SSTATUS_SPIE: usize = 1 << 5;

/// Leaves the kernel for user mode at `epc` in the address space `satp`: traps go to `uservec`
/// from now on, `sret` goes to U-mode with interrupts enabled there, and `userret` switches
/// tables and restores the registers saved in the trap frame.
///
/// # Safety
/// The trap frame mapped at [`TRAP_FRAME_VA`] in `satp`'s table must hold the registers to run
/// with and the kernel's entry data (satp, stack, handler, hart); `satp`'s table must map the
/// trampoline at the top.
pub unsafe fn enter_user(satp: usize, epc: usize) -> ! {
    const { assert!(TRAP_FRAME_VA != 0) };
    write_csr!("stvec", top_alias(&raw const uservec));
    clear_csr!("sstatus", SSTATUS_SPP);
    set_csr!("sstatus", SSTATUS_SPIE);
    write_csr!("sepc", epc);
    let userret_at = top_alias(&raw const userret);
    // SAFETY: `userret` is mapped R+X at its top alias in the kernel table (which runs now) and
    // in `satp`'s; by the caller's contract the trap frame is ready. It never returns.
    unsafe {
        core::arch::asm!("jr {0}", in(reg) userret_at, in("a0") satp, options(noreturn, nostack))
    }
}
