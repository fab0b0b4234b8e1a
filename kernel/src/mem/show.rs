//! The boot printout: the kernel map as a table (VA range, PA range, size, permissions, page
//! size, what) and the allocator's figures.

use super::{Frames, KernelMode, KernelTable};
use crate::boot::dtb::BootInfo;
use crate::boot::few::Few;
use crate::boot::image::Image;
use crate::println;
use rvmm::addr::{PAGE_SIZE, PhysAddr, PhysRange};
use rvmm::paging::{Mapping, Perms};
use rvmm::space::trampoline_page;

/// What a mapping is, from where it points.
fn what(m: &Mapping, info: &BootInfo, image: &Image) -> &'static str {
    let pa = m.pa;
    let inside = |r: PhysRange| r.contains(pa);
    let dev =
        |d: crate::boot::dtb::Mmio| pa.as_u64() >= d.base && pa.as_u64() < d.base + d.size.max(1);
    if m.va == trampoline_page::<KernelMode>().start() {
        "trampoline"
    } else if m.va.as_u64() != pa.as_u64() {
        "kernel stack"
    } else if inside(image.trampoline) {
        "text (trampoline page)"
    } else if inside(image.text) {
        "kernel text"
    } else if inside(image.rodata) {
        "kernel rodata"
    } else if inside(image.data) {
        "kernel data, bss, stacks"
    } else if info.ram.as_slice().iter().any(|r| r.contains(pa)) {
        if m.pa.as_u64() < info.dtb.end().as_u64()
            && info.dtb.start().as_u64() < m.pa.as_u64() + m.len
        {
            "free RAM, holds the device tree"
        } else {
            "free RAM"
        }
    } else if dev(info.uart) {
        "UART 16550"
    } else if dev(info.test) {
        "test device"
    } else if info.plic.is_some_and(dev) {
        "PLIC"
    } else if info.clint.is_some_and(dev) {
        "CLINT"
    } else if info.virtio.as_slice().iter().any(|d| dev(*d)) {
        "virtio"
    } else {
        "?"
    }
}

fn perms(p: Perms) -> [u8; 3] {
    let bit = |b: Perms, c: u8| if p.contains(b) { c } else { b'-' };
    [
        bit(Perms::R, b'R'),
        bit(Perms::W, b'W'),
        bit(Perms::X, b'X'),
    ]
}

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
    let _ = core::fmt::write(&mut b, args);
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
        core::str::from_utf8(&self.0[..self.1]).unwrap_or("?")
    }
}

/// Physical addresses where one thing ends and the next begins, so a merged run of pages
/// (the UART next to the virtio slots, data next to free RAM) is shown as one row per thing.
fn boundaries(info: &BootInfo, image: &Image) -> Few<u64, 64> {
    let mut cuts = Few::new(0);
    let ranges = [
        image.text,
        image.trampoline,
        image.rodata,
        image.data,
        info.dtb,
    ];
    let devices = [Some(info.uart), Some(info.test), info.plic, info.clint];
    let all = ranges
        .iter()
        .map(|r| (r.start().as_u64(), r.end().as_u64()))
        .chain(devices.iter().flatten().map(|d| (d.base, d.base + d.size)))
        .chain(
            info.virtio
                .as_slice()
                .iter()
                .map(|d| (d.base, d.base + d.size)),
        );
    for (start, end) in all {
        // Rows are whole pages: cut at the pages that hold the boundaries.
        let page = PAGE_SIZE as u64;
        let _ = cuts.push(start / page * page);
        let _ = cuts.push(end.div_ceil(page) * page);
    }
    cuts
}

/// Prints the kernel map, one row per run of same-size, same-permission pages that is one
/// thing.
pub fn print_map(table: &KernelTable, info: &BootInfo, image: &Image) {
    let w = if cfg!(target_pointer_width = "64") {
        10
    } else {
        8
    };
    println!(
        "kernel map ({}, satp {:#x}):",
        <KernelMode as rvmm::paging::Mode>::NAME,
        table.satp(0).unwrap_or(0)
    );
    println!(
        "  {:<w2$}  {:<w2$}  {:>8}  perm  page    what",
        "VA range",
        "PA range",
        "size",
        w2 = 2 * w + 2,
    );
    let cuts = boundaries(info, image);
    for whole in table.mappings() {
        let mut row = whole;
        loop {
            let (pa, end) = (row.pa.as_u64(), row.pa.as_u64() + row.len);
            let step = row.size.bytes();
            // The first cut inside this row that falls on a page of the row's size.
            let cut = cuts
                .as_slice()
                .iter()
                .copied()
                .filter(|&c| c > pa && c < end && (c - pa) % step == 0)
                .min();
            let len = cut.map_or(row.len, |c| c - pa);
            let part = Mapping { len, ..row };
            print_row(&part, w, info, image);
            let Some(c) = cut else { break };
            let (Some(va), Ok(next_pa)) = (row.va.checked_add(len as usize), PhysAddr::new(c))
            else {
                break;
            };
            row = Mapping {
                va,
                pa: next_pa,
                len: row.len - len,
                ..row
            };
        }
    }
}

fn print_row(m: &Mapping, w: usize, info: &BootInfo, image: &Image) {
    let va = m.va.as_u64();
    let pa = m.pa.as_u64();
    let p = perms(m.perms);
    println!(
        "  {va:0w$x}..{:0w$x}  {pa:0w$x}..{:0w$x}  {:>8}  {}   {:<6}  {}",
        va + m.len,
        pa + m.len,
        Size(m.len),
        core::str::from_utf8(&p).unwrap_or("???"),
        Size(m.size.bytes()),
        what(m, info, image),
    );
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
