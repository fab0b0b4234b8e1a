//! [`Umalloc`]: a [`Heap`] behind a spin lock, usable through `&self` and as Rust's global
//! allocator. Uncontended, the lock is one atomic swap to take and one store to release.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;

use spin::mutex::{SpinMutex, SpinMutexGuard};

use crate::heap::{Config, Heap};
use crate::sbrk::Sbrk;

/// A shareable heap: every method takes the lock for the duration of one call.
///
/// ```
/// use core::alloc::{GlobalAlloc, Layout};
/// use umalloc::{Region, Umalloc};
///
/// static mut MEMORY: [u8; 1 << 16] = [0; 1 << 16];
/// // SAFETY: MEMORY is used by nothing else, and only through this region.
/// static HEAP: Umalloc<Region> =
///     Umalloc::new(unsafe { Region::new((&raw mut MEMORY).cast(), 1 << 16) });
///
/// let layout = Layout::from_size_align(200, 64).unwrap();
/// // SAFETY: the layout has a non-zero size; the block is freed once with the same layout.
/// unsafe {
///     let p = HEAP.alloc(layout);
///     assert_eq!(p.addr() % 64, 0);
///     HEAP.dealloc(p, layout);
/// }
/// ```
pub struct Umalloc<S: Sbrk> {
    heap: SpinMutex<Heap<S>>,
}

impl<S: Sbrk> Umalloc<S> {
    /// A heap over `sbrk` with [`Config::DEFAULT`].
    pub const fn new(sbrk: S) -> Umalloc<S> {
        Umalloc::with_config(sbrk, Config::DEFAULT)
    }

    /// A heap over `sbrk` with the given tuning.
    pub const fn with_config(sbrk: S, config: Config) -> Umalloc<S> {
        Umalloc {
            heap: SpinMutex::new(Heap::with_config(sbrk, config)),
        }
    }

    /// Takes the lock, for several operations in a row or for inspection.
    pub fn lock(&self) -> SpinMutexGuard<'_, Heap<S>> {
        self.heap.lock()
    }

    /// [`Heap::malloc`].
    pub fn malloc(&self, bytes: usize) -> *mut u8 {
        self.heap.lock().malloc(bytes)
    }

    /// [`Heap::calloc`].
    pub fn calloc(&self, count: usize, size: usize) -> *mut u8 {
        self.heap.lock().calloc(count, size)
    }

    /// [`Heap::memalign`].
    pub fn memalign(&self, align: usize, bytes: usize) -> *mut u8 {
        self.heap.lock().memalign(align, bytes)
    }

    /// [`Heap::free`].
    ///
    /// # Safety
    /// As for [`Heap::free`].
    pub unsafe fn free(&self, ptr: *mut u8) {
        // SAFETY: forwarded to the caller.
        unsafe { self.heap.lock().free(ptr) }
    }

    /// [`Heap::realloc`].
    ///
    /// # Safety
    /// As for [`Heap::realloc`].
    pub unsafe fn realloc(&self, ptr: *mut u8, bytes: usize) -> *mut u8 {
        // SAFETY: forwarded to the caller.
        unsafe { self.heap.lock().realloc(ptr, bytes) }
    }

    /// [`Heap::usable_size`].
    ///
    /// # Safety
    /// As for [`Heap::usable_size`].
    pub unsafe fn usable_size(&self, ptr: *mut u8) -> usize {
        // SAFETY: forwarded to the caller.
        unsafe { self.heap.lock().usable_size(ptr) }
    }
}

// SAFETY: blocks come from `Heap`, which returns distinct, live, suitably aligned blocks of at
// least the requested size (aligned to `layout.align()` via `memalign`), or null.
unsafe impl<S: Sbrk + Send> GlobalAlloc for Umalloc<S> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.heap.lock().memalign(layout.align(), layout.size())
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `GlobalAlloc` callers pass a block this allocator returned.
        unsafe { self.heap.lock().free(ptr) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = self.heap.lock().memalign(layout.align(), layout.size());
        if !p.is_null() {
            // SAFETY: `p` is a fresh block of `layout.size()` bytes.
            unsafe { ptr::write_bytes(p, 0, layout.size()) };
        }
        p
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` is a live block of this allocator aligned to `layout.align()`.
        unsafe {
            self.heap
                .lock()
                .realloc_aligned(ptr, new_size, layout.align())
        }
    }
}
