//! The program's heap: `umalloc` over the `sbrk` syscall, as Rust's global allocator.

use core::ptr::NonNull;
use umalloc::{Sbrk, Umalloc};

/// The break, moved by the kernel.
pub struct KernelBreak;

// SAFETY: the kernel maps `increment` zeroed, readable and writable bytes from the old break on
// a successful `sbrk`, which nothing else in this process uses (the heap has one owner: this
// allocator), and unmaps what a shrink gives back.
unsafe impl Sbrk for KernelBreak {
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

/// The heap every program allocates from.
#[global_allocator]
pub static HEAP: Umalloc<KernelBreak> = Umalloc::new(KernelBreak);

/// Called before `fork`: the child must not inherit the heap's lock held. A process has one
/// thread here, so nothing holds it now; this is where umalloc's fork handlers will be called.
pub(crate) fn before_fork() {}

/// Called after `fork` in parent and child.
pub(crate) fn after_fork(_child: bool) {}
