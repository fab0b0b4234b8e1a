//! Process records, kernel stacks and address spaces come from kalloc and go back to it: the
//! parts of a process's life that user programs cannot count themselves.

use super::{Outcome, check};
use crate::mem::{self, FRAMES, UserSpace};
use crate::proc::{self, Name, ProcRef, ProcTable, lifecycle};
use crate::sync::Mutex;
use abi::Errno;
use rvmm::space::user::Limits;

/// Fills the process table to its cap (each process with a record, a kernel stack and an
/// address space), sees the next one refused with `EAGAIN`, discards them all, and finds every
/// frame back; twice, so slots and stacks are reused.
pub fn records_stacks_and_spaces_return() -> Outcome {
    if proc::TABLE.get().is_none() {
        let table = ProcTable::new(mem::stacks::slots()).map_err(|_| ())?;
        let _ = proc::TABLE.set(Mutex::new(table));
    }
    let frames = FRAMES.get().ok_or(())?;
    let cap = proc::table().lock().cap();
    let baseline = frames.stats().free;
    for round in 0..2 {
        let mut made = 0;
        let refused = loop {
            match lifecycle::create(0, Name::new(b"ktest")) {
                Ok(p) => {
                    let space = UserSpace::new(
                        mem::phys(),
                        mem::trampoline(),
                        Limits::default(),
                        &mut mem::frames(),
                    );
                    let space = space.map_err(|e| crate::println!("    space: {e}"))?;
                    p.install(space);
                    made += 1;
                }
                Err(e) => break e,
            }
        };
        check!(
            refused == Errno::EAGAIN && made == cap,
            "round {round}: {made} of {cap} processes made, then {refused:?}"
        );
        let all: [Option<ProcRef>; proc::table::MAX_PROCS] = {
            let table = proc::table().lock();
            let mut all = [None; proc::table::MAX_PROCS];
            for (slot, p) in all.iter_mut().zip(table.iter()) {
                *slot = Some(p);
            }
            all
        };
        for p in all.into_iter().flatten() {
            lifecycle::discard(p);
        }
        check!(
            proc::table().lock().iter().next().is_none(),
            "round {round}: the table is not empty"
        );
        let free = frames.stats().free;
        check!(
            free == baseline,
            "round {round}: {free} frames free after, {baseline} before"
        );
    }
    crate::println!(
        "    2 rounds of {cap} processes (record, kernel stack, address space) made and \
         discarded; {baseline} frames free as before"
    );
    Ok(())
}
