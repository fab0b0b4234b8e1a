//! `init`: the first process. It starts the program the boot arguments name (`run=PROGRAM,ARG`)
//! and ends the machine with its status, or else greets, and then reaps orphans forever.
#![no_std]
#![no_main]

use user::{println, sys};

user::entry!(main);

fn main(args: &user::Args) -> i32 {
    if args.len() > 1 {
        // For the boot benchmark: under `-icount` with one hart, instructions since reset.
        println!("init: first instruction at instret {}", user::start_instret());
        let program: [&str; abi::MAX_ARGS] = core::array::from_fn(|i| args.get(i + 1).unwrap_or(""));
        let argv = &program[..args.len() - 1];
        let status = run(argv);
        if let Some(s) = status.filter(|s| !s.success()) {
            println!("init: {} ended: {}", argv[0], describe(s));
        }
        // QEMU's exit status: 0, or 3 ("tests failed") for any failure.
        let code = if status.is_some_and(|s| s.success()) { 0 } else { 3 };
        let _ = sys::shutdown(code);
        return 1;
    }
    let _ = run(&["hello"]);
    loop {
        // Orphans become init's children; reap them as they end. With none, idle.
        if sys::wait().is_err() {
            let _ = sys::sleep(1000);
        }
    }
}

/// How a process ended, in words.
fn describe(status: abi::ExitStatus) -> &'static str {
    match (status.code(), status.kill_cause()) {
        (Some(_), _) => "exit with a non-zero code",
        (_, Some(cause)) => cause.describe(),
        _ => "unknown status",
    }
}

/// Runs `argv[0]` with `argv` in a child and waits for it; its status, or `None` if it could
/// not start.
fn run(argv: &[&str]) -> Option<abi::ExitStatus> {
    match sys::fork() {
        Ok(0) => {
            let e = sys::exec(argv[0], argv);
            println!("init: cannot run {}: {e}", argv[0]);
            sys::exit(127)
        }
        Ok(child) => loop {
            match sys::wait() {
                Ok((pid, status)) if pid == child => return Some(status),
                Ok(_) => continue,
                Err(e) => {
                    println!("init: wait: {e}");
                    return None;
                }
            }
        },
        Err(e) => {
            println!("init: fork: {e}");
            None
        }
    }
}
