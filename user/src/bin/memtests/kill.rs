//! `kill`: a process is ended wherever it is: spinning in user code (at its next
//! preemption), asleep in `read`, or on its way into `read` when the kill lands.

use crate::util::{self, Failed, Map, Outcome, system_frames};
use abi::{Errno, ExitStatus, KillCause};
use user::raw::{delay, spin_forever};
use user::sys;

/// Kills `child`, waits for it, and expects the kill as its end.
fn kill_and_reap(child: usize) -> Outcome {
    expect_eq!(sys::kill(child), Ok(()), "kill({child})");
    expect_eq!(
        util::wait_for(child)?,
        ExitStatus::killed(KillCause::Killed),
        "status of the killed child"
    );
    expect_eq!(
        sys::kill(child),
        Err(Errno::ESRCH),
        "kill of the reaped child"
    );
    Ok(())
}

pub fn spinning(_map: &Map) -> Outcome {
    let before = system_frames();
    let child = util::spawn(|| spin_forever()).map_err(|_| Failed)?;
    sys::yield_now();
    kill_and_reap(child)?;
    expect_eq!(system_frames(), before, "frames after the kill");
    Ok(())
}

pub fn sleeping_reader(_map: &Map) -> Outcome {
    killed_while_blocked(|| {
        let mut line = [0u8; 16];
        let got = sys::read(abi::fd::STDIN, &mut line);
        user::println!("  read returned {got:?} to a process that was killed");
        Ok(())
    })
}

/// Starts a child that blocks in `block`, lets it get there (most likely; killed earlier, it
/// ends all the same), kills and reaps it, and expects every frame back.
fn killed_while_blocked(block: impl FnOnce() -> Outcome) -> Outcome {
    let before = system_frames();
    let child = util::spawn(block).map_err(|_| Failed)?;
    for _ in 0..8 {
        sys::yield_now();
    }
    kill_and_reap(child)?;
    expect_eq!(system_frames(), before, "frames after the kill");
    Ok(())
}

/// Waits up to a second for `child` to end and reaps it; its status, or `None` if it did not
/// end in time. A watchdog child that sleeps a second ends the wait if `child` does not; a
/// blocking `wait` alone would hang the suite, and polling makes harts contend.
fn reap_within_a_second(child: usize) -> Option<ExitStatus> {
    let watchdog = util::spawn(|| {
        let _ = sys::sleep(1000);
        Ok(())
    })
    .ok()?;
    let (pid, status) = sys::wait().ok()?;
    if pid != child {
        return None; // the watchdog ended first; `child` is left behind
    }
    let _ = sys::kill(watchdog);
    let _ = sys::wait();
    Some(status)
}

pub fn racing_reader(_map: &Map) -> Outcome {
    let before = system_frames();
    for trial in 0..32 {
        let child = util::spawn(|| {
            let mut line = [0u8; 16];
            let got = sys::read(abi::fd::STDIN, &mut line);
            user::println!("  read returned {got:?} to a process that was killed");
            Ok(())
        })
        .map_err(|_| Failed)?;
        // Kill it at a different moment of its way into `read` each time.
        delay(trial * 9);
        expect_eq!(sys::kill(child), Ok(()), "kill({child}) in trial {trial}");
        // A kill that lands between the reader's last look at its kill flag and its sleep
        // must still wake it: it may not sleep until console input arrives.
        let status = reap_within_a_second(child);
        ensure!(
            status.is_some(),
            "trial {trial}: the killed reader {child} still sleeps after a second"
        );
        expect_eq!(
            status,
            Some(ExitStatus::killed(KillCause::Killed)),
            "status of the killed reader in trial {trial}"
        );
    }
    expect_eq!(system_frames(), before, "frames after the kills");
    Ok(())
}

pub fn sleeping_in_sleep(_map: &Map) -> Outcome {
    killed_while_blocked(|| {
        let got = sys::sleep(60_000);
        user::println!("  sleep returned {got:?} to a process that was killed");
        Ok(())
    })
}
