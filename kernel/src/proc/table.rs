//! The process table: every process's record, from creation until its parent reaps it.
//!
//! Records live in frames of their own ([`FrameBox`]); the table holds them as [`ProcRef`]s,
//! plain pointers that the rest of the kernel copies freely. Why a copied `ProcRef` never
//! dangles is this module's protocol, and the reason for its `unsafe` (the only `unsafe` of the
//! process layer): a record is freed only by [`ProcTable::remove`], which is called with the
//! table lock held, and checks that the process is either its creator's, before it ever became
//! runnable, or a zombie that no hart runs any more (`on_cpu` is false). Every other `ProcRef`
//! is used only
//! - by the process itself while it runs (so it is no zombie yet),
//! - from the run queue or a hart's `current` (runnable or running: not a zombie),
//! - or while the table lock is held (so no removal can happen meanwhile).

use super::{Pid, Proc, State};
use crate::mem::typed::FrameBox;
use core::ops::Deref;
use core::ptr::NonNull;
use rvmm::frame::OutOfMemory;

/// Most processes the table can hold; the `procs=N` boot argument sets a lower cap.
pub const MAX_PROCS: usize = 512;
/// Processes unless `procs=N` says otherwise.
pub const DEFAULT_PROCS: usize = 64;

/// A process record, by reference (see the module's protocol).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub struct ProcRef(NonNull<Proc>);

/// A slot array: every slot empty when all its bytes are zero.
#[repr(transparent)]
pub struct Slots(pub [Option<ProcRef>; MAX_PROCS]);

// SAFETY: `Option<ProcRef>` is `Option<NonNull<Proc>>` (`repr(transparent)`), and `None` of a
// non-null pointer is all zero bits.
unsafe impl crate::mem::typed::ZeroIsValid for Slots {}

// SAFETY: a `Proc` is `Sync` (all its mutable state is behind locks or atomics); a ProcRef is
// a shared reference to one, valid on any hart under the module's protocol.
unsafe impl Send for ProcRef {}
// SAFETY: as above.
unsafe impl Sync for ProcRef {}

impl Deref for ProcRef {
    type Target = Proc;
    fn deref(&self) -> &Proc {
        // SAFETY: the module's protocol: the record is in the table, and removal cannot happen
        // while this reference is in use.
        unsafe { self.0.as_ref() }
    }
}

/// Why [`ProcTable::insert`] found no room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Full {
    /// Every slot up to the cap is taken.
    Table,
    /// No frame is left for the record.
    Memory,
}

/// The table: up to `cap` records in slots indexed like the kernel-stack slots.
pub struct ProcTable {
    slots: FrameBox<Slots>,
    cap: usize,
    next_pid: Pid,
}

impl ProcTable {
    /// An empty table for at most `cap` processes (clamped to 1..=[`MAX_PROCS`]).
    pub fn new(cap: usize) -> Result<Self, OutOfMemory> {
        Ok(ProcTable {
            slots: FrameBox::new_zeroed()?,
            cap: cap.clamp(1, MAX_PROCS),
            next_pid: 1,
        })
    }

    /// How many processes the table takes.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Stores a new record made by `make(slot, pid)` in a free slot.
    pub fn insert(&mut self, make: impl FnOnce(usize, Pid) -> Proc) -> Result<ProcRef, Full> {
        let slot = self.slots.0[..self.cap]
            .iter()
            .position(Option::is_none)
            .ok_or(Full::Table)?;
        let pid = self.next_pid;
        let record = FrameBox::new(make(slot, pid)).map_err(|_| Full::Memory)?;
        self.next_pid += 1;
        let p = ProcRef(record.into_raw());
        self.slots.0[slot] = Some(p);
        Ok(p)
    }

    /// Removes `p` and frees its record. `p` must be a record its creator discards before it
    /// ever became runnable (`New`), or a zombie no hart runs any more (`on_cpu` false): then,
    /// by the module's protocol, no other `ProcRef` to it is in use, and none will be (the
    /// table lock, held through `&mut self`, keeps lookups out). Anything else is a kernel bug
    /// and panics.
    pub fn remove(&mut self, p: ProcRef) {
        let slot = p.slot();
        assert_eq!(
            self.slots.0[slot],
            Some(p),
            "pid {} is not in its slot",
            p.pid()
        );
        let state = p.status.lock().state;
        let off_cpu = !p.on_cpu.load(core::sync::atomic::Ordering::Acquire);
        assert!(
            matches!(state, State::New) || matches!(state, State::Zombie(_)) && off_cpu,
            "pid {} removed while {state:?} (on a hart: {})",
            p.pid(),
            !off_cpu
        );
        self.slots.0[slot] = None;
        // SAFETY: `p` came from `into_raw` in `insert` and leaves the table only here, once;
        // the checks above and the module's protocol say nothing uses it afterwards.
        drop(unsafe { FrameBox::from_raw(p.0) });
    }

    /// Every process, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = ProcRef> + '_ {
        self.slots.0[..self.cap].iter().flatten().copied()
    }

    /// The process with id `pid`.
    pub fn find(&self, pid: Pid) -> Option<ProcRef> {
        self.iter().find(|p| p.pid() == pid)
    }
}
