//! The boot printout: the kernel map as a table (VA range, PA range, size, permissions, page
//! size, what) and the allocator's figures.

use super::{Frames, KernelMode, KernelSpace};
use crate::boot::dtb::BootInfo;
use crate::boot::image::Image;
use crate::println;
use rvmm::addr::{PAGE_SIZE, PhysRange};

/// A byte count as `4 KiB`, `2 MiB`, `126 MiB`, ... (rounded down).
struct Size(u64);

impl core::fmt::Display for Size {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let text = match self.0 {
            n if n >= 1 << 30 && n % (1 << 30) == 0 => (n >> 30, "GiB"),
            n if n >= 1 << 20 && n % (1 << 20) == 0 => (n >> 20, "MiB"),
            n => (n >> 10, "KiB"),
        };
        let s = format_args!("{} {}", text.0, text.1);
        f.pad(&alloc_free_fmt(s))
    }
}

/// Formats into a small stack buffer, so `pad` can align it.
fn alloc_free_fmt(args: core::fmt::Arguments<'_>) -> Buf {
    let mut b = Buf([0; 24], 0);
    let written = core::fmt::write(&mut b, args);
    written.expect("`Buf` truncates instead of refusing, and numbers always format");
    b
}

struct Buf([u8; 24], usize);

impl core::fmt::Write for Buf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = (self.1 + s.len()).min(self.0.len());
        self.0[self.1..end].copy_from_slice(&s.as_bytes()[..end - self.1]);
        self.1 = end;
        Ok(())
    }
}

impl core::ops::Deref for Buf {
    type Target = str;
    fn deref(&self) -> &str {
        let text = core::str::from_utf8(&self.0[..self.1]);
        text.expect("sizes are ASCII digits and units, cut at a character")
    }
}

/// Prints the kernel map, one row per run of same-size, same-permission pages that is one
/// thing (the library's `describe` rows).
pub fn print_map(space: &KernelSpace) {
    let w = if cfg!(target_pointer_width = "64") {
        10
    } else {
        8
    };
    println!(
        "kernel map ({}, satp {:#x}):",
        <KernelMode as rvmm::paging::Mode>::NAME,
        space.satp()
    );
    println!(
        "  {:<w2$}  {:<w2$}  {:>8}  perm  page    what",
        "VA range",
        "PA range",
        "size",
        w2 = 2 * w + 2,
    );
    for row in space.describe() {
        let m = row.mapping;
        let (va, pa) = (m.va.as_u64(), m.pa.as_u64());
        println!(
            "  {va:0w$x}..{:0w$x}  {pa:0w$x}..{:0w$x}  {:>8}  {:.3}   {:<6}  {}",
            va + m.len,
            pa + m.len,
            Size(m.len),
            m.perms,
            Size(m.size.bytes()),
            row.what,
        );
    }
}

/// Prints RAM, what kalloc manages and what it does not.
pub fn print_frames(frames: &Frames, info: &BootInfo, image: &Image) {
    let ram: u64 = info.ram.as_slice().iter().map(|r| r.len()).sum();
    let ram_frames = ram / PAGE_SIZE as u64;
    let stats = frames.stats();
    let (_, bitmap) = frames.bookkeeping_frames();
    let page = PAGE_SIZE as u64;
    let frames_of = |r: PhysRange| (r.end().as_u64().div_ceil(page)) - r.start().as_u64() / page;
    println!(
        "RAM {} ({} frames); kalloc: total {} frames ({}), free {} ({}), reserved {} \
         (kernel image {}, device tree {}, allocator bookkeeping {}, other {})",
        Size(ram),
        ram_frames,
        stats.total,
        Size(stats.total as u64 * page),
        stats.free,
        Size(stats.free as u64 * page),
        ram_frames - stats.total as u64,
        frames_of(image.whole),
        frames_of(info.dtb),
        bitmap,
        info.reserved
            .as_slice()
            .iter()
            .map(|r| frames_of(*r))
            .sum::<u64>(),
    );
}
