//! The kernel address space: the one page table all harts share.
//!
//! [`KernelSpace::build`] takes a [`BootDescription`] (RAM and reserved ranges from the device
//! tree, the kernel image's sections from the linker script, device MMIO ranges, the
//! trampoline's frame, a kernel-stack layout) and maps:
//! - RAM at VA = PA with the largest pages alignment allows (2 MiB and 1 GiB on Sv39, 4 MiB on
//!   Sv32) and 4 KiB pages at unaligned edges, W^X: text R+X, rodata R, data, bss and free RAM
//!   R+W, reserved ranges R;
//! - devices at VA = PA, R+W;
//! - the trampoline R+X in the highest page ([`trampoline_page`](crate::space::trampoline_page));
//! - below the guard page under it, one kernel stack per process slot, each above an unmapped
//!   guard page, mapped and unmapped at run time ([`KernelSpace::map_stack`]).
//!
//! Every leaf is G (global) and none is U. Bad input is a [`BuildError`] naming the culprit;
//! nothing is allocated before the whole description has been checked.
//!
//! ```
//! use rvmm::addr::{Frame, PhysAddr, PhysRange};
//! use rvmm::paging::Sv39;
//! use rvmm::space::kernel::{BootDescription, Device, KernelImage, KernelSpace, KernelStacks};
//! use rvmm_testkit::{Arena, ArenaFrames};
//!
//! let r = |start, len| PhysRange::with_len(start, len).unwrap();
//! let ram = [r(0x8000_0000, 128 << 20)];
//! let image = KernelImage {
//!     text: r(0x8000_0000, 0x2_0000),
//!     rodata: r(0x8002_0000, 0x1_0000),
//!     data: r(0x8003_0000, 0x2_0000),
//! };
//! let devices = [Device::new("uart", 0x1000_0000, 0x100)];
//! let trampoline = Frame::containing(PhysAddr::new(0x8000_1000).unwrap());
//! let boot = BootDescription::new(&ram, image, trampoline)
//!     .with_devices(&devices)
//!     .with_stacks(KernelStacks::new(64));
//!
//! // Page-table frames come from any FrameSource; on the host, an arena playing RAM.
//! let arena = Arena::new(0x8400_0000, 64 * 4096);
//! let mut frames = ArenaFrames::new(&arena);
//! let mut kernel = KernelSpace::<Sv39, _>::build(boot, &arena, &mut frames).unwrap();
//! for row in kernel.describe() {
//!     println!("{row}"); // 0x80000000..0x80020000 -> 0x80000000..0x80020000 R-X-G 4K text ...
//! }
//! let (top, flush) = kernel.map_stack(3, &mut frames).unwrap();
//! flush.ignore(); // a live table would apply it to the hart's TLB
//! assert_eq!(kernel.stack_top(3), Some(top));
//! let satp = kernel.satp();
//! assert_eq!(satp >> 60, 8); // Sv39
//! kernel.destroy(&mut frames);
//! ```

mod boot;
mod build;
mod check;
mod describe;
mod error;
mod layout;
mod stacks;

pub use boot::{BootDescription, Device, KernelImage, KernelStacks, Section};
pub use describe::{KernelRegion, MapRow, MapRows};
pub use error::{BuildError, Culprit, MapStackError, UnmapStackError};

use crate::frame::FrameSource;
use crate::paging::{Mode, PageTable};
use crate::phys::PhysMem;
use layout::StackArea;

/// The kernel's page table, built from a [`BootDescription`] it keeps to name its ranges.
///
/// All calls on one space must use the same frame source: stacks and tables go back to it.
pub struct KernelSpace<'a, M: Mode, P: PhysMem> {
    table: PageTable<M, P>,
    boot: BootDescription<'a>,
    stacks: StackArea,
}

impl<'a, M: Mode, P: PhysMem> KernelSpace<'a, M, P> {
    /// Checks `boot` and builds its map in a fresh table whose frames come from `frames`, in
    /// the physical memory `phys`.
    ///
    /// Bad input is a [`BuildError`] naming the culprit, returned before any frame is taken;
    /// running out of frames halfway gives back everything and returns
    /// [`BuildError::OutOfMemory`].
    pub fn build(
        boot: BootDescription<'a>,
        phys: P,
        frames: &mut impl FrameSource,
    ) -> Result<Self, BuildError> {
        let stacks = check::validate::<M>(&boot)?;
        let table = PageTable::new(phys, frames).map_err(|_| BuildError::OutOfMemory)?;
        let mut space = KernelSpace {
            table,
            boot,
            stacks,
        };
        match space.map_all(frames) {
            Ok(()) => Ok(space),
            Err(e) => {
                space.destroy(frames);
                Err(e)
            }
        }
    }

    /// The `satp` value that switches a hart to this map (ASID 0).
    pub fn satp(&self) -> u64 {
        let satp = self.table.satp(0);
        satp.expect("ASID 0 fits every mode's ASID field")
    }

    /// The page table, to translate addresses or list mappings.
    pub fn page_table(&self) -> &PageTable<M, P> {
        &self.table
    }

    /// The description the map was built from.
    pub fn boot(&self) -> &BootDescription<'a> {
        &self.boot
    }

    /// Gives back every frame the map owns, kernel stacks (their pages are the table's owned
    /// leaves) and table frames alike. No hart may use the map any more.
    pub fn destroy(self, frames: &mut impl FrameSource) {
        self.table.destroy(frames);
    }
}
