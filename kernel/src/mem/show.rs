//! The kernel map as rows (`abi::KmapRow`, the same rows `kmap` returns to programs) and the
//! boot printout: that table and the allocator's figures.

use super::{Frames, KernelMode, TABLE};
use crate::boot::dtb::BootInfo;
use crate::boot::image::Image;
use crate::{print, println};
use abi::{KmapRow, Name, perm};
use rvmm::addr::{PAGE_SIZE, PhysRange};
use rvmm::paging::{Mode, Perms};

/// Hex digits of an address in the table: Sv39's top is 2^38 (10 digits), Sv32's 2^32 (9, the
/// top page ends at 0x1_0000_0000).
pub const ADDRESS_DIGITS: usize = if KernelMode::VA_TOP > 1 << 32 { 10 } else { 9 };

/// Calls `f` with every row of the kernel map, in address order; returns how many there were.
pub fn rows(mut f: impl FnMut(KmapRow)) -> usize {
    let Some(table) = TABLE.get() else {
        return 0;
    };
    let space = table.lock();
    let mut count = 0;
    for row in space.describe() {
        let m = row.mapping;
        let bit = |p: Perms, b: u32| if m.perms.contains(p) { b } else { 0 };
        let mut what = Name::default();
        let mut w = NameWriter(&mut what, 0);
        let written = core::fmt::write(&mut w, format_args!("{}", row.what));
        written.expect("`NameWriter` cuts instead of refusing");
        f(KmapRow {
            va: m.va.as_u64(),
            pa: m.pa.as_u64(),
            len: m.len,
            page_size: m.size.bytes(),
            perms: bit(Perms::R, perm::R) | bit(Perms::W, perm::W) | bit(Perms::X, perm::X),
            _pad: 0,
            what,
        });
        count += 1;
    }
    count
}

/// Writes text into a [`Name`], cutting it at 15 bytes.
struct NameWriter<'a>(&'a mut Name, usize);

impl core::fmt::Write for NameWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if self.1 < 15 {
                self.0.0[self.1] = b;
                self.1 += 1;
            }
        }
        Ok(())
    }
}

/// Prints the kernel map, one row per run of same-size, same-permission pages that is one
/// thing.
pub fn print_map(satp: usize) {
    let root = TABLE
        .get()
        .map_or(0, |t| t.lock().page_table().root().start().as_u64());
    println!(
        "kernel map ({}, root table at {root:#x}, satp {satp:#x}):",
        KernelMode::NAME
    );
    println!("{}", KmapRow::header(ADDRESS_DIGITS));
    rows(|row| println!("{}", row.row(ADDRESS_DIGITS)));
}

/// Prints RAM, what kalloc manages and what it keeps out.
pub fn print_frames(frames: &Frames, info: &BootInfo, image: &Image) {
    let ram: u64 = info.ram.as_slice().iter().map(|r| r.len()).sum();
    let page = PAGE_SIZE as u64;
    let stats = frames.stats();
    let (_, bookkeeping) = frames.bookkeeping_frames();
    let frames_of = |r: PhysRange| (r.end().as_u64().div_ceil(page)) - r.start().as_u64() / page;
    let (tables, _) = super::kernel_map_frames();
    println!(
        "RAM: {} frames; kalloc manages {} of them: {} free, {tables} hold the kernel map's \
         page tables",
        ram / page,
        stats.total,
        stats.free,
    );
    print!(
        "kept out of kalloc (frames): kernel image {}, allocator bookkeeping {bookkeeping}, \
         device tree {}",
        frames_of(image.whole),
        frames_of(info.dtb),
    );
    if let Some(archive) = info.initrd {
        print!(", program archive {}", frames_of(archive));
    }
    let firmware: u64 = info.reserved.as_slice().iter().map(|r| frames_of(*r)).sum();
    if firmware > 0 {
        print!(", firmware {firmware}");
    }
    println!();
}
