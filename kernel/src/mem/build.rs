//! The kernel map, built by `rvmm::space::kernel` from a boot description the kernel fills in
//! from the device tree and its linker symbols.

use super::{Frames, KernelSpace, MAX_RESERVED, reserved};
use crate::boot::dtb::BootInfo;
use crate::boot::few::Few;
use crate::boot::image::Image;
use crate::sync::Once;
use rvmm::Frame;
use rvmm::addr::PhysRange;
use rvmm::phys::Identity;
use rvmm::space::kernel::{BootDescription, BuildError, Device, KernelStacks};

/// Devices the map can hold: UART, test device, PLIC, CLINT and the virtio slots.
const MAX_DEVICES: usize = 4 + crate::boot::dtb::MAX_RANGES;

/// What the boot description borrows; kept for the kernel's lifetime, as the map is.
struct Lists {
    reserved: Few<PhysRange, MAX_RESERVED>,
    devices: Few<Device, MAX_DEVICES>,
}

static LISTS: Once<Lists> = Once::new();

fn lists(info: &BootInfo, image: &Image) -> Lists {
    let mut devices = Few::new(Device::new("", 0, 0));
    let dev = |name, m: crate::boot::dtb::Mmio| Device::new(name, m.base, m.size.max(1));
    let fixed = [
        ("uart", Some(info.uart)),
        ("test", Some(info.test)),
        ("plic", info.plic),
        ("clint", info.clint),
    ];
    const FITS: &str = "MAX_DEVICES counts the four fixed devices and every virtio slot";
    for (name, m) in fixed {
        if let Some(m) = m {
            devices.push(dev(name, m)).expect(FITS);
        }
    }
    for m in info.virtio.as_slice() {
        devices.push(dev("virtio", *m)).expect(FITS);
    }
    Lists {
        reserved: reserved(info, image),
        devices,
    }
}

/// The shared kernel map: the image with W^X (text R+X, rodata R, data R+W), the rest of RAM
/// R+W, the device tree R, the devices R+W, all at VA = PA; the trampoline R+X in the highest
/// page, and room for `stack_slots` kernel stacks (one per process) with guard pages below it.
pub fn build_kernel_table(
    info: &'static BootInfo,
    image: &Image,
    mut frames: &'static Frames,
    phys: &'static Identity,
    stack_slots: usize,
) -> Result<KernelSpace, BuildError> {
    let lists = LISTS
        .set(lists(info, image))
        .unwrap_or_else(|_| panic!("kernel map built twice"));
    let trampoline = Frame::containing(image.trampoline.start());
    // The reserved ranges are kalloc's: the image among them changes nothing in the map, whose
    // sections (covering the whole image) win over reserved ranges.
    let boot = BootDescription::new(info.ram.as_slice(), image.sections, trampoline)
        .with_reserved(lists.reserved.as_slice())
        .with_devices(lists.devices.as_slice())
        .with_stacks(KernelStacks::new(stack_slots));
    KernelSpace::build(boot, phys, &mut frames)
}
