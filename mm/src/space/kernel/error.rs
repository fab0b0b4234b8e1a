//! Why a kernel map could not be built, or a kernel stack not mapped or unmapped: each error
//! names the input at fault, so a boot failure message points at the device-tree entry or
//! linker symbol.

use super::boot::{Device, Section};
use crate::addr::{Frame, PhysRange, VirtAddr};
use crate::paging::MapError;
use core::fmt;

/// A range of the boot description, as errors name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Culprit {
    /// A RAM range.
    Ram(PhysRange),
    /// A reserved range.
    Reserved(PhysRange),
    /// A device.
    Device(Device),
}

impl fmt::Display for Culprit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Culprit::Ram(r) => write!(f, "RAM {}", Span(*r)),
            Culprit::Reserved(r) => write!(f, "reserved range {}", Span(*r)),
            Culprit::Device(d) => write!(f, "device {:?} at {:#x} + {:#x}", d.name, d.base, d.size),
        }
    }
}

/// Why [`KernelSpace::build`](super::KernelSpace::build) refused. Nothing is allocated when it
/// returns one (an [`OutOfMemory`](BuildError::OutOfMemory) build gives back every frame it took).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// No RAM range holds a whole frame.
    NoRam,
    /// Two RAM ranges share bytes.
    RamOverlap {
        /// The range listed first.
        first: PhysRange,
        /// The range listed later.
        second: PhysRange,
    },
    /// A reserved range is not inside one RAM range.
    ReservedOutsideRam(PhysRange),
    /// A section's start or end is not 4 KiB aligned.
    SectionUnaligned {
        /// Which section.
        section: Section,
        /// Its range.
        range: PhysRange,
    },
    /// A section starts before the one that must precede it ends.
    SectionsOutOfOrder {
        /// The section that must come first.
        earlier: Section,
        /// The section found starting before `earlier` ends.
        later: Section,
    },
    /// A non-empty section is not inside one RAM range, or `text` is empty.
    SectionOutsideRam {
        /// Which section.
        section: Section,
        /// Its range.
        range: PhysRange,
    },
    /// The trampoline's frame is not inside `text`: mapping any other frame executable at the
    /// top would give it a writable alias, or make data executable.
    TrampolineOutsideText(Frame),
    /// A device of size zero.
    EmptyDevice(Device),
    /// A device's `base + size` is not a physical address at all.
    DeviceRange(Device),
    /// A device shares a page with RAM (a page cannot be both memory and registers).
    DeviceInRam {
        /// The device whose pages meet RAM.
        device: Device,
        /// The RAM range it meets.
        ram: PhysRange,
    },
    /// Two devices' registers share bytes.
    DeviceOverlap {
        /// The device listed first.
        first: Device,
        /// The device listed later.
        second: Device,
    },
    /// A range ends beyond what the mode can address physically (Sv32: 2^34).
    BeyondPhysicalReach {
        /// The range that ends too high.
        culprit: Culprit,
        /// The mode's physical limit (exclusive).
        limit: u64,
    },
    /// A range's identity mapping would reach into the kernel stacks, the guard page or the
    /// trampoline at the top of the virtual space (or beyond the mode's virtual top: on Sv32,
    /// RAM above 4 GiB cannot be mapped VA = PA at all).
    IntoTopArea {
        /// The range that reaches the top area.
        culprit: Culprit,
        /// The lowest virtual address of the top area.
        area_start: VirtAddr,
    },
    /// Kernel stacks of zero pages.
    EmptyStacks,
    /// More slots mapped at build than there are slots.
    TooManyStacksAtBuild {
        /// `mapped_at_build`.
        mapped_at_build: usize,
        /// `slots`.
        slots: usize,
    },
    /// The stack area does not fit below the trampoline.
    StackAreaTooLarge {
        /// `slots`.
        slots: usize,
        /// Pages per stack.
        pages: usize,
    },
    /// No frame was left for a page table or a stack mapped at build.
    OutOfMemory,
    /// The page table refused a mapping that validation let through. Not expected: it would be
    /// a bug in this module, reported instead of panicking.
    Refused(MapError),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::NoRam => f.write_str("no RAM range holds a whole frame"),
            BuildError::RamOverlap { first, second } => {
                write!(f, "RAM {} overlaps RAM {}", Span(*first), Span(*second))
            }
            BuildError::ReservedOutsideRam(r) => {
                write!(f, "reserved range {} is not inside RAM", Span(*r))
            }
            BuildError::SectionUnaligned { section, range } => {
                write!(
                    f,
                    "{} {} is not 4 KiB aligned",
                    section.name(),
                    Span(*range)
                )
            }
            BuildError::SectionsOutOfOrder { earlier, later } => {
                write!(f, "{} starts before {} ends", later.name(), earlier.name())
            }
            BuildError::SectionOutsideRam { section, range } => {
                write!(f, "{} {} is not inside RAM", section.name(), Span(*range))
            }
            BuildError::TrampolineOutsideText(fr) => {
                write!(f, "trampoline {fr:?} is not inside text")
            }
            BuildError::EmptyDevice(d) => write!(f, "{} has size zero", Culprit::Device(*d)),
            BuildError::DeviceRange(d) => write!(f, "{} ends beyond 2^64", Culprit::Device(*d)),
            BuildError::DeviceInRam { device, ram } => {
                let d = Culprit::Device(*device);
                write!(f, "{d} shares a page with RAM {}", Span(*ram))
            }
            BuildError::DeviceOverlap { first, second } => {
                let (a, b) = (Culprit::Device(*first), Culprit::Device(*second));
                write!(f, "{a} overlaps {b}")
            }
            BuildError::BeyondPhysicalReach { culprit, limit } => {
                write!(f, "{culprit} ends beyond the physical limit {limit:#x}")
            }
            BuildError::IntoTopArea {
                culprit,
                area_start,
            } => write!(
                f,
                "{culprit} would reach the kernel stacks and trampoline from {:#x} up",
                area_start.as_usize()
            ),
            BuildError::EmptyStacks => f.write_str("kernel stacks of zero pages"),
            BuildError::TooManyStacksAtBuild {
                mapped_at_build,
                slots,
            } => write!(
                f,
                "{mapped_at_build} stacks to map at build, only {slots} slots"
            ),
            BuildError::StackAreaTooLarge { slots, pages } => write!(
                f,
                "{slots} stacks of {pages} pages do not fit below the trampoline"
            ),
            BuildError::OutOfMemory => f.write_str("out of frames while building the kernel map"),
            BuildError::Refused(e) => write!(f, "page table refused a mapping: {e}"),
        }
    }
}

