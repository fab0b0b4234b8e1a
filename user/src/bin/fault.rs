//! `fault WHAT`: makes one bad access on purpose, which the MMU refuses and the kernel answers
//! by killing the process (the shell then says why). Each shows a rule of the address space:
//!
//! - `null`: reads address 0. Page 0 is never mapped, so a null pointer faults.
//! - `text`: writes into its own code. Code is mapped R+X, never W (nothing is ever W+X).
//! - `heap`: writes to the page above the break. Only the pages under the break are mapped.
//! - `exec`: jumps into its heap. Data is mapped R+W, never X.
//! - `kernel`: reads its trap frame. It is mapped in the process's table, but without U: only
//!   the kernel may touch it.
#![no_std]
#![no_main]

use abi::RegionKind;
use user::{list, println, raw, sys};

user::entry!(main);

fn main(args: &user::Args) -> i32 {
    let what = match (args.len(), args.get(1)) {
        (2, Some(what)) => what,
        _ => return user::usage("fault null|text|heap|exec|kernel"),
    };
    let address = match what {
        "null" => 0,
        "text" => main as fn(&user::Args) -> i32 as usize,
        "heap" | "exec" => match sys::sbrk(0) {
            // The first page above the break: not mapped.
            Ok(brk) => brk.next_multiple_of(4096),
            Err(e) => {
                println!("fault: sbrk: {e}");
                return 1;
            }
        },
        "kernel" => match trap_frame() {
            Some(address) => address,
            None => return 1,
        },
        _ => return user::usage("fault null|text|heap|exec|kernel"),
    };
    if what == "exec" {
        // Map that page (R+W, U) to jump into.
        if sys::sbrk(4096).is_err() {
            return 1;
        }
    }
    println!("fault: {what}: touching {address:#x}; the kernel will end this process");
    match what {
        // The page is mapped without W (text) or not at all (heap): the store faults and the
        // kernel ends the process before it changes anything.
        "text" | "heap" => raw::store(address, 0),
        // The page is mapped without X, so fetching its first instruction faults.
        "exec" => raw::jump(address),
        // Unmapped (null) or not user-accessible (the trap frame): the load faults.
        _ => {
            raw::load(address);
        }
    }
    println!("fault: {what}: the access did not fault");
    1
}

/// The trap frame's address, from this process's map.
fn trap_frame() -> Option<usize> {
    let regions = list::regions(0).ok()?;
    let tf = regions
        .iter()
        .find(|r| RegionKind::from_raw(r.kind) == Some(RegionKind::TrapFrame))?;
    Some(tf.start as usize)
}
