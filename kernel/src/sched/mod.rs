//! Scheduling on every hart: one shared run queue, a scheduler loop per hart, preemption by the
//! Sstc timer, sleep and wake-up.
//!
//! Each hart runs [`run`] on its boot stack: it takes the next runnable process from the queue,
//! switches to it, and gets the hart back when the process yields, sleeps or exits. A process
//! goes back on the queue *before* it switches away (when it yields or is woken), so another
//! hart may take it while its registers are still being saved: that hart waits until the
//! process's `on_cpu` is false, which the first hart stores right after the switch. No lock is
//! held across a switch.
//!
//! A hart with nothing to run waits in `wfi`; a hart that makes work runnable wakes one waiting
//! hart with a software interrupt, so a process that becomes runnable starts at once instead
//! of at the next timer tick.
//!
//! Kernel stacks are unmapped and mapped again at run time (a slot gets a new process, with new
//! frames), and another hart's TLB may still hold the old translation of a slot. Instead of
//! interrupting every hart on each unmap, unmaps bump [`STACK_EPOCH`], and a hart flushes its
//! TLB before it runs any process when the epoch moved since its last flush.
//!
//! Its `unsafe` is the two context switches (into a process and back to the hart's scheduler):
//! which contexts are valid to resume is the scheduler's knowledge, so the argument lives here.

mod clock;
mod hart;
mod queue;

pub use clock::{sleep_for, wake_sleepers};

use hart::HARTS;
pub use hart::current;
use queue::RunQueue;

use crate::arch::{self, context, ipi};
use crate::proc::{Channel, ProcRef, State};
use crate::sync::{Mutex, MutexGuard};
use core::sync::atomic::{AtomicUsize, Ordering};
use rvmm::tlb::{Sfence, Tlb};

/// The run queue, once boot made it.
static QUEUE: crate::sync::Once<Mutex<RunQueue>> = crate::sync::Once::new();

/// Harts waiting in `wfi` for work, one bit each.
static IDLE: AtomicUsize = AtomicUsize::new(0);

/// Bumped after every kernel-stack unmap; see the module documentation.
pub static STACK_EPOCH: AtomicUsize = AtomicUsize::new(0);

/// Time slice in `time` ticks (10 ms at QEMU virt's 10 MHz unless `tick=MS` says otherwise).
static SLICE_TICKS: AtomicUsize = AtomicUsize::new(100_000);

/// Makes the run queue for `cap` processes and sets the time slice.
pub fn init(cap: usize, slice_ticks: u64) -> Result<(), rvmm::frame::OutOfMemory> {
    let queue = RunQueue::new(cap)?;
    let _ = QUEUE.set(Mutex::new(queue));
    SLICE_TICKS.store(
        slice_ticks.clamp(1, usize::MAX as u64) as usize,
        Ordering::Relaxed,
    );
    Ok(())
}

fn queue() -> &'static Mutex<RunQueue> {
    QUEUE.get().expect("the run queue is made at boot")
}

/// Puts `p` (whose state its caller just set to `Runnable`) on the run queue and wakes a hart
/// that waits for work, if any.
pub fn make_runnable(p: ProcRef) {
    queue().lock().push(p);
    let idle = IDLE.load(Ordering::SeqCst);
    if idle != 0 {
        let hart = idle.trailing_zeros() as usize;
        IDLE.fetch_and(!(1 << hart), Ordering::SeqCst);
        ipi::send(hart);
    }
}

/// The scheduler loop of this hart; never returns.
pub fn run() -> ! {
    ipi::enable_wakeups();
    arch::enable_timer();
    loop {
        if ipi::external_pending() {
            crate::trap::device::interrupt();
        }
        wake_sleepers();
        let next = queue().lock().pop();
        match next {
            Some(p) => switch_to(p),
            None => wait_for_work(),
        }
    }
}

