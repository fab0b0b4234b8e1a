//! `kmap`: the kernel's map, the table the boot prints: every run of pages the kernel page
//! table maps, with its virtual and physical range, permissions, page size and what it is.
//! Every hart and every process's traps run on this one table.
#![no_std]
#![no_main]

use abi::KmapRow;
use user::show::ADDR_DIGITS;
use user::{list, println};

user::entry!(main);

fn main(args: &user::Args) -> i32 {
    if args.len() != 1 {
        return user::usage("kmap");
    }
    let rows = match list::kernel_map() {
        Ok(rows) => rows,
        Err(e) => {
            user::eprintln!("kmap: {e}");
            return 1;
        }
    };
    println!("{}", KmapRow::header(ADDR_DIGITS));
    for row in &rows {
        println!("{}", row.row(ADDR_DIGITS));
    }
    0
}
