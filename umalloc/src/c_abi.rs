//! The C allocation functions (feature `c-abi`), over the C library's `sbrk`.
//!
//! (In this crate's own unit tests the symbols keep Rust names, so the test binary's C library
//! keeps its own `malloc`; the functions run over the host's real `sbrk`.)
//!
//! The C library must provide `sbrk` (returning the old break, or `(void *)-1` when it
//! refuses), `sched_yield`, `sysconf` and `pthread_atfork`. `errno` is not set (this crate has
//! no access to it): callers see NULL, and `posix_memalign` returns the error number as POSIX
//! asks.
//!
//! The first call of an allocating function registers [`HEAP`]'s `fork` handlers with
//! `pthread_atfork`, so a program that links (or preloads) these functions may `fork` while
//! its threads allocate: the child never finds the heap's lock taken by a thread it does not
//! have. A waiter on the lock calls `sched_yield` after a short spin.

use core::ffi::{c_int, c_void};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicU8, Ordering};

use crate::locked::Umalloc;
use crate::sbrk::Sbrk;

/// [`Sbrk`] through the C library's `sbrk`.
#[derive(Debug)]
pub struct SysSbrk;

// SAFETY: the kernel's `sbrk` maps zeroed pages for the new range and returns the old break;
// nobody else in a program that uses this allocator moves the break without telling it
// (and if they do, the heap fences their memory off). Linux (like xv6) maps fresh zeroed pages
// above the page that holds the old break and unmaps the pages wholly above a lowered break,
// which is what `zeroed_pages` promises, in pages of the size `sysconf` reports.
unsafe impl Sbrk for SysSbrk {
    fn grow(&mut self, increment: usize) -> Option<NonNull<u8>> {
        let increment = isize::try_from(increment).ok()?;
        // SAFETY: `sbrk` has no preconditions.
        let old = unsafe { libc::sbrk(increment) };
        if old.addr() == usize::MAX {
            return None;
        }
        NonNull::new(old.cast())
    }

    unsafe fn shrink(&mut self, decrement: usize) -> bool {
        let Ok(decrement) = isize::try_from(decrement) else {
            return false;
        };
        // SAFETY: the caller no longer uses the memory given back.
        unsafe { libc::sbrk(-decrement) }.addr() != usize::MAX
    }

    fn zeroed_pages(&self) -> Option<usize> {
        // SAFETY: `sysconf` has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(page).ok().filter(|p| p.is_power_of_two())
    }
}

/// The process heap behind the C functions.
pub static HEAP: Umalloc<SysSbrk> = Umalloc::new(SysSbrk).with_yield(yield_to_os);

/// The lock's yield hook: give the processor to another thread (perhaps the lock's holder).
fn yield_to_os() {
    // SAFETY: `sched_yield` has no preconditions (it cannot fail on Linux).
    unsafe { libc::sched_yield() };
}

/// `fork` handlers: not yet registered, being registered, registered.
static ATFORK: AtomicU8 = AtomicU8::new(UNREGISTERED);
const UNREGISTERED: u8 = 0;
const REGISTERING: u8 = 1;
const REGISTERED: u8 = 2;

/// [`HEAP`], after making sure its `fork` handlers are registered: the first call registers
/// them, outside the heap's lock (`pthread_atfork` may itself call `malloc`, which then
/// proceeds without registering).
#[inline(always)]
fn heap() -> &'static Umalloc<SysSbrk> {
    if ATFORK.load(Ordering::Relaxed) != REGISTERED {
        register_fork_handlers();
    }
    &HEAP
}

#[cold]
fn register_fork_handlers() {
    if ATFORK
        .compare_exchange(
            UNREGISTERED,
            REGISTERING,
            Ordering::Acquire,
            Ordering::Relaxed,
        )
        .is_err()
    {
        return; // another thread (or this one, further up the stack) is registering them
    }
    // SAFETY: the handlers are `extern "C"` functions with no arguments that live forever.
    // If registration fails (out of memory) there is nothing better to do than go on without.
    unsafe { libc::pthread_atfork(Some(fork_prepare), Some(fork_parent), Some(fork_child)) };
    ATFORK.store(REGISTERED, Ordering::Release);
}

/// `pthread_atfork` prepare handler: [`Umalloc::fork_prepare`].
extern "C" fn fork_prepare() {
    HEAP.fork_prepare();
}

/// `pthread_atfork` parent handler: [`Umalloc::fork_parent`].
extern "C" fn fork_parent() {
    // SAFETY: the C library calls this in the thread that ran `fork_prepare` just before
    // (registered together, and it runs every handler of a set or none: it holds its own
    // lock from the prepare handlers to the parent or child ones).
    unsafe { HEAP.fork_parent() }
}

/// `pthread_atfork` child handler: [`Umalloc::fork_child`].
extern "C" fn fork_child() {
    // SAFETY: as for `fork_parent`, in the child.
    unsafe { HEAP.fork_child() }
}

const EINVAL: c_int = 22;
const ENOMEM: c_int = 12;

/// C `malloc`: NULL for sizes that cannot be allocated; `malloc(0)` is a unique block.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub extern "C" fn malloc(size: usize) -> *mut c_void {
    heap().malloc(size).cast()
}

