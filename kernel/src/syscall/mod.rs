//! Syscalls: the number in `a7`, arguments in `a0`..`a5`, the result in `a0` and the error
//! number in `a1` (see the `abi` crate for the convention and the table).
//!
//! Every pointer a syscall takes is used only through the address space's checked copies, so a
//! bad pointer or length is `EFAULT`, never a kernel fault; every syscall that refuses leaves
//! the caller's memory and state as they were. A buffer in stack pages the process has not
//! touched yet, but could grow into, is grown into first, as the process's own access would.

mod console;
mod listing;
mod memory;
mod process;

use crate::arch::trap_frame::reg;
use crate::proc::ProcRef;
use abi::{Errno, Wire, nr};
use rvmm::tlb::Sfence;

/// What a syscall did, when it did not fail.
pub enum Done {
    /// Returns this value in `a0`.
    Value(usize),
    /// `exec` replaced the program: the registers are the new program's.
    NewImage,
}

/// Runs the syscall `p`'s trap frame asks for and stores its result there.
pub fn handle(p: ProcRef) {
    let (number, args) = p.with_trap_frame(|tf| {
        (
            tf.regs[reg::A7],
            [
                tf.arg(0),
                tf.arg(1),
                tf.arg(2),
                tf.arg(3),
                tf.arg(4),
                tf.arg(5),
            ],
        )
    });
    if let Some(i) = buffer_arg(number) {
        reach_stack(p, args[i]);
    }
    let (a0, a1) = match dispatch(p, number, args) {
        Ok(Done::NewImage) => return,
        Ok(Done::Value(v)) => (v, 0),
        Err(e) => (0, e.raw()),
    };
    p.with_trap_frame(|tf| {
        tf.regs[reg::A0] = a0;
        tf.regs[reg::A1] = a1;
    });
}

fn dispatch(p: ProcRef, number: usize, a: [usize; 6]) -> Result<Done, Errno> {
    let value = match number {
        nr::EXIT => process::exit(p, a[0]),
        nr::FORK => process::fork(p)?,
        nr::EXEC => {
            process::exec(p, a[0], a[1])?;
            return Ok(Done::NewImage);
        }
        nr::WAIT => process::wait(p, a[0], a[1])?,
        nr::GETPID => p.pid(),
        nr::KILL => process::kill(a[0])?,
        nr::YIELD => process::yield_now(),
        nr::SBRK => memory::sbrk(p, a[0] as isize)?,
        nr::READ => console::read(p, a[0], a[1], a[2])?,
        nr::WRITE => console::write(p, a[0], a[1], a[2])?,
        nr::MEMSTAT => memory::memstat(p, a[0])?,
        nr::REGIONS => memory::regions(p, a[0], a[1], a[2])?,
        nr::CLOCK => process::clock(p, a[0])?,
        nr::SHUTDOWN => process::shutdown(p, a[0])?,
        nr::SLEEP => process::sleep(a[0])?,
        nr::PROCS => listing::procs(p, a[0], a[1])?,
        nr::KMAP => listing::kmap(p, a[0], a[1])?,
        nr::FOREGROUND => console::foreground(a[0]),
        _ => return Err(Errno::ENOSYS),
    };
    Ok(Done::Value(value))
}

/// Which argument of syscall `number` is the start of a buffer the kernel reads or writes.
fn buffer_arg(number: usize) -> Option<usize> {
    match number {
        nr::READ | nr::WRITE | nr::REGIONS => Some(1),
        nr::MEMSTAT | nr::CLOCK | nr::WAIT | nr::PROCS | nr::KMAP => Some(0),
        _ => None,
    }
}

/// Grows `p`'s stack down to `addr` when the process could have grown it by touching `addr`
/// itself (below the mapped stack, within its limit, not below the red zone under `sp`): a
/// buffer in stack pages it has not touched yet (`char buf[512]; read(0, buf, 512)`) is as
/// valid as one in pages it has. Anything else is left to the copy, which refuses it.
fn reach_stack(p: ProcRef, addr: usize) {
    let sp = p.with_trap_frame(|tf| tf.regs[reg::SP]);
    let mut space = p.space.lock();
    let Some(space) = space.as_mut() else {
        return;
    };
    if let Ok(flush) = space.grow_stack(addr, sp, &mut crate::mem::frames()) {
        flush.apply(&mut Sfence);
    }
}

/// Copies `value` to user address `at` in `p`'s address space.
fn copy_out<T: Wire>(p: ProcRef, at: usize, value: &T) -> Result<(), Errno> {
    let mut bytes = [0u8; 128];
    let bytes = &mut bytes[..T::SIZE];
    value.write_to(bytes);
    p.space
        .lock()
        .as_mut()
        .expect("a process in a syscall has an address space")
        .copy_out(at, bytes)
        .map_err(|_| Errno::EFAULT)
}
