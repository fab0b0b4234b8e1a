//! The run queue: runnable processes in the order they became runnable.

use crate::mem::typed::FrameBox;
use crate::proc::ProcRef;
use crate::proc::table::{MAX_PROCS, Slots};
use rvmm::frame::OutOfMemory;

/// A ring of at most `cap` processes; a process is on it at most once (it is pushed only when
/// it becomes runnable, and popped before it runs), so it never overflows.
pub struct RunQueue {
    ring: FrameBox<Slots>,
    cap: usize,
    head: usize,
    len: usize,
}

impl RunQueue {
    /// An empty queue for `cap` processes.
    pub fn new(cap: usize) -> Result<Self, OutOfMemory> {
        Ok(RunQueue {
            ring: FrameBox::new_zeroed()?,
            cap: cap.clamp(1, MAX_PROCS),
            head: 0,
            len: 0,
        })
    }

    /// Appends `p`.
    pub fn push(&mut self, p: ProcRef) {
        assert!(
            self.len < self.cap,
            "run queue overflow: a process was queued twice"
        );
        self.ring.0[(self.head + self.len) % self.cap] = Some(p);
        self.len += 1;
    }

    /// The process that waited longest.
    pub fn pop(&mut self) -> Option<ProcRef> {
        if self.len == 0 {
            return None;
        }
        let p = self.ring.0[self.head].take();
        self.head = (self.head + 1) % self.cap;
        self.len -= 1;
        p
    }

    /// Whether no process waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
