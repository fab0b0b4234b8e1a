//! `meminfo [-w]`: the frame allocator's figures (kalloc hands out 4 KiB frames, the only size
//! the kernel allocates) and who holds the frames in use: page tables, kernel stacks, process
//! records, and each process's own pages. With `-w`, one line of figures every second until
//! Ctrl-C.
#![no_std]
#![no_main]

use abi::MemStat;
use user::alloc::string::String;
use user::alloc::vec::Vec;
use user::alloc::{format, vec};
use user::show::Bar;
use user::table::{Align::*, Table};
use user::{list, print, println, sys};

user::entry!(main);

/// A frame's size; every figure here counts frames.
const FRAME: u64 = 4096;
/// Characters in a bar.
const BAR: usize = 30;

fn main(args: &user::Args) -> i32 {
    match (args.len(), args.get(1)) {
        (1, _) => report(),
        (2, Some("-w")) => watch(),
        _ => user::usage("meminfo [-w]"),
    }
}

/// The figures, and the holders of the used frames.
fn report() -> i32 {
    // The listing first: its array grows this program's heap, which the figures then include.
    let (Ok(mut procs), Ok(stat)) = (list::processes(), sys::memstat()) else {
        user::eprintln!("meminfo: the kernel refused the figures");
        return 1;
    };
    // This process's own row, as the figures saw it.
    let me = sys::getpid() as u32;
    for p in procs.iter_mut().filter(|p| p.pid == me) {
        (p.resident_pages, p.table_frames) = (stat.resident_pages, stat.table_frames);
    }
    let used = stat.total_frames - stat.free_frames;
    let mut figures = Table::new(&[("", Left), ("frames", Right), ("KiB", Right), ("", Left)]);
    let mut figure = |name: &str, frames: u64, with_bar: bool| {
        let kib = frames * FRAME / 1024;
        let bar = Bar {
            part: frames,
            whole: stat.total_frames,
            width: BAR,
        };
        let bar: &dyn core::fmt::Display = if with_bar { &bar } else { &"" };
        figures.row(&[&name, &frames, &kib, bar]);
    };
    figure("total", stat.total_frames, false);
    figure("free", stat.free_frames, true);
    figure("used", used, true);
    figure("low water", stat.low_water, false);
    figure("in hart caches", stat.cached_frames, false);
    print!("{figures}");

    println!();
    let process_tables: u64 = procs.iter().map(|p| p.table_frames).sum();
    let mut holders: Vec<(String, u64)> = vec![
        ("kernel page tables".into(), stat.kernel_table_frames),
        ("process page tables".into(), process_tables),
        ("kernel stacks".into(), stat.kernel_stack_frames),
        ("process records".into(), stat.record_frames),
    ];
    for p in &procs {
        holders.push((format!("pid {} {}", p.pid, p.name), p.resident_pages));
    }
    // The figures and the listing are two syscalls apart: a process may start or end between.
    let counted: u64 = holders.iter().map(|h| h.1).sum();
    if used > counted {
        holders.push(("other kernel data".into(), used - counted));
    }
    let mut table = Table::new(&[
        ("used by", Left),
        ("frames", Right),
        ("KiB", Right),
        ("", Left),
    ]);
    for (name, frames) in &holders {
        let bar = Bar {
            part: *frames,
            whole: used,
            width: BAR,
        };
        table.row(&[name, frames, &(frames * FRAME / 1024), &bar]);
    }
    print!("{table}");
    0
}

/// A line of figures every second, until Ctrl-C (or `kill`) ends the program.
fn watch() -> i32 {
    println!("   free    used  cached  low water  procs");
    loop {
        let Ok(s) = sys::memstat() else {
            user::eprintln!("meminfo: the kernel refused the figures");
            return 1;
        };
        line(&s);
        if sys::sleep(1000).is_err() {
            return 0;
        }
    }
}

fn line(s: &MemStat) {
    let used = s.total_frames - s.free_frames;
    println!(
        "{:>7} {:>7} {:>7} {:>10} {:>6}  {}",
        s.free_frames,
        used,
        s.cached_frames,
        s.low_water,
        s.processes,
        Bar {
            part: used,
            whole: s.total_frames,
            width: BAR
        }
    );
}
