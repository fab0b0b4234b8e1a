//! Every hart runs on the same `satp` and hammers kalloc/kfree on the shared allocator, each
//! frame stamped with its hart id while held and verified before it is freed.

use super::{Outcome, check};
use crate::arch::{self, MAX_HARTS, csr::read_csr};
use crate::mem::FRAMES;
use crate::sync::IrqSpin;
use core::sync::atomic::{AtomicUsize, Ordering};
use rvmm::addr::PAGE_SIZE;
use rvmm::frame::OwnedFrame;
use rvmm::phys::Identity;

/// kalloc + kfree operations per hart (half of each).
pub const OPS_PER_HART: usize = 100_000;

/// Frames a hart holds at once, so frames stay allocated while other harts allocate.
const WINDOW: usize = 16;

/// Every how many words of a frame gets the stamp.
const STRIDE: usize = 8;

/// Bumped by the boot hart to start a round on every hart.
static GO: AtomicUsize = AtomicUsize::new(0);
/// Harts that finished the current round.
static DONE: AtomicUsize = AtomicUsize::new(0);
/// Per hart: its satp, its operation count and the corruptions it saw.
static SATP: [AtomicUsize; MAX_HARTS] = [const { AtomicUsize::new(0) }; MAX_HARTS];
static OPS: [AtomicUsize; MAX_HARTS] = [const { AtomicUsize::new(0) }; MAX_HARTS];
static CORRUPT: [AtomicUsize; MAX_HARTS] = [const { AtomicUsize::new(0) }; MAX_HARTS];
static FAILED_ALLOCS: [AtomicUsize; MAX_HARTS] = [const { AtomicUsize::new(0) }; MAX_HARTS];

fn stamp(hart: usize, seq: usize) -> usize {
    hart << (usize::BITS - 8) | seq
}

/// Word offsets that get the stamp.
fn stamped_words() -> impl Iterator<Item = usize> {
    (0..PAGE_SIZE).step_by(STRIDE * size_of::<usize>())
}

