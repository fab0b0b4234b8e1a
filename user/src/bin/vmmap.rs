//! `vmmap [PID]`: the map of a process's address space (without PID, its own), a row per
//! region like Linux's `/proc/PID/maps`: where it starts and ends, its permissions, what it
//! holds, how many of its pages have a frame of the process's own, and the page size.
#![no_std]
#![no_main]

use abi::RegionKind;
use user::show::{Addr, Perms, Size};
use user::table::{Align::*, Table};
use user::{list, print, println, sys};

user::entry!(main);

fn main(args: &user::Args) -> i32 {
    let pid = match (args.len(), args.get(1).map(user::number)) {
        (1, None) => sys::getpid(),
        (2, Some(Some(pid))) if pid > 0 => pid,
        _ => return user::usage("vmmap [PID]"),
    };
    let regions = match list::regions(pid) {
        Ok(regions) => regions,
        Err(e) => {
            user::eprintln!("vmmap: process {pid}: {e}");
            return 1;
        }
    };
    let procs = list::processes().unwrap_or_default();
    let name = procs.iter().find(|p| p.pid as usize == pid).map(|p| p.name);
    println!(
        "process {pid} ({})",
        name.as_ref().map_or("?", |n| n.as_str())
    );
    let mut table = Table::new(&[
        ("start", Left),
        ("end", Left),
        ("size", Right),
        ("perm", Left),
        ("kind", Left),
        ("resident", Right),
        ("page", Right),
    ]);
    for r in &regions {
        let kind = RegionKind::from_raw(r.kind).map_or("?", RegionKind::name);
        table.row(&[
            &Addr(r.start),
            &Addr(r.end),
            &Size(r.end - r.start),
            &Perms(r.perms),
            &kind,
            &r.resident_pages,
            &Size(r.page_size),
        ]);
    }
    print!("{table}");
    0
}
