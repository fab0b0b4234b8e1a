//! The one seam through which the library touches physical memory.
//!
//! In a kernel that maps all RAM at VA = PA the seam is [`Identity`]; on the host it is an arena
//! of host memory (`rvmm-testkit`'s `Arena`). No other module in `rvmm` turns a physical address
//! into a pointer.
//!
//! Frame memory is *untyped*: no Rust object lives there, and every access is a read or write
//! of plain bytes or integers. That is what makes the byte operations of [`PhysMem`] safe to
//! call with any frame: a wrong frame number gives wrong data, never a broken Rust invariant.

use crate::addr::{Frame, PAGE_SIZE, PhysRange};
use core::fmt;
use core::ptr::NonNull;

/// Access to physical memory, one 4 KiB frame at a time.
///
/// [`frame_ptr`](Self::frame_ptr) is the one required method; the others are safe,
/// bounds-checked operations on a frame's bytes built on it, and are how code above this module
/// (page tables, address spaces, a kernel's tests) reads and writes frames. An implementation
/// has no reason to override them.
///
/// # Safety
/// An implementation promises, for as long as it lives:
/// 1. `frame_ptr(f)` returns `Some(p)` only when `p` is valid for reads and writes of
///    [`PAGE_SIZE`] bytes and aligned to [`PAGE_SIZE`];
/// 2. distinct frames give pointers to disjoint memory, and one frame always gives a pointer to
///    the same memory;
/// 3. that memory is *untyped*: every byte of it is initialised, and no Rust object (a value
///    of a Rust type, the target of a reference, a stack, a static) lives there while any of
///    its frames is reached through this value. A frame may hold Rust objects for a while (a
///    kernel stack a hart runs on): whoever sets that up keeps the frame away from this value
///    (and from the frame sources and tables that use it) until those objects are gone.
///
/// Given these, an access through a pointer from `frame_ptr` can only read or change plain
/// bytes: it cannot break the validity of a Rust value or the aliasing of a reference, whatever
/// frame it names. Who may *rely on* a frame's contents is the business of its owner (whoever
/// allocated it and has not freed it), not of memory safety.
///
/// What this cannot rule out is two harts writing one frame at once (or one writing while the
/// other reads): as with memory shared with a device or a user program running on another
/// hart, the bytes come out torn. The library's own accesses never do that (every frame has one
/// owner at a time, behind a lock or a `&mut`); a kernel's locking keeps its own from it.
pub unsafe trait PhysMem: Sync {
    /// A pointer to the first byte of `frame`, or `None` if this memory does not back it.
    fn frame_ptr(&self, frame: Frame) -> Option<NonNull<u8>>;

    /// Sets the `len` bytes from `offset` in `frame` to `byte`.
    #[inline]
    fn fill_bytes(
        &self,
        frame: Frame,
        offset: usize,
        len: usize,
        byte: u8,
    ) -> Result<(), PhysError> {
        let p = span(self, frame, offset, len)?;
        // SAFETY: `span` checked that the bytes lie in the frame, which `frame_ptr` makes valid
        // for writes (1); the memory is untyped (3), so writing bytes there breaks no Rust value.
        unsafe { p.as_ptr().write_bytes(byte, len) };
        Ok(())
    }

    /// Fills `frame` with zeroes.
    #[inline]
    fn zero(&self, frame: Frame) -> Result<(), PhysError> {
        self.fill_bytes(frame, 0, PAGE_SIZE, 0)
    }

