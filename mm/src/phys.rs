//! The one seam through which the library touches physical memory.
//!
//! In a kernel that maps all RAM at VA = PA the seam is [`Identity`]; on the host it is an arena
//! of host memory (`rvmm-testkit`'s `Arena`). No other module in `rvmm` turns a physical address
//! into a pointer.
//!
//! Frame memory is *untyped*: no Rust object lives there, and every access is a read or write
//! of plain bytes or integers. Code above this module reaches a frame's bytes only through a
//! view that its owner hands out: [`FrameRef`] to read, [`FrameMut`] to read and write, with
//! safe, bounds-checked operations. The owner is whoever allocated the frame and has not freed
//! it: a page table for the frames of its owned leaves (`PageTable::owned_page`), the frame
//! allocator for a frame it just handed out (`FrameAllocator::allocate_owned`). A view borrows
//! its owner, so the frame cannot be freed, or reused as a page table, while the view lives.

use crate::addr::{Frame, PAGE_SIZE, PhysRange};
use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;

/// Access to physical memory, one 4 KiB frame at a time.
///
/// # Safety
/// An implementation promises, for as long as it lives:
/// 1. `frame_ptr(f)` returns `Some(p)` only when `p` is valid for reads and writes of
///    [`PAGE_SIZE`] bytes and aligned to [`PAGE_SIZE`];
/// 2. distinct frames give pointers to disjoint memory, and one frame always gives a pointer to
///    the same memory: a frame backed once stays backed (so a caller that reached a frame
///    once, such as a page table for its own table frames, may rely on reaching it again);
/// 3. every byte of that memory is initialised (holds some value), so reading it as plain
///    bytes or integers is defined.
///
/// Who may *use* a pointer is the caller's business: owning a frame (having allocated it and not
/// freed it) is what makes touching its memory sound.
pub unsafe trait PhysMem: Sync {
    /// A pointer to the first byte of `frame`, or `None` if this memory does not back it.
    fn frame_ptr(&self, frame: Frame) -> Option<NonNull<u8>>;
}

// SAFETY: a shared reference forwards to the same implementation, which keeps its promises.
unsafe impl<P: PhysMem + ?Sized> PhysMem for &P {
    #[inline]
    fn frame_ptr(&self, frame: Frame) -> Option<NonNull<u8>> {
        (**self).frame_ptr(frame)
    }
}

/// Why a view of a frame could not be made, or an access through it was refused. Nothing was
/// read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhysError {
    /// The memory does not back the frame.
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

/// A read-only view of one frame's bytes, for as long as nobody writes the frame.
///
/// Made by the frame's owner (a page table lends the frames of its owned leaves), or with the
/// `unsafe` [`FrameRef::new`] by code that can argue what an owner would.
#[derive(Clone, Copy, Debug)]
pub struct FrameRef<'a> {
    frame: Frame,
    ptr: NonNull<u8>,
    _memory: PhantomData<&'a [u8]>,
}

/// A read-write view of one frame's bytes, for as long as nobody else touches the frame.
///
/// Made by the frame's owner (a page table lends the frames of its owned leaves, and hands
/// `map_new`'s fill each fresh frame; the frame allocator lends a frame it handed out), or with
/// the `unsafe` [`FrameMut::new`].
#[derive(Debug)]
pub struct FrameMut<'a> {
    frame: Frame,
    ptr: NonNull<u8>,
    _memory: PhantomData<&'a mut [u8]>,
}

// SAFETY: a view only names plain bytes of one frame; `FrameRef` reads them (shared), and
// `FrameMut` is the one access for as long as it lives, so either may move to another thread.
unsafe impl Send for FrameRef<'_> {}
// SAFETY: as above; `&FrameRef` only reads.
unsafe impl Sync for FrameRef<'_> {}
// SAFETY: as above.
unsafe impl Send for FrameMut<'_> {}
// SAFETY: `&FrameMut` only reads.
unsafe impl Sync for FrameMut<'_> {}

/// `offset` checked so that `len` bytes from there lie in a frame.
#[inline]
fn inside(offset: usize, len: usize) -> Result<usize, PhysError> {
    match offset.checked_add(len) {
        Some(end) if end <= PAGE_SIZE => Ok(offset),
        _ => Err(PhysError::OutsideFrame { offset, len }),
    }
}

