//! `hello`: the greeting `init` runs when the machine boots without a program to run.
#![no_std]
#![no_main]

use user::{println, sys};

user::entry!(main);

fn main(_args: &user::Args) -> i32 {
    let stat = sys::memstat().unwrap_or_default();
    println!(
        "hello from pid {}: {} of {} frames free; this process holds {} pages and {} table frames",
        sys::getpid(),
        stat.free_frames,
        stat.total_frames,
        stat.resident_pages,
        stat.table_frames
    );
    0
}