/// One hart's share: records its satp, then allocates, stamps, verifies and frees (each frame
/// through the token that owns it, whose drop frees it).
fn hammer(hart: usize) {
    SATP[hart].store(read_csr!("satp"), Ordering::Relaxed);
    let Some(frames) = FRAMES.get() else { return };
    let mut held: [Option<(OwnedFrame<'_, Identity, IrqSpin>, usize)>; WINDOW] =
        [const { None }; WINDOW];
    let (mut ops, mut corrupt, mut failed) = (0, 0, 0);
    for seq in 0..OPS_PER_HART / 2 {
        let slot = &mut held[seq % WINDOW];
        if let Some((mut frame, stamped)) = slot.take() {
            let bytes = frame.bytes();
            for at in stamped_words() {
                if bytes.read_word(at) != Ok(stamp(hart, stamped)) {
                    corrupt += 1;
                }
            }
            drop(frame); // back to kalloc; a refused free panics
            ops += 1;
        }
        match frames.allocate_owned() {
            Ok(mut frame) => {
                let mut bytes = frame.bytes();
                for at in stamped_words() {
                    if bytes.write_word(at, stamp(hart, seq)).is_err() {
                        corrupt += 1;
                    }
                }
                *slot = Some((frame, seq));
            }
            Err(_) => failed += 1,
        }
        ops += 1;
    }
    ops += held.iter().flatten().count();
    drop(held);
    OPS[hart].store(ops, Ordering::Relaxed);
    CORRUPT[hart].store(corrupt, Ordering::Relaxed);
    FAILED_ALLOCS[hart].store(failed, Ordering::Relaxed);
}

/// What another hart can be asked to do ([`run_on`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Remote {
    /// Read the recycled kernel-stack slot through its address, as it is cached.
    ReadSlot = 1,
    /// Do what a hart does before it runs a process, then read the slot.
    FlushAndReadSlot = 2,
}

impl Remote {
    fn from_raw(raw: usize) -> Option<Self> {
        match raw {
            1 => Some(Remote::ReadSlot),
            2 => Some(Remote::FlushAndReadSlot),
            _ => None,
        }
    }

    fn run(self) {
        match self {
            Remote::ReadSlot => super::stacks::read_slot_remotely(false),
            Remote::FlushAndReadSlot => super::stacks::read_slot_remotely(true),
        }
    }
}

/// Work for one hart: a [`Remote`] number, 0 when there is none.
static WORK: [AtomicUsize; MAX_HARTS] = [const { AtomicUsize::new(0) }; MAX_HARTS];

/// The other harts in test mode: run a kalloc round whenever the boot hart starts one, and
/// whatever [`run_on`] hands them.
pub fn serve(hart: usize) -> ! {
    let mut seen = 0;
    loop {
        let go = GO.load(Ordering::Acquire);
        if go != seen {
            seen = go;
            hammer(hart);
            DONE.fetch_add(1, Ordering::AcqRel);
        }
        if let Some(work) = Remote::from_raw(WORK[hart].load(Ordering::Acquire)) {
            work.run();
            WORK[hart].store(0, Ordering::Release);
        }
        arch::nap(100);
    }
}

/// Runs `work` on `hart` (which serves tests) and waits until it is done; false if the hart
/// does not exist or took more than ten seconds of guest time.
pub fn run_on(hart: usize, work: Remote) -> bool {
    if hart >= MAX_HARTS || hart == arch::hart_id() {
        return false;
    }
    WORK[hart].store(work as usize, Ordering::Release);
    let deadline = crate::arch::csr::time() + 10 * crate::info().timebase_hz.max(1);
    while WORK[hart].load(Ordering::Acquire) != 0 {
        if crate::arch::csr::time() > deadline {
            return false;
        }
        arch::nap(1000);
    }
    true
}

/// A hart other than this one that serves tests, if the machine has one.
pub fn other_hart() -> Option<usize> {
    let me = arch::hart_id();
    crate::info()
        .harts
        .as_slice()
        .iter()
        .copied()
        .find(|&h| h != me && h < MAX_HARTS)
}

/// Starts a round on every hart, takes part, waits for all, checks the results.
pub fn all_harts_share_satp_and_kalloc() -> Outcome {
    let me = arch::hart_id();
    let info = crate::info();
    let harts: usize = info
        .harts
        .as_slice()
        .iter()
        .filter(|&&h| h < MAX_HARTS)
        .count();
    let frames = FRAMES.get().ok_or(())?;
    let baseline = frames.stats().free;
    DONE.store(0, Ordering::Release);
    GO.fetch_add(1, Ordering::AcqRel);
    hammer(me);
    // Bounded: every other hart must finish within a minute of guest time.
    let deadline = crate::arch::csr::time() + 60 * info.timebase_hz.max(1);
    while DONE.load(Ordering::Acquire) < harts - 1 && crate::arch::csr::time() < deadline {
        arch::nap(1000);
    }
    let done = DONE.load(Ordering::Acquire) + 1;
    check!(done == harts, "{done} of {harts} harts finished");
    let my_satp = SATP[me].load(Ordering::Relaxed);
    for &h in info.harts.as_slice().iter().filter(|&&h| h < MAX_HARTS) {
        let (satp, ops) = (
            SATP[h].load(Ordering::Relaxed),
            OPS[h].load(Ordering::Relaxed),
        );
        let (corrupt, failed) = (
            CORRUPT[h].load(Ordering::Relaxed),
            FAILED_ALLOCS[h].load(Ordering::Relaxed),
        );
        check!(
            satp == my_satp,
            "hart {h} runs on satp {satp:#x}, hart {me} on {my_satp:#x}"
        );
        check!(ops >= OPS_PER_HART, "hart {h} did {ops} operations");
        check!(corrupt == 0, "hart {h} saw {corrupt} corrupted stamps");
        check!(failed == 0, "hart {h}: {failed} allocations failed");
    }
    let free = frames.stats().free;
    check!(
        free == baseline,
        "{free} frames free after, {baseline} before"
    );
    crate::println!(
        "    {harts} harts on satp {my_satp:#x}, {} kalloc/kfree each, 0 corruptions, {free} frames free as before",
        OPS[me].load(Ordering::Relaxed)
    );
    Ok(())
}
