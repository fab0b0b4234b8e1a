//! The in-kernel tests' `unsafe`, all of it: what cannot go through the safe views of frames
//! (`FrameRef`, `FrameMut`) that the frames' owners lend.
//!
//! - Loads and stores through virtual addresses, because what they test is the MMU: a kernel
//!   stack at its address under the trampoline, the trampoline at the top of the space, text
//!   and rodata (not RAM the kernel's `PhysMem` covers), guard pages that must fault. Each is
//!   one instruction in `asm!`, run under [`expect_fault`]: it either completes, moving plain
//!   bytes between memory and a register, or faults, and the trap handler skips it. No Rust
//!   pointer or reference to that memory is made. One of them moves `sp` into a guard page
//!   first, as a kernel-stack overflow does.
//! - A stack of frames linked through their first word ([`FrameStack`]), because without a
//!   heap the test that allocates every frame keeps them inside the frames: taking a frame
//!   off gives back the token that owns it, which needs the allocator's word that the frame
//!   is the stack's.

use super::fault::{Fault, expect_fault};
use crate::mem::Frames;
use rvmm::Frame;
use rvmm::frame::OwnedFrame;

/// Stores a zero byte at `addr`, which must fault: every caller passes an address the kernel
/// map gives no W (text, rodata, the trampoline), and the test fails if it does not fault.
pub fn store_byte_must_fault(addr: usize) -> Option<Fault> {
    expect_fault(|| {
        // SAFETY: the store faults (W^X, checked by the caller's assertion) and the trap
        // handler skips it; had the map been wrong, one byte of code or constants would be
        // zeroed, which the failing test reports before anything runs it.
        unsafe { core::arch::asm!("sb zero, 0({0})", in(reg) addr, options(nostack)) }
    })
}

/// The byte at `addr`, or the fault loading it took. `addr` must not be a device's register
/// (a load there may have an effect); RAM, text and unmapped pages are fine.
pub fn load_byte(addr: usize) -> Result<u8, Fault> {
    let mut byte: usize = 0;
    let fault = expect_fault(|| {
        // SAFETY: a load changes no memory; a fault is caught and the instruction skipped,
        // leaving `byte` as it was.
        unsafe {
            core::arch::asm!("lbu {0}, 0({1})", inout(reg) byte, in(reg) addr, options(nostack, readonly))
        }
    });
    fault.map_or(Ok(byte as u8), Err)
}

/// The native-endian word at `addr` (word aligned), or the fault loading it took. As for
/// [`load_byte`], `addr` must not be a device's register.
pub fn load_word(addr: usize) -> Result<usize, Fault> {
    let mut word: usize = 0;
    let fault = expect_fault(|| {
        // SAFETY: as in `load_byte`: one load, no memory changed, a fault skipped.
        unsafe {
            #[cfg(target_pointer_width = "64")]
            core::arch::asm!("ld {0}, 0({1})", inout(reg) word, in(reg) addr, options(nostack, readonly));
            #[cfg(target_pointer_width = "32")]
            core::arch::asm!("lw {0}, 0({1})", inout(reg) word, in(reg) addr, options(nostack, readonly));
        }
    });
    fault.map_or(Ok(word), Err)
}

/// Stores `value` at `addr` (word aligned), which must be mapped writable and hold no Rust
/// object: a kernel stack no hart runs on, written by the test that mapped it.
pub fn store_word(addr: usize, value: usize) -> Option<Fault> {
    expect_fault(|| {
        // SAFETY: one store of plain bytes into memory the caller's test owns and that holds
        // no Rust object; a fault is caught and the instruction skipped.
        unsafe {
            #[cfg(target_pointer_width = "64")]
            core::arch::asm!("sd {0}, 0({1})", in(reg) value, in(reg) addr, options(nostack));
            #[cfg(target_pointer_width = "32")]
            core::arch::asm!("sw {0}, 0({1})", in(reg) value, in(reg) addr, options(nostack));
        }
    })
}

/// Stores a zero byte through `sp` moved to `addr`, which must fault (a guard page): what a
/// kernel-stack overflow does. Returns the fault the store took.
pub fn store_with_sp_at(addr: usize) -> Option<Fault> {
    expect_fault(|| {
        // SAFETY: `sp` is parked in a register and restored right after one store through it;
        // the store faults (the caller's guard page, checked by its assertion) and is skipped;
        // nothing between uses the stack.
        unsafe {
            core::arch::asm!(
                "mv {saved}, sp",
                "mv sp, {bad}",
                "sb zero, 0(sp)",
                "mv sp, {saved}",
                saved = out(reg) _,
                bad = in(reg) addr,
            )
        }
    })
}

/// Frames of the kernel's allocator, each held through no token but this stack's, linked
/// through their first word (the rest of each frame is the pusher's to use).
///
/// Invariant: every frame on the stack was pushed as an [`OwnedFrame`] of `frames` and is
/// reached by nothing but the stack until it is popped.
pub struct FrameStack<'a> {
    frames: &'a Frames,
    head: Option<Frame>,
    len: usize,
}

type Owned<'a> = OwnedFrame<'a, rvmm::phys::Identity, crate::sync::IrqSpin>;

impl<'a> FrameStack<'a> {
    /// An empty stack of frames of `frames`.
    pub fn new(frames: &'a Frames) -> Self {
        FrameStack {
            frames,
            head: None,
            len: 0,
        }
    }

    /// How many frames the stack holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Keeps `frame` on the stack, its first word overwritten by the link.
    pub fn push(&mut self, mut frame: Owned<'a>) {
        let link = self.head.map_or(0, |f| f.start().as_u64() as usize);
        frame
            .bytes()
            .write_word(0, link)
            .expect("a word inside the frame");
        self.head = Some(frame.into_frame());
        self.len += 1;
    }

    /// The frame pushed last, with its token; its first word holds nothing of the pusher's.
    pub fn pop(&mut self) -> Option<Owned<'a>> {
        // SAFETY: the stack's invariant: the frame was pushed as a token of `frames` and only
        // the stack held it since; the token takes it over now.
        let mut frame = unsafe { OwnedFrame::from_frame(self.frames, self.head?) };
        let link = frame.bytes().read_word(0).expect("a word inside the frame");
        self.head = match link {
            0 => None,
            at => {
                let at = rvmm::PhysAddr::new(at as u64).expect("`push` linked a frame's address");
                Some(Frame::containing(at))
            }
        };
        self.len -= 1;
        Some(frame)
    }
}
