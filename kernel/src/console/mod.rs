//! The console: the 16550 UART, `print!`/`println!`, and the `log` backend.

pub mod input;
pub mod logger;
pub mod uart;

use crate::sync::{Mutex, MutexGuard};
use core::fmt::{self, Write};

/// Serialises whole messages from several harts.
static CONSOLE: Mutex<()> = Mutex::new(());

/// The console, held: output written through it is not mixed with other harts'.
pub struct Console(#[allow(dead_code, reason = "held for its lock")] MutexGuard<'static, ()>);

impl Console {
    /// Writes raw bytes (`\n` as `\r\n`).
    pub fn write_bytes(&self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                uart::put(b'\r');
            }
            uart::put(b);
        }
    }
}

/// Takes the console for a whole write.
pub fn lock() -> Console {
    Console(CONSOLE.lock())
}

/// Writes `args` to the UART as one piece.
pub fn print(args: fmt::Arguments<'_>) {
    let _guard = CONSOLE.lock();
    // The UART never refuses bytes, so formatting cannot fail on its side.
    let _ = uart::Writer.write_fmt(args);
}

/// Writes `args` without taking the console lock: for panics, which may happen while it is
/// held. Output may interleave with another hart's.
pub fn print_unlocked(args: fmt::Arguments<'_>) {
    let _ = uart::Writer.write_fmt(args);
}

/// Prints to the console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::print(format_args!($($arg)*)) };
}

/// Prints a line to the console.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($arg)*))) };
}

/// A line of text built before it is printed (at most 80 bytes; more is cut).
pub struct Line {
    bytes: [u8; 80],
    len: usize,
}

impl Line {
    /// An empty line.
    pub const fn new() -> Self {
        Line {
            bytes: [0; 80],
            len: 0,
        }
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for (i, c) in s.char_indices() {
            let end = i + c.len_utf8();
            if self.len + c.len_utf8() > self.bytes.len() {
                break;
            }
            self.bytes[self.len..self.len + c.len_utf8()].copy_from_slice(&s.as_bytes()[i..end]);
            self.len += c.len_utf8();
        }
        Ok(())
    }
}