impl<'a> FrameRef<'a> {
    /// A view of `frame`'s bytes in `mem`; [`PhysError::NotBacked`] if `mem` lacks it.
    ///
    /// # Safety
    /// For `'a`, the frame's memory is untyped and stays put: no Rust object lives there (no
    /// value of a Rust type, no target of a reference, no stack), nobody writes it, and it is
    /// not freed; the caller owns it, or its owner lends it for `'a`.
    #[inline]
    pub unsafe fn new<P: PhysMem + ?Sized>(mem: &'a P, frame: Frame) -> Result<Self, PhysError> {
        let ptr = mem.frame_ptr(frame).ok_or(PhysError::NotBacked(frame))?;
        Ok(FrameRef {
            frame,
            ptr,
            _memory: PhantomData,
        })
    }

    /// Which frame this is.
    pub fn frame(&self) -> Frame {
        self.frame
    }

    /// Copies `out.len()` bytes from `offset` in the frame into `out`.
    #[inline]
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result<(), PhysError> {
        let offset = inside(offset, out.len())?;
        // SAFETY: the bytes lie in the frame (checked), which `frame_ptr` made valid for reads
        // (contract 1) and whose bytes are initialised (contract 3); nobody writes them for
        // 'a (`new`); `out` is a Rust object, so it is not in the untyped frame: no overlap.
        unsafe {
            let from = self.ptr.as_ptr().add(offset);
            core::ptr::copy_nonoverlapping(from, out.as_mut_ptr(), out.len())
        };
        Ok(())
    }

    /// The native-endian `usize` at `offset` (any offset; the word must lie in the frame).
    #[inline]
    pub fn read_word(&self, offset: usize) -> Result<usize, PhysError> {
        let offset = inside(offset, size_of::<usize>())?;
        // SAFETY: as in `read`; every bit pattern is a `usize`, and `read_unaligned` needs no
        // alignment.
        Ok(unsafe {
            self.ptr
                .as_ptr()
                .add(offset)
                .cast::<usize>()
                .read_unaligned()
        })
    }
}

impl<'a> FrameMut<'a> {
    /// A read-write view of `frame`'s bytes in `mem`; [`PhysError::NotBacked`] if `mem` lacks
    /// it.
    ///
    /// # Safety
    /// For `'a`, the frame's memory is untyped and the caller's alone: no Rust object lives
    /// there (no value of a Rust type, no target of a reference, no stack), nothing reads it as
    /// anything but plain bytes (it is no page table a hart may use), nothing else reads or
    /// writes it, and it is not freed; the caller owns it, or its owner lends it for `'a`.
    #[inline]
    pub unsafe fn new<P: PhysMem + ?Sized>(mem: &'a P, frame: Frame) -> Result<Self, PhysError> {
        let ptr = mem.frame_ptr(frame).ok_or(PhysError::NotBacked(frame))?;
        Ok(FrameMut {
            frame,
            ptr,
            _memory: PhantomData,
        })
    }

    /// Which frame this is.
    pub fn frame(&self) -> Frame {
        self.frame
    }

