//! `kill PID`: ends process PID the next time it would run its own code, and waits until it
//! has ended (up to a few seconds), so the shell's next prompt reports it and its memory is
//! back in kalloc. Ending a process that holds much memory takes a while: its hart gives back
//! every page and table frame before the process is a zombie its parent can reap.
#![no_std]
#![no_main]

use abi::ProcState;
use user::{list, sys};

user::entry!(main);

/// How long to wait for the end, in milliseconds, before saying it has not come.
const PATIENCE_MS: usize = 5000;

/// Between two looks at the process table.
const LOOK_EVERY_MS: usize = 1;

fn main(args: &user::Args) -> i32 {
    let pid = match (args.len(), args.get(1).and_then(user::number)) {
        (2, Some(pid)) if pid > 0 => pid,
        _ => return user::usage("kill PID"),
    };
    if let Err(e) = sys::kill(pid) {
        user::eprintln!("kill: {pid}: {e}");
        return 1;
    }
    for _ in 0..PATIENCE_MS / LOOK_EVERY_MS {
        if ended(pid) {
            return 0;
        }
        if sys::sleep(LOOK_EVERY_MS).is_err() {
            return 1; // killed itself (Ctrl-C): the kill was sent
        }
    }
    user::eprintln!("kill: {pid}: still ending after {PATIENCE_MS} ms");
    1
}

/// Whether process `pid` has ended: a zombie, or gone (already reaped).
fn ended(pid: sys::Pid) -> bool {
    let Ok(rows) = list::processes() else {
        return false; // no memory for the listing now; look again
    };
    rows.iter()
        .find(|r| r.pid as sys::Pid == pid)
        .is_none_or(|r| ProcState::from_raw(r.state) == Some(ProcState::Zombie))
}
