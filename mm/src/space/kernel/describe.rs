//! The kernel map as rows a human (or a test) can read: what each mapped range is, with the
//! page size and permissions the page table actually holds.
//!
//! Rows come from the table's merged mappings, cut where the description says the meaning
//! changes (data ends and free RAM begins inside one run of R+W pages; the UART's page and
//! virtio's next to it), so the rows show what the hardware will see, labelled.

use super::KernelSpace;
use super::boot::BootDescription;
use super::layout::{StackArea, device_at, ram_at, ram_region_at};
use crate::addr::{PAGE_SIZE, Page, PhysAddr, VirtAddr};
use crate::paging::{Mapping, Mappings, Mode};
use crate::phys::PhysMem;
use crate::space::trampoline_page;
use core::fmt;

/// What a range of the kernel map is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelRegion {
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

impl fmt::Display for KernelRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelRegion::Text => f.write_str("text"),
            KernelRegion::Rodata => f.write_str("rodata"),
            KernelRegion::Data => f.write_str("data"),
            KernelRegion::Reserved => f.write_str("reserved"),
            KernelRegion::Ram => f.write_str("ram"),
            KernelRegion::Device(name) => f.write_str(name),
            KernelRegion::Trampoline => f.write_str("trampoline"),
            KernelRegion::KernelStack(slot) => write!(f, "kernel stack {slot}"),
        }
    }
}

/// One row of the kernel map: a run of the table's [`Mapping`]s that is all one
/// [`KernelRegion`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapRow {
    /// The pages, as the page table holds them.
    pub mapping: Mapping,
    /// What they are.
    pub what: KernelRegion,
}

impl fmt::Display for MapRow {
    /// `va_start..va_end -> pa_start..pa_end RWXUG size what`, e.g.
    /// `0x80000000..0x80020000 -> 0x80000000..0x80020000 R-X-G 4K text`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.mapping;
        write!(
            f,
            "{:#x}..{:#x} -> {:#x}..{:#x} {} {} {}",
            m.va.as_u64(),
            m.va.as_u64() + m.len,
            m.pa.as_u64(),
            m.pa.as_u64() + m.len,
            m.perms,
            m.size,
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
    fn region_at(&self, va: u64, pa: u64) -> (KernelRegion, u64) {
        // `va` lies in a run the table holds, below the mode's top.
        let page = Page::containing(VirtAddr::try_from(va).expect("a mapped address"));
        if page == trampoline_page::<M>() {
            return (KernelRegion::Trampoline, u64::MAX);
        }
        if let Some(slot) = self.stacks.slot_of(page) {
            let end = self
                .stacks
                .stack_pages(slot)
                .map_or(u64::MAX, |p| p.end_u64());
            return (KernelRegion::KernelStack(slot), end);
        }
        // Below the top area everything is mapped VA = PA.
        if let Some((_, ram_end)) = ram_at(&self.boot, pa) {
            return ram_region_at(&self.boot, pa, ram_end);
        }
        if let Some((device, end)) = device_at(self.boot.devices, pa) {
            return (KernelRegion::Device(device.name), end);
        }
        // The build maps nothing but the ranges above, and the table is private.
        unreachable!("kernel map holds an unlabelled mapping at {va:#x}")
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
            // Both lie inside the run, so both are addresses.
            self.run = Some(Mapping {
                va: VirtAddr::try_from(end).expect("inside the run"),
                pa: PhysAddr::new(pa + len).expect("inside the run"),
                len: run.len - len,
                ..run
            });
        }
        Some(MapRow {
            mapping: Mapping { len, ..run },
            what,
        })
    }
}
