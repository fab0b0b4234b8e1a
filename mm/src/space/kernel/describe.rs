//! The kernel map as rows a human (or a test) can read: what each mapped range is, with the
//! page size and permissions the page table actually holds.
//!
//! Rows come from the table's merged mappings, cut where the description says the meaning
//! changes (data ends and free RAM begins inside one run of R+W pages; the UART's page and
//! virtio's next to it), so the rows show what the hardware will see, labelled.

use super::KernelSpace;
use super::boot::BootDescription;
use super::layout::{StackArea, device_at, ram_at, ram_region_at};
use crate::addr::{PAGE_SIZE, Page, PageSize, PhysAddr, VirtAddr};
use crate::paging::{Mapping, Mappings, Mode, Perms};
use crate::phys::PhysMem;
use crate::space::trampoline_page;
use core::fmt;

/// What a range of the kernel map is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Region {
    /// Kernel code (R+X).
    Text,
    /// Kernel constants (R).
    Rodata,
    /// Kernel data and bss (R+W).
    Data,
    /// A reserved part of RAM (R).
    Reserved,
    /// Free RAM (R+W).
    Ram,
    /// A device's registers, by name (R+W).
    Device(&'static str),
    /// The trampoline in the highest page (R+X).
    Trampoline,
    /// The kernel stack of a process slot (R+W).
    KernelStack(usize),
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Region::Text => f.write_str("text"),
            Region::Rodata => f.write_str("rodata"),
            Region::Data => f.write_str("data"),
            Region::Reserved => f.write_str("reserved"),
            Region::Ram => f.write_str("ram"),
            Region::Device(name) => f.write_str(name),
            Region::Trampoline => f.write_str("trampoline"),
            Region::KernelStack(slot) => write!(f, "kernel stack {slot}"),
        }
    }
}

/// One row of the kernel map: a run of pages of one size and one set of permissions, mapped
/// to consecutive physical addresses, that is all one [`Region`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapRow {
    /// First virtual address.
    pub va: VirtAddr,
    /// First physical address.
    pub pa: PhysAddr,
    /// Length in bytes.
    pub len: u64,
    /// Permissions of the leaves.
    pub perms: Perms,
    /// Size of the leaves.
    pub page_size: PageSize,
    /// What the range is.
    pub what: Region,
}

impl fmt::Display for MapRow {
    /// `va_start..va_end -> pa_start..pa_end RWXUG size what`, e.g.
    /// `0x80000000..0x80020000 -> 0x80000000..0x80020000 R-X-G 4K text`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bit = |p: Perms, c: char| if self.perms.contains(p) { c } else { '-' };
        write!(
            f,
            "{:#x}..{:#x} -> {:#x}..{:#x} {}{}{}{}{} {} {}",
            self.va.as_u64(),
            self.va.as_u64() + self.len,
            self.pa.as_u64(),
            self.pa.as_u64() + self.len,
            bit(Perms::R, 'R'),
            bit(Perms::W, 'W'),
            bit(Perms::X, 'X'),
            bit(Perms::U, 'U'),
            bit(Perms::G, 'G'),
            self.page_size,
            self.what
        )
    }
}

impl<'a, M: Mode, P: PhysMem> KernelSpace<'a, M, P> {
    /// The map as rows in address order (see [`MapRow`]); no allocation.
    pub fn describe(&self) -> MapRows<'_, 'a, M, P> {
        MapRows {
            runs: self.table.mappings(),
            boot: self.boot,
            stacks: self.stacks,
            run: None,
        }
    }
}

/// Iterator over the rows of a kernel map, from [`KernelSpace::describe`].
pub struct MapRows<'t, 'a, M: Mode, P: PhysMem> {
    runs: Mappings<'t, M, P>,
    boot: BootDescription<'a>,
    stacks: StackArea,
    /// The run being cut into rows, starting at its first byte not yet reported.
    run: Option<Mapping>,
}

impl<M: Mode, P: PhysMem> MapRows<'_, '_, M, P> {
    /// What the mapping at `va` (leading to `pa`) is, and the virtual address where that stops
    /// being true (`u64::MAX` if only the run's end limits it).
    fn region_at(&self, va: u64, pa: u64) -> (Region, u64) {
        let page = Page::containing(VirtAddr::new(va as usize).unwrap_or_default());
        if page == trampoline_page::<M>() {
            return (Region::Trampoline, u64::MAX);
        }
        if let Some(slot) = self.stacks.slot_of(page) {
            let end = self
                .stacks
                .stack_pages(slot)
                .map_or(u64::MAX, |p| p.end_u64());
            return (Region::KernelStack(slot), end);
        }
        // Below the top area everything is mapped VA = PA.
        if let Some((_, ram_end)) = ram_at(&self.boot, pa) {
            return ram_region_at(&self.boot, pa, ram_end);
        }
        if let Some((device, end)) = device_at(self.boot.devices, pa) {
            return (Region::Device(device.name), end);
        }
        // Not reached: the build maps nothing but the ranges above, and the table is private.
        debug_assert!(false, "kernel map holds an unlabelled mapping at {va:#x}");
        (Region::Ram, u64::MAX)
    }
}

impl<M: Mode, P: PhysMem> Iterator for MapRows<'_, '_, M, P> {
    type Item = MapRow;

    fn next(&mut self) -> Option<MapRow> {
        let run = match self.run.take() {
            Some(run) => run,
            None => self.runs.next()?,
        };
        let (va, pa) = (run.va.as_u64(), run.pa.as_u64());
        let run_end = va + run.len;
        let (what, mut end) = self.region_at(va, pa);
        // Extend over neighbouring pieces with the same label (two adjacent reserved ranges,
        // a boundary that changes nothing): one row per region per run.
        while end < run_end && self.region_at(end, pa + (end - va)).0 == what {
            end = self.region_at(end, pa + (end - va)).1;
        }
        let end = end.min(run_end);
        debug_assert!(end > va && (end - va).is_multiple_of(PAGE_SIZE as u64));
        let len = end - va;
        if end < run_end {
            self.run = Some(Mapping {
                va: VirtAddr::new(end as usize).unwrap_or_default(),
                pa: PhysAddr::new(pa + len).unwrap_or_default(),
                len: run.len - len,
                ..run
            });
        }
        Some(MapRow {
            va: run.va,
            pa: run.pa,
            len,
            perms: run.perms,
            page_size: run.size,
            what,
        })
    }
}
