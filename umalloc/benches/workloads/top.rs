//! The top of the heap (issue 13): one block malloc'd, filled and freed in a loop above a small
//! live block. Each allocator runs over a kernel-like break (`KernelArena`: every move of the
//! break a system call, memory given back unmapped and page-faulted in again when touched), and
//! glibc's malloc over the real one, so what a trim ping-pong costs on a kernel shows.

use std::cell::Cell;
use std::hint::black_box;

use crate::adapters::{KernelArena, Subject};

/// One loop: blocks of `size` bytes, `iterations` times.
#[derive(Clone, Copy)]
pub struct TopLoop {
    pub size: usize,
    pub iterations: u64,
}

/// What one allocator's last round cost the kernel: moves of the break (up, down) and minor
/// page faults, during the loop.
pub type KernelCosts = Cell<((usize, usize), u64)>;

/// Minor page faults of this process so far.
fn minor_faults() -> u64 {
    // SAFETY: `usage` is a valid out-pointer; zeroed is a valid `rusage`.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
        usage.ru_minflt as u64
    }
}

/// Runs the loop on a fresh allocator over `arena`; returns the iterations.
pub fn run<S: Subject>(arena: &KernelArena, w: TopLoop, costs: &KernelCosts) -> u64 {
    let heap = S::new(arena.brk());
    let below = heap.alloc(64);
    let (moves, faults) = (heap.moves(), minor_faults());
    for _ in 0..w.iterations {
        let p = heap.alloc(w.size);
        assert!(!p.is_null());
        // SAFETY: `p` has `w.size` bytes; freed once.
        unsafe {
            p.write_bytes(1, w.size);
            heap.free(black_box(p), w.size);
        }
    }
    let (after, faults) = (heap.moves(), minor_faults() - faults);
    costs.set(((after.0 - moves.0, after.1 - moves.1), faults));
    // SAFETY: live block, freed once.
    unsafe { heap.free(below, 64) };
    w.iterations
}
