//! The user runtime of the reference kernel, and its programs (`src/bin/`).
//!
//! A program is `#![no_std]` and `#![no_main]`, names its `main` with [`entry!`], and gets from
//! this crate what a C library would give it: `_start` (argc/argv from the stack, exit when
//! `main` returns), [`print!`]/[`println!`], typed syscalls ([`sys`]) that return
//! `Result<T, Errno>`, a panic handler that prints and exits with code 101, and `umalloc` as the
//! global allocator over the `sbrk` syscall, so `Vec`, `Box` and `String` work. The programs
//! that list things share a [`table::Table`] printer and the small formatters of [`show`] (bars,
//! addresses, permissions, how a process ended), the kernel's listings whole ([`list`]), and
//! [`number`] and [`usage`] for arguments.
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! user::entry!(main);
//! fn main(args: &user::Args) -> i32 {
//!     user::println!("hello from {}", args.get(0).unwrap_or("?"));
//!     0
//! }
//! ```
#![no_std]

pub extern crate alloc;

mod args;
mod heap;
pub mod list;
pub mod print;
pub mod raw;
pub mod show;
mod start;
pub mod sys;
pub mod table;

pub use args::{Args, decimal, number, usage};
pub use heap::HEAP;
pub use print::{Stdout, write_all};
pub use start::start_instret;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    eprintln!("panic in pid {}: {}", sys::getpid(), info);
    sys::exit(101)
}
