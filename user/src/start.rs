//! `_start`: where the kernel starts a program, with `a0` = argc, `a1` = argv and `sp` just
//! below the argument strings (see `abi` and `rvmm`'s `push_args`).

use crate::args::Args;

core::arch::global_asm!(
    ".section .text.entry, \"ax\"",
    ".globl _start",
    "_start:",
    // Guest instructions retired when the program's first instruction ran (the boot
    // benchmark reads it in the first program), passed on in a2 (a0 and a1 hold argc, argv).
    "    rdinstret a2",
    // The frame pointer chain ends here; `ra` = 0 so a backtrace stops.
    "    li fp, 0",
    "    li ra, 0",
    "    call user_start",
    "1:  j 1b",
);

/// `rdinstret` at the program's first instruction (the low word on rv32).
static START_INSTRET: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Guest instructions retired when this program's first instruction ran (the low `usize` of
/// the counter: under QEMU's `-icount` with one hart, instructions since reset).
pub fn start_instret() -> usize {
    START_INSTRET.load(core::sync::atomic::Ordering::Relaxed)
}

unsafe extern "Rust" {
    /// The program's `main`, named by `entry!`.
    fn __user_main(args: &Args) -> i32;
}

#[unsafe(no_mangle)]
extern "C" fn user_start(argc: usize, argv: *const *const u8, instret: usize) -> ! {
    START_INSTRET.store(instret, core::sync::atomic::Ordering::Relaxed);
    // SAFETY: the kernel put `argc` pointers to NUL-terminated strings at `argv`, followed by a
    // null pointer, all in stack pages that stay mapped while the program runs.
    let args = unsafe { Args::from_raw(argc, argv) };
    // SAFETY: `entry!` defines `__user_main` with this signature in every program.
    let code = unsafe { __user_main(&args) };
    crate::sys::exit(code)
}
