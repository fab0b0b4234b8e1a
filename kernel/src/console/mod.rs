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
