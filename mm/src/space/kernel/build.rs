//! Filling a fresh kernel table from a validated description: RAM piece by piece with the
//! largest pages each piece allows, devices, the trampoline, and the stacks mapped at build.

use super::KernelSpace;
use super::describe::KernelRegion;
use super::error::BuildError;
use super::layout::{device_pages, devices_in_order, perms_of, ram_frames, ram_region_at};
use crate::addr::{PageRange, PhysAddr, VirtAddr};
use crate::frame::FrameSource;
use crate::paging::{MapError, Mode, PageSizes, Perms};
use crate::phys::PhysMem;
use crate::space::trampoline_page;

/// A page-table refusal as a build error: out of memory is expected, anything else is a bug
/// that validation should have caught, reported as such.
fn refused(e: impl Into<MapError>) -> BuildError {
    match e.into() {
        MapError::OutOfMemory => BuildError::OutOfMemory,
        other => BuildError::Refused(other),
    }
}

impl<M: Mode, P: PhysMem> KernelSpace<'_, M, P> {
    /// Maps everything the description names. On error the caller destroys the space, which
    /// gives back every frame taken so far. The table is not live yet, so no flush is needed.
    pub(super) fn map_all(&mut self, frames: &mut impl FrameSource) -> Result<(), BuildError> {
        self.map_ram(frames)?;
        self.map_devices(frames)?;
        let trampoline = PageRange::from_pages(trampoline_page::<M>(), 1);
        let trampoline = trampoline.expect("the highest page is a page of the space");
        let perms = perms_of(KernelRegion::Trampoline);
        self.table
            .map(
                trampoline,
                self.boot.trampoline.start(),
                perms,
                PageSizes::Only4KiB,
                frames,
            )
            .map_err(refused)?
            .ignore();
        for slot in 0..self.boot.stacks.mapped_at_build {
            // Validation put `mapped_at_build <= slots`, so the slot exists.
            let pages = self.stacks.stack_pages(slot).expect("a slot below `slots`");
            self.fill_stack(pages, frames).map_err(refused)?.ignore();
        }
        Ok(())
    }

    /// RAM, cut where permissions change; neighbours with equal permissions (data and free
    /// RAM) are mapped as one piece so superpages can span their boundary.
    fn map_ram(&mut self, frames: &mut impl FrameSource) -> Result<(), BuildError> {
        let boot = self.boot;
        for &ram in boot.ram {
            let (mut at, end) = ram_frames(ram);
            while at < end {
                let perms = perms_of(ram_region_at(&boot, at, end).0);
                let mut piece_end = at;
                while piece_end < end {
                    let (region, next) = ram_region_at(&boot, piece_end, end);
                    if perms_of(region) != perms {
                        break;
                    }
                    piece_end = next;
                }
                self.map_identity(at, piece_end, perms, frames)?;
                at = piece_end;
            }
        }
        Ok(())
    }

    /// Devices in address order; a page shared by two devices is mapped by the first.
    fn map_devices(&mut self, frames: &mut impl FrameSource) -> Result<(), BuildError> {
        let mut mapped_to = 0;
        for device in devices_in_order(self.boot.devices) {
            // Validation refused devices whose end overflows.
            let Some((start, end)) = device_pages(device) else {
                continue;
            };
            let start = start.max(mapped_to);
            if start < end {
                let perms = perms_of(KernelRegion::Device(device.name));
                self.map_identity(start, end, perms, frames)?;
            }
            mapped_to = mapped_to.max(end);
        }
        Ok(())
    }

    /// Maps the whole pages `[start, end)` at VA = PA with the largest pages alignment allows.
    fn map_identity(
        &mut self,
        start: u64,
        end: u64,
        perms: Perms,
        frames: &mut impl FrameSource,
    ) -> Result<(), BuildError> {
        // Validation kept every identity range page-aligned, within the mode's physical reach
        // and below the top area, so it is a range of pages and of physical addresses.
        const CHECKED: &str = "a validated identity range";
        let va = VirtAddr::try_from(start).expect(CHECKED);
        let pages = PageRange::new(va, usize::try_from(end - start).expect(CHECKED));
        let (pages, pa) = (pages.expect(CHECKED), PhysAddr::new(start).expect(CHECKED));
        self.table
            .map(pages, pa, perms, PageSizes::Largest, frames)
            .map_err(refused)?
            .ignore();
        Ok(())
    }
}
