//! Memory: the frame allocator (`kalloc`) over all free RAM and the one kernel page table all
//! harts share. The logic lives in `rvmm`; this module hands it the board's ranges.

mod build;
pub mod kalloc;
pub mod show;
pub mod stacks;
pub mod typed;

use crate::boot::dtb::BootInfo;
use crate::boot::few::{Few, NO_RANGE};
use crate::boot::image::Image;
use crate::sync::{IrqSpin, Mutex, Once};
use rvmm::addr::PhysRange;
use rvmm::frame::{FrameAllocator, InitError, Junk};
use rvmm::phys::Identity;

pub use build::build_kernel_table;

/// The paging mode of this build: Sv39 on rv64, Sv32 on rv32.
#[cfg(target_pointer_width = "64")]
pub type KernelMode = rvmm::paging::Sv39;
/// The paging mode of this build: Sv39 on rv64, Sv32 on rv32.
#[cfg(target_pointer_width = "32")]
pub type KernelMode = rvmm::paging::Sv32;

/// `kalloc`: every RAM frame that is not the kernel image or the device tree.
pub type Frames = FrameAllocator<Identity, IrqSpin>;

/// The kernel map: its page table plus the description it was built from.
pub type KernelSpace = rvmm::space::kernel::KernelSpace<'static, KernelMode, &'static Identity>;

/// A process's address space.
pub type UserSpace = rvmm::space::user::UserSpace<KernelMode, &'static Identity>;

/// The frame allocator, once the boot hart made it.
pub static FRAMES: Once<Frames> = Once::new();

/// The kernel map, once built; changes (kernel stacks) take the lock.
pub static TABLE: Once<Mutex<KernelSpace>> = Once::new();

/// Physical memory as page tables and address spaces reach it, once boot set it.
static PHYS: Once<Identity> = Once::new();

/// The trampoline's frame and the kernel map's `satp`, once built.
static TOP: Once<(rvmm::Frame, usize)> = Once::new();

/// The frame allocator (made at boot, before anything allocates).
pub fn frames() -> &'static Frames {
    FRAMES.get().expect("kalloc is made at boot")
}

/// Physical memory, for page tables and address spaces.
pub fn phys() -> &'static Identity {
    PHYS.get().expect("physical memory is set up at boot")
}

/// The trampoline's frame, which every address space maps at its top.
pub fn trampoline() -> rvmm::Frame {
    TOP.get().expect("the kernel map is built at boot").0
}

/// The kernel map's `satp`, for the way back from user mode.
pub fn kernel_satp() -> usize {
    TOP.get().expect("the kernel map is built at boot").1
}

/// Frames the kernel map holds: its page tables, and the kernel stacks mapped now.
pub fn kernel_map_frames() -> (usize, usize) {
    let Some(table) = TABLE.get() else {
        return (0, 0);
    };
    let space = table.lock();
    let stacks = (0..space.stack_slots())
        .filter(|&slot| space.is_stack_mapped(slot))
        .map(|slot| space.stack_pages(slot).map_or(0, |p| p.count()))
        .sum();
    (space.page_table().table_frames(), stacks)
}

/// Keeps physical memory for the kernel's lifetime (once, at boot).
pub fn keep_phys(phys: Identity) -> &'static Identity {
    PHYS.set(phys)
        .unwrap_or_else(|_| panic!("physical memory set up twice"))
}

/// Remembers the trampoline's frame and the kernel map's `satp` (once, at boot).
pub fn keep_top(trampoline: rvmm::Frame, satp: usize) {
    let _ = TOP.set((trampoline, satp));
}

/// Physical memory as the kernel sees it: RAM from the end of the kernel image to the top of
/// the highest RAM range, identity-mapped R+W (the image below it is not all writable, and the
/// allocator never touches it; the device tree inside it is mapped R, and only read).
pub fn identity(info: &BootInfo, image: &Image) -> Option<Identity> {
    let top = info.ram.as_slice().iter().map(|r| r.end()).max()?;
    let covers = PhysRange::new(image.whole.end(), top).ok()?;
    // SAFETY: 1. before paging VA = PA for all memory; after, the kernel map gives every RAM
    // byte above the image R+W at its own address (build.rs), in the one table all harts use,
    // but the device tree's pages, which are R: they are reserved, so neither kalloc nor a
    // page table ever writes them through this value. RAM handed over by QEMU is exposed to
    // provenance like any memory outside Rust's objects.
    // 2. Above the image, RAM is untyped: the kernel's statics and boot stacks are in the
    // image, there is no heap, and every RAM byte holds some value. Two kinds of frames hold
    // Rust objects for a while, and neither is named to this value meanwhile: the device tree,
    // which the kernel reads through references (reserved: kalloc never hands it out, no table
    // maps it as data); and a kernel stack a hart runs on (its frames are owned leaves of the
    // kernel map, zeroed by `map_stack` before a hart uses them and freed by `unmap_stack`
    // after; nothing else names them).
    Some(unsafe { Identity::new(covers) })
}

/// Most ranges kalloc leaves out: the image, the device tree, the program archive and what
/// the tree reserves.
pub const MAX_RESERVED: usize = 3 + crate::boot::dtb::MAX_RANGES;

/// Ranges inside RAM that kalloc must not hand out and the kernel map gives no R+W: the kernel
/// image, the device tree, the program archive and what the device tree reserves. The one list
/// both use.
pub fn reserved(info: &BootInfo, image: &Image) -> Few<PhysRange, MAX_RESERVED> {
    let mut out = Few::new(NO_RANGE);
    for r in [image.whole, info.dtb]
        .iter()
        .chain(info.initrd.as_ref())
        .chain(info.reserved.as_slice())
    {
        let room = out.push(*r);
        room.expect(
            "MAX_RESERVED counts the image, the device tree, the archive and its reserved ranges",
        );
    }
    out
}

/// Makes the frame allocator over all RAM minus [`reserved`].
pub fn init_frames(info: &BootInfo, image: &Image) -> Result<&'static Frames, InitError> {
    let mem = identity(info, image).ok_or(InitError::NoMemory)?;
    let reserved = reserved(info, image);
    // SAFETY: the frames of RAM outside the image, the device tree and the reserved ranges are
    // used by nothing else: the boot stacks and statics are in the image, and no other
    // allocator exists.
    let frames =
        unsafe { Frames::with_lock(mem, info.ram.as_slice(), reserved.as_slice(), Junk::Off) }?;
    Ok(FRAMES
        .set(frames)
        .unwrap_or_else(|_| panic!("frame allocator made twice")))
}
