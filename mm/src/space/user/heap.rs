//! `sbrk`: the heap's break, byte-granular, over whole mapped pages.

use super::layout::{page_up, to_va};
use super::{SbrkError, USER_RW, UserSpace};
use crate::addr::{PAGE_SIZE, VirtAddr};
use crate::frame::FrameSource;
use crate::paging::Mode;
use crate::phys::PhysMem;
use crate::tlb::Flush;

impl<M: Mode, P: PhysMem> UserSpace<M, P> {
    /// Moves the break by `delta` bytes and returns the old break, with the flush the change
    /// needs (RISC-V may cache invalid entries, so growing needs one too).
    ///
    /// Pages are mapped and unmapped whole: the heap is mapped on `[heap start, break rounded up
    /// to a page)`. Memory the heap gains always reads as zero, including bytes of the last page
    /// that were given back by an earlier shrink (or written past the break) and are taken again.
    /// Shrinking frees the frames of the pages wholly above the new break.
    ///
    /// Refused, with the break unchanged: a new break above the heap cap
    /// ([`SbrkError::AboveCap`]) or below the heap start ([`SbrkError::BelowStart`]); arithmetic
    /// that leaves the mode's addresses, or a `delta` wider than the mode's registers
    /// ([`SbrkError::Overflow`]: on Sv32, `+0x8000_0000` is what a 32-bit process cannot ask
    /// for); running out of frames ([`SbrkError::OutOfMemory`], after releasing every page the
    /// call had added).
    pub fn sbrk(
        &mut self,
        delta: isize,
        frames: &mut impl FrameSource,
    ) -> Result<(VirtAddr, Flush), SbrkError> {
        let old = self.brk;
        let new = self.new_break(delta)?;
        let (old_top, new_top) = (page_up(old), page_up(new));
        let flush = if new_top > old_top {
            self.map_zeroed(old_top, (new_top - old_top) / PAGE_SIZE, USER_RW, frames)
                .map_err(|_| SbrkError::OutOfMemory)?
        } else {
            self.release(new_top, (old_top - new_top) / PAGE_SIZE, frames)
        };
        if new > old && old < old_top {
            // The rest of the old last page may hold bytes released earlier or written past
            // the break: the heap must gain only zeroes.
            self.zero_bytes(old, new.min(old_top) - old);
        }
        self.brk = new;
        Ok((to_va(old), flush))
    }

    /// The break `delta` bytes from the current one, if allowed.
    fn new_break(&self, delta: isize) -> Result<usize, SbrkError> {
        let overflow = SbrkError::Overflow {
            brk: self.brk,
            delta,
        };
        // Sv32 runs on RV32 (4-byte entries, 32-bit registers): a delta is a signed 32-bit
        // value there, whatever the host's isize.
        let register_bits = (M::ENTRY_BYTES * 8) as u32;
        let (lo, hi) = (
            -(1i128 << (register_bits - 1)),
            1i128 << (register_bits - 1),
        );
        let d = delta as i128;
        if d < lo || d >= hi {
            return Err(overflow);
        }
        let new = self.brk as i128 + d;
        if new < 0 || new >= i128::from(M::VA_TOP) {
            return Err(overflow);
        }
        // Below the mode's top, so it fits in usize.
        let new = new as usize;
        if new > self.layout.cap() {
            return Err(SbrkError::AboveCap {
                requested: new,
                cap: self.layout.cap(),
            });
        }
        if new < self.heap_start {
            return Err(SbrkError::BelowStart {
                requested: new,
                start: self.heap_start,
            });
        }
        Ok(new)
    }
}
