//! Process syscalls: `exit`, `fork`, `exec`, `wait`, `kill`, `yield`, `clock`, `shutdown`.

use super::copy_out;
use crate::proc::{self, INIT_PID, ProcRef};
use crate::{arch, exit as machine, sched};
use abi::{Clock, Errno, ExitStatus, Wire};

pub fn exit(p: ProcRef, code: usize) -> ! {
    proc::exit(p, ExitStatus::exited(code as u8))
}

pub fn fork(p: ProcRef) -> Result<usize, Errno> {
    proc::fork(p)
}

pub fn exec(p: ProcRef, name: usize, argv: usize) -> Result<(), Errno> {
    proc::exec(p, name, argv)
}

/// `wait(status, flags)`: the status pointer (unless NULL) is checked before any child is
/// reaped, so a bad pointer loses no child's status. Unknown flags are `EINVAL`.
pub fn wait(p: ProcRef, status: usize, flags: usize) -> Result<usize, Errno> {
    let block = match flags {
        0 => proc::Block::Yes,
        abi::WNOHANG => proc::Block::No,
        _ => return Err(Errno::EINVAL),
    };
    if status != 0 {
        let space = p.space.lock();
        let space = space.as_ref().expect("a process in a syscall has a space");
        space
            .check_writable(status, ExitStatus::SIZE)
            .map_err(|_| Errno::EFAULT)?;
    }
    let Some((pid, ended)) = proc::wait(p, block)? else {
        return Ok(0);
    };
    if status != 0 {
        // Checked above, and only this process changes its own memory map.
        copy_out(p, status, &ended)?;
    }
    Ok(pid)
}

pub fn kill(pid: usize) -> Result<usize, Errno> {
    proc::kill(pid).map(|()| 0)
}

pub fn yield_now() -> usize {
    sched::yield_now();
    0
}

pub fn clock(p: ProcRef, out: usize) -> Result<usize, Errno> {
    let clock = Clock {
        ticks: arch::csr::time(),
        ticks_per_second: crate::info().timebase_hz,
    };
    copy_out(p, out, &clock).map(|()| 0)
}

/// `sleep(ms)`.
pub fn sleep(ms: usize) -> Result<usize, Errno> {
    let ticks = (ms as u64).saturating_mul(crate::info().timebase_hz) / 1000;
    sched::sleep_for(ticks).map(|()| 0)
}

/// `shutdown(code)`: only `init` may end the machine.
pub fn shutdown(p: ProcRef, code: usize) -> Result<usize, Errno> {
    if p.pid() != INIT_PID {
        return Err(Errno::EPERM);
    }
    machine::with_code(code as u32)
}
