//! Every bad boot description, each its own test on both modes: the build refuses it with an
//! error naming the culprit, before taking a single frame.

mod space_kernel_common;

use rvmm::addr::{PhysRange, VirtAddr};
use rvmm::paging::{Mode, Sv32, Sv39};
use rvmm::space::kernel::{
    BootDescription, BuildError, Culprit, Device, KernelImage, KernelSpace, KernelStacks, Section,
};
use rvmm::space::trap_frame_page;
use rvmm_testkit::both_modes;
use space_kernel_common::*;

/// Builds `boot`, expecting it to be refused, and checks nothing was allocated.
fn refused<M: Mode>(boot: BootDescription<'_>) -> BuildError {
    let arena = arena();
    let mut frames = frames(&arena);
    let err = KernelSpace::<M, _>::build(boot, &arena, &mut frames)
        .err()
        .expect("the description must be refused");
    assert_eq!(frames.allocations(), 0, "{err:?} took frames");
    assert_ne!(err, BuildError::OutOfMemory);
    err
}

fn with_image(image: KernelImage) -> BootDescription<'static> {
    BootDescription::new(&RAM, image, frame(TRAMPOLINE_PA)).with_devices(&DEVICES)
}

fn no_ram<M: Mode>() {
    assert_eq!(refused::<M>(virt(&[])), BuildError::NoRam);
}
both_modes!(no_ram);

fn ram_without_a_whole_frame<M: Mode>() {
    let ram = [r(0x8000_0800, 0x800), r(0x9000_0001, 0xFFE)];
    assert_eq!(refused::<M>(virt(&ram)), BuildError::NoRam);
}
both_modes!(ram_without_a_whole_frame);

fn overlapping_ram<M: Mode>() {
    let (first, second) = (RAM[0], r(RAM_BASE + RAM_SIZE - 0x1000, 0x10_0000));
    let ram = [r(0x4000_0000, 0x1000), first, second];
    assert_eq!(
        refused::<M>(virt(&ram)),
        BuildError::RamOverlap { first, second }
    );
}
both_modes!(overlapping_ram);

fn reserved_outside_ram<M: Mode>() {
    let reserved = [
        r(0x87e0_0000, 0x1000),
        r(RAM_BASE + RAM_SIZE - 0x800, 0x1000),
    ];
    let err = refused::<M>(virt(&RAM).with_reserved(&reserved));
    assert_eq!(err, BuildError::ReservedOutsideRam(reserved[1]));
}
both_modes!(reserved_outside_ram);

fn unaligned_section<M: Mode>() {
    let mut image = image();
    image.rodata = r(TEXT_END + 0x800, RODATA_END - TEXT_END - 0x800);
    assert_eq!(
        refused::<M>(with_image(image)),
        BuildError::SectionUnaligned {
            section: Section::Rodata,
            range: image.rodata
        }
    );
}
both_modes!(unaligned_section);

fn unaligned_section_end<M: Mode>() {
    let mut image = image();
    image.data = r(RODATA_END, 0x1_0010);
    let err = refused::<M>(with_image(image));
    assert!(matches!(
        err,
        BuildError::SectionUnaligned {
            section: Section::Data,
            ..
        }
    ));
}
both_modes!(unaligned_section_end);

fn sections_out_of_order<M: Mode>() {
    let image = KernelImage {
        text: r(RAM_BASE, 0x2_0000),
        rodata: r(RAM_BASE + 0x1_0000, 0x2_0000),
        data: r(RAM_BASE + 0x4_0000, 0x1_0000),
    };
    assert_eq!(
        refused::<M>(with_image(image)),
        BuildError::SectionsOutOfOrder {
            earlier: Section::Text,
            later: Section::Rodata
        }
    );
}
both_modes!(sections_out_of_order);

fn data_before_rodata<M: Mode>() {
    let mut image = image();
    image.data = r(TEXT_END, 0x1_0000);
    let err = refused::<M>(with_image(image));
    let expected = BuildError::SectionsOutOfOrder {
        earlier: Section::Rodata,
        later: Section::Data,
    };
    assert_eq!(err, expected);
}
both_modes!(data_before_rodata);

