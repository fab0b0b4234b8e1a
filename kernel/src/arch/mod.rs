//! What is specific to RISC-V harts: the entry assembly, CSR access, the M-mode start and the
//! S-mode trap handler. Register widths come from `target_pointer_width`, so one source serves
//! rv64 and rv32.

pub mod context;
pub mod csr;
pub mod ipi;
mod mstart;
pub mod percpu;
pub mod trap;
pub mod trap_frame;

/// Hart ids below this get a boot stack (ids at or above it park in M-mode): the library's
/// number of hart caches, so every hart that runs can have one.
pub use rvmm::frame::MAX_HARTS;

/// Bytes of each hart's boot stack (the linker script reserves `MAX_HARTS` of them), as a
/// shift: the entry code computes stack tops without a multiply.
const HART_STACK_SHIFT: u32 = 14;

/// Assembler macros for the register width (module-level assembly does not inherit the
/// target's extensions, so the prelude names the ones `entry.S` uses): `SX reg, slot` / `LX reg, slot` store and load a
/// register at `slot * REGBYTES(sp)`.
#[cfg(target_pointer_width = "64")]
macro_rules! width_prelude {
    () => {
        ".option arch, +a
        .equ REGBYTES, 8
        .macro SX reg, slot
            sd \\reg, \\slot * 8(sp)
        .endm
        .macro LX reg, slot
            ld \\reg, \\slot * 8(sp)
        .endm
        .macro SXB reg, slot, base
            sd \\reg, \\slot * 8(\\base)
        .endm
        .macro LXB reg, slot, base
            ld \\reg, \\slot * 8(\\base)
        .endm"
    };
}

#[cfg(target_pointer_width = "32")]
macro_rules! width_prelude {
    () => {
        ".option arch, +a
        .equ REGBYTES, 4
        .macro SX reg, slot
            sw \\reg, \\slot * 4(sp)
        .endm
        .macro LX reg, slot
            lw \\reg, \\slot * 4(sp)
        .endm
        .macro SXB reg, slot, base
            sw \\reg, \\slot * 4(\\base)
        .endm
        .macro LXB reg, slot, base
            lw \\reg, \\slot * 4(\\base)
        .endm"
    };
}

// One block, so the prelude's macros are defined once for all three files.
core::arch::global_asm!(
    width_prelude!(),
    include_str!("entry.S"),
    include_str!("trampoline.S"),
    include_str!("switch.S"),
    max_harts = const MAX_HARTS,
    stack_shift = const HART_STACK_SHIFT,
    trap_stack_shift = const trap::TRAP_STACK_SHIFT,
    mcause_msi = const ipi::MCAUSE_MACHINE_SOFTWARE,
    m_scratch_words = const ipi::M_SCRATCH_WORDS,
    m_scratch_shift = const ipi::M_SCRATCH_SHIFT,
    trap_frame_va = const trap_frame::TRAP_FRAME_VA,
    tf_kernel_satp = const trap_frame::slot::KERNEL_SATP,
    tf_kernel_sp = const trap_frame::slot::KERNEL_SP,
    tf_kernel_trap = const trap_frame::slot::KERNEL_TRAP,
    tf_hart = const trap_frame::slot::HART,
    tf_regs = const trap_frame::slot::REGS,
);

/// This hart's id. The entry code puts it in `tp`, which nothing else uses (no TLS).
#[inline]
pub fn hart_id() -> usize {
    let id: usize;
    // SAFETY: reads a register; `tp` holds the hart id from `_start` on.
    unsafe { core::arch::asm!("mv {}, tp", out(reg) id, options(nomem, nostack, preserves_flags)) };
    id
}

/// Waits for an interrupt (or nothing: `wfi` may return at any time).
#[inline]
pub fn wait_for_interrupt() {
    // SAFETY: `wfi` only pauses the hart.
    unsafe { core::arch::asm!("wfi", options(nomem, nostack, preserves_flags)) };
}

/// `sie.STIE`: the S-mode timer may wake `wfi`.
const SIE_STIE: usize = 1 << 5;

/// Sleeps about `ticks` of the `time` counter with the Sstc timer, interrupts still masked
/// (`wfi` wakes on a pending enabled interrupt whether or not `sstatus.SIE` is set). Waiting
/// loops use it instead of spinning: under QEMU's `-icount` a spinning hart keeps the others
/// from running until its time slice ends, which made boot look 20 times slower.
pub fn nap(ticks: u64) {
    set_timer(csr::time().saturating_add(ticks));
    csr::set_csr!("sie", SIE_STIE);
    wait_for_interrupt();
    set_timer(u64::MAX);
}

/// Lets this hart's timer interrupt the user code it runs (`sie.STIE`; S-mode runs with
/// interrupts masked, where it only wakes `wfi`): the scheduler's preemption needs it.
pub fn enable_timer() {
    csr::set_csr!("sie", SIE_STIE);
}

/// Programs `stimecmp`: the S-mode timer interrupt is pending from `time >= at` on (and clears
/// once the compare value lies in the future again).
pub fn set_timer(at: u64) {
    #[cfg(target_pointer_width = "64")]
    csr::write_csr!("0x14d", at as usize); // stimecmp
    #[cfg(target_pointer_width = "32")]
    {
        // High half first at its maximum, so no moment has a compare value below `at`.
        csr::write_csr!("0x15d", usize::MAX); // stimecmph
        csr::write_csr!("0x14d", at as usize); // stimecmp
        csr::write_csr!("0x15d", (at >> 32) as usize); // stimecmph
    }
}

/// Stops this hart's timer: no timer interrupt until [`set_timer`] is called again.
pub fn stop_timer() {
    set_timer(u64::MAX);
}

/// Parks the hart for good.
pub fn idle() -> ! {
    loop {
        wait_for_interrupt();
    }
}

/// Switches this hart to the page table `satp` selects and drops stale translations.
///
/// # Safety
/// The table must map everything the hart is about to touch (code, stack, statics, devices)
/// at the addresses it uses now.
pub unsafe fn switch_table(satp: usize) {
    // SAFETY: by the caller's contract the new table maps the running code and its data.
    unsafe {
        core::arch::asm!("sfence.vma zero, zero", "csrw satp, {0}", "sfence.vma zero, zero",
            in(reg) satp, options(nostack))
    };
}
