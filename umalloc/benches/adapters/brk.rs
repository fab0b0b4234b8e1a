//! The break every allocator in the benchmark grows: a `Region` over reserved memory, either
//! emulated (moving the break is an addition, pages stay mapped: workloads 1 to 3, as in
//! earlier runs) or like a kernel's `brk` (workload 5): every move is a system call, memory
//! given back is unmapped, and touched again it page-faults in fresh zeroed pages.

use std::ptr::{self, NonNull};

use umalloc::{PAGE_SIZE, Region, Sbrk};

/// Address space reserved with `mmap` and no access: `Brk::kernel` maps pages into it as the
/// break grows and unmaps them as it shrinks.
pub struct KernelArena {
    ptr: NonNull<u8>,
    len: usize,
}

impl KernelArena {
    /// `len` bytes of address space (a multiple of the page size), nothing mapped.
    pub fn new(len: usize) -> KernelArena {
        // SAFETY: a fresh anonymous reservation; no memory of ours is affected.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED, "reserving {len} bytes");
        KernelArena {
            ptr: NonNull::new(p.cast()).unwrap(),
            len,
        }
    }

    /// A kernel-like break over the arena, with nothing mapped yet (whatever an earlier break
    /// left mapped is unmapped). One at a time per arena.
    pub fn brk(&self) -> Brk {
        // SAFETY: our own reservation; no break over it is in use any more.
        let p = unsafe {
            libc::mmap(
                self.ptr.as_ptr().cast(),
                self.len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        assert_eq!(p, self.ptr.as_ptr().cast(), "resetting the arena");
        Brk {
            // SAFETY: the arena is reserved for as long as it lives (longer than any heap over
            // it); `Brk::grow` makes each range readable, writable and zero before the heap
            // gets it, and `Brk::shrink` unmaps only what the heap gave back.
            region: unsafe { Region::new(self.ptr.as_ptr(), self.len) },
            kernel: true,
        }
    }
}

impl Drop for KernelArena {
    fn drop(&mut self) {
        // SAFETY: our own reservation, used by nobody any more.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// A break: a region, and whether moving it costs what it costs on a kernel.
#[derive(Debug)]
pub struct Brk {
    region: Region,
    kernel: bool,
}

impl Brk {
    /// A break that moves by arithmetic over memory that stays mapped.
    pub fn emulated(region: Region) -> Brk {
        Brk {
            region,
            kernel: false,
        }
    }

    /// The start of the break.
    pub fn start(&self) -> NonNull<u8> {
        self.region.start()
    }

    /// Bytes from the start to the break.
    pub fn brk_offset(&self) -> usize {
        self.region.brk_offset()
    }

    /// The highest the break has been, in bytes from the start.
    pub fn peak_offset(&self) -> usize {
        self.region.peak_offset()
    }

    /// Moves of the break (up, down).
    pub fn moves(&self) -> (usize, usize) {
        self.region.moves()
    }

    /// The page-aligned address range from `from` to `to` (page-rounded up), as `mprotect`
    /// and `mmap` want it.
    fn pages(&self, from: usize, to: usize) -> (*mut libc::c_void, usize) {
        let from = from.next_multiple_of(PAGE_SIZE);
        let to = to.next_multiple_of(PAGE_SIZE);
        let at = self.region.start().as_ptr().with_addr(from);
        (at.cast(), to.saturating_sub(from))
    }

    fn brk_addr(&self) -> usize {
        self.region.start().as_ptr().addr() + self.region.brk_offset()
    }
}

// SAFETY: a `Region`'s guarantees (see its impl); in kernel mode every page below the break is
// mapped read-write (fresh pages are zero-filled by the host kernel), and only pages wholly
// above a lowered break are unmapped.
unsafe impl Sbrk for Brk {
    fn grow(&mut self, increment: usize) -> Option<NonNull<u8>> {
        let old = self.region.grow(increment)?;
        if self.kernel && increment != 0 {
            let (at, len) = self.pages(old.as_ptr().addr(), self.brk_addr());
            // SAFETY: the pages lie in our reservation, above the memory anyone uses.
            let done = unsafe { libc::mprotect(at, len, libc::PROT_READ | libc::PROT_WRITE) };
            assert_eq!(done, 0, "mprotect");
        }
        Some(old)
    }

    unsafe fn shrink(&mut self, decrement: usize) -> bool {
        let old = self.brk_addr();
        // SAFETY: forwarded to the caller.
        if !unsafe { self.region.shrink(decrement) } {
            return false;
        }
        if self.kernel && decrement != 0 {
            let (at, len) = self.pages(self.brk_addr(), old);
            if len != 0 {
                // Replace the pages with no-access ones: their contents are gone, as after
                // `brk` lowers the break.
                // SAFETY: the pages lie wholly above the new break: nobody uses them.
                let p = unsafe {
                    libc::mmap(
                        at,
                        len,
                        libc::PROT_NONE,
                        libc::MAP_PRIVATE
                            | libc::MAP_ANONYMOUS
                            | libc::MAP_NORESERVE
                            | libc::MAP_FIXED,
                        -1,
                        0,
                    )
                };
                assert_eq!(p, at, "unmapping the pages above the break");
            }
        }
        true
    }

    fn zeroed_pages(&self) -> Option<usize> {
        self.kernel.then_some(PAGE_SIZE)
    }
}
