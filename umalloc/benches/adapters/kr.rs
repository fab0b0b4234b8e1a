//! The K&R first-fit free list (xv6's `user/umalloc.c`, VIMIX's too), as the baseline: one
//! circular address-ordered list of free blocks, searched from where the last search stopped;
//! `free` walks the list to find the block's place. It never gives memory back.

use std::ptr;

use umalloc::Sbrk;

use super::Brk;

/// A block header; also the unit of allocation (16 bytes).
#[repr(C)]
struct Header {
    next: *mut Header,
    units: usize,
}

/// The allocator: the list's anchor, the roving pointer, and the break.
pub struct KAndR {
    base: *mut Header,
    freep: *mut Header,
    pub region: Brk,
}

impl KAndR {
    pub fn new(region: Brk) -> KAndR {
        let base = Box::into_raw(Box::new(Header {
            next: ptr::null_mut(),
            units: 0,
        }));
        KAndR {
            base,
            freep: ptr::null_mut(),
            region,
        }
    }

    /// # Safety
    /// Plain K&R: the caller frees only blocks it got from here.
    pub unsafe fn malloc(&mut self, nbytes: usize) -> *mut u8 {
        let units = nbytes.div_ceil(size_of::<Header>()) + 1;
        // SAFETY: every pointer followed is the anchor or a free block inside the region.
        unsafe {
            if self.freep.is_null() {
                (*self.base).next = self.base;
                self.freep = self.base;
            }
            let mut prevp = self.freep;
            let mut p = (*prevp).next;
            loop {
                if (*p).units >= units {
                    if (*p).units == units {
                        (*prevp).next = (*p).next;
                    } else {
                        (*p).units -= units;
                        p = p.add((*p).units);
                        (*p).units = units;
                    }
                    self.freep = prevp;
                    return p.add(1).cast();
                }
                if p == self.freep {
                    p = self.morecore(units);
                    if p.is_null() {
                        return ptr::null_mut();
                    }
                }
                prevp = p;
                p = (*p).next;
            }
        }
    }

    unsafe fn morecore(&mut self, units: usize) -> *mut Header {
        let units = units.max(4096);
        let Some(p) = self.region.grow(units * size_of::<Header>()) else {
            return ptr::null_mut();
        };
        let hp = p.as_ptr().cast::<Header>();
        // SAFETY: fresh memory from the break, big enough for a header.
        unsafe {
            (*hp).units = units;
            self.free(hp.add(1).cast());
        }
        self.freep
    }

    /// # Safety
    /// `ap` must be a block from `malloc`.
    pub unsafe fn free(&mut self, ap: *mut u8) {
        // SAFETY: as in `malloc`.
        unsafe {
            let bp = ap.cast::<Header>().sub(1);
            let mut p = self.freep;
            while !(bp > p && bp < (*p).next) {
                if p >= (*p).next && (bp > p || bp < (*p).next) {
                    break;
                }
                p = (*p).next;
            }
            if bp.add((*bp).units) == (*p).next {
                (*bp).units += (*(*p).next).units;
                (*bp).next = (*(*p).next).next;
            } else {
                (*bp).next = (*p).next;
            }
            if p.add((*p).units) == bp {
                (*p).units += (*bp).units;
                (*p).next = (*bp).next;
            } else {
                (*p).next = bp;
            }
            self.freep = p;
        }
    }
}

impl Drop for KAndR {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with `Box`.
        drop(unsafe { Box::from_raw(self.base) });
    }
}

// SAFETY: owns its region and anchor exclusively.
unsafe impl Send for KAndR {}
