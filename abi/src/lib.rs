//! The boundary between the reference kernel and its user programs.
//!
//! Kernel and user space both depend on this crate and on nothing of each other, so a user
//! program never imports the kernel. It holds the syscall numbers ([`nr`]), the error numbers
//! ([`Errno`]), the structs that cross the boundary ([`MemStat`], [`RegionRow`], [`Clock`],
//! [`ExitStatus`]) and the limits the kernel enforces.
//!
//! # Calling convention
//! A program puts the syscall number in `a7` and up to six arguments in `a0`..`a5`, then runs
//! `ecall`. The kernel answers in two registers: `a1` is 0 on success or an [`Errno`] number,
//! and `a0` is the result (meaningful only when `a1` is 0). Two registers instead of Linux's
//! "negative means error" because a result may be any address: on rv32 a heap break above
//! `0x8000_0000` is negative as a signed word. Every other register is preserved, except that
//! `exec` replaces them all when it succeeds and `exit` never returns.
//!
//! Pointers are user virtual addresses of the caller's width; the kernel reads and writes
//! through them only with checked copies, so a bad pointer or length is [`Errno::EFAULT`],
//! never a kernel fault. Structs that cross are `#[repr(C)]` with fixed-width fields, the same
//! layout on rv64 and rv32.
//!
//! ```
//! use abi::{Errno, ExitStatus, KillCause};
//! assert_eq!(Errno::from_raw(14), Some(Errno::EFAULT));
//! assert_eq!(Errno::EFAULT.name(), "EFAULT");
//! let status = ExitStatus::killed(KillCause::StorePageFault);
//! assert_eq!(status.code(), None);
//! assert_eq!(status.kill_cause(), Some(KillCause::StorePageFault));
//! assert_eq!(ExitStatus::exited(3).code(), Some(3));
//! ```
#![no_std]
#![forbid(unsafe_code)]

/// An enum that crosses the syscall boundary as a number: each variant with its number and the
/// text it shows, written once; `from_raw` (the variant with a number, if any) and the text
/// function come from that one table.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident: $repr:ident;
        $(#[$fn_meta:meta])*
        fn $text:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $value:literal => $shown:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[repr($repr)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$variant_meta])* $variant = $value,)+
        }

        impl $name {
            /// The variant with number `raw`, if there is one.
            pub const fn from_raw(raw: $repr) -> Option<Self> {
                match raw {
                    $($value => Some($name::$variant),)+
                    _ => None,
                }
            }

            $(#[$fn_meta])*
            pub const fn $text(self) -> &'static str {
                match self {
                    $($name::$variant => $shown,)+
                }
            }
        }
    };
}

mod errno;
mod rows;
mod status;
mod wire;

pub use errno::Errno;
pub use rows::{KmapRow, Name, ProcRow, ProcState, Size};
pub use status::{ExitStatus, KillCause};
pub use wire::Wire;

/// Syscall numbers, passed in `a7`.
pub mod nr {
    /// `exit(code: i32) -> !`: ends the caller with `code & 0xff` as its exit code.
    pub const EXIT: usize = 1;
    /// `fork() -> pid`: a copy of the caller; the child gets 0.
    pub const FORK: usize = 2;
    /// `exec(name: *const u8, argv: *const *const u8) -> !`: replaces the caller's program by
    /// the program `name` (NUL-terminated) with the NULL-terminated `argv`. Returns only on
    /// error, with the caller unchanged.
    pub const EXEC: usize = 3;
    /// `wait(status: *mut ExitStatus, flags) -> pid`: waits for any child to end, reaps it,
    /// stores its status (unless `status` is NULL). [`ECHILD`](super::Errno::ECHILD) without
    /// children. With [`WNOHANG`](super::WNOHANG) in `flags` it does not wait: 0 when children
    /// exist but none has ended.
    pub const WAIT: usize = 4;
    /// `getpid() -> pid`.
    pub const GETPID: usize = 5;
    /// `kill(pid) -> 0`: the process ends the next time it would run user code.
    pub const KILL: usize = 6;
    /// `yield() -> 0`: gives the hart to another runnable process.
    pub const YIELD: usize = 7;
    /// `sbrk(increment: isize) -> old break`: grows or shrinks the heap.
    pub const SBRK: usize = 8;
    /// `read(fd, buf: *mut u8, len) -> bytes read` (0 at end of input).
    pub const READ: usize = 9;
    /// `write(fd, buf: *const u8, len) -> bytes written`.
    pub const WRITE: usize = 10;
    /// `memstat(out: *mut MemStat) -> 0`.
    pub const MEMSTAT: usize = 11;
    /// `regions(pid, out: *mut RegionRow, n) -> rows`: the map of process `pid` (0: the
    /// caller); writes at most `n` rows and returns how many the process has.
    pub const REGIONS: usize = 12;
    /// `clock(out: *mut Clock) -> 0`.
    pub const CLOCK: usize = 13;
    /// `shutdown(code: u32) -> !`: ends the machine with `code` as QEMU's exit status. Only
    /// process 1 (`init`) may; others get [`EPERM`](super::Errno::EPERM).
    pub const SHUTDOWN: usize = 14;
    /// `sleep(ms) -> 0`: sleeps at least `ms` milliseconds of the `time` counter
    /// ([`EINTR`](super::Errno::EINTR) if killed meanwhile).
    pub const SLEEP: usize = 15;
    /// `procs(out: *mut ProcRow, n) -> rows`: every process; writes at most `n` rows and
    /// returns how many there are.
    pub const PROCS: usize = 16;
    /// `kmap(out: *mut KmapRow, n) -> rows`: the kernel's map, as the boot prints it; writes
    /// at most `n` rows and returns how many there are.
    pub const KMAP: usize = 17;
    /// `foreground(pid) -> previous pid`: the process Ctrl-C on the console kills (0: none).
    pub const FOREGROUND: usize = 18;
}

