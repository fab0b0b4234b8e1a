//! The device tree QEMU hands over in `a1`: RAM, reserved ranges, devices and harts.
//!
//! The `fdt` crate (0.1) panics when `/chosen`, `/cpus` or `/memory` is missing, so its
//! convenience accessors are never called: nodes are looked up with `find_node` and checked,
//! and a device tree that lacks what the kernel needs is a [`DtbError`] naming it.

use super::few::{Few, NO_RANGE};
use crate::arch::MAX_HARTS;
use core::fmt;
use fdt::Fdt;
use fdt::node::FdtNode;
use rvmm::addr::PhysRange;

/// Most RAM ranges, reserved ranges and virtio slots kept.
pub const MAX_RANGES: usize = 8;

/// An MMIO device: where its registers are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mmio {
    /// First byte.
    pub base: u64,
    /// Length in bytes.
    pub size: u64,
}

/// What the kernel learned from the device tree.
#[derive(Clone, Copy, Debug)]
pub struct BootInfo {
    /// The device tree's own bytes (reserved: it stays readable for the kernel's lifetime).
    pub dtb: PhysRange,
    /// RAM.
    pub ram: Few<PhysRange, MAX_RANGES>,
    /// Ranges inside RAM that are not ours: `/memreserve/` entries and `/reserved-memory`.
    pub reserved: Few<PhysRange, MAX_RANGES>,
    /// The 16550 UART (console).
    pub uart: Mmio,
    /// The SiFive test device (ends QEMU).
    pub test: Mmio,
    /// The PLIC, if any.
    pub plic: Option<Mmio>,
    /// The CLINT, if any.
    pub clint: Option<Mmio>,
    /// virtio-mmio slots.
    pub virtio: Few<Mmio, MAX_RANGES>,
    /// Ids of the harts that are enabled.
    pub harts: Few<usize, MAX_HARTS>,
    /// Harts the tree lists beyond `MAX_HARTS` (they park and are reported).
    pub harts_ignored: usize,
    /// `time` ticks per second.
    pub timebase_hz: u64,
    /// `/chosen/bootargs` (from `-append`), empty when absent.
    pub bootargs: &'static str,
    /// The program archive QEMU loaded with `-initrd` (`/chosen/linux,initrd-*`), if any.
    pub initrd: Option<PhysRange>,
    /// The UART's interrupt number at the PLIC, if the tree gives one.
    pub uart_irq: Option<u32>,
}

/// Why the device tree cannot be used.
#[derive(Clone, Copy, Debug)]
pub enum DtbError {
    /// No device tree at that address (bad magic or size).
    Header(usize),
    /// The `fdt` crate refused it.
    Parse(fdt::FdtError),
    /// A node or property the kernel needs is missing.
    Missing(&'static str),
    /// More entries than the kernel keeps.
    TooMany(&'static str),
    /// An address that does not fit a physical address.
    BadRange(&'static str),
}

impl fmt::Display for DtbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DtbError::Header(at) => write!(f, "no device tree at {at:#x} (bad magic or size)"),
            DtbError::Parse(e) => write!(f, "device tree not parseable: {e:?}"),
            DtbError::Missing(what) => write!(f, "device tree lacks {what}"),
            DtbError::TooMany(what) => write!(f, "device tree lists too many {what}"),
            DtbError::BadRange(what) => write!(f, "device tree gives an invalid range for {what}"),
        }
    }
}

const FDT_MAGIC: u32 = 0xd00d_feed;

/// The device tree at `addr`, checked to be one (magic and a sane size).
///
/// # Safety
/// If `addr` holds a device tree header, its `totalsize` bytes must stay readable and unchanged
/// for the rest of the kernel's life. `addr` itself may be anything.
pub unsafe fn open(addr: usize) -> Result<Fdt<'static>, DtbError> {
    if addr == 0 || !addr.is_multiple_of(4) {
        return Err(DtbError::Header(addr));
    }
    let header = core::ptr::with_exposed_provenance::<u32>(addr);
    // SAFETY: QEMU passes the address of a device tree in RAM, which holds at least a header
    // (8 bytes); a bad address is caught by the magic check before more is read.
    let (magic, size) = unsafe { (header.read_volatile(), header.add(1).read_volatile()) };
    let size = u32::from_be(size) as usize;
    if u32::from_be(magic) != FDT_MAGIC || !(40..=16 << 20).contains(&size) {
        return Err(DtbError::Header(addr));
    }
    // SAFETY: a valid header says `size` bytes follow; the caller keeps them alive and unchanged.
    let bytes = unsafe { core::slice::from_raw_parts(header.cast::<u8>(), size) };
    Fdt::new(bytes).map_err(DtbError::Parse)
}

