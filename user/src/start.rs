//! `_start`: where the kernel starts a program, with `a0` = argc, `a1` = argv and `sp` just
//! below the argument strings (see `abi` and `rvmm`'s `push_args`).

use crate::args::Args;

/// Names the program's `main` (`fn main(&Args) -> i32`): the runtime calls it with the
/// arguments and exits with what it returns.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        fn __user_main(args: &$crate::Args) -> i32 {
            $main(args)
        }
    };
}

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
    let args = Args::new(Argv { argc, argv });
    // SAFETY: `entry!` defines `__user_main` with this signature in every program.
    let code = unsafe { __user_main(&args) };
    crate::sys::exit(code)
}

/// The argument vector `exec` placed on the stack: `argc` pointers to NUL-terminated strings,
/// then a null pointer, in stack pages that stay mapped and unchanged while the program runs
/// (nothing of the program writes above its first stack frame). Made only by `user_start`
/// from what the kernel passed, which is what lets [`Argv::get`] be safe.
#[derive(Clone, Copy)]
pub(crate) struct Argv {
    argc: usize,
    argv: *const *const u8,
}

impl Argv {
    /// How many arguments.
    pub(crate) fn len(&self) -> usize {
        self.argc
    }

    /// Argument `i` as bytes, NUL excluded.
    pub(crate) fn get(&self, i: usize) -> Option<&'static [u8]> {
        if i >= self.argc {
            return None;
        }
        // SAFETY: the type's contract (only `user_start` makes one, from the kernel's `argv`):
        // `argv[i]` for i < argc is a NUL-terminated string that lives, unchanged, as long as
        // the program.
        unsafe {
            let s = *self.argv.add(i);
            let mut len = 0;
            while *s.add(len) != 0 {
                len += 1;
            }
            Some(core::slice::from_raw_parts(s, len))
        }
    }
}
