//! Memory exhaustion by several processes at once: each grows its heap until `ENOMEM`; none is
//! harmed but by its own refusals, and afterwards memory is whole again.

use crate::util::{self, Failed, Map, Outcome, PAGE, raw, system_frames};
use abi::{Errno, ExitStatus, nr};
use user::raw::BreakBytes;
use user::sys;

/// Children that grow at once (one per hart with `-smp 4`).
const CHILDREN: usize = 4;

/// Exit codes of [`grow_until_enomem`]: memory ran out and was given back, and at that point
/// `fork` and `exec` were refused with `ENOMEM` (or `EAGAIN`), or one of them succeeded
/// because a sibling gave memory back meanwhile (allowed, though rare).
const REFUSED: usize = 0;
const FORKED: usize = 5;
const EXECUTED: usize = 7;
/// Failures: another error, the break moved by a refused `sbrk`, the memory not given back.
const OTHER_ERROR: usize = 2;
const BREAK_MOVED: usize = 3;
const GIVE_BACK_FAILED: usize = 4;
const FORK_ERROR: usize = 6;
const EXEC_ERROR: usize = 8;

/// Grows the heap by 1 MiB, then by halves down to a page, until even a page is refused,
/// touching each piece; then, with memory exhausted, tries `fork` and `exec`; gives it all back
/// and returns an exit code. Runs while memory is exhausted, so it calls nothing that could
/// need a new stack page: raw `ecall`s only, on locals written before memory runs out.
#[inline(never)]
fn grow_until_enomem() -> usize {
    let name = *b"memtests\0";
    let exit = *b"--exit\0";
    let code = [b'0' + EXECUTED as u8, 0];
    let argv = [
        name.as_ptr(),
        exit.as_ptr(),
        code.as_ptr(),
        core::ptr::null(),
    ];
    let argv = core::hint::black_box(&argv);
    let (start, _) = raw(nr::SBRK, 0, 0, 0);
    let mut step = 1 << 20;
    let mut grown = 0;
    loop {
        let (old, error) = raw(nr::SBRK, step, 0, 0);
        if error == 0 {
            // [old, old + step) was just added to the heap; no Rust object lives there.
            user::raw::store(old, 1);
            grown += step;
        } else if error != Errno::ENOMEM.raw() {
            return OTHER_ERROR;
        } else if step == PAGE {
            break;
        } else {
            step /= 2;
        }
    }
    if raw(nr::SBRK, 0, 0, 0).0 != start + grown {
        return BREAK_MOVED;
    }
    let mut outcome = REFUSED;
    match raw(nr::FORK, 0, 0, 0) {
        (0, 0) => {
            raw(nr::EXIT, 0, 0, 0);
        }
        (child, 0) => {
            while raw(nr::WAIT, 0, 0, 0) != (child, 0) {}
            outcome = FORKED;
        }
        (_, e) if e == Errno::ENOMEM.raw() || e == Errno::EAGAIN.raw() => {}
        _ => outcome = FORK_ERROR,
    }
    match raw(nr::EXEC, name.as_ptr() as usize, argv.as_ptr() as usize, 0) {
        (_, e) if e == Errno::ENOMEM.raw() => {}
        _ => outcome = EXEC_ERROR,
    }
    if raw(nr::SBRK, grown.wrapping_neg(), 0, 0).1 != 0 {
        return GIVE_BACK_FAILED;
    }
    outcome
}

pub fn parallel(_map: &Map) -> Outcome {
    let before = system_frames();
    for _ in 0..CHILDREN {
        match sys::fork() {
            Ok(0) => sys::exit(grow_until_enomem() as i32),
            Ok(_) => {}
            Err(e) => {
                ensure!(false, "fork: {e}");
            }
        }
    }
    let mut ended = [ExitStatus::default(); CHILDREN];
    for status in ended.iter_mut() {
        // Raw: memory may be exhausted while this waits and runs.
        let (_, error) = raw(nr::WAIT, status as *mut ExitStatus as usize, 0, 0);
        ensure!(error == 0, "wait: error {error}");
    }
    expect_eq!(
        raw(nr::WAIT, 0, 0, 0).1,
        Errno::ECHILD.raw(),
        "wait after the last child"
    );
    let allowed = [REFUSED, FORKED, EXECUTED].map(|c| ExitStatus::exited(c as u8));
    for status in ended {
        ensure!(
            allowed.contains(&status),
            "a child ended with {}",
            util::Status(status)
        );
    }
    let refused = ended
        .iter()
        .filter(|&&s| s == ExitStatus::exited(REFUSED as u8))
        .count();
    ensure!(
        refused > 0,
        "no child saw fork and exec refused with memory exhausted"
    );
    expect_eq!(system_frames(), before, "frames after the children ended");
    // A new child can still fork and grow.
    let child = util::spawn(|| {
        let mut grown = BreakBytes::grow(4 << 20).map_err(|_| Failed)?;
        grown.bytes_mut().fill(0x21);
        Ok(())
    })
    .map_err(|_| Failed)?;
    expect_eq!(
        util::wait_for(child)?,
        ExitStatus::exited(0),
        "a child growing 4 MiB after"
    );
    expect_eq!(system_frames(), before, "frames at the end");
    Ok(())
}
