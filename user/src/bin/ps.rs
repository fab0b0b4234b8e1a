//! `ps`: every process: its id, its parent, its state, the hart it runs or last ran on, its
//! program, and the memory its address space holds (data pages and page-table frames).
#![no_std]
#![no_main]

use abi::ProcState;
use user::table::{Align::*, Table};
use user::{list, print};

user::entry!(main);

fn main(args: &user::Args) -> i32 {
    if args.len() != 1 {
        return user::usage("ps");
    }
    let procs = match list::processes() {
        Ok(procs) => procs,
        Err(e) => {
            user::eprintln!("ps: {e}");
            return 1;
        }
    };
    let mut table = Table::new(&[
        ("pid", Right),
        ("parent", Right),
        ("state", Left),
        ("hart", Right),
        ("name", Left),
        ("pages", Right),
        ("tables", Right),
    ]);
    for p in &procs {
        let state = ProcState::from_raw(p.state).map_or("?", ProcState::name);
        table.row(&[
            &p.pid,
            &p.parent,
            &state,
            &p.hart,
            &p.name,
            &p.resident_pages,
            &p.table_frames,
        ]);
    }
    print!("{table}");
    0
}