/// Reads what the kernel needs from `fdt`, which lives at `addr`.
pub fn parse(fdt: &Fdt<'static>, addr: usize) -> Result<BootInfo, DtbError> {
    let dtb = PhysRange::with_len(addr as u64, fdt.total_size() as u64)
        .map_err(|_| DtbError::BadRange("itself"))?;
    let root = fdt.find_node("/").ok_or(DtbError::Missing("a root node"))?;
    let mut info = BootInfo {
        dtb,
        ram: Few::new(NO_RANGE),
        reserved: Few::new(NO_RANGE),
        uart: uart(fdt)?,
        test: test_device(fdt)?,
        plic: device(fdt, &["riscv,plic0", "sifive,plic-1.0.0"], "").ok(),
        clint: device(fdt, &["riscv,clint0", "sifive,clint0"], "").ok(),
        virtio: Few::new(Mmio::default()),
        harts: Few::new(0),
        harts_ignored: 0,
        timebase_hz: 0,
        bootargs: "",
        initrd: None,
        uart_irq: None,
    };
    for node in root.children() {
        if node_is(node, "memory") {
            for &r in regs(node, "/memory")?.as_slice() {
                info.ram
                    .push(r)
                    .map_err(|_| DtbError::TooMany("RAM ranges"))?;
            }
        }
    }
    if info.ram.as_slice().is_empty() {
        return Err(DtbError::Missing("/memory (RAM ranges)"));
    }
    for r in fdt.memory_reservations() {
        let range = PhysRange::with_len(r.address() as u64, r.size() as u64)
            .map_err(|_| DtbError::BadRange("/memreserve/"))?;
        info.reserved
            .push(range)
            .map_err(|_| DtbError::TooMany("reserved ranges"))?;
    }
    if let Some(reserved) = fdt.find_node("/reserved-memory") {
        for child in reserved.children() {
            for &r in regs(child, "/reserved-memory")?.as_slice() {
                info.reserved
                    .push(r)
                    .map_err(|_| DtbError::TooMany("reserved ranges"))?;
            }
        }
    }
    for node in fdt.all_nodes() {
        if node
            .compatible()
            .is_some_and(|c| c.all().any(|s| s == "virtio,mmio"))
        {
            let mmio = first_reg(node).ok_or(DtbError::BadRange("virtio,mmio"))?;
            // More slots than we keep are simply not mapped.
            let _ = info.virtio.push(mmio);
        }
    }
    harts(fdt, &mut info)?;
    if let Some(chosen) = fdt.find_node("/chosen") {
        info.bootargs = string_prop(chosen, "bootargs").unwrap_or("");
        info.initrd = initrd(chosen)?;
    }
    info.uart_irq = fdt
        .find_compatible(&["ns16550a", "ns16550"])
        .and_then(|n| n.property("interrupts"))
        .and_then(|p| Some(u32::from_be_bytes(p.value.get(..4)?.try_into().ok()?)));
    Ok(info)
}

/// The archive range `/chosen` names with `linux,initrd-start` and `linux,initrd-end`.
fn initrd(chosen: FdtNode<'_, 'static>) -> Result<Option<PhysRange>, DtbError> {
    let cells = |name| chosen.property(name).and_then(|p| be_cells(p.value));
    match (cells("linux,initrd-start"), cells("linux,initrd-end")) {
        (Some(start), Some(end)) if end > start => PhysRange::with_len(start, end - start)
            .map(Some)
            .map_err(|_| DtbError::BadRange("/chosen/linux,initrd")),
        _ => Ok(None),
    }
}