fn section_outside_ram<M: Mode>() {
    let mut image = image();
    image.data = r(RAM_BASE + RAM_SIZE - 0x1000, 0x2000);
    let err = refused::<M>(with_image(image));
    let expected = BuildError::SectionOutsideRam {
        section: Section::Data,
        range: image.data,
    };
    assert_eq!(err, expected);
}
both_modes!(section_outside_ram);

fn empty_text<M: Mode>() {
    let mut image = image();
    image.text = r(RAM_BASE, 0);
    let err = refused::<M>(with_image(image));
    assert!(matches!(
        err,
        BuildError::SectionOutsideRam {
            section: Section::Text,
            ..
        }
    ));
}
both_modes!(empty_text);

fn trampoline_outside_text<M: Mode>() {
    let boot = BootDescription::new(&RAM, image(), frame(RODATA_END)).with_devices(&DEVICES);
    assert_eq!(
        refused::<M>(boot),
        BuildError::TrampolineOutsideText(frame(RODATA_END))
    );
}
both_modes!(trampoline_outside_text);

fn empty_device<M: Mode>() {
    let devices = [DEVICES[0], Device::new("ghost", 0x3000_0000, 0)];
    let err = refused::<M>(virt(&RAM).with_devices(&devices));
    assert_eq!(err, BuildError::EmptyDevice(devices[1]));
}
both_modes!(empty_device);

fn device_end_overflows<M: Mode>() {
    let devices = [Device::new("wrap", u64::MAX - 0xFF, 0x200)];
    let err = refused::<M>(virt(&RAM).with_devices(&devices));
    assert_eq!(err, BuildError::DeviceRange(devices[0]));
}
both_modes!(device_end_overflows);

fn device_inside_ram<M: Mode>() {
    let devices = [
        DEVICES[0],
        Device::new("inside", RAM_BASE + 0x10_0000, 0x1000),
    ];
    let err = refused::<M>(virt(&RAM).with_devices(&devices));
    assert_eq!(
        err,
        BuildError::DeviceInRam {
            device: devices[1],
            ram: RAM[0]
        }
    );
}
both_modes!(device_inside_ram);

/// Bytes apart, but the device's page is also RAM's (RAM starts mid-page).
fn device_sharing_a_page_with_ram<M: Mode>() {
    let ram = [r(0x9000_0800, 0x10_0000), RAM[0]];
    let devices = [Device::new("close", 0x9000_0000, 0x100)];
    let err = refused::<M>(virt(&ram).with_devices(&devices));
    assert_eq!(
        err,
        BuildError::DeviceInRam {
            device: devices[0],
            ram: ram[0]
        }
    );
}
both_modes!(device_sharing_a_page_with_ram);

fn overlapping_devices<M: Mode>() {
    let late = Device::new("late", 0x0C3F_F000, 0x2000);
    let devices = [DEVICES[0], DEVICES[2], late];
    let err = refused::<M>(virt(&RAM).with_devices(&devices));
    assert_eq!(
        err,
        BuildError::DeviceOverlap {
            first: DEVICES[2],
            second: late
        }
    );
}
both_modes!(overlapping_devices);

fn device_beyond_physical_reach<M: Mode>() {
    let far = Device::new("far", (1 << M::PA_BITS) - 0x1000, 0x2000);
    let err = refused::<M>(virt(&RAM).with_devices(&[far]));
    let limit = 1 << M::PA_BITS;
    let culprit = Culprit::Device(far);
    assert_eq!(err, BuildError::BeyondPhysicalReach { culprit, limit });
}
both_modes!(device_beyond_physical_reach);

#[test]
fn ram_beyond_physical_reach_sv32() {
    let far = r(1 << 34, 0x10_0000);
    let ram = [RAM[0], far];
    let err = refused::<Sv32>(virt(&ram));
    let culprit = Culprit::Ram(far);
    let expected = BuildError::BeyondPhysicalReach {
        culprit,
        limit: 1 << 34,
    };
    assert_eq!(err, expected);
}

/// The lowest address of the top area for `stacks`.
fn area_start<M: Mode>(stacks: KernelStacks) -> u64 {
    let used = stacks.slots * (stacks.pages + 1);
    ((trap_frame_page::<M>().number() - used) * 4096) as u64
}

