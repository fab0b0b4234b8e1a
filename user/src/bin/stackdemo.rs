//! `stackdemo DEPTH`: recurses DEPTH levels deep, each level holding 1 KiB on the stack, and
//! prints the stack region before, at the deepest level, just after, and after the next time
//! slice. A process starts with one stack page; each touch of the page below the stack is a
//! page fault that the kernel answers by mapping fresh pages, down to the 8 MiB limit. Below
//! the limit lies a gap that is never mapped: a deeper recursion is killed with a page fault.
//! Pages the stack no longer uses go back to kalloc when the process's time slice ends.
#![no_std]
#![no_main]

use abi::RegionKind;
use core::hint::black_box;
use user::show::{Addr, Size};
use user::{list, println, sys};

user::entry!(main);

/// Bytes each level of the recursion keeps on the stack.
const LEVEL: usize = 1024;

fn main(args: &user::Args) -> i32 {
    let depth = match (args.len(), args.get(1).and_then(user::number)) {
        (2, Some(depth)) => depth,
        _ => return user::usage("stackdemo DEPTH   (1 KiB of stack per level; try 100)"),
    };
    let before = show("before");
    descend(depth);
    let after = show("after return");
    // The stack shrinks only when a time slice ends while the process runs: run until then.
    let start = sys::time();
    let second = sys::clock().map_or(10_000_000, |c| c.ticks_per_second);
    while stack_pages() == after && sys::time() - start < second {
        core::hint::spin_loop();
    }
    let end = show("next time slice");
    println!(
        "the stack grew by {} pages on page faults and gave {} back",
        after.saturating_sub(before),
        after.saturating_sub(end)
    );
    0
}

/// One level: 1 KiB that stays live across the call below, so the compiler keeps it.
#[inline(never)]
fn descend(level: usize) {
    let mut frame = [0u8; LEVEL];
    black_box(&mut frame);
    if level == 0 {
        show("deepest");
    } else {
        descend(level - 1);
    }
    black_box(&frame);
}

/// Prints the stack region and kalloc's free frames; returns the stack's pages.
fn show(when: &str) -> u64 {
    let free = sys::memstat().map_or(0, |s| s.free_frames);
    match stack() {
        Some(s) => {
            println!(
                "{when:>15}: stack {}..{} {:>8}; free frames {free}",
                Addr(s.start),
                Addr(s.end),
                Size(s.end - s.start),
            );
            s.resident_pages
        }
        None => 0,
    }
}

fn stack_pages() -> u64 {
    stack().map_or(0, |s| s.resident_pages)
}

/// This process's stack region.
fn stack() -> Option<abi::RegionRow> {
    let regions = list::regions(0).ok()?;
    regions
        .into_iter()
        .find(|r| RegionKind::from_raw(r.kind) == Some(RegionKind::Stack))
}
