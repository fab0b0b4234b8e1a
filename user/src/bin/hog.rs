//! `hog [SECONDS]`: grows its heap with `sbrk` until the kernel says `ENOMEM` (kalloc has no
//! frame left), reports how far it got, keeps the memory SECONDS seconds (30 by default: run
//! it with `&` and look at it with `ps`, `vmmap` and `meminfo` meanwhile), then gives it all back.
//! Killed meanwhile, its memory comes back all the same: the kernel frees a process's frames
//! when it ends.
//!
//! It moves the break itself, so it allocates nothing: in every other program the break
//! belongs to `umalloc`.
#![no_std]
#![no_main]

use user::show::Size;
use user::{println, sys};

user::entry!(main);

/// The first step; halved at each `ENOMEM` down to one page.
const FIRST_STEP: usize = 1 << 20;
/// Given back at once after the last `ENOMEM`, so the shell can still start programs.
const SPARE: usize = 1 << 20;

fn main(args: &user::Args) -> i32 {
    let seconds = match (args.len(), args.get(1).map(user::number)) {
        (1, None) => 30,
        (2, Some(Some(s))) => s,
        _ => return user::usage("hog [SECONDS]"),
    };
    let free_at_start = free();
    println!(
        "hog {}: {free_at_start} frames free; growing the heap until ENOMEM",
        sys::getpid()
    );
    let mut grown = 0;
    let mut step = FIRST_STEP;
    loop {
        match sys::sbrk(step as isize) {
            Ok(_) => grown += step,
            Err(abi::Errno::ENOMEM) if step > 4096 => step /= 2,
            Err(abi::Errno::ENOMEM) => break,
            Err(e) => {
                println!("hog: sbrk: {e}");
                break;
            }
        }
    }
    let stat = sys::memstat().unwrap_or_default();
    println!(
        "ENOMEM after {} of heap ({} pages; its page table has {} frames now); {} frames free",
        Size(grown as u64),
        grown / 4096,
        stat.table_frames,
        stat.free_frames
    );
    let spare = SPARE.min(grown);
    if shrink(spare).is_ok() {
        grown -= spare;
    }
    println!(
        "keeping {} for {seconds} s ({} given back so other programs can start)",
        Size(grown as u64),
        Size(spare as u64),
    );
    if seconds > 0 {
        println!("('kill {}' ends it sooner)", sys::getpid());
    }
    let _ = sys::sleep(seconds.saturating_mul(1000));
    if let Err(e) = shrink(grown) {
        println!("hog: giving back: {e}");
        return 1;
    }
    println!(
        "gave it all back: {} frames free (at the start: {free_at_start})",
        free()
    );
    0
}

/// Moves the break down by `bytes`, in steps an `isize` holds (on rv32 a heap may pass 2 GiB).
fn shrink(mut bytes: usize) -> Result<(), abi::Errno> {
    while bytes > 0 {
        let step = bytes.min(1 << 30);
        sys::sbrk(-(step as isize))?;
        bytes -= step;
    }
    Ok(())
}

fn free() -> u64 {
    sys::memstat().map_or(0, |s| s.free_frames)
}
