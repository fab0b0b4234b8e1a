//! The program's heap: `umalloc` over the `sbrk` syscall, as Rust's global allocator.

use core::ptr::NonNull;
use umalloc::{Sbrk, Umalloc};

/// The break, moved by the kernel.
pub struct KernelBreak;

// SAFETY: the kernel maps `increment` zeroed, readable and writable bytes from the old break on
// a successful `sbrk`, which nothing else in this process uses (the heap has one owner: this
// allocator), and unmaps what a shrink gives back. Every byte the heap gains reads zero, the
// rest of the old last page included (`rvmm`'s `UserSpace::sbrk`), so `zeroed_pages` holds.
unsafe impl Sbrk for KernelBreak {
    fn zeroed_pages(&self) -> Option<usize> {
        Some(4096)
    }

    fn grow(&mut self, increment: usize) -> Option<NonNull<u8>> {
        let increment = isize::try_from(increment).ok()?;
        let old = crate::sys::sbrk(increment).ok()?;
        NonNull::new(core::ptr::with_exposed_provenance_mut(old))
    }

    unsafe fn shrink(&mut self, decrement: usize) -> bool {
        let Ok(decrement) = isize::try_from(decrement) else {
            return false;
        };
        crate::sys::sbrk(-decrement).is_ok()
    }
}

/// The heap every program allocates from. A waiter yields the hart (the `yield` syscall)
/// instead of spinning on a lock whose holder is not running.
#[global_allocator]
pub static HEAP: Umalloc<KernelBreak> = Umalloc::new(KernelBreak).with_yield(yield_hart);

fn yield_hart() {
    crate::sys::yield_now();
}

/// Called right before `fork`: takes the heap's lock, so the child gets a heap no one was
/// halfway through changing (umalloc's fork handlers; a process has one thread today, but the
/// runtime keeps the rule that makes fork safe with more).
pub(crate) fn before_fork() {
    HEAP.fork_prepare();
}

/// Called right after `fork`, in parent and child: releases the lock `before_fork` took.
pub(crate) fn after_fork(child: bool) {
    // SAFETY: this thread called `fork_prepare` in `before_fork` just before the `fork` that
    // returned here, and neither handler since.
    unsafe {
        if child {
            HEAP.fork_child();
        } else {
            HEAP.fork_parent();
        }
    }
}
