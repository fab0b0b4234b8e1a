//! `init`: the first process. It starts the shell, and a new one whenever the shell ends
//! (saying why); meanwhile it reaps orphans, the processes whose parent ended before them.
//!
//! With `run=PROGRAM,ARG,...` in the boot arguments it runs that program instead and ends the
//! machine with its status (the test suite boots this way).
#![no_std]
#![no_main]

use abi::ExitStatus;
use user::show::Ended;
use user::{println, sys};

user::entry!(main);

/// The exit code of a child whose `exec` failed.
const NOT_STARTED: u8 = 127;

fn main(args: &user::Args) -> i32 {
    if args.len() > 1 {
        // For the boot benchmark: under `-icount` with one hart, instructions since reset.
        println!(
            "init: first instruction at instret {}",
            user::start_instret()
        );
        let program: [&str; abi::MAX_ARGS] =
            core::array::from_fn(|i| args.get(i + 1).unwrap_or(""));
        let argv = &program[..args.len() - 1];
        let status = start(argv).map(wait_for);
        if let Some(s) = status.filter(|s| !s.success()) {
            println!("init: {} ended: {}", argv[0], Ended(s));
        }
        // QEMU's exit status: 0, or 3 ("tests failed") for any failure.
        let code = if status.is_some_and(|s| s.success()) {
            0
        } else {
            3
        };
        let _ = sys::shutdown(code);
        return 1;
    }
    loop {
        let Some(shell) = start(&["sh"]) else {
            let _ = sys::sleep(1000); // out of memory or processes: try again
            continue;
        };
        let status = wait_for(shell);
        if status.code() == Some(NOT_STARTED) {
            println!("init: no shell to run; only reaping orphans now");
            break;
        }
        println!(
            "init: the shell ended ({}); starting a new one",
            Ended(status)
        );
    }
    loop {
        if sys::wait().is_err() {
            let _ = sys::sleep(1000); // no children: idle
        }
    }
}

/// Starts `argv[0]` with `argv` in a child; its pid, or `None` if it could not start.
fn start(argv: &[&str]) -> Option<sys::Pid> {
    match sys::fork() {
        Ok(0) => {
            let e = sys::exec(argv[0], argv);
            println!("init: cannot run {}: {e}", argv[0]);
            sys::exit(NOT_STARTED.into())
        }
        Ok(child) => Some(child),
        Err(e) => {
            println!("init: fork: {e}");
            None
        }
    }
}

/// Waits until `child` ends and returns its status, reaping the orphans that end meanwhile.
fn wait_for(child: sys::Pid) -> ExitStatus {
    loop {
        match sys::wait() {
            Ok((pid, status)) if pid == child => return status,
            Ok(_) => {} // an orphan
            Err(e) => {
                // Only a kill could interrupt init's wait, and init cannot be killed.
                println!("init: wait: {e}");
                let _ = sys::sleep(1000);
            }
        }
    }
}
