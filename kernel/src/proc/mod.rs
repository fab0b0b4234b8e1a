//! Processes: a record per process, the table that holds them, and their life: creation
//! (`fork`, the first process), `exec`, `exit`, `wait` and `kill`.
//!
//! Each process has a pid, a parent, a state, a name, its own address space
//! (`rvmm::space::user::UserSpace`: its page table, program, `sbrk` heap and stack), a kernel
//! stack in the slot of the kernel map that matches its table slot, and an exit status once
//! it has ended. The record, the kernel stack, the trap frame and every page and table frame
//! of the address space come from kalloc and go back to it when the parent reaps the process.
//!
//! Its one `unsafe` block reaches a process's trap frame through the identity map
//! ([`TrapFrame::at`](crate::arch::trap_frame::TrapFrame::at)): the trampoline reads and writes
//! that frame as a struct, so the kernel must too; `with_trap_frame` states who may call it.

pub(crate) mod lifecycle;
mod program;
pub mod table;

pub use lifecycle::{Block, exit, fork, kill, spawn_init, wait};
pub use program::exec;
pub use table::{ProcRef, ProcTable};

use crate::arch::context::{Context, ContextCell};
use crate::arch::trap_frame::TrapFrame;
use crate::mem::UserSpace;
use crate::sync::{Mutex, Once};
use abi::{ExitStatus, KillCause};
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A process id. Ids are not reused.
pub type Pid = usize;

/// The first process's id; orphans become its children.
pub const INIT_PID: Pid = 1;

/// The table, once the boot hart made it.
pub static TABLE: Once<Mutex<ProcTable>> = Once::new();

/// The process table (made at boot, before any process exists).
pub fn table() -> &'static Mutex<ProcTable> {
    TABLE.get().expect("the process table is made at boot")
}

/// What a sleeping process waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// A child of process `pid` to end (`wait`).
    ChildOf(Pid),
    /// Console input.
    Console,
    /// The `time` counter to reach the process's `wake_at`.
    Clock,
}

/// Where a process is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Being created: not runnable yet.
    New,
    /// Waiting in the run queue.
    Runnable,
    /// Running on a hart.
    Running,
    /// Waiting for an event.
    Sleeping(Channel),
    /// Ended; waiting for its parent to reap it.
    Zombie(ExitStatus),
}

/// A process's name: the last path component of its program, at most 15 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Name {
    bytes: [u8; 15],
    len: u8,
}

impl Name {
    /// The name of program `program` (cut to 15 bytes).
    pub fn new(program: &[u8]) -> Self {
        let base = program.rsplit(|&b| b == b'/').next().unwrap_or(program);
        let len = base.len().min(15);
        let mut bytes = [0; 15];
        bytes[..len].copy_from_slice(&base[..len]);
        Name {
            bytes,
            len: len as u8,
        }
    }

