//! Kernel threads' saved registers and the switch between them (`switch.S`).
//!
//! `unsafe`: the switch is assembly that resumes whatever the saved registers say, and a
//! context's cell is shared between harts under the scheduler's hand-over (`on_cpu`).

/// The callee-saved registers of a kernel thread that is not running: where `switch_context`
/// resumes it. A new process starts at `ra` on the stack `sp`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct Context {
    /// Return address: where the thread resumes.
    pub ra: usize,
    /// Stack pointer.
    pub sp: usize,
    /// `s0`..`s11`.
    pub s: [usize; 12],
}

impl Context {
    /// A context that starts `entry` on a fresh stack whose top is `stack_top`.
    pub fn starting(entry: extern "C" fn() -> !, stack_top: usize) -> Context {
        Context {
            ra: entry as *const () as usize,
            sp: stack_top,
            s: [0; 12],
        }
    }
}

/// A [`Context`] shared between harts: a process's is written by the hart that switches away
/// from it and read by the hart that switches to it next.
#[derive(Debug, Default)]
pub struct ContextCell(core::cell::UnsafeCell<Context>);

// SAFETY: the context is only reached through `as_ptr` by `switch`, whose callers guarantee that
// one hart at a time uses it (the scheduler's `on_cpu` hand-over).
unsafe impl Sync for ContextCell {}

impl ContextCell {
    /// A cell holding `context`.
    pub const fn new(context: Context) -> Self {
        ContextCell(core::cell::UnsafeCell::new(context))
    }

    /// The context, for [`switch`].
    pub fn as_ptr(&self) -> *mut Context {
        self.0.get()
    }
}

unsafe extern "C" {
    fn switch_context(from: *mut Context, to: *const Context);
}

/// Saves the running thread's registers in `from` and resumes the thread saved in `to`;
/// returns when some hart switches back to `from`.
///
/// # Safety
/// `to` must hold a context saved by this function or made by [`Context::starting`] whose stack
/// is mapped, belongs to that thread alone, and is not in use on any hart; both pointers must
/// stay valid until the thread saved in `from` is resumed.
pub unsafe fn switch(from: *mut Context, to: *const Context) {
    // SAFETY: by the caller's contract; the assembly touches only the two contexts and the
    // callee-saved registers the calling convention lets it clobber across a call.
    unsafe { switch_context(from, to) }
}
