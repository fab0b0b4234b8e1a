//! Console input: the line discipline and `read` on fd 0.
//!
//! Bytes arrive from the UART's receive interrupt ([`receive`]). The kernel edits the line the
//! way a terminal does: it echoes what is typed, Backspace erases a character, Ctrl-U the whole
//! line, Ctrl-D ends input (a `read` at the start of a line returns 0), Ctrl-C discards the line
//! and kills the foreground process (the shell names it). A line becomes readable when Enter (or
//! Ctrl-D) ends it; `read` sleeps until one is, and returns at most one line.

use crate::proc::{self, Channel, Pid, ProcRef};
use crate::sched;
use crate::sync::Mutex;
use abi::Errno;

/// Bytes of input the kernel keeps (a line longer than this is cut into pieces).
const SIZE: usize = 256;

const CTRL_C: u8 = 0x03;
const CTRL_D: u8 = 0x04;
const BACKSPACE: u8 = 0x08;
const CTRL_U: u8 = 0x15;
const DELETE: u8 = 0x7f;

/// The input ring: `[read, committed)` is readable, `[committed, edit)` the line being typed.
struct Input {
    ring: [u8; SIZE],
    read: usize,
    committed: usize,
    edit: usize,
    /// The process Ctrl-C kills (0: none).
    foreground: Pid,
}

static INPUT: Mutex<Input> = Mutex::new(Input {
    ring: [0; SIZE],
    read: 0,
    committed: 0,
    edit: 0,
    foreground: 0,
});

/// Sets the process that Ctrl-C kills (0 for none); returns the previous one.
pub fn set_foreground(pid: Pid) -> Pid {
    core::mem::replace(&mut INPUT.lock().foreground, pid)
}

/// Feeds one received byte through the line discipline (from the UART interrupt).
pub fn receive(byte: u8) {
    let mut input = INPUT.lock();
    let echo = crate::console::lock();
    match byte {
        CTRL_U => {
            while input.edit != input.committed {
                input.edit -= 1;
                echo.write_bytes(b"\x08 \x08");
            }
        }
        BACKSPACE | DELETE => {
            if input.edit != input.committed {
                input.edit -= 1;
                echo.write_bytes(b"\x08 \x08");
            }
        }
        CTRL_C => {
            input.edit = input.committed;
            echo.write_bytes(b"^C\n");
            let victim = input.foreground;
            drop(echo);
            drop(input);
            if victim != 0 {
                let _ = proc::kill(victim);
            }
        }
        _ => {
            let byte = if byte == b'\r' { b'\n' } else { byte };
            if input.edit - input.read == SIZE {
                return; // full: drop the byte, as a terminal would beep
            }
            let at = input.edit % SIZE;
            input.ring[at] = byte;
            input.edit += 1;
            if byte != CTRL_D {
                echo.write_bytes(&[byte]);
            }
            if byte == b'\n' || byte == CTRL_D || input.edit - input.read == SIZE {
                input.committed = input.edit;
                drop(echo);
                drop(input);
                let table = proc::table().lock();
                sched::wake_up(&table, Channel::Console);
            }
        }
    }
}

/// `read(0, buf, len)` for `p`: sleeps until a line is there, then copies at most `len`
/// bytes of it, up to and including its newline. Ctrl-D at the start of a line reads as end of
/// input (0 bytes); elsewhere it ends the line without adding a byte.
pub fn read(p: ProcRef, buf: usize, len: usize) -> Result<usize, Errno> {
    {
        let space = p.space.lock();
        let space = space.as_ref().expect("a process in a syscall has a space");
        space.check_writable(buf, len).map_err(|_| Errno::EFAULT)?;
    }
    if len == 0 {
        return Ok(0);
    }
    let mut input = INPUT.lock();
    while input.read == input.committed {
        if p.killed().is_some() {
            return Err(Errno::EINTR);
        }
        input = sched::sleep(Channel::Console, input);
    }
    let mut line = [0u8; SIZE];
    let mut n = 0;
    while input.read != input.committed && n < len {
        let byte = input.ring[input.read % SIZE];
        if byte == CTRL_D {
            if n == 0 {
                input.read += 1; // consumed: this read reports the end of input
            }
            break;
        }
        input.read += 1;
        line[n] = byte;
        n += 1;
        if byte == b'\n' {
            break;
        }
    }
    drop(input);
    p.space
        .lock()
        .as_mut()
        .expect("a process in a syscall has a space")
        .copy_out(buf, &line[..n])
        .map_err(|_| Errno::EFAULT)?;
    Ok(n)
}
