//! The C allocation functions (feature `c-abi`), over the C library's `sbrk`.
//!
//! The C library must provide `void *sbrk(intptr_t increment)` returning the old break, or
//! `(void *)-1` when it refuses. `errno` is not set (this crate has no access to it): callers
//! see NULL, and `posix_memalign` returns the error number as POSIX asks.

use core::ffi::{c_int, c_void};
use core::ptr::{self, NonNull};

use crate::locked::Umalloc;
use crate::sbrk::Sbrk;

unsafe extern "C" {
    /// The C library's break syscall wrapper.
    fn sbrk(increment: isize) -> *mut c_void;
}

/// [`Sbrk`] through the C library's `sbrk`.
#[derive(Debug)]
pub struct SysSbrk;

// SAFETY: the kernel's `sbrk` maps zeroed pages for the new range and returns the old break;
// nobody else in a program that uses this allocator moves the break without telling it
// (and if they do, the heap fences their memory off).
unsafe impl Sbrk for SysSbrk {
    fn grow(&mut self, increment: usize) -> Option<NonNull<u8>> {
        let increment = isize::try_from(increment).ok()?;
        // SAFETY: `sbrk` has no preconditions.
        let old = unsafe { sbrk(increment) };
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
        unsafe { sbrk(-decrement) }.addr() != usize::MAX
    }
}

/// The process heap behind the C functions.
pub static HEAP: Umalloc<SysSbrk> = Umalloc::new(SysSbrk);

const EINVAL: c_int = 22;
const ENOMEM: c_int = 12;

/// C `malloc`: NULL for sizes that cannot be allocated; `malloc(0)` is a unique block.
#[unsafe(no_mangle)]
pub extern "C" fn malloc(size: usize) -> *mut c_void {
    HEAP.malloc(size).cast()
}

/// C `free`.
///
/// # Safety
/// `ptr` must be NULL or a live block from these functions.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free(ptr: *mut c_void) {
    // SAFETY: forwarded to the caller.
    unsafe { HEAP.free(ptr.cast()) }
}

/// C `calloc`: NULL when `count * size` overflows.
#[unsafe(no_mangle)]
pub extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    HEAP.calloc(count, size).cast()
}

/// C `realloc`.
///
/// # Safety
/// `ptr` must be NULL or a live block from these functions.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: forwarded to the caller.
    unsafe { HEAP.realloc(ptr.cast(), size).cast() }
}

/// C11 `aligned_alloc`: any power-of-two alignment; NULL otherwise.
#[unsafe(no_mangle)]
pub extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    HEAP.memalign(align, size).cast()
}

/// POSIX `posix_memalign`: `EINVAL` unless `align` is a power of two multiple of
/// `sizeof(void *)`, `ENOMEM` when out of memory; `*out` is untouched on failure.
///
/// # Safety
/// `out` must be valid for a pointer write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int {
    if !align.is_power_of_two() || !align.is_multiple_of(size_of::<*mut c_void>()) {
        return EINVAL;
    }
    let p = HEAP.memalign(align, size);
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
#[unsafe(no_mangle)]
pub unsafe extern "C" fn malloc_usable_size(ptr: *mut c_void) -> usize {
    if ptr.is_null() {
        return 0;
    }
    // SAFETY: forwarded to the caller.
    unsafe { HEAP.usable_size(ptr.cast()) }
}
