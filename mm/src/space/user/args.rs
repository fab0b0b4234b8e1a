//! The argument vector a new program finds on its stack.

use super::UserSpace;
use crate::addr::VirtAddr;
use crate::frame::FrameSource;
use crate::paging::Mode;
use crate::phys::PhysMem;
use core::fmt;

/// Where [`UserSpace::push_args`] put an argument vector: what a program's entry gets in
/// `sp`, `a0` and `a1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgVector {
    /// How many arguments.
    pub argc: usize,
    /// The array of `argc` pointers to the strings, then a null pointer.
    pub argv: VirtAddr,
    /// The initial stack pointer: the array's address, 16-byte aligned.
    pub sp: VirtAddr,
}

/// Why [`UserSpace::push_args`] refused; the space is unchanged after each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgsError {
    /// Argument `index` contains a NUL byte, so a C-style string cannot carry it.
    Nul {
        /// Which argument.
        index: usize,
    },
    /// The vector needs more bytes than the stack limit leaves.
    TooLarge {
        /// The bytes it needs, alignment included.
        bytes: usize,
    },
    /// Frames ran out while growing the stack.
    OutOfMemory,
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsError::Nul { index } => write!(f, "argument {index} contains a NUL byte"),
            ArgsError::TooLarge { bytes } => {
                write!(
                    f,
                    "argument vector of {bytes} bytes exceeds the stack limit"
                )
            }
            ArgsError::OutOfMemory => f.write_str("out of frames for the argument vector"),
        }
    }
}

impl core::error::Error for ArgsError {}

impl<M: Mode, P: PhysMem> UserSpace<M, P> {
    /// Places `args` at the top of the stack of a space whose program is about to start, and
    /// returns where. Meant for a fresh space that no hart runs yet (so the stack growth it may
    /// need is not flushed): whatever the top of the stack held is overwritten.
    ///
    /// From the stack top down: the strings with their NULs, in order; then, 16-byte aligned,
    /// the array of `argc + 1` pointers of the mode's register width (8 bytes on Sv39, 4 on
    /// Sv32), the last one null. The initial `sp` is the array's address, as the RISC-V psABI
    /// wants it 16-byte aligned. The stack grows as far as the vector needs, within its limit.
    pub fn push_args(
        &mut self,
        args: &[&[u8]],
        frames: &mut impl FrameSource,
    ) -> Result<ArgVector, ArgsError> {
        if let Some(index) = args.iter().position(|a| a.contains(&0)) {
            return Err(ArgsError::Nul { index });
        }
        let top = self.layout().stack_top().as_usize();
        let floor = self.layout().stack_floor().as_usize();
        let word = M::ENTRY_BYTES;
        let strings: usize = args.iter().map(|a| a.len() + 1).sum();
        let pointers = (args.len() + 1) * word;
        let bytes = strings
            .checked_add(pointers)
            .and_then(|b| b.checked_add(15))
            .filter(|&b| b <= top - floor)
            .ok_or(ArgsError::TooLarge {
                bytes: strings.saturating_add(pointers).saturating_add(15),
            })?;
        let sp = (top - strings - pointers) & !15;
        debug_assert!(sp >= top - bytes && sp >= floor);
        if sp < self.stack_bottom().as_usize() {
            // A fresh space that no hart runs yet: nothing to flush.
            self.grow_stack(sp, sp, frames)
                .map_err(|_| ArgsError::OutOfMemory)?
                .ignore();
        }
        let mut at = top - strings;
        let mut slot = sp;
        for arg in args {
            self.put(at, arg);
            self.put(at + arg.len(), &[0]);
            self.put(slot, &(at as u64).to_le_bytes()[..word]);
            at += arg.len() + 1;
            slot += word;
        }
        self.put(slot, &[0; 8][..word]);
        let va = |a: usize| VirtAddr::new(a).expect("the stack lies below the mode's top");
        Ok(ArgVector {
            argc: args.len(),
            argv: va(sp),
            sp: va(sp),
        })
    }

    /// Writes `bytes` at `va`, inside the stack pages `push_args` made sure are mapped.
    fn put(&mut self, va: usize, bytes: &[u8]) {
        self.copy_out(va, bytes)
            .expect("the argument vector lies in mapped, writable stack pages");
    }
}
