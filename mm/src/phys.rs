//! The one seam through which the library touches physical memory.
//!
//! In a kernel that maps all RAM at VA = PA (the seed's design) the seam is [`Identity`]; on the
//! host it is an arena of host memory (`rvmm-testkit`'s `Arena`). No other module in `rvmm`
//! turns a physical address into a pointer.

use crate::addr::{Frame, PAGE_SIZE, PhysRange};
use core::ptr::NonNull;

/// Access to physical memory, one 4 KiB frame at a time.
///
/// # Safety
/// An implementation promises, for as long as it lives:
/// 1. `frame_ptr(f)` returns `Some(p)` only when `p` is valid for reads and writes of
///    [`PAGE_SIZE`] bytes and aligned to [`PAGE_SIZE`];
/// 2. distinct frames give pointers to disjoint memory, and one frame always gives a pointer to
///    the same memory;
/// 3. that memory is not accessed through any other path than these pointers (for a kernel:
///    nothing but frames handed out by the frame allocator, or owned by the caller, is touched).
///
/// Who may *use* a pointer is the caller's business: owning a frame (having allocated it and not
/// freed it) is what makes dereferencing its pointer sound.
pub unsafe trait PhysMem: Sync {
    /// A pointer to the first byte of `frame`, or `None` if this memory does not back it.
    fn frame_ptr(&self, frame: Frame) -> Option<NonNull<u8>>;
}

// SAFETY: a shared reference forwards to the same implementation, which keeps its promises.
unsafe impl<P: PhysMem + ?Sized> PhysMem for &P {
    fn frame_ptr(&self, frame: Frame) -> Option<NonNull<u8>> {
        (**self).frame_ptr(frame)
    }
}

/// Fills the frame behind `ptr` with `byte`.
///
/// # Safety
/// `ptr` must come from [`PhysMem::frame_ptr`] and the caller must own that frame.
pub unsafe fn fill_frame(ptr: NonNull<u8>, byte: u8) {
    // SAFETY: by the caller's contract the pointer is valid for PAGE_SIZE writes and unshared.
    unsafe { ptr.as_ptr().write_bytes(byte, PAGE_SIZE) }
}

/// Physical memory in a kernel that maps the whole of `covers` at VA = PA.
#[derive(Debug)]
pub struct Identity {
    covers: PhysRange,
}

impl Identity {
    /// Physical memory for the frames inside `covers`.
    ///
    /// # Safety
    /// Every byte of `covers` must be mapped at its own address (VA = PA), readable and
    /// writable, in every address space this value is used from, and the memory must have been
    /// exposed to Rust's provenance model (memory the kernel received from firmware is).
    pub const unsafe fn new(covers: PhysRange) -> Self {
        Identity { covers }
    }
}

// SAFETY: the constructor's contract makes every frame in `covers` readable and writable at its
// own address; frames are disjoint by construction of addresses; frames outside are refused.
unsafe impl PhysMem for Identity {
    fn frame_ptr(&self, frame: Frame) -> Option<NonNull<u8>> {
        let start = frame.start();
        let end = start.checked_add(PAGE_SIZE as u64)?;
        if !self.covers.contains(start) || end > self.covers.end() {
            return None;
        }
        let addr = usize::try_from(start.as_u64()).ok()?;
        NonNull::new(core::ptr::with_exposed_provenance_mut(addr))
    }
}
