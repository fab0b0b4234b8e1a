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
//! - `grow`: moving the break up, fencing off memory someone else took, and giving free memory
//!   at the top back once it passes [`Config::trim_threshold`] (and all of it, to within a
//!   page, when every block is freed);
//! - `debug` (feature `debug`): double/foreign free reports and junk fill;
//! - [`Umalloc`]: the heap behind a lock whose waiters spin, then yield to the OS; `fork`
//!   handlers; a `GlobalAlloc`;
//! - `c_abi` (feature `c-abi`): `malloc`, `free`, ... with C linkage over the C library's `sbrk`,
//!   with the `fork` handlers registered through `pthread_atfork` and `sched_yield` as the
//!   lock's yield.
//!
//! Every request too large to satisfy (`usize::MAX`, `calloc` overflow, ...) returns null,
//! as does a refused `sbrk`; the heap stays consistent ([`Heap::check`] walks it).
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
