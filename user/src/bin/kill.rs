//! `kill PID`: ends process PID the next time it would run its own code. Its parent's `wait`
//! then reports it killed, and its memory goes back to kalloc at that moment.
#![no_std]
#![no_main]

use user::sys;

user::entry!(main);

fn main(args: &user::Args) -> i32 {
    let pid = match (args.len(), args.get(1).and_then(user::number)) {
        (2, Some(pid)) if pid > 0 => pid,
        _ => return user::usage("kill PID"),
    };
    match sys::kill(pid) {
        Ok(()) => 0,
        Err(e) => {
            user::eprintln!("kill: {pid}: {e}");
            1
        }
    }
}