/// On Sv32, RAM above 4 GiB is physically addressable but cannot be mapped VA = PA.
#[test]
fn ram_above_the_virtual_top_sv32() {
    let high = r(1 << 32, 0x10_0000);
    let ram = [RAM[0], high];
    let err = refused::<Sv32>(virt(&ram));
    let area_start = VirtAddr::new(area_start::<Sv32>(KernelStacks::NONE) as usize).unwrap();
    let culprit = Culprit::Ram(high);
    assert_eq!(
        err,
        BuildError::IntoTopArea {
            culprit,
            area_start
        }
    );
}

#[test]
fn ram_above_the_virtual_top_sv39() {
    let high = r(1 << 38, 0x10_0000);
    let err = refused::<Sv39>(virt(&[RAM[0], high]));
    assert!(matches!(err, BuildError::IntoTopArea { culprit: Culprit::Ram(r), .. } if r == high));
}

/// RAM that ends one page into the kernel-stack area.
fn ram_into_the_stack_area<M: Mode>() {
    let stacks = KernelStacks::new(1000);
    let start = area_start::<M>(stacks);
    let high = r(start - 0x10_0000, 0x10_1000);
    let ram = [RAM[0], high];
    let boot = virt(&ram).with_stacks(stacks);
    let area_start = VirtAddr::new(start as usize).unwrap();
    let culprit = Culprit::Ram(high);
    assert_eq!(
        refused::<M>(boot),
        BuildError::IntoTopArea {
            culprit,
            area_start
        }
    );
    // One page lower it fits.
    let fits = [RAM[0], r(start - 0x10_0000, 0x10_0000)];
    let arena = arena();
    let mut frames = frames(&arena);
    let space = KernelSpace::<M, _>::build(virt(&fits).with_stacks(stacks), &arena, &mut frames);
    space.unwrap().destroy(&mut frames);
    frames.assert_no_leaks();
}
both_modes!(ram_into_the_stack_area);

fn device_into_the_top_area<M: Mode>() {
    let top = Device::new("top", trap_frame_page::<M>().start().as_u64(), 0x10);
    let err = refused::<M>(virt(&RAM).with_devices(&[top]));
    assert!(matches!(err, BuildError::IntoTopArea { culprit: Culprit::Device(d), .. } if d == top));
}
both_modes!(device_into_the_top_area);

fn stacks_of_zero_pages<M: Mode>() {
    let boot = virt(&RAM).with_stacks(KernelStacks::new(4).with_pages(0));
    assert_eq!(refused::<M>(boot), BuildError::EmptyStacks);
}
both_modes!(stacks_of_zero_pages);

fn more_stacks_at_build_than_slots<M: Mode>() {
    let boot = virt(&RAM).with_stacks(KernelStacks::new(4).with_mapped_at_build(5));
    let expected = BuildError::TooManyStacksAtBuild {
        mapped_at_build: 5,
        slots: 4,
    };
    assert_eq!(refused::<M>(boot), expected);
}
both_modes!(more_stacks_at_build_than_slots);

fn stack_area_too_large<M: Mode>() {
    for (slots, pages) in [(usize::MAX / 2, 2), (1 << 30, 8), (3, usize::MAX)] {
        let boot = virt(&RAM).with_stacks(KernelStacks::new(slots).with_pages(pages));
        let expected = BuildError::StackAreaTooLarge { slots, pages };
        assert_eq!(refused::<M>(boot), expected);
    }
}
both_modes!(stack_area_too_large);

/// The messages a kernel prints at boot name the culprit.
#[test]
fn messages_name_the_culprit() {
    let d = Device::new("uart", 0x8000_0000, 0x100);
    let ram = PhysRange::with_len(0x8000_0000, 0x800_0000).unwrap();
    let text = BuildError::DeviceInRam { device: d, ram }.to_string();
    assert_eq!(
        text,
        "device \"uart\" at 0x80000000 + 0x100 shares a page with RAM 0x80000000..0x88000000"
    );
    let s = BuildError::SectionsOutOfOrder {
        earlier: Section::Rodata,
        later: Section::Data,
    };
    assert_eq!(s.to_string(), "data starts before rodata ends");
}
