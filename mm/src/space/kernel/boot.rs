//! What the kernel knows at boot, as [`KernelSpace::build`](super::KernelSpace::build) takes it.
//!
//! Everything is borrowed slices and small `Copy` values: the library has no heap, and the
//! kernel fills these from the device tree and its linker symbols.

use crate::addr::{Frame, PhysRange};

/// One section of the kernel image, named in errors and in the map's description.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Section {
    /// Code: mapped R+X.
    Text,
    /// Constants: mapped R.
    Rodata,
    /// Data and bss (one range, as the linker script places them): mapped R+W.
    Data,
}

impl Section {
    /// The three sections in the order they must appear in memory.
    pub const IN_ORDER: [Section; 3] = [Section::Text, Section::Rodata, Section::Data];

    /// The section's name as a linker script spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Section::Text => "text",
            Section::Rodata => "rodata",
            Section::Data => "data",
        }
    }
}

/// Where the kernel image's sections sit in physical memory, from the linker script's symbols.
///
/// Each section must be 4 KiB aligned at both ends (the linker script aligns them, so that each
/// gets its own permissions), the sections must follow each other in the order of
/// [`Section::IN_ORDER`] (gaps allowed), and each must lie inside one RAM range. `rodata` and
/// `data` may be empty; `text` holds the trampoline, so it cannot be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelImage {
    /// Code.
    pub text: PhysRange,
    /// Constants.
    pub rodata: PhysRange,
    /// Data and bss.
    pub data: PhysRange,
}

impl KernelImage {
    /// The range of `section`.
    pub const fn section(&self, section: Section) -> PhysRange {
        match section {
            Section::Text => self.text,
            Section::Rodata => self.rodata,
            Section::Data => self.data,
        }
    }
}

/// A device's MMIO registers: identity-mapped R+W, the pages around them included (MMIO ranges
/// need not be page aligned: the UART's is 0x100 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Device {
    /// Name shown in the map and in errors ("uart", "plic", ...).
    pub name: &'static str,
    /// First byte of the registers.
    pub base: u64,
    /// Length in bytes; must not be zero.
    pub size: u64,
}

impl Device {
    /// The device `name` at `[base, base + size)`.
    pub const fn new(name: &'static str, base: u64, size: u64) -> Self {
        Device { name, base, size }
    }
}

/// How kernel stacks are laid out below the trampoline: `slots` stacks (one per process slot)
/// of `pages` pages each, every one with an unmapped guard page below it.
///
/// The space for every slot is set aside at build time (RAM may not reach into it), but a
/// stack's frames are only mapped by [`KernelSpace::map_stack`](super::KernelSpace::map_stack),
/// except for the first `mapped_at_build` slots, which the build maps (a kernel that
/// maps every stack at boot sets it to `slots`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelStacks {
    /// Process slots that get a stack area.
    pub slots: usize,
    /// Pages per stack; at least 1 when there are slots.
    pub pages: usize,
    /// Slots `0..mapped_at_build` are mapped by the build; at most `slots`.
    pub mapped_at_build: usize,
}

impl KernelStacks {
    /// Pages per stack unless told otherwise: 8 KiB, because Rust code in debug builds uses
    /// noticeably more stack per call than C (a C kernel gets by with one page).
    pub const DEFAULT_PAGES: usize = 2;

    /// No kernel stacks at all.
    pub const NONE: KernelStacks = KernelStacks {
        slots: 0,
        pages: Self::DEFAULT_PAGES,
        mapped_at_build: 0,
    };

    /// `slots` stacks of [`Self::DEFAULT_PAGES`] pages, none mapped at build time.
    pub const fn new(slots: usize) -> Self {
        KernelStacks {
            slots,
            pages: Self::DEFAULT_PAGES,
            mapped_at_build: 0,
        }
    }

    /// The same layout with `pages` pages per stack.
    pub const fn with_pages(self, pages: usize) -> Self {
        KernelStacks { pages, ..self }
    }

    /// The same layout with slots `0..count` mapped by the build.
    pub const fn with_mapped_at_build(self, count: usize) -> Self {
        KernelStacks {
            mapped_at_build: count,
            ..self
        }
    }
}

/// Everything the kernel map is built from.
///
/// RAM ranges may come in any order and need not be page aligned (partial frames at their edges
/// are left unmapped); reserved ranges (the device tree blob, firmware) must lie inside RAM and
/// are mapped read-only, rounded out to whole pages, unless a kernel section covers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootDescription<'a> {
    /// RAM, identity-mapped.
    pub ram: &'a [PhysRange],
    /// Parts of RAM that are not the kernel's to use (mapped R, not R+W).
    pub reserved: &'a [PhysRange],
    /// Where the kernel's sections lie, each mapped with its own permissions.
    pub image: KernelImage,
    /// Device MMIO ranges.
    pub devices: &'a [Device],
    /// The trampoline's frame, inside `image.text`, mapped R+X in the highest page.
    pub trampoline: Frame,
    /// The layout of the kernel-stack area under the trampoline.
    pub stacks: KernelStacks,
}

impl<'a> BootDescription<'a> {
    /// A description with RAM, the image and the trampoline; no reserved ranges, no devices,
    /// no kernel stacks (add them with the `with_*` methods).
    pub const fn new(ram: &'a [PhysRange], image: KernelImage, trampoline: Frame) -> Self {
        BootDescription {
            ram,
            reserved: &[],
            image,
            devices: &[],
            trampoline,
            stacks: KernelStacks::NONE,
        }
    }

    /// The same description with these reserved ranges.
    pub const fn with_reserved(self, reserved: &'a [PhysRange]) -> Self {
        BootDescription { reserved, ..self }
    }

    /// The same description with these devices.
    pub const fn with_devices(self, devices: &'a [Device]) -> Self {
        BootDescription { devices, ..self }
    }

    /// The same description with this kernel-stack layout.
    pub const fn with_stacks(self, stacks: KernelStacks) -> Self {
        BootDescription { stacks, ..self }
    }
}
