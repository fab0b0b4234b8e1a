//! `sh`: the shell. It reads a line, runs the program it names with the words that follow as
//! arguments (`fork`, then `exec` in the child), and waits for it: Ctrl-C then ends that
//! program. A line ending in `&` runs in the background; the shell says when such a job ends.
//! `help` lists the programs. `init` starts the shell, and starts a new one if it ends.
#![no_std]
#![no_main]

use abi::{Errno, ExitStatus};
use user::alloc::string::{String, ToString};
use user::alloc::vec::Vec;
use user::show::Ended;
use user::sys::{self, Pid};
use user::{eprintln, print, println};

user::entry!(main);

/// The programs in the archive the kernel boots with, and what each shows.
const PROGRAMS: &[(&str, &str)] = &[
    (
        "meminfo [-w]",
        "kalloc's figures and who holds the used frames (-w: every second)",
    ),
    (
        "vmmap [PID]",
        "a process's map: regions, permissions, resident pages",
    ),
    ("kmap", "the kernel's map, as the boot printed it"),
    ("ps", "every process: pid, parent, state, hart, name, pages"),
    ("kill PID", "end a process"),
    (
        "sbrkdemo",
        "the heap grows and shrinks with sbrk, frame by frame",
    ),
    (
        "stackdemo DEPTH",
        "the stack grows on page faults, and shrinks",
    ),
    (
        "forkdemo",
        "fork copies every page; the copies are separate",
    ),
    (
        "hog [SECONDS]",
        "take every free frame with sbrk, hold them, give them back",
    ),
    (
        "fault WHAT",
        "a bad access (null, text, heap, exec, kernel): the kernel kills it",
    ),
    ("memtests", "the kernel's memory tests, from user space"),
    (
        "bench WORKLOAD",
        "the memory benchmarks, in guest instructions",
    ),
    ("echo WORD...", "print the words"),
    ("cat", "copy input to output until Ctrl-D"),
    ("hello", "a greeting with the free frame count"),
];

/// A program running in the background.
struct Job {
    pid: Pid,
    name: String,
}

fn main(args: &user::Args) -> i32 {
    if args.len() != 1 {
        return user::usage("sh");
    }
    println!(
        "rvmm shell: 'help' lists the programs; Ctrl-C ends the one running, Ctrl-A X quits QEMU"
    );
    let mut jobs = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        reap_ended(&mut jobs);
        print!("$ ");
        let n = match sys::read(abi::fd::STDIN, &mut buf) {
            Ok(0) => {
                println!(); // Ctrl-D: the end of input ends the shell
                return 0;
            }
            Ok(n) => n,
            Err(e) => {
                eprintln!("sh: read: {e}");
                return 1;
            }
        };
        let Ok(line) = core::str::from_utf8(&buf[..n]) else {
            eprintln!("sh: the line is not UTF-8");
            continue;
        };
        let (words, background) = parse(line);
        match words.first() {
            None => {}
            Some(&"help") => help(),
            Some(_) => run(&words, background, &mut jobs),
        }
    }
}

/// The words of `line`, and whether it ends with `&` (alone or stuck to the last word).
fn parse(line: &str) -> (Vec<&str>, bool) {
    let line = line.trim_end();
    let (line, background) = match line.strip_suffix('&') {
        Some(rest) => (rest, true),
        None => (line, false),
    };
    (line.split_whitespace().collect(), background)
}

fn help() {
    println!("programs (add & to run one in the background):");
    for (usage, what) in PROGRAMS {
        println!("  {usage:<17} {what}");
    }
    println!("built in: help");
}

/// Runs `words[0]` with arguments `words`; waits for it unless it runs in the background.
fn run(words: &[&str], background: bool, jobs: &mut Vec<Job>) {
    let name = words[0];
    if words.len() > abi::MAX_ARGS {
        eprintln!("sh: too many words (at most {})", abi::MAX_ARGS);
        return;
    }
    let child = match sys::fork() {
        Ok(0) => {
            if !background {
                // Also here, not only in the parent: a Ctrl-C typed before the parent gets to
                // it must already reach this program.
                sys::foreground(sys::getpid());
            }
            let e = sys::exec(name, words);
            if e == Errno::ENOENT {
                eprintln!("sh: {name}: no such program ('help' lists them)");
            } else {
                eprintln!("sh: {name}: {e}");
            }
            sys::exit(NOT_STARTED)
        }
        Ok(pid) => pid,
        Err(e) => {
            eprintln!("sh: cannot start {name}: {e}");
            return;
        }
    };
    if background {
        println!("[{child}] {name}");
        jobs.push(Job {
            pid: child,
            name: name.to_string(),
        });
        return;
    }
    // Ctrl-C now kills the child, never the shell.
    sys::foreground(child);
    loop {
        match sys::wait() {
            Ok((pid, status)) if pid == child => {
                if !status.success() && status.code() != Some(NOT_STARTED as u8) {
                    println!("sh: {name}: {}", Ended(status));
                }
                break;
            }
            Ok((pid, status)) => job_ended(jobs, pid, status),
            Err(e) => {
                eprintln!("sh: wait: {e}");
                break;
            }
        }
    }
    sys::foreground(0);
}

/// The exit code of a child whose `exec` failed (it said why itself), as in Unix shells.
const NOT_STARTED: i32 = 127;

/// Reaps the background jobs that ended while the shell waited for a line.
fn reap_ended(jobs: &mut Vec<Job>) {
    while let Ok(Some((pid, status))) = sys::try_wait() {
        job_ended(jobs, pid, status);
    }
}

/// Reports the end of background job `pid`.
fn job_ended(jobs: &mut Vec<Job>, pid: Pid, status: ExitStatus) {
    let name = match jobs.iter().position(|j| j.pid == pid) {
        Some(i) => jobs.swap_remove(i).name,
        None => "?".to_string(),
    };
    if status.success() {
        println!("[{pid}] {name}: done");
    } else {
        println!("[{pid}] {name}: {}", Ended(status));
    }
}
