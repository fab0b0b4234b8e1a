//! Filling a fresh kernel table from a validated description: RAM piece by piece with the
//! largest pages each piece allows, devices, the trampoline, and the stacks mapped at build.

use super::KernelSpace;
use super::describe::Region;
use super::error::BuildError;
use super::layout::{device_pages, devices_in_order, perms_of, ram_frames, ram_region_at};
use crate::addr::{AddrError, PageRange, PhysAddr, VirtAddr};
use crate::frame::FrameSource;
use crate::paging::{self, Mode, PageSizes, Perms};
use crate::phys::PhysMem;
use crate::space::trampoline_page;

/// A page-table refusal as a build error: out of memory is expected, anything else is a bug
/// that validation should have caught, reported as such.
fn refused(e: paging::Error) -> BuildError {
    match e {
        paging::Error::OutOfMemory => BuildError::OutOfMemory,
        other => BuildError::Paging(other),
    }
}

impl<M: Mode, P: PhysMem> KernelSpace<'_, M, P> {
    /// Maps everything the description names. On error the caller destroys the space, which
    /// gives back every frame taken so far. The table is not live yet, so no flush is needed.
    pub(super) fn map_all(&mut self, frames: &mut impl FrameSource) -> Result<(), BuildError> {
        self.map_ram(frames)?;
        self.map_devices(frames)?;
        let trampoline =
            PageRange::from_pages(trampoline_page::<M>(), 1).map_err(|e| refused(e.into()))?;
        let perms = perms_of(Region::Trampoline);
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
            if let Some(pages) = self.stacks.stack_pages(slot) {
                self.fill_stack(pages, frames).map_err(refused)?.ignore();
            }
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
                let perms = perms_of(Region::Device(device.name));
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
        // Validation kept every identity range below the top area, so these conversions hold.
        let too_high = AddrError::VirtOutOfRange(start);
        let va = usize::try_from(start).map_err(|_| too_high);
        let len = usize::try_from(end - start).map_err(|_| too_high);
        let range = va.and_then(|va| PageRange::new(VirtAddr::new(va)?, len?));
        let pages_and_pa = range.and_then(|pages| Ok((pages, PhysAddr::new(start)?)));
        let (pages, pa) = pages_and_pa.map_err(|e| refused(e.into()))?;
        self.table
            .map(pages, pa, perms, PageSizes::Largest, frames)
            .map_err(refused)?
            .ignore();
        Ok(())
    }
}
