//! The grind's arguments: the scratch area the kernel may write, and random pointers,
//! lengths, kill targets and program names, mostly invalid.

use super::{Grinder, HEAP_RANGE};
use crate::util::{self, PAGE};
use abi::Errno;
use core::sync::atomic::{AtomicU8, Ordering};
use user::sys::Pid;

/// Memory the kernel may write through the grinder's valid pointers: page-aligned, in `.bss`.
/// Atomic bytes, so that the kernel writing them behind the compiler's back is no more than
/// another hart would be, and the static is an ordinary one.
#[repr(C, align(4096))]
struct Scratch([AtomicU8; 2 * PAGE]);

static SCRATCH: Scratch = Scratch([const { AtomicU8::new(0) }; 2 * PAGE]);

/// The scratch area's first byte.
pub fn scratch() -> usize {
    SCRATCH.0.as_ptr().expose_provenance()
}

/// Whether `at` lies in the scratch area.
pub fn in_scratch(at: usize) -> bool {
    (scratch()..scratch() + 2 * PAGE).contains(&at)
}

/// Where the kernel may write at most this many bytes from a random scratch pointer.
pub const SCRATCH_SLACK: usize = 512;

/// Copies `bytes` into the scratch area at `offset`.
pub fn scratch_put(offset: usize, bytes: &[u8]) {
    let to = &SCRATCH.0[offset..offset + bytes.len()];
    for (cell, &byte) in to.iter().zip(bytes) {
        cell.store(byte, Ordering::Relaxed);
    }
}

/// The `N` bytes at address `at` in the scratch area (panics outside it).
pub fn scratch_get<const N: usize>(at: usize) -> [u8; N] {
    let offset = at - scratch();
    let from = &SCRATCH.0[offset..offset + N];
    core::array::from_fn(|i| from[i].load(Ordering::Relaxed))
}

/// Scratch offsets: exec names at 0, argv arrays at 64, free for the kernel from 512.
pub const NAME_AT: usize = 0;
pub const ARGV_AT: usize = 64;
pub const KERNEL_AT: usize = 512;

impl Grinder<'_> {
    /// An address no syscall may use: not mapped, kernel-only, or outside user space.
    pub(super) fn bad(&mut self) -> usize {
        let m = self.map;
        let choices = [
            0,
            0x18,
            0x8000_0000,
            m.trap_frame + self.rng.below(PAGE),
            m.trampoline + self.rng.below(PAGE),
            m.last_address(),
            usize::MAX,
            util::page_up(self.floor + HEAP_RANGE) + self.rng.below(PAGE),
            m.stack_top - (8 << 20) - self.rng.below(64 << 10) - 1,
            #[cfg(target_pointer_width = "64")]
            (1 << 63),
            #[cfg(target_pointer_width = "64")]
            (scratch() | 1 << 63),
            #[cfg(target_pointer_width = "64")]
            (scratch() | !(m.va_top as usize - 1)),
            #[cfg(target_pointer_width = "64")]
            (self.rng.word() | 1 << 40),
            // A random 32-bit address outside this program's pages.
            0x8000_0000 + self.rng.below(0x4000_0000),
        ];
        self.rng.pick(&choices)
    }

    /// A pointer the kernel may write a few hundred bytes through: bad, or in the scratch area.
    pub(super) fn target(&mut self) -> usize {
        if self.rng.one_in(3) {
            scratch() + KERNEL_AT + self.rng.below(2 * PAGE - KERNEL_AT - SCRATCH_SLACK)
        } else {
            self.bad()
        }
    }

    /// A length no valid buffer has.
    pub(super) fn huge(&mut self) -> usize {
        let near_max = usize::MAX - self.rng.below(PAGE);
        self.rng.pick(&[
            usize::MAX,
            isize::MAX as usize,
            1 << 31,
            near_max,
            (self.map.va_top / 2) as usize,
        ])
    }

    /// One of this grinder's children, a pid never issued, pid 0 or 1, or the last one reaped.
    pub(super) fn victim(&mut self) -> (Pid, &'static [Errno]) {
        const CHILD: &[Errno] = &[Errno::ESRCH]; // it may have ended already
        match self.rng.below(6) {
            0 | 1 if self.lives > 0 => (self.live[self.rng.below(self.lives)], CHILD),
            2 => (0, &[Errno::ESRCH]),
            3 => (1, &[Errno::EPERM]),
            4 if self.reaped != 0 => (self.reaped, &[Errno::ESRCH]),
            _ => (1_000_000 + self.rng.below(1 << 20), &[Errno::ESRCH]),
        }
    }

    /// A name no program has (starts with `zz`), or none at all.
    pub(super) fn name(&mut self) -> usize {
        match self.rng.below(4) {
            0 => self.bad(),
            1 => {
                // No NUL within the longest name.
                scratch_put(NAME_AT, &[b'z'; 40]);
                scratch() + NAME_AT
            }
            _ => {
                let mut name = *b"zz-0000000\0";
                for b in &mut name[3..10] {
                    *b = b'a' + self.rng.below(26) as u8;
                }
                scratch_put(NAME_AT, &name);
                scratch() + NAME_AT
            }
        }
    }
}
