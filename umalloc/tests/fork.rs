//! `fork` while other threads allocate (feature `c-abi`, host only): the child inherits the
//! heap as the forking thread left it, so its first `malloc` must not find the lock taken by a
//! thread that does not exist in the child. umalloc registers `pthread_atfork` handlers that
//! take the lock around `fork` when the C functions are first used.
//!
//! A hung child is bounded by `alarm`: it is killed by `SIGALRM` after `CHILD_SECONDS` and
//! counted as hung (a failure); the parent never sleeps.
#![cfg(all(feature = "c-abi", not(miri)))]

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use rvmm_testkit::bench::Rng;
use umalloc::c_abi::{free, malloc};

/// Children forked per run.
const FORKS: usize = 200;
/// Threads allocating while the main thread forks.
const HAMMERS: u64 = 3;
/// A child still running after this long is hung (it needs microseconds).
const CHILD_SECONDS: u32 = 10;

/// What a child does: allocate (several sizes, so several paths through the heap), check the
/// blocks are usable, free them, exit. Only `malloc`, `free`, `alarm` and `_exit` run here.
fn child() -> ! {
    // SAFETY: `alarm` and `_exit` have no preconditions; every block is written within its size
    // and freed once.
    unsafe {
        libc::alarm(CHILD_SECONDS);
        let mut code = 0;
        for size in [16usize, 600, 5000, 100_000] {
            // black_box: the compiler knows `malloc` and would drop an unused block, call and all.
            let p = black_box(malloc(size).cast::<u8>());
            if p.is_null() {
                code = 1;
                continue;
            }
            p.write_bytes(0x5A, size);
            free(black_box(p).cast());
        }
        libc::_exit(code)
    }
}

/// How the children ended: (exited 0, exited otherwise, killed by a signal).
fn reap(pids: &[libc::pid_t]) -> (usize, usize, usize) {
    let (mut ok, mut failed, mut killed) = (0, 0, 0);
    for &pid in pids {
        let mut status = 0;
        // SAFETY: `pid` is our child; `status` is a valid out-pointer.
        let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(waited, pid, "waitpid");
        if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
            ok += 1;
        } else if libc::WIFSIGNALED(status) {
            killed += 1;
        } else {
            failed += 1;
        }
    }
    (ok, failed, killed)
}

#[test]
fn children_forked_while_threads_allocate_can_allocate() {
    let stop = AtomicBool::new(false);
    let pids = thread::scope(|s| {
        for t in 0..HAMMERS {
            let stop = &stop;
            s.spawn(move || {
                let mut rng = Rng::new(t + 1);
                let mut held = [std::ptr::null_mut(); 16];
                while !stop.load(Ordering::Relaxed) {
                    let slot = &mut held[rng.below(16) as usize];
                    // SAFETY: each slot holds null or a live block of ours, freed once.
                    unsafe { free(*slot) };
                    *slot = black_box(malloc(16 + rng.below(2000) as usize));
                }
                for p in held {
                    // SAFETY: as above.
                    unsafe { free(p) };
                }
            });
        }
        let mut pids = Vec::with_capacity(FORKS);
        for _ in 0..FORKS {
            // SAFETY: the child runs only `child()`, which calls no code that needs the other
            // threads (only the allocator, whose state `fork` handlers keep consistent).
            match unsafe { libc::fork() } {
                0 => child(),
                -1 => panic!("fork failed"),
                pid => pids.push(pid),
            }
        }
        stop.store(true, Ordering::Relaxed);
        pids
    });
    let (ok, failed, killed) = reap(&pids);
    println!("{FORKS} children: {ok} allocated and exited, {failed} failed, {killed} hung");
    assert_eq!((ok, failed, killed), (FORKS, 0, 0));
}
