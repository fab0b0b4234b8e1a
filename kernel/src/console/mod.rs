//! The console: the 16550 UART, `print!`/`println!`, and the `log` backend.

pub mod logger;
pub mod uart;

use crate::sync::Mutex;
use core::fmt::{self, Write};

/// Serialises whole messages from several harts.
static CONSOLE: Mutex<()> = Mutex::new(());

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