/// Why [`KernelSpace::map_stack`](super::KernelSpace::map_stack) refused. The map is
/// unchanged when one is returned, and no frame is lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapStackError {
    /// The slot number is not below the number of slots.
    BadSlot {
        /// The slot asked for.
        slot: usize,
        /// How many slots there are.
        slots: usize,
    },
    /// The slot's stack is already mapped.
    AlreadyMapped(usize),
    /// No frame was left for the stack or its page table.
    OutOfMemory,
}

/// Why [`KernelSpace::unmap_stack`](super::KernelSpace::unmap_stack) refused. The map is
/// unchanged when one is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnmapStackError {
    /// The slot number is not below the number of slots.
    BadSlot {
        /// The slot asked for.
        slot: usize,
        /// How many slots there are.
        slots: usize,
    },
    /// The slot's stack is not mapped.
    NotMapped(usize),
}

/// `no kernel-stack slot 5 (there are 4)`.
fn bad_slot(f: &mut fmt::Formatter<'_>, slot: usize, slots: usize) -> fmt::Result {
    write!(f, "no kernel-stack slot {slot} (there are {slots})")
}

impl fmt::Display for MapStackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MapStackError::BadSlot { slot, slots } => bad_slot(f, slot, slots),
            MapStackError::AlreadyMapped(s) => write!(f, "kernel stack {s} is already mapped"),
            MapStackError::OutOfMemory => f.write_str("out of frames for a kernel stack"),
        }
    }
}

impl fmt::Display for UnmapStackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            UnmapStackError::BadSlot { slot, slots } => bad_slot(f, slot, slots),
            UnmapStackError::NotMapped(s) => write!(f, "kernel stack {s} is not mapped"),
        }
    }
}

impl core::error::Error for BuildError {}
impl core::error::Error for MapStackError {}
impl core::error::Error for UnmapStackError {}

/// A physical range printed as `[start, end)` in hex.
struct Span(PhysRange);

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:#x}..{:#x}",
            self.0.start().as_u64(),
            self.0.end().as_u64()
        )
    }
}
