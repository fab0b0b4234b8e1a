//! Cache prefetch hints: start fetching a line we are about to write, so its miss overlaps with
//! other misses instead of following them. Hints only: a wrong address costs nothing (prefetches
//! never fault), and targets without a stable prefetch instruction get a no-op.

/// Hints that the cache line holding `p` will soon be written.
#[inline(always)]
pub(crate) fn for_write(p: *const u8) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: `prefetchw` (or `prefetcht0` where unsupported) only hints the cache; it never
    // faults or reads memory architecturally, whatever the address. SSE is baseline on x86-64.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_ET0 }>(p.cast());
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = p;
}