/// `wait` flag: return 0 at once instead of waiting when no child has ended yet.
pub const WNOHANG: usize = 1;

/// Largest total size of an `exec` argument list: the strings with their NULs plus the pointer
/// array with its NULL. More is [`Errno::E2BIG`].
pub const ARG_MAX: usize = 4096;
/// Most arguments `exec` takes (the program name included). More is [`Errno::E2BIG`].
pub const MAX_ARGS: usize = 32;
/// Longest program name `exec` looks up, NUL excluded. Longer is [`Errno::ENAMETOOLONG`].
pub const NAME_MAX: usize = 31;

/// File descriptors of the console, open in every process.
pub mod fd {
    /// Console input.
    pub const STDIN: usize = 0;
    /// Console output.
    pub const STDOUT: usize = 1;
    /// Console output too (no separate error stream on a serial console).
    pub const STDERR: usize = 2;
}

/// The frame allocator's figures and the caller's own memory, in 4 KiB frames.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemStat {
    /// Frames the kernel's allocator manages.
    pub total_frames: u64,
    /// Of those, frames free now (those in per-hart caches included).
    pub free_frames: u64,
    /// The fewest frames the shared free list ever held (a lower bound on the lowest free
    /// count since boot).
    pub low_water: u64,
    /// Of the free frames, those sitting in per-hart caches.
    pub cached_frames: u64,
    /// Data pages the caller's address space owns: program, heap, stack, trap frame.
    pub resident_pages: u64,
    /// Page-table frames of the caller's address space.
    pub table_frames: u64,
    /// Page-table frames of the kernel's map.
    pub kernel_table_frames: u64,
    /// Frames of the kernel stacks mapped now (one stack per process).
    pub kernel_stack_frames: u64,
    /// Frames holding process records (one per process).
    pub record_frames: u64,
    /// Processes that exist (zombies included).
    pub processes: u64,
}

/// Permission bits of a [`RegionRow`].
pub mod perm {
    /// Readable.
    pub const R: u32 = 1;
    /// Writable.
    pub const W: u32 = 2;
    /// Executable.
    pub const X: u32 = 4;
    /// User-accessible.
    pub const U: u32 = 8;
}

wire_enum! {
    /// What a region of a process's address space holds.
    pub enum RegionKind: u32;
    /// The name a map listing shows.
    fn name {
        /// Program code (R+X).
        Text = 1 => "text",
        /// Program constants (R).
        Rodata = 2 => "rodata",
        /// Program data from the file (R+W).
        Data = 3 => "data",
        /// The heap, moved by `sbrk`.
        Heap = 4 => "heap",
        /// The user stack.
        Stack = 5 => "stack",
        /// The trap frame (kernel-only).
        TrapFrame = 6 => "trap frame",
        /// The trampoline (kernel-only, shared by every process).
        Trampoline = 7 => "trampoline",
        /// Zero-initialised program data past the file's bytes (R+W).
        Bss = 8 => "bss",
    }
}

/// One row of a process's map, as `regions` returns it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegionRow {
    /// First address.
    pub start: u64,
    /// Exclusive end (2^32 for the trampoline on rv32, hence 64 bits).
    pub end: u64,
    /// [`perm`] bits.
    pub perms: u32,
    /// A [`RegionKind`] number.
    pub kind: u32,
    /// Pages of the region backed by a frame of the process's own.
    pub resident_pages: u64,
    /// Size of the pages that map it, in bytes.
    pub page_size: u64,
}

/// The clocks a program can read, as `clock` returns them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    /// The `time` counter.
    pub ticks: u64,
    /// Its frequency, in ticks per second.
    pub ticks_per_second: u64,
}