    /// The name as text (`?` for bytes that are not UTF-8).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("?")
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// What may change about a process, under one lock.
#[derive(Debug)]
pub struct Status {
    /// Where it is in its life.
    pub state: State,
    /// Its parent's pid (init's for orphans; 0 for init itself).
    pub parent: Pid,
    /// Set when the process must end the next time it would run user code.
    pub killed: Option<KillCause>,
    /// Its program's name.
    pub name: Name,
    /// The hart it runs or last ran on.
    pub hart: usize,
    /// When a process sleeping on [`Channel::Clock`] is due, in `time` ticks.
    pub wake_at: u64,
}

/// One process.
pub struct Proc {
    pid: Pid,
    slot: usize,
    kernel_stack_top: usize,
    /// True from the moment a hart switches to the process until that hart has switched away
    /// and saved its registers: another hart may resume it only after that.
    pub on_cpu: AtomicBool,
    context: ContextCell,
    /// State, parent, kill flag, name.
    pub status: Mutex<Status>,
    /// Set (after `status.killed`) once the process is killed, never cleared: the check on
    /// every return to user mode reads it without taking the status lock.
    killed_hint: AtomicBool,
    /// The address space; `None` once the process has ended.
    pub space: Mutex<Option<UserSpace>>,
    /// `satp` of the address space, for the return to user mode.
    satp: AtomicUsize,
    /// Physical address of the trap frame of the address space.
    trap_frame: AtomicUsize,
}

impl Proc {
    /// A record for a process being created in table slot `slot`.
    fn new(pid: Pid, slot: usize, parent: Pid, name: Name, kernel_stack_top: usize) -> Self {
        Proc {
            pid,
            slot,
            kernel_stack_top,
            on_cpu: AtomicBool::new(false),
            context: ContextCell::new(Context::starting(
                crate::trap::user::process_start,
                kernel_stack_top,
            )),
            status: Mutex::new(Status {
                state: State::New,
                parent,
                killed: None,
                name,
                hart: 0,
                wake_at: 0,
            }),
            killed_hint: AtomicBool::new(false),
            space: Mutex::new(None),
            satp: AtomicUsize::new(0),
            trap_frame: AtomicUsize::new(0),
        }
    }

    /// The process id.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The table slot, which is also the kernel-stack slot.
    pub fn slot(&self) -> usize {
        self.slot
    }

    /// The first address above the kernel stack.
    pub fn kernel_stack_top(&self) -> usize {
        self.kernel_stack_top
    }

    /// Where the process's kernel registers are saved while it is not running.
    pub fn context(&self) -> *mut Context {
        self.context.as_ptr()
    }

    /// The `satp` of its address space.
    pub fn satp(&self) -> usize {
        self.satp.load(Ordering::Relaxed)
    }

    /// Its name.
    pub fn name(&self) -> Name {
        self.status.lock().name
    }

    /// Why it must end, if it was killed. A kill on another hart that is under way may not
    /// be seen yet; what must not miss one (going to sleep) reads `status.killed` under the
    /// lock instead.
    pub fn killed(&self) -> Option<KillCause> {
        if !self.killed_hint.load(Ordering::Acquire) {
            return None;
        }
        self.status.lock().killed
    }

    /// Marks the process killed for `cause` (the first cause stays); the caller holds its
    /// status lock, as `status`.
    pub fn kill_with(&self, status: &mut Status, cause: KillCause) {
        status.killed.get_or_insert(cause);
        self.killed_hint.store(true, Ordering::Release);
    }

    /// Installs `space` as the address space (a new process, or `exec`) and returns the one it
    /// replaces.
    pub fn install(&self, space: UserSpace) -> Option<UserSpace> {
        let satp = space.satp(0).expect("ASID 0 fits every mode");
        let trap_frame = space.trap_frame().frame().start().as_u64() as usize;
        let old = self.space.lock().replace(space);
        self.satp.store(satp as usize, Ordering::Relaxed);
        self.trap_frame.store(trap_frame, Ordering::Relaxed);
        old
    }

    /// Runs `f` on the trap frame.
    ///
    /// Only the process itself (running in the kernel) or its creator (before the process is
    /// runnable) may call this: they are the only code that touches the trap frame while the
    /// trampoline does not, which is what makes the `&mut` exclusive. Do not call `exec`, which
    /// replaces the trap frame, inside `f`.
    pub fn with_trap_frame<R>(&self, f: impl FnOnce(&mut TrapFrame) -> R) -> R {
        let pa = self.trap_frame.load(Ordering::Relaxed);
        assert_ne!(pa, 0, "pid {} has no address space", self.pid);
        // SAFETY: `pa` is the trap frame of the installed space, a frame that space owns and
        // keeps until it is replaced or destroyed, which only this process (exec, exit) or its
        // parent (reaping a zombie) does; by this function's rule the caller is the only one
        // touching it now.
        f(unsafe { TrapFrame::at(pa) })
    }
}

impl fmt::Debug for Proc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proc")
            .field("pid", &self.pid)
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}
