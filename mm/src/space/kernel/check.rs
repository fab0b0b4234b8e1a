//! Validation of a boot description, before anything is allocated: bad input is a typed error
//! naming the culprit, and a description that passes maps without conflicts.

use super::boot::{BootDescription, Device, Section};
use super::error::{BuildError, Culprit};
use super::layout::{StackArea, device_pages, page_ceil, page_floor, ram_frames};
use crate::addr::{PageSize, PhysRange, VirtAddr};
use crate::paging::Mode;

/// Checks `boot` for mode `M` and returns the geometry of its kernel-stack area.
pub(super) fn validate<M: Mode>(boot: &BootDescription<'_>) -> Result<StackArea, BuildError> {
    let stacks = check_stacks::<M>(boot)?;
    let area_start = stacks.start();
    check_ram::<M>(boot, area_start)?;
    check_reserved(boot)?;
    check_sections(boot)?;
    if !boot.image.text.contains(boot.trampoline.start()) {
        return Err(BuildError::TrampolineOutsideText(boot.trampoline));
    }
    check_devices::<M>(boot, area_start)?;
    Ok(stacks)
}

fn check_stacks<M: Mode>(boot: &BootDescription<'_>) -> Result<StackArea, BuildError> {
    let s = boot.stacks;
    if s.slots > 0 && s.pages == 0 {
        return Err(BuildError::EmptyStacks);
    }
    if s.mapped_at_build > s.slots {
        return Err(BuildError::TooManyStacksAtBuild {
            mapped_at_build: s.mapped_at_build,
            slots: s.slots,
        });
    }
    StackArea::new::<M>(s).ok_or(BuildError::StackAreaTooLarge {
        slots: s.slots,
        pages: s.pages,
    })
}

/// The range `[start, end)` (whole pages) must be physically addressable by `M` and, mapped
/// VA = PA, stay below the top area.
fn check_reach<M: Mode>(
    culprit: Culprit,
    end: u64,
    area_start: VirtAddr,
) -> Result<(), BuildError> {
    let limit = 1u64 << M::PA_BITS;
    if end > limit {
        return Err(BuildError::BeyondPhysicalReach { culprit, limit });
    }
    if end > area_start.as_u64() {
        return Err(BuildError::IntoTopArea {
            culprit,
            area_start,
        });
    }
    Ok(())
}

fn check_ram<M: Mode>(boot: &BootDescription<'_>, area_start: VirtAddr) -> Result<(), BuildError> {
    let mut frames = 0;
    for (i, &r) in boot.ram.iter().enumerate() {
        let (start, end) = ram_frames(r);
        frames += (end - start) / PageSize::Size4KiB.bytes();
        if end > start {
            check_reach::<M>(Culprit::Ram(r), end, area_start)?;
        }
        if let Some(&first) = boot.ram[..i].iter().find(|&&earlier| earlier.overlaps(r)) {
            return Err(BuildError::RamOverlap { first, second: r });
        }
    }
    if frames == 0 {
        return Err(BuildError::NoRam);
    }
    Ok(())
}

fn check_reserved(boot: &BootDescription<'_>) -> Result<(), BuildError> {
    for &r in boot.reserved {
        let inside = boot.ram.iter().any(|&ram| {
            ram.start().as_u64() <= r.start().as_u64() && r.end().as_u64() <= ram.end().as_u64()
        });
        if !inside {
            return Err(BuildError::ReservedOutsideRam(r));
        }
    }
    Ok(())
}

fn check_sections(boot: &BootDescription<'_>) -> Result<(), BuildError> {
    let image = boot.image;
    for section in Section::IN_ORDER {
        let range = image.section(section);
        let aligned = |a: u64| a == page_floor(a);
        if !aligned(range.start().as_u64()) || !aligned(range.end().as_u64()) {
            return Err(BuildError::SectionUnaligned { section, range });
        }
    }
    for pair in Section::IN_ORDER.windows(2) {
        let (earlier, later) = (pair[0], pair[1]);
        if image.section(later).start() < image.section(earlier).end() {
            return Err(BuildError::SectionsOutOfOrder { earlier, later });
        }
    }
    for section in Section::IN_ORDER {
        let range = image.section(section);
        if range.is_empty() && section != Section::Text {
            continue;
        }
        let inside = !range.is_empty()
            && boot.ram.iter().any(|&ram| {
                let (s, e) = ram_frames(ram);
                s <= range.start().as_u64() && range.end().as_u64() <= e
            });
        if !inside {
            return Err(BuildError::SectionOutsideRam { section, range });
        }
    }
    Ok(())
}

fn check_devices<M: Mode>(
    boot: &BootDescription<'_>,
    area_start: VirtAddr,
) -> Result<(), BuildError> {
    for (i, &device) in boot.devices.iter().enumerate() {
        if device.size == 0 {
            return Err(BuildError::EmptyDevice(device));
        }
        let Some((start, end)) = device_pages(device) else {
            return Err(BuildError::DeviceRange(device));
        };
        check_reach::<M>(Culprit::Device(device), end, area_start)?;
        let meets_ram = |&&ram: &&PhysRange| {
            let (s, e) = (
                page_floor(ram.start().as_u64()),
                page_ceil(ram.end().as_u64()),
            );
            !ram.is_empty() && s < end && start < e
        };
        if let Some(&ram) = boot.ram.iter().find(meets_ram) {
            return Err(BuildError::DeviceInRam { device, ram });
        }
        if let Some(&first) = boot.devices[..i]
            .iter()
            .find(|&&d| bytes_overlap(d, device))
        {
            return Err(BuildError::DeviceOverlap {
                first,
                second: device,
            });
        }
    }
    Ok(())
}

/// Whether two devices' registers share a byte (sharing a page is fine: it is mapped once).
fn bytes_overlap(a: Device, b: Device) -> bool {
    // Both sizes are non-zero and both ends fit in u64: checked before this is called for `b`,
    // and `a` came earlier in the list.
    a.base < b.base.saturating_add(b.size) && b.base < a.base.saturating_add(a.size)
}
