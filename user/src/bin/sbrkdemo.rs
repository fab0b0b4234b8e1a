//! `sbrkdemo`: moves its heap's break with the `sbrk` syscall, step by step, and prints after
//! each step the break, the heap's pages, this process's page-table frames and kalloc's free
//! frames. The break moves by bytes; the kernel maps and unmaps whole 4 KiB pages under it,
//! each a frame taken from or given back to kalloc.
//!
//! It moves the break itself, so it allocates nothing (no `Vec`, no `format!`): in every other
//! program the break belongs to `umalloc`.
#![no_std]
#![no_main]

use user::show::Addr;
use user::{println, raw, sys};

user::entry!(main);

/// Each step's change of the break, and what it shows.
const STEPS: [(isize, &str); 7] = [
    (4096, "one page: one frame from kalloc"),
    (
        1,
        "one byte: the break is byte-exact, but a whole page is mapped",
    ),
    (4095, "the rest of that page: already mapped, no frame"),
    (64 << 10, "64 KiB: sixteen frames"),
    (-(64 << 10), "back 64 KiB: sixteen frames return"),
    (-4095, "the page holding the break stays mapped"),
    (
        -4097,
        "back to the start: the heap is empty, its last two frames return",
    ),
];

fn main(args: &user::Args) -> i32 {
    if args.len() != 1 {
        return user::usage("sbrkdemo");
    }
    let Ok(start) = sys::sbrk(0) else {
        user::eprintln!("sbrkdemo: sbrk(0) failed");
        return 1;
    };
    let stat = sys::memstat().unwrap_or_default();
    let before = (stat.table_frames, stat.free_frames);
    println!(
        "sbrk(increment)  {:<w$}  heap pages  own pages  tables  +/-   free  +/-",
        "break",
        w = user::show::ADDR_DIGITS
    );
    show(None, start, start, before);
    let mut last = before;
    for (delta, what) in STEPS {
        if let Err(e) = sys::sbrk(delta) {
            user::eprintln!("sbrkdemo: sbrk({delta:+}): {e}");
            return 1;
        }
        let brk = sys::sbrk(0).unwrap_or(0);
        if delta > 0 {
            // The new bytes are ours (no Rust object lives there): the last one reads as zero
            // and takes a write.
            let last_byte = brk - 1;
            assert_eq!(raw::load(last_byte), 0, "fresh heap bytes are zero");
            raw::store(last_byte, 0xa5);
        }
        last = show(Some(delta), start, brk, last);
        println!("{:>15}  ^ {what}", "");
    }
    let back = last.1 == before.1;
    println!(
        "free frames at the start {}, at the end {}: {}",
        before.1,
        last.1,
        if back {
            "all back"
        } else {
            "not all back (other processes run too)"
        }
    );
    0
}

/// Prints one line; returns (table frames, free frames) for the next line's changes.
fn show(delta: Option<isize>, start: usize, brk: usize, previous: (u64, u64)) -> (u64, u64) {
    let stat = sys::memstat().unwrap_or_default();
    let pages = brk.next_multiple_of(4096).saturating_sub(start) / 4096;
    let change = |now: u64, then: u64| now as i64 - then as i64;
    println!(
        "{}  {}  {pages:>10}  {:>9}  {:>6} {:>+3}  {:>6} {:>+4}",
        Step(delta),
        Addr(brk as u64),
        stat.resident_pages,
        stat.table_frames,
        change(stat.table_frames, previous.0),
        stat.free_frames,
        change(stat.free_frames, previous.1),
    );
    (stat.table_frames, stat.free_frames)
}

/// The first column, 15 characters: `sbrk(    +4096)`, or `start` for the line before any step.
struct Step(Option<isize>);

impl core::fmt::Display for Step {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(delta) => write!(f, "sbrk({delta:>+9})"),
            None => write!(f, "{:>15}", "start"),
        }
    }
}
