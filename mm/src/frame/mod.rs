//! Physical frames: where page tables and address spaces get them.

use crate::addr::Frame;
use core::fmt;

/// No free frame was left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfMemory;

impl fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("out of physical frames")
    }
}

/// A source of 4 KiB frames for page tables and address spaces.
///
/// Frames come back with unspecified contents; users that need zeroes (page tables) zero them.
///
/// # Safety
/// `allocate` must return a frame that nothing else uses until it is passed to `deallocate`,
/// and that the [`PhysMem`](crate::PhysMem) the caller pairs with this source backs.
pub unsafe trait FrameSource {
    /// One frame, or [`OutOfMemory`].
    fn allocate(&mut self) -> Result<Frame, OutOfMemory>;

    /// Gives `frame` back.
    ///
    /// # Safety
    /// `frame` must have come from `allocate` on this source, and must not be used after this
    /// call.
    unsafe fn deallocate(&mut self, frame: Frame);
}

// SAFETY: forwards to an implementation that keeps the contract.
unsafe impl<S: FrameSource + ?Sized> FrameSource for &mut S {
    fn allocate(&mut self) -> Result<Frame, OutOfMemory> {
        (**self).allocate()
    }

    unsafe fn deallocate(&mut self, frame: Frame) {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { (**self).deallocate(frame) }
    }
}