/// C `free`.
///
/// # Safety
/// `ptr` must be NULL or a live block from these functions.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn free(ptr: *mut c_void) {
    // SAFETY: forwarded to the caller.
    unsafe { HEAP.free(ptr.cast()) }
}

/// C `calloc`: NULL when `count * size` overflows.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    heap().calloc(count, size).cast()
}

/// C `realloc`.
///
/// # Safety
/// `ptr` must be NULL or a live block from these functions.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: forwarded to the caller.
    unsafe { heap().realloc(ptr.cast(), size).cast() }
}

/// C11 `aligned_alloc`: any power-of-two alignment; NULL otherwise.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    heap().memalign(align, size).cast()
}

/// POSIX `posix_memalign`: `EINVAL` unless `align` is a power of two multiple of
/// `sizeof(void *)`, `ENOMEM` when out of memory; `*out` is untouched on failure.
///
/// # Safety
/// `out` must be valid for a pointer write.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int {
    if !align.is_power_of_two() || !align.is_multiple_of(size_of::<*mut c_void>()) {
        return EINVAL;
    }
    let p = heap().memalign(align, size);
    if p.is_null() {
        return ENOMEM;
    }
    // SAFETY: the caller passes a writable `out`.
    unsafe { ptr::write(out, p.cast()) };
    0
}

/// GNU `malloc_usable_size`: 0 for NULL.
///
/// # Safety
/// `ptr` must be NULL or a live block from these functions.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn malloc_usable_size(ptr: *mut c_void) -> usize {
    if ptr.is_null() {
        return 0;
    }
    // SAFETY: forwarded to the caller.
    unsafe { HEAP.usable_size(ptr.cast()) }
}

/// GNU `malloc_trim`: gives the free memory at the top of the heap back to the kernel,
/// keeping `pad` bytes of it; 1 if the break moved, 0 if not. Only the top can go back: memory
/// freed below a live block stays in the heap.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub extern "C" fn malloc_trim(pad: usize) -> c_int {
    c_int::from(HEAP.lock().trim_now(pad) != 0)
}

#[cfg(all(test, not(miri)))]
mod tests {
    use super::*;

    /// The tests share `HEAP` and count its blocks: one at a time.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// Bytes of this process resident in memory (Linux: `/proc/self/statm`, in pages).
    fn resident_bytes() -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * HEAP.lock().sbrk().zeroed_pages().unwrap()
    }

    #[test]
    fn calloc_of_fresh_memory_leaves_it_untouched() {
        let _serial = SERIAL.lock().unwrap();
        const BYTES: usize = 256 << 20;
        let before = resident_bytes();
        let p = calloc(1, BYTES).cast::<u8>();
        assert!(!p.is_null());
        let grown = resident_bytes().saturating_sub(before);
        // Some of the block may be memory the heap used before (and clears); the rest is pages
        // the kernel has not even mapped yet.
        assert!(grown < 16 << 20, "{} MiB became resident", grown >> 20);
        // SAFETY: `p` has `BYTES` bytes; freed once.
        unsafe {
            for i in (0..BYTES).step_by(1 << 20) {
                assert_eq!(p.add(i).read(), 0);
            }
            free(p.cast());
        }
        assert_eq!(HEAP.lock().check().unwrap().in_use, 0);
    }

    #[test]
    fn the_c_functions_follow_c_semantics_over_the_real_break() {
        let _serial = SERIAL.lock().unwrap();
        // SAFETY: every block is freed once; `out` is a valid local.
        unsafe {
            let p = malloc(100);
            assert!(!p.is_null() && p.addr().is_multiple_of(16));
            assert!(malloc_usable_size(p) >= 100);
            assert_eq!(malloc_usable_size(ptr::null_mut()), 0);
            assert!(malloc(usize::MAX).is_null());
            assert!(calloc(usize::MAX, 2).is_null());
            let z = calloc(10, 10);
            assert!(
                std::slice::from_raw_parts(z.cast::<u8>(), 100)
                    .iter()
                    .all(|&b| b == 0)
            );
            let q = realloc(p, 10_000);
            assert!(!q.is_null());
            let a = aligned_alloc(4096, 10);
            assert_eq!(a.addr() % 4096, 0);
            assert!(aligned_alloc(24, 10).is_null());
            let mut out = ptr::null_mut();
            assert_eq!(
                posix_memalign(&mut out, 4, 10),
                EINVAL,
                "not a multiple of a pointer"
            );
            assert_eq!(
                posix_memalign(&mut out, 48, 10),
                EINVAL,
                "not a power of two"
            );
            assert!(out.is_null(), "untouched on failure");
            assert_eq!(posix_memalign(&mut out, 1 << 40, 1 << 40), ENOMEM);
            assert_eq!(posix_memalign(&mut out, 64, 10), 0);
            assert_eq!(out.addr() % 64, 0);
            for block in [q, z, a, out] {
                free(block);
            }
            free(ptr::null_mut());
            assert_eq!(HEAP.lock().check().unwrap().in_use, 0);
        }
    }
}
