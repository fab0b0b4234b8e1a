//! The kernel page table, mapped region by region with `rvmm::paging::PageTable::map`.
//!
//! TEMPORARY: `rvmm::space::kernel` (issue 3) will build this table from the same boot
//! description; when it lands this file shrinks to filling in that description.

use super::{Frames, KernelMode, KernelTable};
use crate::boot::dtb::{BootInfo, Mmio};
use crate::boot::image::Image;
use core::fmt;
use rvmm::addr::{PAGE_SIZE, PageRange, PhysAddr, PhysRange, VirtAddr};
use rvmm::paging::{self, PageSizes, Perms};
use rvmm::phys::Identity;
use rvmm::space::trampoline_page;

/// Why the kernel table could not be built.
#[derive(Clone, Copy, Debug)]
pub struct BuildError {
    /// The region being mapped.
    pub what: &'static str,
    /// What the library said.
    pub error: paging::Error,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mapping {}: {}", self.what, self.error)
    }
}

/// The page range covering `[start, start + len)` rounded out to whole pages.
fn pages(start: u64, len: u64) -> Result<(PageRange, PhysAddr), paging::Error> {
    let first = start & !(PAGE_SIZE as u64 - 1);
    let end = (start + len).next_multiple_of(PAGE_SIZE as u64);
    let va = VirtAddr::try_from(first)?;
    let range = PageRange::new(va, usize::try_from(end - first).unwrap_or(usize::MAX))?;
    Ok((range, PhysAddr::new(first)?))
}

/// Maps `[start, start + len)` at VA = PA.
fn identity_map(
    table: &mut KernelTable,
    frames: &Frames,
    what: &'static str,
    region: (u64, u64),
    perms: Perms,
) -> Result<(), BuildError> {
    let fail = |error| BuildError { what, error };
    if region.1 == 0 {
        return Ok(());
    }
    let (range, pa) = pages(region.0, region.1).map_err(fail)?;
    // Not live yet: no hart uses the table, so there is nothing to flush.
    table
        .map(range, pa, perms, PageSizes::Largest, &mut &*frames)
        .map_err(fail)?
        .ignore();
    Ok(())
}

fn span(r: PhysRange) -> (u64, u64) {
    (r.start().as_u64(), r.len())
}

fn mmio(m: Mmio) -> (u64, u64) {
    (m.base, m.size)
}

/// The shared kernel table: the image with W^X (text R+X, rodata R, data R+W), the rest of
/// RAM R+W, the devices R+W, all at VA = PA, and the trampoline R+X in the highest page.
pub fn build_kernel_table(
    info: &BootInfo,
    image: &Image,
    frames: &'static Frames,
    phys: Identity,
) -> Result<KernelTable, BuildError> {
    let oom = |_| BuildError {
        what: "the root table",
        error: paging::Error::OutOfMemory,
    };
    let mut table = KernelTable::new(phys, &mut &*frames).map_err(oom)?;
    identity_map(
        &mut table,
        frames,
        "kernel text",
        span(image.text),
        Perms::RX,
    )?;
    identity_map(
        &mut table,
        frames,
        "kernel rodata",
        span(image.rodata),
        Perms::R,
    )?;
    identity_map(
        &mut table,
        frames,
        "kernel data",
        span(image.data),
        Perms::RW,
    )?;
    for ram in info.ram.as_slice() {
        // RAM above the image (the image sits at the bottom of its range on virt; RAM below
        // it, if any, is mapped whole).
        let start = if ram.contains(image.whole.start()) {
            image.whole.end()
        } else {
            ram.start()
        };
        if start < ram.end() {
            let len = ram.end().as_u64() - start.as_u64();
            identity_map(&mut table, frames, "RAM", (start.as_u64(), len), Perms::RW)?;
        }
    }
    identity_map(&mut table, frames, "UART", mmio(info.uart), Perms::RW)?;
    identity_map(
        &mut table,
        frames,
        "test device",
        mmio(info.test),
        Perms::RW,
    )?;
    for (what, dev) in [("PLIC", info.plic), ("CLINT", info.clint)] {
        if let Some(dev) = dev {
            identity_map(&mut table, frames, what, mmio(dev), Perms::RW)?;
        }
    }
    for dev in info.virtio.as_slice() {
        identity_map(&mut table, frames, "virtio", mmio(*dev), Perms::RW)?;
    }
    let top = trampoline_page::<KernelMode>();
    let fail = |error| BuildError {
        what: "the trampoline",
        error,
    };
    let one = PageRange::from_pages(top, 1).map_err(|e| fail(e.into()))?;
    table
        .map(
            one,
            image.trampoline.start(),
            Perms::RX,
            PageSizes::Only4KiB,
            &mut &*frames,
        )
        .map_err(fail)?
        .ignore();
    Ok(table)
}
