//! `umalloc`: user-space `malloc`/`free` over an `sbrk` heap that gives memory back.
//!
//! The heap is one contiguous range below a program break ([`Sbrk`]). Design, in one file each:
//! - `chunk`: one header word per block, boundary tags on free chunks, so
//!   freeing merges with both neighbours in O(1);
//! - `bins`: segregated free lists with two-level bitmaps (TLSF): a good fit in O(1);
//! - `quick`: freed small chunks parked per exact size, so most small `free`+`malloc` pairs
//!   touch one header and one list head;
//! - `recent`: freed large chunks kept whole for a while, so a request of nearly the same size
//!   takes one back without the merge and its cold neighbours;
//! - `heap`: `malloc`/`free`, and the wilderness above the last chunk, carved from and grown
//!   with `sbrk`;
//! - `resize`: `realloc` in place (into a free neighbour, or at the top by moving the break:
//!   no copy) and aligned allocation;
//! - `grow`: moving the break up (by [`Config::top_pad`] more than needed), fencing off memory
//!   someone else took, and giving free memory at the top back once it passes what the top
//!   keeps ([`Config`]), all of it, to within a page, when every block is freed; and knowing
//!   which memory still holds the kernel's zeros ([`Sbrk::zeroed_pages`]), which `calloc`
//!   leaves alone;
//! - `debug` (feature `debug`): double/foreign free reports and junk fill;
//! - [`Umalloc`]: the heap behind a lock whose waiters spin, then yield to the OS; `fork`
//!   handlers; a `GlobalAlloc`;
//! - `c_abi` (feature `c-abi`): `malloc`, `free`, ... with C linkage over the C library's `sbrk`,
//!   with the `fork` handlers registered through `pthread_atfork` and `sched_yield` as the
//!   lock's yield.
//!
//! Every request too large to satisfy (`usize::MAX`, `calloc` overflow, ...) returns null,
//! as does a refused `sbrk`; the heap stays consistent ([`Heap::check`] walks it).
//!
//! Only the top of the heap can go back to the kernel: memory freed below a live block stays
//! in the heap for later requests (freeing 512 MiB under a live 64-byte block leaves 513 MiB
//! resident, where glibc, which maps such blocks with `mmap`, would unmap them). The heap
//! changes only through `sbrk`, as in the seed.
//!
//! # In a user runtime
//!
//! A `no_std` runtime makes umalloc its global allocator over its kernel's `sbrk` system call,
//! hands it the kernel's `yield` for a contended lock, and calls the three `fork` handlers
//! around `fork`:
//!
//! ```
//! use core::ptr::NonNull;
//! use umalloc::{Sbrk, Umalloc};
//! # /// System calls, emulated over a static array (a kernel zeroes the pages it maps).
//! # mod sys {
//! #     use core::ptr::NonNull;
//! #     use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};
//! #     const SIZE: usize = 8 << 20;
//! #     static mut MEMORY: [u8; SIZE] = [0; SIZE];
//! #     static BRK: AtomicUsize = AtomicUsize::new(0);
//! #     pub fn sbrk(increment: isize) -> Option<NonNull<u8>> {
//! #         let old = BRK.load(Relaxed);
//! #         let new = old.checked_add_signed(increment).filter(|&n| n <= SIZE)?;
//! #         let base = (&raw mut MEMORY).cast::<u8>();
//! #         let fresh = old.next_multiple_of(4096);
//! #         // SAFETY: the heap's lock serializes calls; offsets stay inside MEMORY.
//! #         unsafe { base.add(fresh).write_bytes(0, new.saturating_sub(fresh)) };
//! #         BRK.store(new, Relaxed);
//! #         // SAFETY: `old <= SIZE`.
//! #         NonNull::new(unsafe { base.add(old) })
//! #     }
//! #     pub fn yield_now() {}
//! #     pub fn fork() -> isize { 1 }
//! # }
//!
//! /// The process's break, moved by the `sbrk` system call.
//! struct KernelBreak;
//!
//! // SAFETY: the kernel returns the old break and maps fresh zeroed pages above it, and unmaps
//! // the pages wholly above a lowered break.
//! unsafe impl Sbrk for KernelBreak {
//!     fn grow(&mut self, increment: usize) -> Option<NonNull<u8>> {
//!         sys::sbrk(isize::try_from(increment).ok()?)
//!     }
//!
//!     unsafe fn shrink(&mut self, decrement: usize) -> bool {
//!         isize::try_from(decrement).is_ok_and(|d| sys::sbrk(-d).is_some())
//!     }
//!
//!     fn zeroed_pages(&self) -> Option<usize> {
//!         Some(4096)
//!     }
//! }
//!
//! #[global_allocator]
//! static HEAP: Umalloc<KernelBreak> = Umalloc::new(KernelBreak).with_yield(sys::yield_now);
//!
//! /// The runtime's `fork`: the child's heap is one no other thread was halfway through.
//! pub fn fork() -> isize {
//!     HEAP.fork_prepare();
//!     let pid = sys::fork();
//!     // SAFETY: this thread called `fork_prepare` just above.
//!     unsafe {
//!         if pid == 0 {
//!             HEAP.fork_child()
//!         } else {
//!             HEAP.fork_parent()
//!         }
//!     }
//!     pid
//! }
//! # let v = vec![1, 2, 3];
//! # assert!(fork() > 0);
//! # assert_eq!(v.iter().sum::<i32>(), 6);
//! ```
#![cfg_attr(not(test), no_std)]

mod bins;
mod check;
mod chunk;
mod debug;
mod grow;
mod heap;
mod locked;
mod quick;
mod recent;
mod resize;
mod sbrk;

#[cfg(feature = "c-abi")]
pub mod c_abi;

pub use check::{Corruption, HeapStats};
pub use chunk::MIN_ALIGN;
pub use debug::{JUNK_FREED, JUNK_FRESH, Report};
pub use heap::{Config, Heap, PAGE_SIZE};
pub use locked::Umalloc;
pub use sbrk::{Region, Sbrk};
