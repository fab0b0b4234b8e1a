//! `print!` and friends: formatted output to the console, one `write` per call so that lines
//! from several processes do not mix.

use core::fmt::{self, Write};

/// Bytes one `print!` gathers before it writes; longer output goes out in several writes.
const BUFFER: usize = 256;

/// Writes all of `bytes` to `fd`.
pub fn write_all(fd: usize, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match crate::sys::write(fd, bytes) {
            Ok(n) if n > 0 => bytes = &bytes[n.min(bytes.len())..],
            _ => return,
        }
    }
}

/// A `fmt::Write` to a file descriptor that gathers output and writes it in large pieces.
pub struct Stdout {
    fd: usize,
    buf: [u8; BUFFER],
    len: usize,
}

impl Stdout {
    /// Output to `fd`.
    pub const fn new(fd: usize) -> Self {
        Stdout {
            fd,
            buf: [0; BUFFER],
            len: 0,
        }
    }

    /// Writes what is gathered.
    pub fn flush(&mut self) {
        write_all(self.fd, &self.buf[..self.len]);
        self.len = 0;
    }
}

impl Write for Stdout {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len == BUFFER {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(fd: usize, args: fmt::Arguments<'_>) {
    let mut out = Stdout::new(fd);
    let _ = out.write_fmt(args);
    out.flush();
}

/// Prints to standard output.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::print::_print(1, format_args!($($arg)*)) };
}

/// Prints a line to standard output.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::print::_print(1, format_args!("{}\n", format_args!($($arg)*))) };
}

/// Prints a line to standard error.
#[macro_export]
macro_rules! eprintln {
    ($($arg:tt)*) => { $crate::print::_print(2, format_args!("{}\n", format_args!($($arg)*))) };
}
