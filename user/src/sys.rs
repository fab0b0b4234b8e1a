//! Typed syscalls. Each returns `Result<T, Errno>`; see the `abi` crate for numbers and the
//! calling convention (`a7` = number, `a0`..`a5` = arguments, `a0` = result, `a1` = errno).

use abi::{Clock, Errno, ExitStatus, KmapRow, MemStat, ProcRow, RegionRow, nr};

/// A process id.
pub type Pid = usize;

/// The raw `ecall`: `Ok(a0)` when the kernel put 0 in `a1`, else the error it put there
/// (`ENOSYS` for one the kernel does not define).
#[inline(always)]
pub fn syscall(number: usize, args: [usize; 6]) -> Result<usize, Errno> {
    match syscall_raw(number, args) {
        (value, 0) => Ok(value),
        (_, e) => Err(Errno::from_raw(e).unwrap_or(Errno::ENOSYS)),
    }
}

/// The raw `ecall`: `(a0, a1)` exactly as the kernel left them. Inlined, so a caller that
/// runs while memory is exhausted makes it without a call (and without a new stack page).
///
/// Like every syscall here it takes pointers as plain numbers: the kernel copies plain bytes
/// through them or answers `EFAULT`. A pointer to a Rust object of the program must be one
/// the syscall may write as the wrappers above pass it (the kernel writes behind the
/// compiler's back).
#[inline(always)]
pub fn syscall_raw(number: usize, args: [usize; 6]) -> (usize, usize) {
    let (value, error): (usize, usize);
    // SAFETY: `ecall` traps to the kernel, which reads a0..a5 and a7, may read or write user
    // memory only through the pointers passed (for which each wrapper states its contract),
    // and returns with a0 and a1 set and every other register preserved.
    unsafe {
        core::arch::asm!(
            "ecall",
            inlateout("a0") args[0] => value,
            inlateout("a1") args[1] => error,
            in("a2") args[2],
            in("a3") args[3],
            in("a4") args[4],
            in("a5") args[5],
            in("a7") number,
            options(nostack),
        );
    }
    (value, error)
}

fn call(number: usize, a0: usize, a1: usize, a2: usize) -> Result<usize, Errno> {
    syscall(number, [a0, a1, a2, 0, 0, 0])
}

/// Ends the process with `code` (only its low 8 bits reach the parent).
pub fn exit(code: i32) -> ! {
    let _ = call(nr::EXIT, code as usize, 0, 0);
    unreachable!("exit returned")
}

/// A copy of this process; the child gets `Ok(0)`, the parent the child's pid.
pub fn fork() -> Result<Pid, Errno> {
    crate::heap::before_fork();
    let result = call(nr::FORK, 0, 0, 0);
    crate::heap::after_fork(result == Ok(0));
    result
}

/// Most arguments [`exec`] passes.
const MAX_ARGS: usize = abi::MAX_ARGS;
/// Longest argument [`exec`] passes, NUL excluded, when it has to copy one to add the NUL.
const ARG_BYTES: usize = abi::ARG_MAX;

/// Replaces this program by `name` with arguments `args` (`args[0]` is by convention the
/// name). Returns only on error; the process is then unchanged.
pub fn exec(name: &str, args: &[&str]) -> Errno {
    let mut name_buf = [0u8; abi::NAME_MAX + 2];
    if name.len() > abi::NAME_MAX + 1 {
        return Errno::ENAMETOOLONG;
    }
    name_buf[..name.len()].copy_from_slice(name.as_bytes());
    if args.len() > MAX_ARGS {
        return Errno::E2BIG;
    }
    let mut strings = [0u8; ARG_BYTES];
    let mut pointers = [0usize; MAX_ARGS + 1];
    let mut used = 0;
    for (slot, arg) in pointers.iter_mut().zip(args) {
        if used + arg.len() + 1 > strings.len() {
            return Errno::E2BIG;
        }
        strings[used..used + arg.len()].copy_from_slice(arg.as_bytes());
        *slot = strings[used..].as_ptr() as usize;
        used += arg.len() + 1;
    }
    exec_raw(name_buf.as_ptr(), pointers.as_ptr().cast())
}

/// `exec` with raw pointers, as a C program passes them (the tests use it to pass bad ones).
/// Returns only on error.
pub fn exec_raw(name: *const u8, argv: *const *const u8) -> Errno {
    match call(nr::EXEC, name as usize, argv as usize, 0) {
        Ok(_) => unreachable!("exec returned without an error"),
        Err(e) => e,
    }
}

/// Waits for a child to end; its pid and how it ended.
pub fn wait() -> Result<(Pid, ExitStatus), Errno> {
    let mut status = ExitStatus::default();
    let pid = call(nr::WAIT, &raw mut status as usize, 0, 0)?;
    Ok((pid, status))
}

