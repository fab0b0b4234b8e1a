//! `fork`: independent copies, the process cap and memory as limits, and nothing leaked by
//! children that grow and end.

use crate::util::{self, Failed, Map, Outcome, PAGE, brk, system_frames};
use abi::{Errno, ExitStatus, KillCause, nr};
use user::alloc::{vec, vec::Vec};
use user::raw::BreakBytes;
use user::sys;

pub fn heaps_independent(_map: &Map) -> Outcome {
    let mut v: Vec<u64> = (0..20_000).collect();
    let b = brk();
    match sys::fork() {
        Ok(0) => util::exit_with((|| {
            // The parent changes its copy at once; this one must not see it.
            ensure!(
                v.iter().enumerate().all(|(i, &x)| x == i as u64),
                "child: heap changed"
            );
            for x in v.iter_mut() {
                *x = x.wrapping_mul(3);
            }
            let mut grown = BreakBytes::grow(16 * PAGE).map_err(|_| Failed)?;
            grown.bytes_mut().fill(0xee);
            sys::yield_now();
            ensure!(
                v.iter().enumerate().all(|(i, &x)| x == 3 * i as u64),
                "child: own writes lost"
            );
            Ok(())
        })()),
        Ok(child) => {
            for x in v.iter_mut() {
                *x += 1;
            }
            let status = util::wait_for(child)?;
            expect_eq!(status, ExitStatus::exited(0), "child's status");
            ensure!(
                v.iter().enumerate().all(|(i, &x)| x == i as u64 + 1),
                "parent: heap changed by the child"
            );
            expect_eq!(brk(), b, "parent's break after the child grew its own");
            Ok(())
        }
        Err(e) => {
            ensure!(false, "fork: {e}");
            Ok(())
        }
    }
}

/// Forks children that run `child` until fork fails; their pids, and the error.
fn fork_until_error(pids: &mut Vec<usize>, child: fn(usize) -> !) -> Errno {
    loop {
        let i = pids.len();
        match sys::fork() {
            Ok(0) => child(i),
            Ok(pid) => pids.push(pid),
            Err(e) => return e,
        }
        if pids.len() == pids.capacity() {
            return Errno::E2BIG; // a bug: far more processes than the kernel allows
        }
    }
}

pub fn until_full(_map: &Map) -> Outcome {
    let before = system_frames();
    let mut pids = Vec::with_capacity(600);
    let error = fork_until_error(&mut pids, |i| sys::exit(i as i32));
    ensure!(
        error == Errno::EAGAIN || error == Errno::ENOMEM,
        "fork ended with {error:?} after {} children",
        pids.len()
    );
    ensure!(
        pids.len() >= 8,
        "only {} children before {error:?}",
        pids.len()
    );
    let mut reaped = 0;
    loop {
        match sys::wait() {
            Ok((pid, status)) => {
                let Some(i) = pids.iter().position(|&p| p == pid) else {
                    ensure!(false, "wait returned {pid}, not a child");
                    return Ok(());
                };
                expect_eq!(status, ExitStatus::exited(i as u8), "status of child {i}");
                reaped += 1;
            }
            Err(e) => {
                expect_eq!(e, Errno::ECHILD, "wait after the last child");
                break;
            }
        }
    }
    expect_eq!(reaped, pids.len(), "children reaped");
    expect_eq!(system_frames(), before, "frames after reaping every child");
    Ok(())
}

pub fn until_enomem(map: &Map) -> Outcome {
    let before = system_frames();
    let mut pids = Vec::with_capacity(600);
    // Written now, so that reaping writes only to pages already there.
    let mut ended = vec![ExitStatus(u32::MAX); 600];
    // A heap of an eighth of RAM: each fork copies it, so memory runs out long before the
    // process table.
    let heap = map.ram_bytes() / 8;
    let mut held = BreakBytes::grow(heap).map_err(|_| Failed)?;
    held.bytes_mut().fill(0x3c);
    let error = fork_until_error(&mut pids, |_| util::hold_until_killed());
    // Memory may be all but exhausted: raw syscalls inlined here until the children are gone.
    let forked = pids.len();
    let mut refused_kills = 0;
    for &pid in &pids {
        refused_kills += usize::from(util::call(nr::KILL, pid, 0, 0).is_err());
    }
    let mut reaped = 0;
    while reaped < ended.len() {
        let at = &raw mut ended[reaped] as usize;
        if util::call(nr::WAIT, at, 0, 0).is_err() {
            break;
        }
        reaped += 1;
    }
    expect_eq!(
        error,
        Errno::ENOMEM,
        "how fork failed after {forked} children"
    );
    ensure!(
        (3..10).contains(&forked),
        "{forked} children with an eighth of RAM each"
    );
    expect_eq!(refused_kills, 0, "kills refused");
    expect_eq!(reaped, forked, "children reaped");
    let killed = ExitStatus::killed(KillCause::Killed);
    for (i, &status) in ended[..reaped].iter().enumerate() {
        expect_eq!(status, killed, "status of the child reaped {i}th");
    }
    held.give_back().map_err(|_| Failed)?;
    expect_eq!(system_frames(), before, "frames after reaping every child");
    Ok(())
}

pub fn child_grows_and_exits(_map: &Map) -> Outcome {
    let before = system_frames();
    let grow = |then_fault: bool| {
        move || -> Outcome {
            let mut grown = BreakBytes::grow(8 << 20).map_err(|_| Failed)?;
            grown.bytes_mut().fill(0x11);
            if then_fault {
                crate::stack::load(0);
            }
            Ok(())
        }
    };
    let child = util::spawn(grow(false)).map_err(|_| Failed)?;
    expect_eq!(
        util::wait_for(child)?,
        ExitStatus::exited(0),
        "child that grew and exited"
    );
    expect_eq!(
        system_frames(),
        before,
        "frames after a child grew 8 MiB and exited"
    );
    let child = util::spawn(grow(true)).map_err(|_| Failed)?;
    let status = util::wait_for(child)?;
    expect_eq!(
        status,
        ExitStatus::killed(KillCause::LoadPageFault),
        "child that grew and faulted"
    );
    expect_eq!(
        system_frames(),
        before,
        "frames after a child grew 8 MiB and was killed"
    );
    Ok(())
}

pub fn orphans_reaped_by_init(_map: &Map) -> Outcome {
    let before = system_frames();
    let ticks_per_ms = sys::clock().map_err(|_| Failed)?.ticks_per_second / 1000;
    // A child leaves four zombies and four running children behind when it exits.
    let child = util::spawn(|| {
        for i in 0..8 {
            match sys::fork() {
                Ok(0) if i % 2 == 0 => sys::exit(0),
                Ok(0) => {
                    let until = sys::time() + 5 * ticks_per_ms;
                    while sys::time() < until {
                        sys::yield_now();
                    }
                    sys::exit(0)
                }
                Ok(_) => {}
                Err(e) => ensure!(false, "fork: {e}"),
            }
        }
        Ok(())
    })
    .map_err(|_| Failed)?;
    expect_eq!(
        util::wait_for(child)?,
        ExitStatus::exited(0),
        "the child that left orphans"
    );
    expect_eq!(
        sys::wait().map(|_| ()),
        Err(Errno::ECHILD),
        "orphans are not this process's"
    );
    // `init` reaps them (their kernel stacks and records go back then): wait for it, bounded.
    let deadline = sys::time() + 500 * ticks_per_ms;
    while system_frames() != before && sys::time() < deadline {
        sys::yield_now();
    }
    expect_eq!(
        system_frames(),
        before,
        "frames 0.5 s after the orphans' parent exited"
    );
    Ok(())
}
