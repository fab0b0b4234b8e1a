//! Console syscalls: `write` to fd 1 or 2, `read` from fd 0.

use crate::console;
use crate::proc::ProcRef;
use abi::{Errno, fd};

/// Bytes copied from the process per step.
const CHUNK: usize = 256;

/// `write(fd, buf, len)`: the whole buffer is checked first, so a bad one prints nothing; the
/// bytes go out under the console lock, whole, not mixed with another hart's output.
pub fn write(p: ProcRef, fd: usize, buf: usize, len: usize) -> Result<usize, Errno> {
    if fd != fd::STDOUT && fd != fd::STDERR {
        return Err(Errno::EBADF);
    }
    let space = p.space.lock();
    let space = space.as_ref().expect("a process in a syscall has a space");
    space.check_readable(buf, len).map_err(|_| Errno::EFAULT)?;
    let out = console::lock();
    let mut chunk = [0u8; CHUNK];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(CHUNK);
        space
            .copy_in(buf + done, &mut chunk[..n])
            .map_err(|_| Errno::EFAULT)?;
        out.write_bytes(&chunk[..n]);
        done += n;
    }
    Ok(len)
}

/// `read(fd, buf, len)`: console input, a line at a time.
pub fn read(p: ProcRef, fd: usize, buf: usize, len: usize) -> Result<usize, Errno> {
    if fd != fd::STDIN {
        return Err(Errno::EBADF);
    }
    console::input::read(p, buf, len)
}

/// `foreground(pid)`: the process Ctrl-C kills from now on (0: none); returns the previous one.
pub fn foreground(pid: usize) -> usize {
    console::input::set_foreground(pid)
}
