//! `_start`: where the kernel starts a program, with `a0` = argc, `a1` = argv and `sp` just
//! below the argument strings (see `abi` and `rvmm`'s `push_args`).

use crate::args::Args;

core::arch::global_asm!(
    ".section .text.entry, \"ax\"",
    ".globl _start",
    "_start:",
    // The frame pointer chain ends here; `ra` = 0 so a backtrace stops.
    "    li fp, 0",
    "    li ra, 0",
    "    call user_start",
    "1:  j 1b",
);

unsafe extern "Rust" {
    /// The program's `main`, named by `entry!`.
    fn __user_main(args: &Args) -> i32;
}

#[unsafe(no_mangle)]
extern "C" fn user_start(argc: usize, argv: *const *const u8) -> ! {
    // SAFETY: the kernel put `argc` pointers to NUL-terminated strings at `argv`, followed by a
    // null pointer, all in stack pages that stay mapped while the program runs.
    let args = unsafe { Args::from_raw(argc, argv) };
    // SAFETY: `entry!` defines `__user_main` with this signature in every program.
    let code = unsafe { __user_main(&args) };
    crate::sys::exit(code)
}