/// Runs `p` on this hart until it gives the hart back.
fn switch_to(p: ProcRef) {
    while p.on_cpu.load(Ordering::Acquire) {
        core::hint::spin_loop(); // its last hart is still saving its registers
    }
    p.on_cpu.store(true, Ordering::Relaxed);
    forget_recycled_stacks();
    let hart = HARTS.this();
    {
        let mut status = p.status.lock();
        status.state = State::Running;
        status.hart = arch::hart_id();
    }
    hart.current.set(Some(p));
    let slice = SLICE_TICKS.load(Ordering::Relaxed) as u64;
    let end = arch::csr::time().saturating_add(slice);
    arch::set_timer(end.min(clock::next_wake()));
    // SAFETY: `p` came off the queue, so no other hart runs it, and its last hart finished
    // saving its context (`on_cpu` was false); its kernel stack is mapped (from creation until
    // reaping). The scheduler context is this hart's own and stays valid (a static).
    unsafe { context::switch(hart.scheduler.as_ptr(), p.context()) };
    arch::stop_timer();
    let hart = HARTS.this();
    hart.current.set(None);
    p.on_cpu.store(false, Ordering::Release);
}

/// Waits in `wfi` until some hart makes work runnable (or anything else wakes this one).
fn wait_for_work() {
    let me = 1 << arch::hart_id();
    IDLE.fetch_or(me, Ordering::SeqCst);
    // Cleared before the look, so a wake-up sent after it is not lost: it sets the bit again
    // and `wfi` returns at once.
    ipi::clear_pending();
    if queue().lock().is_empty() {
        // A sleeper's deadline wakes this hart too (u64::MAX: none, the timer stays off).
        arch::set_timer(clock::next_wake());
        arch::wait_for_interrupt();
        arch::stop_timer();
    }
    IDLE.fetch_and(!me, Ordering::SeqCst);
}

/// Gives the hart back to its scheduler. The caller has set the running process's state to
/// what it should be while it does not run (`Runnable` and queued, `Sleeping`, `Zombie`).
fn give_back(p: ProcRef) {
    let scheduler = HARTS.this().scheduler.as_ptr();
    // SAFETY: `p` runs on this hart, so its context is ours to save; the scheduler context of
    // this hart was saved by `switch_to` when it switched to `p` and is resumed only here.
    unsafe { context::switch(p.context(), scheduler) };
}

/// Lets other runnable processes have the hart; the caller goes to the back of the queue.
pub fn yield_now() {
    let p = current();
    p.status.lock().state = State::Runnable;
    make_runnable(p);
    give_back(p);
}

/// Sleeps on `channel`, releasing `guard` (the lock that protects the condition being waited
/// for) only once the process is marked sleeping, so a wake-up cannot be missed; takes the
/// lock again before returning.
///
/// A process already killed does not sleep: `kill` wakes only a process it finds sleeping, and
/// `guard` need not be a lock `kill` takes (console input's is not), so a kill that lands
/// between the caller's look at the kill flag and this call would otherwise be missed until
/// the channel's next event. Callers loop and look at the flag again.
pub fn sleep<'a, T>(channel: Channel, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    let p = current();
    let lock = MutexGuard::mutex(&guard);
    {
        let mut status = p.status.lock();
        if status.killed.is_some() {
            return guard;
        }
        status.state = State::Sleeping(channel);
    }
    drop(guard);
    give_back(p);
    lock.lock()
}

/// Ends the running process's time on a hart for good: the caller made it a zombie.
pub fn leave() -> ! {
    give_back(current());
    unreachable!("a zombie was resumed");
}

/// Wakes every process sleeping on `channel`; the caller holds the process table's lock.
pub fn wake_up(table: &crate::proc::ProcTable, channel: Channel) {
    for p in table.iter() {
        let mut status = p.status.lock();
        if status.state == State::Sleeping(channel) {
            status.state = State::Runnable;
            drop(status);
            make_runnable(p);
        }
    }
}

/// Records that a kernel stack was unmapped (see the module documentation).
pub fn stack_unmapped() {
    STACK_EPOCH.fetch_add(1, Ordering::Release);
}

/// Drops this hart's cached translations if any kernel stack was unmapped since it last did:
/// what a hart does before it runs a process, whose kernel stack may sit in a recycled slot.
pub fn forget_recycled_stacks() {
    let hart = HARTS.this();
    let epoch = STACK_EPOCH.load(Ordering::Acquire);
    if hart.stack_epoch.get() != epoch {
        Sfence.flush_all();
        hart.stack_epoch.set(epoch);
    }
}
