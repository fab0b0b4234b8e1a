//! Locks for a kernel with several harts: a spin lock that keeps interrupts off while held
//! (an interrupt handler on the same hart must never spin on a lock its hart holds), and a
//! cell written once at boot.

use crate::arch::{self, MAX_HARTS, csr};
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

/// Per hart: how many `IrqSpin` locks it holds, and whether interrupts were on before the
/// first. The counter is only touched by its own hart with interrupts off.
static DEPTH: [AtomicUsize; MAX_HARTS] = [const { AtomicUsize::new(0) }; MAX_HARTS];
static WERE_ON: [AtomicBool; MAX_HARTS] = [const { AtomicBool::new(false) }; MAX_HARTS];

/// Interrupts off, nesting: the first call remembers whether they were on.
#[inline]
fn push_off() {
    let were_on = csr::interrupts_off();
    let hart = arch::hart_id();
    if DEPTH[hart].fetch_add(1, Ordering::Relaxed) == 0 {
        WERE_ON[hart].store(were_on, Ordering::Relaxed);
    }
}

/// Undoes one `push_off`; interrupts come back on with the last one if they were on before.
#[inline]
fn pop_off() {
    let hart = arch::hart_id();
    if DEPTH[hart].fetch_sub(1, Ordering::Relaxed) == 1 && WERE_ON[hart].load(Ordering::Relaxed) {
        csr::interrupts_on();
    }
}

/// A spin lock that disables interrupts on its hart while held; the lock for `lock_api`.
pub struct IrqSpin {
    locked: AtomicBool,
}

// SAFETY: `lock` returns only once `locked` went from false to true with Acquire, and
// `unlock` stores false with Release, so one holder at a time and its writes are published.
unsafe impl lock_api::RawMutex for IrqSpin {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: IrqSpin = IrqSpin {
        locked: AtomicBool::new(false),
    };
    type GuardMarker = lock_api::GuardNoSend;

    // Inlined: a lock and an unlock run on every syscall and switch, and left to itself the
    // compiler moved them out of line when a call site went away (+53 instructions per
    // `yield` switch on rv32).
    #[inline]
    fn lock(&self) {
        push_off();
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            while self.locked.load(Ordering::Relaxed) {
                core::hint::spin_loop();
            }
        }
    }

    fn try_lock(&self) -> bool {
        push_off();
        let got = self
            .locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok();
        if !got {
            pop_off();
        }
        got
    }

    #[inline]
    unsafe fn unlock(&self) {
        self.locked.store(false, Ordering::Release);
        pop_off();
    }

    fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Relaxed)
    }
}

/// A mutex whose guard keeps interrupts off.
pub type Mutex<T> = lock_api::Mutex<IrqSpin, T>;

/// The guard of a [`Mutex`].
pub type MutexGuard<'a, T> = lock_api::MutexGuard<'a, IrqSpin, T>;

/// A value set once (by the boot hart) and read by every hart afterwards.
pub struct Once<T> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
}

const EMPTY: u8 = 0;
const WRITING: u8 = 1;
const READY: u8 = 2;

// SAFETY: the value is written once before READY is published (Release) and only read after
// READY is seen (Acquire); T must be Sync to be shared and Send to be set from another hart.
unsafe impl<T: Send + Sync> Sync for Once<T> {}

impl<T> Once<T> {
    /// An empty cell.
    pub const fn new() -> Self {
        Once {
            state: AtomicU8::new(EMPTY),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Stores `value`; gives it back if the cell was set already.
    pub fn set(&self, value: T) -> Result<&T, T> {
        if self
            .state
            .compare_exchange(EMPTY, WRITING, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Err(value);
        }
        // SAFETY: the EMPTY -> WRITING transition makes us the only writer, and readers wait
        // for READY.
        unsafe { (*self.value.get()).write(value) };
        self.state.store(READY, Ordering::Release);
        // SAFETY: just written and READY.
        Ok(unsafe { (*self.value.get()).assume_init_ref() })
    }

    /// The value, once set.
    pub fn get(&self) -> Option<&T> {
        if self.state.load(Ordering::Acquire) != READY {
            return None;
        }
        // SAFETY: READY is stored only after the value was written, and it is never written
        // again.
        Some(unsafe { (*self.value.get()).assume_init_ref() })
    }
}
