//! [`Umalloc`]: a [`Heap`] behind a lock, usable through `&self` and as Rust's global
//! allocator. Uncontended, the lock is one atomic compare-and-swap to take and one store to
//! release. Contended, a thread spins briefly and then calls the yield hook, if the program
//! gave one ([`Umalloc::with_yield`]): on a hosted OS the holder may have been descheduled, and
//! spinning on would burn the time slice it needs. The lock also has the three `fork` handlers
//! ([`Umalloc::fork_prepare`] and friends): a thread that forks must not leave the child a lock
//! that another thread held.

use core::alloc::{GlobalAlloc, Layout};
use core::hint::spin_loop;

use spin::mutex::{SpinMutex, SpinMutexGuard};

use crate::chunk::MIN_ALIGN;
use crate::heap::{Config, Heap};
use crate::sbrk::Sbrk;

/// Failed looks at a taken lock before a waiter starts calling the yield hook: each is a
/// `spin_loop` hint (tens of cycles), so together about as long as a few heap operations; a
/// holder that is running is out by then. 10, 30 and 100 were measured (docs/benchmarks.md,
/// workload 7): 10 was as good or better.
const SPINS: u32 = 10;

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
    /// Called by a waiter once the lock has stayed taken for `SPINS` looks, and again at every
    /// later look; without it waiters spin.
    yield_now: Option<fn()>,
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
            yield_now: None,
        }
    }

    /// The same heap, whose waiters call `yield_now` when the lock stays taken after a short
    /// spin: the OS's way to give up the processor (`sched_yield` on Linux, the `yield` system
    /// call on our kernel). Without it (bare metal, one hart per thread) waiters spin until the
    /// lock is free. The hook must not allocate from this heap.
    pub const fn with_yield(mut self, yield_now: fn()) -> Umalloc<S> {
        self.yield_now = Some(yield_now);
        self
    }

    /// Takes the lock, for several operations in a row or for inspection.
    #[inline(always)]
    pub fn lock(&self) -> SpinMutexGuard<'_, Heap<S>> {
        match self.heap.try_lock() {
            Some(guard) => guard,
            None => self.lock_contended(),
        }
    }

    /// Waits for the lock with plain loads (no write to its cache line until it looks free),
    /// spinning `SPINS` times and then yielding at each look.
    #[cold]
    fn lock_contended(&self) -> SpinMutexGuard<'_, Heap<S>> {
        let mut spins = 0;
        loop {
            while self.heap.is_locked() {
                match self.yield_now {
                    Some(yield_now) if spins >= SPINS => yield_now(),
                    _ => {
                        spins += 1;
                        spin_loop();
                    }
                }
            }
            if let Some(guard) = self.heap.try_lock() {
                return guard;
            }
        }
    }

    /// The first `fork` handler, to call right before `fork`: takes the lock and keeps it, so
    /// the child's copy of the heap is one no thread was halfway through changing. Then call
    /// [`Umalloc::fork_parent`] in the parent and [`Umalloc::fork_child`] in the child. (The
    /// C functions of feature `c-abi` register all three with `pthread_atfork`.)
    ///
    /// Do not allocate from this heap between this call and the next two: the thread would
    /// wait for itself.
    pub fn fork_prepare(&self) {
        core::mem::forget(self.lock());
    }

    /// After `fork`, in the parent: releases the lock [`Umalloc::fork_prepare`] took.
    ///
    /// # Safety
    /// This thread called `fork_prepare` on this heap, and neither `fork_parent` nor
    /// `fork_child` since (otherwise another thread may hold the lock: releasing it would let
    /// two threads into the heap).
    pub unsafe fn fork_parent(&self) {
        // SAFETY: this thread holds the lock since `fork_prepare` (caller contract).
        unsafe { self.heap.force_unlock() }
    }

    /// After `fork`, in the child: releases the lock [`Umalloc::fork_prepare`] took in the
    /// parent. The child's only thread is the one that forked, so the heap is exactly as that
    /// thread left it, consistent, and the child owns every block the parent had.
    ///
    /// # Safety
    /// As for [`Umalloc::fork_parent`]: in the child of a `fork` the calling thread prepared.
    pub unsafe fn fork_child(&self) {
        // SAFETY: the lock is the one this thread took before forking (caller contract), and
        // no other thread exists in the child to be inside the heap.
        unsafe { self.heap.force_unlock() }
    }

    /// [`Heap::malloc`].
    ///
    /// The uncontended hit of a quick list is a leaf (no call, no stack frame); everything
    /// else is a tail call to an out-of-line function that finishes the job and unlocks.
    #[inline]
    pub fn malloc(&self, bytes: usize) -> *mut u8 {
        match self.heap.try_lock() {
            Some(mut heap) => match heap.malloc_quick(bytes) {
                Some(user) => user,
                None => Self::malloc_locked(heap, bytes),
            },
            None => self.malloc_contended(bytes),
        }
    }

    /// `malloc` after the quick lists missed, with the lock held (and released on return).
    #[inline(never)]
    fn malloc_locked(mut heap: SpinMutexGuard<'_, Heap<S>>, bytes: usize) -> *mut u8 {
        heap.malloc_slow(bytes)
    }

    /// `malloc` once the lock was found taken.
    #[cold]
    #[inline(never)]
    fn malloc_contended(&self, bytes: usize) -> *mut u8 {
        self.lock_contended().malloc(bytes)
    }

    /// [`Heap::calloc`].
    pub fn calloc(&self, count: usize, size: usize) -> *mut u8 {
        self.lock().calloc(count, size)
    }

    /// [`Heap::memalign`].
    pub fn memalign(&self, align: usize, bytes: usize) -> *mut u8 {
        self.lock().memalign(align, bytes)
    }

    /// [`Heap::free`].
    ///
    /// # Safety
    /// As for [`Heap::free`].
    ///
    /// Like `malloc`, parking a block in a quick list uncontended is a leaf.
    #[inline]
    pub unsafe fn free(&self, ptr: *mut u8) {
        match self.heap.try_lock() {
            // SAFETY: forwarded to the caller.
            Some(mut heap) => unsafe {
                if !heap.free_quick(ptr) {
                    Self::free_locked(heap, ptr);
                }
            },
            // SAFETY: forwarded to the caller.
            None => unsafe { self.free_contended(ptr) },
        }
    }

    /// `free` after the quick path declined, with the lock held (and released on return).
    ///
    /// # Safety
    /// As for [`Heap::free`].
    #[inline(never)]
    unsafe fn free_locked(mut heap: SpinMutexGuard<'_, Heap<S>>, ptr: *mut u8) {
        // SAFETY: forwarded to the caller.
        unsafe { heap.free_slow(ptr) }
    }

    /// `free` once the lock was found taken.
    ///
    /// # Safety
    /// As for [`Heap::free`].
    #[cold]
    #[inline(never)]
    unsafe fn free_contended(&self, ptr: *mut u8) {
        // SAFETY: forwarded to the caller.
        unsafe { self.lock_contended().free(ptr) }
    }

    /// [`Heap::realloc`].
    ///
    /// # Safety
    /// As for [`Heap::realloc`].
    pub unsafe fn realloc(&self, ptr: *mut u8, bytes: usize) -> *mut u8 {
        // SAFETY: forwarded to the caller.
        unsafe { self.lock().realloc(ptr, bytes) }
    }

    /// [`Heap::usable_size`].
    ///
    /// # Safety
    /// As for [`Heap::usable_size`].
    pub unsafe fn usable_size(&self, ptr: *mut u8) -> usize {
        // SAFETY: forwarded to the caller.
        unsafe { self.lock().usable_size(ptr) }
    }
}

// SAFETY: blocks come from `Heap`, which returns distinct, live, suitably aligned blocks of at
// least the requested size (aligned to `layout.align()` via `memalign`), or null.
unsafe impl<S: Sbrk + Send> GlobalAlloc for Umalloc<S> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MIN_ALIGN {
            // Every block is aligned this much: `memalign` would do just what `malloc` does.
            return self.malloc(layout.size());
        }
        self.lock().memalign(layout.align(), layout.size())
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `GlobalAlloc` callers pass a block this allocator returned.
        unsafe { self.free(ptr) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.lock().calloc_aligned(layout.align(), layout.size())
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` is a live block of this allocator aligned to `layout.align()`.
        unsafe { self.lock().realloc_aligned(ptr, new_size, layout.align()) }
    }
}