    /// A read-only view of the same frame, for as long as this one is not used.
    pub fn as_ref(&self) -> FrameRef<'_> {
        FrameRef {
            frame: self.frame,
            ptr: self.ptr,
            _memory: PhantomData,
        }
    }

    /// Copies `out.len()` bytes from `offset` in the frame into `out`.
    #[inline]
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result<(), PhysError> {
        self.as_ref().read(offset, out)
    }

    /// The native-endian `usize` at `offset` (any offset; the word must lie in the frame).
    #[inline]
    pub fn read_word(&self, offset: usize) -> Result<usize, PhysError> {
        self.as_ref().read_word(offset)
    }

    /// Copies `data` to `offset` in the frame.
    #[inline]
    pub fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), PhysError> {
        let offset = inside(offset, data.len())?;
        // SAFETY: the bytes lie in the frame (checked), valid for writes (contract 1) and the
        // caller's alone for 'a (`new`); the memory is untyped, so writing bytes there breaks
        // no Rust value, and `data` (a Rust object) does not overlap it.
        unsafe {
            let to = self.ptr.as_ptr().add(offset);
            core::ptr::copy_nonoverlapping(data.as_ptr(), to, data.len())
        };
        Ok(())
    }

    /// Writes `value` as a native-endian `usize` at `offset`.
    #[inline]
    pub fn write_word(&mut self, offset: usize, value: usize) -> Result<(), PhysError> {
        let offset = inside(offset, size_of::<usize>())?;
        // SAFETY: as in `write`; `write_unaligned` needs no alignment.
        unsafe {
            self.ptr
                .as_ptr()
                .add(offset)
                .cast::<usize>()
                .write_unaligned(value)
        };
        Ok(())
    }

    /// Sets the `len` bytes from `offset` to `byte`.
    #[inline]
    pub fn fill_bytes(&mut self, offset: usize, len: usize, byte: u8) -> Result<(), PhysError> {
        let offset = inside(offset, len)?;
        // SAFETY: as in `write`.
        unsafe { self.ptr.as_ptr().add(offset).write_bytes(byte, len) };
        Ok(())
    }

    /// Fills the frame with zeroes.
    ///
    /// On riscv a loop of word stores, 32 per turn: `compiler_builtins`' `memset` there
    /// spends three instructions per word (QEMU instruction counts: about 3,150 per 4 KiB page
    /// on rv32, 84% of growing a heap), this 34 per 32 words. Volatile stores keep the
    /// compiler from turning the loop back into a `memset` call. Elsewhere the platform's
    /// `memset`.
    #[inline]
    pub fn zero(&mut self) {
        #[cfg(any(target_arch = "riscv32", target_arch = "riscv64"))]
        {
            let words = self.ptr.as_ptr().cast::<usize>();
            for turn in (0..WORDS).step_by(32) {
                for i in turn..turn + 32 {
                    // SAFETY: the whole frame, as in `write`; a frame is page aligned, so
                    // every word is aligned, and `i < WORDS` keeps it inside.
                    unsafe { words.add(i).write_volatile(0) };
                }
            }
        }
        #[cfg(not(any(target_arch = "riscv32", target_arch = "riscv64")))]
        // SAFETY: the whole frame, as in `write`.
        unsafe {
            self.ptr.as_ptr().write_bytes(0, PAGE_SIZE)
        };
    }

    /// Copies the whole of `from`'s frame into this one.
    ///
    /// On riscv eight words per turn, for the reason [`zero`](Self::zero) gives (`memcpy`
    /// there moves a word at a time with its own bookkeeping per word).
    #[inline]
    pub fn copy_from(&mut self, from: &FrameRef<'_>) {
        #[cfg(any(target_arch = "riscv32", target_arch = "riscv64"))]
        {
            let (src, dst) = (
                from.ptr.as_ptr().cast::<usize>().cast_const(),
                self.ptr.as_ptr().cast::<usize>(),
            );
            for turn in (0..WORDS).step_by(8) {
                let mut words = [0usize; 8];
                for (k, word) in words.iter_mut().enumerate() {
                    // SAFETY: `from` covers the whole frame (contract 1); page aligned, so the
                    // word is aligned; `turn + k < WORDS` keeps it inside.
                    *word = unsafe { src.add(turn + k).read_volatile() };
                }
                for (k, word) in words.into_iter().enumerate() {
                    // SAFETY: as above for this view, which is nobody else's while it lives,
                    // and a different frame from `from` (contract 2).
                    unsafe { dst.add(turn + k).write_volatile(word) };
                }
            }
        }
        #[cfg(not(any(target_arch = "riscv32", target_arch = "riscv64")))]
        // SAFETY: both views cover PAGE_SIZE valid bytes (contract 1); they are different
        // frames (this one is nobody else's while it lives, and `from` is being read), so
        // their memory is disjoint (contract 2); both are untyped and initialised.
        unsafe {
            core::ptr::copy_nonoverlapping(from.ptr.as_ptr(), self.ptr.as_ptr(), PAGE_SIZE)
        };
    }
}

/// Machine words in a frame.
#[cfg(any(target_arch = "riscv32", target_arch = "riscv64"))]
const WORDS: usize = PAGE_SIZE / size_of::<usize>();

/// Physical memory in a kernel that maps the whole of `covers` at VA = PA.
#[derive(Clone, Copy, Debug)]
pub struct Identity {
    covers: PhysRange,
}

impl Identity {
    /// Physical memory for the frames inside `covers`.
    ///
    /// # Safety
    /// Every byte of `covers` must be mapped at its own address (VA = PA), readable and
    /// writable, in every address space this value (or a copy) is used from, must be RAM (so
    /// initialised), and must have been exposed to Rust's provenance model (memory the kernel
    /// received from firmware is).
    pub const unsafe fn new(covers: PhysRange) -> Self {
        Identity { covers }
    }
}

// SAFETY: the constructor's contract makes every frame in `covers` readable and writable at its
// own address (1) and initialised (3); frames are disjoint by construction of addresses (2);
// frames outside `covers` are refused.
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