/// The console UART.
pub fn uart(fdt: &Fdt<'static>) -> Result<Mmio, DtbError> {
    device(
        fdt,
        &["ns16550a", "ns16550"],
        "a 16550 UART (compatible ns16550a)",
    )
}

/// The device that ends QEMU.
pub fn test_device(fdt: &Fdt<'static>) -> Result<Mmio, DtbError> {
    device(
        fdt,
        &["sifive,test0", "sifive,test1"],
        "the test device (compatible sifive,test0)",
    )
}

/// Fills the harts and the timebase from `/cpus`.
fn harts(fdt: &Fdt<'static>, info: &mut BootInfo) -> Result<(), DtbError> {
    let cpus = fdt.find_node("/cpus").ok_or(DtbError::Missing("/cpus"))?;
    info.timebase_hz = u32_prop(cpus, "timebase-frequency").map_or(0, u64::from);
    for cpu in cpus.children().filter(|c| node_is(*c, "cpu")) {
        if string_prop(cpu, "status").is_some_and(|s| s != "okay") {
            continue;
        }
        let id = first_reg(cpu).ok_or(DtbError::Missing("a cpu node's reg (hart id)"))?;
        if info.harts.push(id.base as usize).is_err() || id.base as usize >= MAX_HARTS {
            info.harts_ignored += 1;
        }
        if info.timebase_hz == 0 {
            info.timebase_hz = u32_prop(cpu, "timebase-frequency").map_or(0, u64::from);
        }
    }
    if info.harts.as_slice().is_empty() {
        return Err(DtbError::Missing("/cpus/cpu@N (harts)"));
    }
    Ok(())
}

/// Whether `node` is named `name` or `name@unit`.
fn node_is(node: FdtNode<'_, '_>, name: &str) -> bool {
    node.name.split('@').next() == Some(name)
}

/// The first node compatible with one of `compatible`, as MMIO.
fn device(fdt: &Fdt<'static>, compatible: &[&str], what: &'static str) -> Result<Mmio, DtbError> {
    let node = fdt
        .find_compatible(compatible)
        .ok_or(DtbError::Missing(what))?;
    first_reg(node).ok_or(DtbError::Missing(what))
}

/// The first `(address, size)` pair of `node`'s `reg` (size 0 when the parent has no size
/// cells, as for cpu nodes).
fn first_reg(node: FdtNode<'_, '_>) -> Option<Mmio> {
    let raw = node.raw_reg()?.next()?;
    Some(Mmio {
        base: be_cells(raw.address)?,
        size: if raw.size.is_empty() {
            0
        } else {
            be_cells(raw.size)?
        },
    })
}

/// Every `reg` pair of `node` as a physical range.
fn regs(node: FdtNode<'_, '_>, what: &'static str) -> Result<Few<PhysRange, MAX_RANGES>, DtbError> {
    let mut out: Few<PhysRange, MAX_RANGES> = Few::new(NO_RANGE);
    for raw in node.raw_reg().ok_or(DtbError::Missing(what))? {
        let (Some(base), Some(size)) = (be_cells(raw.address), be_cells(raw.size)) else {
            return Err(DtbError::BadRange(what));
        };
        let range = PhysRange::with_len(base, size).map_err(|_| DtbError::BadRange(what))?;
        out.push(range).map_err(|_| DtbError::TooMany(what))?;
    }
    Ok(out)
}

/// A big-endian number of one or two cells.
fn be_cells(bytes: &[u8]) -> Option<u64> {
    match bytes.len() {
        4 => Some(u64::from(u32::from_be_bytes(bytes.try_into().ok()?))),
        8 => Some(u64::from_be_bytes(bytes.try_into().ok()?)),
        _ => None,
    }
}

fn u32_prop(node: FdtNode<'_, '_>, name: &str) -> Option<u32> {
    let value = node.property(name)?.value;
    Some(u32::from_be_bytes(value.get(..4)?.try_into().ok()?))
}

fn string_prop(node: FdtNode<'_, 'static>, name: &str) -> Option<&'static str> {
    let value = node.property(name)?.value;
    let text = value.split(|&b| b == 0).next()?;
    core::str::from_utf8(text).ok()
}