/// A child that has ended, if any, without waiting (`ECHILD` without children).
pub fn try_wait() -> Result<Option<(Pid, ExitStatus)>, Errno> {
    let mut status = ExitStatus::default();
    let pid = call(nr::WAIT, &raw mut status as usize, abi::WNOHANG, 0)?;
    Ok((pid != 0).then_some((pid, status)))
}

/// `wait` with a raw status pointer (NULL: don't report the status).
pub fn wait_raw(status: *mut ExitStatus) -> Result<Pid, Errno> {
    call(nr::WAIT, status as usize, 0, 0)
}

/// This process's id.
pub fn getpid() -> Pid {
    call(nr::GETPID, 0, 0, 0).unwrap_or(0)
}

/// Ends process `pid` the next time it would run user code.
pub fn kill(pid: Pid) -> Result<(), Errno> {
    call(nr::KILL, pid, 0, 0).map(|_| ())
}

/// Lets other processes run.
pub fn yield_now() {
    let _ = call(nr::YIELD, 0, 0, 0);
}

/// Moves the break by `increment` bytes; returns the old break.
pub fn sbrk(increment: isize) -> Result<usize, Errno> {
    call(nr::SBRK, increment as usize, 0, 0)
}

/// Reads console input into `buf` (at most one line); 0 at the end of input.
pub fn read(fd: usize, buf: &mut [u8]) -> Result<usize, Errno> {
    call(nr::READ, fd, buf.as_mut_ptr() as usize, buf.len())
}

/// Writes `buf` to the console (fd 1 or 2).
pub fn write(fd: usize, buf: &[u8]) -> Result<usize, Errno> {
    call(nr::WRITE, fd, buf.as_ptr() as usize, buf.len())
}

/// The frame allocator's figures and this process's memory.
pub fn memstat() -> Result<MemStat, Errno> {
    let mut stat = MemStat::default();
    call(nr::MEMSTAT, &raw mut stat as usize, 0, 0)?;
    Ok(stat)
}

/// The map of process `pid` (0: this one) into `rows`; returns how many rows it has (only
/// `rows.len()` of them are written).
pub fn regions(pid: Pid, rows: &mut [RegionRow]) -> Result<usize, Errno> {
    call(nr::REGIONS, pid, rows.as_mut_ptr() as usize, rows.len())
}

/// The `time` counter and its frequency.
pub fn clock() -> Result<Clock, Errno> {
    let mut clock = Clock::default();
    call(nr::CLOCK, &raw mut clock as usize, 0, 0)?;
    Ok(clock)
}

/// Ends the machine with `code` as QEMU's exit status (only `init` may).
pub fn shutdown(code: u32) -> Errno {
    match call(nr::SHUTDOWN, code as usize, 0, 0) {
        Ok(_) => unreachable!("shutdown returned"),
        Err(e) => e,
    }
}

/// Sleeps at least `ms` milliseconds.
pub fn sleep(ms: usize) -> Result<(), Errno> {
    call(nr::SLEEP, ms, 0, 0).map(|_| ())
}

/// Every process into `rows`; returns how many exist (only `rows.len()` are written).
pub fn procs(rows: &mut [ProcRow]) -> Result<usize, Errno> {
    call(nr::PROCS, rows.as_mut_ptr() as usize, rows.len(), 0)
}

/// The kernel's map into `rows`; returns how many rows it has.
pub fn kmap(rows: &mut [KmapRow]) -> Result<usize, Errno> {
    call(nr::KMAP, rows.as_mut_ptr() as usize, rows.len(), 0)
}

/// Makes `pid` the process Ctrl-C kills (0: none); returns the previous one.
pub fn foreground(pid: Pid) -> Pid {
    call(nr::FOREGROUND, pid, 0, 0).unwrap_or(0)
}

/// Guest instructions retired (all harts under QEMU's `-icount`), read with `rdinstret`.
#[inline(always)]
pub fn instret() -> u64 {
    counter!("rdinstret", "rdinstreth")
}

/// The `time` counter, read with `rdtime`.
#[inline(always)]
pub fn time() -> u64 {
    counter!("rdtime", "rdtimeh")
}

/// Reads a 64-bit counter; on rv32 high, low, high until the high half is stable.
macro_rules! counter {
    ($lo:literal, $hi:literal) => {{
        #[cfg(target_pointer_width = "64")]
        {
            let v: u64;
            // SAFETY: reads a counter the kernel enabled for user mode (`scounteren`).
            unsafe { core::arch::asm!(concat!($lo, " {0}"), out(reg) v, options(nomem, nostack)) };
            v
        }
        #[cfg(target_pointer_width = "32")]
        {
            loop {
                let (hi, lo, hi2): (u32, u32, u32);
                // SAFETY: as above.
                unsafe {
                    core::arch::asm!(
                        concat!($hi, " {0}"), concat!($lo, " {1}"), concat!($hi, " {2}"),
                        out(reg) hi, out(reg) lo, out(reg) hi2, options(nomem, nostack)
                    )
                };
                if hi == hi2 {
                    break (hi as u64) << 32 | lo as u64;
                }
            }
        }
    }};
}
use counter;
