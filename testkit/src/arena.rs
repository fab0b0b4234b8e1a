//! Host memory standing in for physical memory.

use rvmm::addr::{Frame, PAGE_SIZE, PhysAddr, PhysRange};
use rvmm::phys::{FrameMut, FrameRef, PhysError, PhysMem};
use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::ptr::NonNull;

/// A block of host memory that plays physical memory `[base, base + bytes)`.
///
/// Frames are 4 KiB aligned host memory, zeroed at creation. Pointers handed out all derive from
/// the one allocation, so Miri's strict provenance checks follow them.
pub struct Arena {
    range: PhysRange,
    mem: NonNull<u8>,
    layout: Layout,
}

// SAFETY: the arena is plain memory; who may touch which frame is governed by frame ownership
// (the PhysMem contract), not by the arena itself.
unsafe impl Send for Arena {}
// SAFETY: as above; `&Arena` only hands out pointers.
unsafe impl Sync for Arena {}

impl Arena {
    /// An arena of `bytes` (a multiple of 4 KiB, at least one frame) playing physical memory
    /// from `base` (4 KiB aligned).
    ///
    /// # Panics
    /// On a misaligned base or size, or if the host cannot provide the memory: this is test
    /// set-up, where a loud failure is what one wants.
    pub fn new(base: u64, bytes: usize) -> Self {
        assert!(
            base.is_multiple_of(PAGE_SIZE as u64),
            "arena base must be 4 KiB aligned"
        );
        assert!(
            bytes.is_multiple_of(PAGE_SIZE) && bytes > 0,
            "arena size must be whole frames"
        );
        let range = PhysRange::with_len(base, bytes as u64).expect("arena outside physical space");
        let layout = Layout::from_size_align(bytes, PAGE_SIZE).expect("arena layout");
        // SAFETY: the layout has a non-zero size.
        let mem = unsafe { alloc_zeroed(layout) };
        let mem = NonNull::new(mem).expect("host out of memory for the arena");
        Arena { range, mem, layout }
    }

    /// The physical range the arena plays.
    pub fn range(&self) -> PhysRange {
        self.range
    }

    /// The first physical address.
    pub fn base(&self) -> PhysAddr {
        self.range.start()
    }

    /// The number of 4 KiB frames.
    pub fn frames(&self) -> usize {
        self.layout.size() / PAGE_SIZE
    }

    /// A pointer to physical address `pa`, valid for `len` bytes, if the arena holds them.
    /// Inlined across crates, as a kernel's identity `PhysMem` is, so that benchmarks over an
    /// arena measure the library rather than a call per frame lookup.
    #[inline]
    pub fn ptr(&self, pa: PhysAddr, len: usize) -> Option<NonNull<u8>> {
        let off = pa.as_u64().checked_sub(self.range.start().as_u64())?;
        let end = off.checked_add(len as u64)?;
        if end > self.layout.size() as u64 {
            return None;
        }
        // SAFETY: off + len lies inside the allocation, so the offset pointer is in bounds.
        Some(unsafe { self.mem.add(off as usize) })
    }
}

/// Reads and writes of the arena's frames by number, as a debugger would. Sound for an arena
/// (unlike for a kernel's `Identity`) because no MMU reads its bytes and no Rust object lives
/// there: a wrong frame number gives a test wrong data, nothing worse. The one rule left is
/// the tests': no two threads touch the same frame at once, one of them writing.
impl Arena {
    /// Copies `out.len()` bytes from `offset` in `frame` into `out`.
    pub fn read(&self, frame: Frame, offset: usize, out: &mut [u8]) -> Result<(), PhysError> {
        // SAFETY: arena memory is untyped (see above), and the view lives for this call only.
        unsafe { FrameRef::new(self, frame) }?.read(offset, out)
    }

    /// The native-endian `usize` at `offset` in `frame`.
    pub fn read_word(&self, frame: Frame, offset: usize) -> Result<usize, PhysError> {
        // SAFETY: as in `read`.
        unsafe { FrameRef::new(self, frame) }?.read_word(offset)
    }

    /// Copies `data` to `offset` in `frame`.
    pub fn write(&self, frame: Frame, offset: usize, data: &[u8]) -> Result<(), PhysError> {
        // SAFETY: as in `read`; the view is the one access for this call.
        unsafe { FrameMut::new(self, frame) }?.write(offset, data)
    }

    /// Writes `value` as a native-endian `usize` at `offset` in `frame`.
    pub fn write_word(&self, frame: Frame, offset: usize, value: usize) -> Result<(), PhysError> {
        // SAFETY: as in `write`.
        unsafe { FrameMut::new(self, frame) }?.write_word(offset, value)
    }

    /// Sets the `len` bytes from `offset` in `frame` to `byte`.
    pub fn fill_bytes(
        &self,
        frame: Frame,
        offset: usize,
        len: usize,
        byte: u8,
    ) -> Result<(), PhysError> {
        // SAFETY: as in `write`.
        unsafe { FrameMut::new(self, frame) }?.fill_bytes(offset, len, byte)
    }
}

// SAFETY: 1. every frame inside the range maps to a 4 KiB aligned, 4 KiB long piece of the one
// allocation (base and layout are 4 KiB aligned); 2. distinct frames map to distinct offsets;
// 3. the allocation is zeroed at creation, so every byte is initialised.
unsafe impl PhysMem for Arena {
    #[inline]
    fn frame_ptr(&self, frame: Frame) -> Option<NonNull<u8>> {
        self.ptr(frame.start(), PAGE_SIZE)
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: `mem` came from `alloc_zeroed` with this very layout and is freed once.
        unsafe { dealloc(self.mem.as_ptr(), self.layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_map_inside_and_refuse_outside() {
        let a = Arena::new(0x8000_0000, 4 * PAGE_SIZE);
        let f = Frame::from_start(PhysAddr::new(0x8000_3000).unwrap()).unwrap();
        let p = a.frame_ptr(f).unwrap();
        assert_eq!(p.as_ptr() as usize % PAGE_SIZE, 0);
        assert!(a.frame_ptr(f.checked_add(1).unwrap()).is_none());
        assert!(a.frame_ptr(Frame::from_number(0x7ffff).unwrap()).is_none());
        assert!(a.ptr(PhysAddr::new(0x8000_3ff8).unwrap(), 8).is_some());
        assert!(a.ptr(PhysAddr::new(0x8000_3ff9).unwrap(), 8).is_none());
    }
}
