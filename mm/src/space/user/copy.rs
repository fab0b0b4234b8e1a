//! Copies between kernel memory and a process's memory: `copy_in`, `copy_out`, `copy_in_str`.
//!
//! Every page a copy touches must be mapped and user-accessible, readable for reads and
//! writable for writes; the whole range must lie below the mode's top (so a non-canonical or
//! sign-extended pointer fails instead of aliasing a low address), and
//! `addr + len` must not overflow. Zero-length copies succeed when `addr` is below the top.
//!
//! The rule on failure: `copy_in` and `copy_out` check every page before moving a byte, so a
//! failed copy writes nothing, to the buffer or to user memory. `copy_in_str` cannot know the
//! length in advance; it checks each page as it reaches it, and on failure the buffer holds
//! whatever it had read so far.

use super::pages::DATA_PAGE;
use super::{CopyError, UserSpace};
use crate::addr::{PAGE_SIZE, Page, VirtAddr};
use crate::paging::{Mode, Perms};
use crate::phys::PhysMem;

/// What a copy does to user memory.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

impl<M: Mode, P: PhysMem> UserSpace<M, P> {
    /// Copies `dst.len()` bytes from user address `src` into `dst`. On error `dst` is untouched.
    pub fn copy_in(&self, src: usize, dst: &mut [u8]) -> Result<(), CopyError> {
        let src = self.check(src, dst.len(), Access::Read)?;
        for (done, page, offset, len) in chunks(src, dst.len()) {
            let bytes = self.table.owned_page(page).expect(DATA_PAGE);
            bytes
                .read(offset, &mut dst[done..done + len])
                .expect(DATA_PAGE);
        }
        Ok(())
    }

    /// Copies `src` to user address `dst`. Every page is checked first, so on error nothing
    /// was written.
    pub fn copy_out(&mut self, dst: usize, src: &[u8]) -> Result<(), CopyError> {
        let dst = self.check(dst, src.len(), Access::Write)?;
        for (done, page, offset, len) in chunks(dst, src.len()) {
            let mut bytes = self.table.owned_page_mut(page).expect(DATA_PAGE);
            bytes
                .write(offset, &src[done..done + len])
                .expect(DATA_PAGE);
        }
        Ok(())
    }

    /// Copies a NUL-terminated string from user address `src` into `buf`, reading at most
    /// `buf.len()` bytes, and returns its length (without the NUL, which is copied too).
    /// Pages are checked as they are reached: bytes after the NUL are never looked at, and a
    /// string that runs into an unmapped page fails there. No NUL within `buf.len()` bytes is
    /// [`CopyError::NoNul`]. After the returned length, `buf` holds the NUL and then whatever
    /// else the last page held; after an error, whatever was read so far.
    pub fn copy_in_str(&self, src: usize, buf: &mut [u8]) -> Result<usize, CopyError> {
        if src as u64 >= M::VA_TOP {
            return Err(CopyError::OutOfRange(src));
        }
        let mut done = 0;
        while done < buf.len() {
            let va = src.checked_add(done).ok_or(CopyError::Overflow {
                addr: src,
                len: buf.len(),
            })?;
            let len = (buf.len() - done).min(PAGE_SIZE - va % PAGE_SIZE);
            let va = self.check_range(va, len)?;
            self.check_page(va, Access::Read)?;
            let part = &mut buf[done..done + len];
            let bytes = self
                .table
                .owned_page(Page::containing(va))
                .expect(DATA_PAGE);
            bytes.read(va.page_offset(), part).expect(DATA_PAGE);
            if let Some(nul) = part.iter().position(|&b| b == 0) {
                return Ok(done + nul);
            }
            done += len;
        }
        Err(CopyError::NoNul { bound: buf.len() })
    }

    /// Whether `copy_in` of `len` bytes from `addr` would succeed (every page mapped,
    /// user-accessible, readable), without copying: for a caller that consumes user memory in
    /// pieces but must refuse a bad buffer before acting on any of it.
    pub fn check_readable(&self, addr: usize, len: usize) -> Result<(), CopyError> {
        self.check(addr, len, Access::Read).map(|_| ())
    }

    /// Whether `copy_out` of `len` bytes to `addr` would succeed, without writing.
    pub fn check_writable(&self, addr: usize, len: usize) -> Result<(), CopyError> {
        self.check(addr, len, Access::Write).map(|_| ())
    }

    /// Checks that `[addr, addr + len)` lies below the top and every page allows `access`;
    /// returns `addr` as an address.
    fn check(&self, addr: usize, len: usize, access: Access) -> Result<VirtAddr, CopyError> {
        let start = self.check_range(addr, len)?;
        let mut va = start;
        while va.as_usize() < addr + len {
            self.check_page(va, access)?;
            // The next page starts at or below the end of the range, below the mode's top.
            let next = va
                .align_down(crate::addr::PageSize::Size4KiB)
                .checked_add(PAGE_SIZE);
            va = next.expect("a page boundary inside the checked range");
        }
        Ok(start)
    }

    /// Checks that `[addr, addr + len)` lies below the top; returns `addr` as an address.
    fn check_range(&self, addr: usize, len: usize) -> Result<VirtAddr, CopyError> {
        let end = addr
            .checked_add(len)
            .ok_or(CopyError::Overflow { addr, len })?;
        if addr as u64 >= M::VA_TOP || end as u64 > M::VA_TOP {
            return Err(CopyError::OutOfRange(addr));
        }
        VirtAddr::new(addr).map_err(|_| CopyError::OutOfRange(addr))
    }

    /// Whether the page holding `va` allows `access` to the user.
    fn check_page(&self, va: VirtAddr, access: Access) -> Result<(), CopyError> {
        let at = va.as_usize();
        let perms = self.perms_at(va).ok_or(CopyError::Unmapped(at))?;
        if !perms.contains(Perms::U) {
            return Err(CopyError::NotUser(at));
        }
        if !perms.contains(Perms::R) {
            return Err(CopyError::NotReadable(at));
        }
        if access == Access::Write && !perms.contains(Perms::W) {
            return Err(CopyError::NotWritable(at));
        }
        Ok(())
    }
}

/// The range `[addr, addr + len)`, checked to lie below the top, cut at page boundaries: for
/// each piece, how many bytes came before it, its page, its offset in the page and its length.
fn chunks(addr: VirtAddr, len: usize) -> impl Iterator<Item = (usize, Page, usize, usize)> {
    let mut done = 0;
    core::iter::from_fn(move || {
        if done == len {
            return None;
        }
        let va = addr.checked_add(done).expect("inside the checked range");
        let piece = (len - done).min(PAGE_SIZE - va.page_offset());
        let at = done;
        done += piece;
        Some((at, Page::containing(va), va.page_offset(), piece))
    })
}
