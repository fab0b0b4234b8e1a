//! Creating processes (the first one, `fork`), ending them (`exit`, `kill`) and reaping them
//! (`wait`).
//!
//! Creation is all-or-nothing: a record in the table (state `New`), its kernel stack, its
//! address space; any step that fails undoes the ones before and the caller gets `ENOMEM` (or
//! `EAGAIN` at the process cap). Ending is two steps: `exit` gives back the address space at
//! once and becomes a zombie; the parent's `wait` gives back the kernel stack and the record.

use super::program::{self, Image};
use super::table::Full;
use super::{Channel, INIT_PID, Name, Pid, Proc, ProcRef, State, table};
use crate::arch::trap_frame::reg;
use crate::mem::{self, kalloc, stacks};
use crate::sched;
use abi::{Errno, ExitStatus, KillCause};
use core::sync::atomic::Ordering;

/// A new process record (state `New`) with its kernel stack mapped; not runnable yet.
pub(crate) fn create(parent: Pid, name: Name) -> Result<ProcRef, Errno> {
    let p = table()
        .lock()
        .insert(|slot, pid| {
            let top = stacks::stack_top(slot).expect("every table slot has a kernel-stack slot");
            Proc::new(pid, slot, parent, name, top.as_usize())
        })
        .map_err(|full| match full {
            Full::Table => Errno::EAGAIN,
            Full::Memory => Errno::ENOMEM,
        })?;
    if stacks::map_stack(p.slot()).is_err() {
        table().lock().remove(p); // just created, never runnable
        return Err(Errno::ENOMEM);
    }
    Ok(p)
}

/// Undoes `create` (and an installed address space) for a process that never ran.
pub(crate) fn discard(p: ProcRef) {
    if let Some(space) = p.space.lock().take() {
        let mut frames = kalloc::for_space(&space);
        space.destroy(&mut frames);
    }
    release_stack(p);
    table().lock().remove(p); // ours, never runnable
}

/// Unmaps `p`'s kernel stack, which no hart runs on any more.
fn release_stack(p: ProcRef) {
    stacks::unmap_stack(p.slot()).expect("a live process's kernel stack is mapped");
    sched::stack_unmapped();
}

/// Makes a new process runnable.
fn start(p: ProcRef) {
    p.status.lock().state = State::Runnable;
    sched::make_runnable(p);
}

/// Starts the first process, `init`, running program `argv[0]` with `argv`.
pub fn spawn_init(argv: &[&[u8]]) -> Result<(), Errno> {
    let name = Name::new(argv.first().copied().unwrap_or(b"init"));
    let p = create(0, name)?;
    debug_assert_eq!(p.pid(), INIT_PID);
    match program::load(argv) {
        Ok(image) => {
            install(p, image);
            start(p);
            Ok(())
        }
        Err(e) => {
            discard(p);
            Err(e)
        }
    }
}

/// Installs a freshly loaded program as `p`'s address space and points its registers at the
/// program's entry; returns the space it replaces.
pub(super) fn install(p: ProcRef, image: Image) -> Option<mem::UserSpace> {
    let old = p.install(image.space);
    p.with_trap_frame(|tf| {
        tf.regs = [0; 32];
        tf.epc = image.entry;
        tf.regs[reg::SP] = image.args.sp.as_usize();
        tf.regs[reg::A0] = image.args.argc;
        tf.regs[reg::A1] = image.args.argv.as_usize();
    });
    old
}

/// `fork`: a copy of `parent` that returns 0 from the same syscall.
pub fn fork(parent: ProcRef) -> Result<Pid, Errno> {
    let child = create(parent.pid(), parent.name())?;
    let copy = {
        let space = parent.space.lock();
        let space = space
            .as_ref()
            .expect("a running process has an address space");
        space.fork(&mut kalloc::for_space(space))
    };
    match copy {
        Ok(space) => {
            child.install(space);
        }
        Err(_) => {
            discard(child);
            return Err(Errno::ENOMEM);
        }
    }
    // The trap frame came along with the copy; only the result differs.
    child.with_trap_frame(|tf| {
        tf.regs[reg::A0] = 0;
        tf.regs[reg::A1] = 0;
    });
    start(child);
    Ok(child.pid())
}

/// Ends `p` with `status`: its address space goes back at once, its children go to `init`,
/// and it stays a zombie until its parent reaps it. Never returns.
pub fn exit(p: ProcRef, status: ExitStatus) -> ! {
    if p.pid() == INIT_PID {
        panic!("init ended ({status:?}): nothing is left to reap orphans");
    }
    if let Some(space) = p.space.lock().take() {
        let mut frames = kalloc::for_space(&space);
        space.destroy(&mut frames);
    }
    let table = table().lock();
    let mut zombie_orphans = false;
    for q in table.iter() {
        let mut st = q.status.lock();
        if st.parent == p.pid() {
            st.parent = INIT_PID;
            zombie_orphans |= matches!(st.state, State::Zombie(_));
        }
    }
    let parent = {
        let mut st = p.status.lock();
        st.state = State::Zombie(status);
        st.parent
    };
    if zombie_orphans {
        sched::wake_up(&table, Channel::ChildOf(INIT_PID));
    }
    sched::wake_up(&table, Channel::ChildOf(parent));
    drop(table);
    sched::leave()
}

/// `wait`: reaps a zombie child of `p` (sleeping until one ends, unless `block` is
/// `Block::No`) and returns its pid and status; `None` when nothing ended and `p` must not
/// block. `ECHILD` without children; `EINTR` when `p` is killed while it waits.
pub fn wait(p: ProcRef, block: Block) -> Result<Option<(Pid, ExitStatus)>, Errno> {
    let mut table = table().lock();
    loop {
        let mut has_children = false;
        let mut ended = None;
        for q in table.iter() {
            let st = q.status.lock();
            if st.parent == p.pid() && st.state != State::New {
                has_children = true;
                if let State::Zombie(status) = st.state {
                    ended = Some((q, status));
                    break;
                }
            }
        }
        if let Some((q, status)) = ended {
            let pid = q.pid();
            while q.on_cpu.load(Ordering::Acquire) {
                core::hint::spin_loop(); // its hart is still switching away from it
            }
            release_stack(q);
            table.remove(q); // a zombie no hart runs: in no run queue, no hart's `current`
            return Ok(Some((pid, status)));
        }
        if !has_children {
            return Err(Errno::ECHILD);
        }
        if block == Block::No {
            return Ok(None);
        }
        if p.killed().is_some() {
            return Err(Errno::EINTR);
        }
        table = sched::sleep(Channel::ChildOf(p.pid()), table);
    }
}

/// Whether `wait` may sleep until a child ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// Sleep until a child ends.
    Yes,
    /// Return at once.
    No,
}

/// `kill`: marks process `pid` to end the next time it would run user code, waking it if it
/// sleeps. `init` cannot be killed (`EPERM`); a pid that is no live process is `ESRCH`.
pub fn kill(pid: Pid) -> Result<(), Errno> {
    if pid == INIT_PID {
        return Err(Errno::EPERM);
    }
    let table = table().lock();
    let q = table.find(pid).ok_or(Errno::ESRCH)?;
    let mut st = q.status.lock();
    if matches!(st.state, State::Zombie(_)) {
        return Err(Errno::ESRCH);
    }
    q.kill_with(&mut st, KillCause::Killed);
    if matches!(st.state, State::Sleeping(_)) {
        st.state = State::Runnable;
        drop(st);
        sched::make_runnable(q);
    }
    Ok(())
}
