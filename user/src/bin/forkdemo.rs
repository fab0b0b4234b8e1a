//! `forkdemo`: fills 256 KiB of heap, forks, and shows what `fork` copied: the child gets its
//! own copy of every page (program, heap, stack, trap frame) in fresh frames, plus page tables,
//! a kernel stack and a process record; the free count drops by all of that. The child
//! changes its copy, the parent's stays as it was; when the child ends and is reaped, every
//! frame comes back.
#![no_std]
#![no_main]

use abi::ProcRow;
use user::alloc::vec;
use user::table::{Align::*, Table};
use user::{list, print, println, sys};

user::entry!(main);

/// Heap the parent fills before the fork.
const HEAP_BYTES: usize = 256 << 10;

fn main(args: &user::Args) -> i32 {
    if args.len() != 1 {
        return user::usage("forkdemo");
    }
    let mut heap = vec![b'P'; HEAP_BYTES];
    let free = |label: &str| {
        let free = sys::memstat().map_or(0, |s| s.free_frames);
        println!("{label}: {free} frames free");
        free
    };
    let before = free("before fork");
    let child = match sys::fork() {
        Ok(0) => return child(&mut heap),
        Ok(pid) => pid,
        Err(e) => {
            user::eprintln!("forkdemo: fork: {e}");
            return 1;
        }
    };
    let forked = free("after fork");
    let me = sys::getpid();
    let both: user::alloc::vec::Vec<ProcRow> = list::processes()
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.pid as usize == me || p.pid as usize == child)
        .collect();
    let mut table = Table::new(&[
        ("pid", Right),
        ("name", Left),
        ("pages", Right),
        ("tables", Right),
    ]);
    for p in &both {
        table.row(&[&p.pid, &p.name, &p.resident_pages, &p.table_frames]);
    }
    print!("{table}");
    if let Some(c) = both.iter().find(|p| p.pid as usize == child) {
        let took = before.saturating_sub(forked);
        let copied = c.resident_pages + c.table_frames;
        println!(
            "fork took {took} frames: the child's {} pages and {} page tables, and {} for its \
             kernel stack and process record",
            c.resident_pages,
            c.table_frames,
            took.saturating_sub(copied)
        );
    }
    match sys::wait() {
        Ok((_, status)) if status.success() => {}
        Ok((_, status)) => println!("child ended: {}", user::show::Ended(status)),
        Err(e) => println!("forkdemo: wait: {e}"),
    }
    println!(
        "parent's heap still holds '{}': the copies are separate",
        heap[0] as char
    );
    let after = free("after the child is reaped");
    if after == before {
        println!("every frame the fork took is back")
    }
    0
}

/// The child: waits a moment so the parent can list it, then changes its copy of the heap.
fn child(heap: &mut [u8]) -> i32 {
    let _ = sys::sleep(200);
    heap.fill(b'C');
    println!(
        "child {} wrote 'C' over its {} KiB heap copy",
        sys::getpid(),
        heap.len() >> 10
    );
    0
}
