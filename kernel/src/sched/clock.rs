//! Sleeping for a time: processes wait on [`Channel::Clock`] until their `wake_at`; the earliest
//! deadline is kept so that idle harts arm their timer for it and running harts do not let a
//! time slice outlast it. Any hart's timer interrupt or scheduler pass wakes whoever is due.

use crate::arch::csr;
use crate::proc::{self, Channel, State};
use crate::sync::Mutex;
use abi::Errno;

/// The earliest `wake_at` of a sleeping process (`u64::MAX`: none).
static NEXT_WAKE: Mutex<u64> = Mutex::new(u64::MAX);

/// The earliest deadline of a sleeper.
pub fn next_wake() -> u64 {
    *NEXT_WAKE.lock()
}

/// Sleeps the running process for `ticks` of the `time` counter; `EINTR` if it is killed.
pub fn sleep_for(ticks: u64) -> Result<(), Errno> {
    let p = super::current();
    let deadline = csr::time().saturating_add(ticks);
    let mut table = proc::table().lock();
    p.status.lock().wake_at = deadline;
    {
        let mut next = NEXT_WAKE.lock();
        *next = (*next).min(deadline);
    }
    loop {
        if csr::time() >= deadline {
            return Ok(());
        }
        if p.killed().is_some() {
            return Err(Errno::EINTR);
        }
        table = super::sleep(Channel::Clock, table);
    }
}

/// Wakes every sleeper whose deadline has come, and notes the next deadline.
pub fn wake_sleepers() {
    let now = csr::time();
    if now < next_wake() {
        return;
    }
    let table = proc::table().lock();
    let mut next = u64::MAX;
    for p in table.iter() {
        let mut st = p.status.lock();
        if st.state == State::Sleeping(Channel::Clock) {
            if st.wake_at <= now {
                st.state = State::Runnable;
                drop(st);
                super::make_runnable(p);
            } else {
                next = next.min(st.wake_at);
            }
        }
    }
    *NEXT_WAKE.lock() = next;
}