    /// Copies the whole of frame `from` into frame `to` (nothing happens when they are equal).
    #[inline]
    fn copy_frame(&self, from: Frame, to: Frame) -> Result<(), PhysError> {
        let src = span(self, from, 0, PAGE_SIZE)?;
        let dst = span(self, to, 0, PAGE_SIZE)?;
        if from != to {
            // SAFETY: both frames are valid for PAGE_SIZE bytes (1) and, being distinct, do not
            // overlap (2); their bytes are initialised and no Rust object lives there (3).
            unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_ptr(), PAGE_SIZE) };
        }
        Ok(())
    }

    /// Copies `out.len()` bytes from `offset` in `frame` into `out`.
    #[inline]
    fn read(&self, frame: Frame, offset: usize, out: &mut [u8]) -> Result<(), PhysError> {
        let p = span(self, frame, offset, out.len())?;
        // SAFETY: the bytes lie in the frame (checked by `span`), are valid for reads (1) and
        // initialised (3); `out` is a Rust object, so it does not lie in frame memory (3) and
        // the two do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(p.as_ptr(), out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    /// Copies `data` to `offset` in `frame`.
    #[inline]
    fn write(&self, frame: Frame, offset: usize, data: &[u8]) -> Result<(), PhysError> {
        let p = span(self, frame, offset, data.len())?;
        // SAFETY: the bytes lie in the frame (checked by `span`) and are valid for writes (1);
        // no Rust object lives there (3), so neither `data` overlaps them nor does writing
        // them break a Rust value.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), p.as_ptr(), data.len()) };
        Ok(())
    }

    /// The native-endian `usize` at `offset` in `frame` (any offset; the word must lie inside
    /// the frame).
    #[inline]
    fn read_word(&self, frame: Frame, offset: usize) -> Result<usize, PhysError> {
        let p = span(self, frame, offset, size_of::<usize>())?;
        // SAFETY: as in `read`; every bit pattern is a `usize`, and `read_unaligned` needs no
        // alignment.
        Ok(unsafe { p.cast::<usize>().read_unaligned() })
    }

    /// Writes `value` as a native-endian `usize` at `offset` in `frame`.
    #[inline]
    fn write_word(&self, frame: Frame, offset: usize, value: usize) -> Result<(), PhysError> {
        let p = span(self, frame, offset, size_of::<usize>())?;
        // SAFETY: as in `write`; `write_unaligned` needs no alignment.
        unsafe { p.cast::<usize>().write_unaligned(value) };
        Ok(())
    }
}

// SAFETY: a shared reference forwards to the same implementation, which keeps its promises.
unsafe impl<P: PhysMem + ?Sized> PhysMem for &P {
    #[inline]
    fn frame_ptr(&self, frame: Frame) -> Option<NonNull<u8>> {
        (**self).frame_ptr(frame)
    }
}

/// Why a byte operation of [`PhysMem`] was refused. Nothing was read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhysError {
    /// This memory does not back the frame.
    NotBacked(Frame),
    /// The bytes `offset..offset + len` reach past the end of the frame.
    OutsideFrame {
        /// First byte asked for, from the start of the frame.
        offset: usize,
        /// How many bytes.
        len: usize,
    },
}

impl fmt::Display for PhysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhysError::NotBacked(fr) => write!(f, "{fr:?} is not backed by this memory"),
            PhysError::OutsideFrame { offset, len } => {
                write!(f, "bytes {offset:#x} + {len:#x} reach past the frame")
            }
        }
    }
}

impl core::error::Error for PhysError {}

/// A pointer to byte `offset` of `frame`, once it is known that `len` bytes from there lie in
/// the frame and that `mem` backs it.
#[inline]
fn span<P: PhysMem + ?Sized>(
    mem: &P,
    frame: Frame,
    offset: usize,
    len: usize,
) -> Result<NonNull<u8>, PhysError> {
    let inside = offset.checked_add(len).is_some_and(|end| end <= PAGE_SIZE);
    if !inside {
        return Err(PhysError::OutsideFrame { offset, len });
    }
    let base = mem.frame_ptr(frame).ok_or(PhysError::NotBacked(frame))?;
    // SAFETY: offset <= PAGE_SIZE, and the frame's memory is PAGE_SIZE bytes long (contract 1):
    // the result is in bounds or one past the end.
    Ok(unsafe { base.add(offset) })
}

/// Physical memory in a kernel that maps the whole of `covers` at VA = PA.
#[derive(Clone, Copy, Debug)]
pub struct Identity {
    covers: PhysRange,
}

impl Identity {
    /// Physical memory for the frames inside `covers`.
    ///
    /// # Safety
    /// 1. Every byte of `covers` must be mapped at its own address (VA = PA), readable and
    ///    writable, in every address space this value (or a copy) is used from, and must have
    ///    been exposed to Rust's provenance model (memory the kernel received from firmware is);
    /// 2. the memory must be untyped as [`PhysMem`]'s contract (3) says: the kernel image, its
    ///    statics and boot stacks lie outside `covers`, every byte inside is initialised (RAM
    ///    is), and a frame that comes to hold Rust objects (a kernel stack a hart runs on) is
    ///    not named to this value, or to what uses it, until they are gone.
    pub const unsafe fn new(covers: PhysRange) -> Self {
        Identity { covers }
    }
}

// SAFETY: the constructor's contract makes every frame in `covers` readable and writable at its
// own address (1) and untyped (3); frames are disjoint by construction of addresses (2); frames
// outside `covers` are refused.
unsafe impl PhysMem for Identity {
    #[inline]
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
