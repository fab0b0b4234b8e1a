//! Where things go: page rounding, which part of RAM is what, devices in address order, and
//! the geometry of the kernel-stack area under the trampoline.
//!
//! Shared by the build (what to map with which permissions) and by the description (what to
//! call a mapping), so the two cannot disagree.

use super::boot::{BootDescription, Device, KernelStacks, Section};
use super::describe::KernelRegion;
use crate::addr::{PAGE_SIZE, Page, PageRange, PhysRange, VirtAddr};
use crate::paging::{Mode, Perms};
use crate::space::trap_frame_page;

const PAGE: u64 = PAGE_SIZE as u64;

/// `a` rounded down to a page boundary.
pub(super) const fn page_floor(a: u64) -> u64 {
    a & !(PAGE - 1)
}

/// `a` rounded up to a page boundary (saturating at the last page boundary below 2^64).
pub(super) const fn page_ceil(a: u64) -> u64 {
    match a.checked_add(PAGE - 1) {
        Some(v) => page_floor(v),
        None => page_floor(u64::MAX),
    }
}

/// The whole frames of a RAM range: edges trimmed inward (a partial frame is not RAM we can
/// hand out or map whole).
pub(super) const fn ram_frames(r: PhysRange) -> (u64, u64) {
    let (start, end) = (page_ceil(r.start().as_u64()), page_floor(r.end().as_u64()));
    if start < end {
        (start, end)
    } else {
        (start, start)
    }
}

/// The pages touching a reserved range: rounded outward (a page holding one reserved byte is
/// not free to write).
pub(super) const fn reserved_pages(r: PhysRange) -> (u64, u64) {
    (page_floor(r.start().as_u64()), page_ceil(r.end().as_u64()))
}

/// The pages touching a device's registers, rounded outward; `None` if `base + size` overflows.
pub(super) const fn device_pages(d: Device) -> Option<(u64, u64)> {
    match d.base.checked_add(d.size) {
        Some(end) => Some((page_floor(d.base), page_ceil(end))),
        None => None,
    }
}

/// The permissions of a region of the kernel map: W^X everywhere, G on everything, never U.
pub(super) const fn perms_of(region: KernelRegion) -> Perms {
    let base = match region {
        KernelRegion::Text | KernelRegion::Trampoline => Perms::RX,
        KernelRegion::Rodata | KernelRegion::Reserved => Perms::R,
        KernelRegion::Data
        | KernelRegion::Ram
        | KernelRegion::Device(_)
        | KernelRegion::KernelStack(_) => Perms::RW,
    };
    base.union(Perms::G)
}

/// What the RAM at `pa` is, and where that stops being true (at the latest `ram_end`).
///
/// Sections win over reserved ranges (the image is what it is, whatever the firmware says),
/// reserved ranges over free RAM.
pub(super) fn ram_region_at(
    boot: &BootDescription<'_>,
    pa: u64,
    ram_end: u64,
) -> (KernelRegion, u64) {
    let mut end = ram_end;
    let mut cut = |b: u64| {
        if b > pa && b < end {
            end = b;
        }
    };
    for s in Section::IN_ORDER {
        let r = boot.image.section(s);
        cut(r.start().as_u64());
        cut(r.end().as_u64());
    }
    for &r in boot.reserved {
        let (s, e) = reserved_pages(r);
        cut(s);
        cut(e);
    }
    let within = |r: PhysRange| r.start().as_u64() <= pa && pa < r.end().as_u64();
    let region = if within(boot.image.text) {
        KernelRegion::Text
    } else if within(boot.image.rodata) {
        KernelRegion::Rodata
    } else if within(boot.image.data) {
        KernelRegion::Data
    } else if boot.reserved.iter().any(|&r| {
        let (s, e) = reserved_pages(r);
        s <= pa && pa < e
    }) {
        KernelRegion::Reserved
    } else {
        KernelRegion::Ram
    };
    (region, end)
}

/// The RAM range whose whole frames hold `pa`, as `(start, end)` of those frames.
pub(super) fn ram_at(boot: &BootDescription<'_>, pa: u64) -> Option<(u64, u64)> {
    boot.ram
        .iter()
        .map(|&r| ram_frames(r))
        .find(|&(s, e)| s <= pa && pa < e)
}

/// The devices in order of their base address (ties in list order), without sorting the
/// caller's slice: each step picks the smallest base after the previous one. Quadratic, and the
/// lists are a dozen entries long.
pub(super) fn devices_in_order(devices: &[Device]) -> impl Iterator<Item = Device> + '_ {
    let mut last: Option<(u64, usize)> = None;
    core::iter::from_fn(move || {
        let next = devices
            .iter()
            .enumerate()
            .map(|(i, d)| (d.base, i))
            .filter(|&key| last.is_none_or(|l| key > l))
            .min()?;
        last = Some(next);
        Some(devices[next.1])
    })
}

/// The device whose pages hold `pa` (the lowest-based one where pages are shared), and the end
/// of its pages.
pub(super) fn device_at(devices: &[Device], pa: u64) -> Option<(Device, u64)> {
    devices_in_order(devices).find_map(|d| match device_pages(d) {
        Some((s, e)) if s <= pa && pa < e => Some((d, e)),
        _ => None,
    })
}

/// The kernel-stack area: below the guard page under the trampoline, slot `k`'s stack of
/// `pages` pages, and under each stack its guard page.
///
/// ```text
/// trampoline      <- highest page
/// guard           <- trap_frame_page (a user space's trap frame)
/// stack 0         <- `pages` pages, top = start of the guard above
/// guard
/// stack 1
/// guard
/// ...
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct StackArea {
    /// Page number of the guard page above slot 0.
    top_guard: usize,
    slots: usize,
    pages: usize,
}

impl StackArea {
    /// The area for `stacks` in mode `M`; `None` if it does not fit above page 1 (page 0 stays
    /// unmapped in every space).
    pub(super) fn new<M: Mode>(stacks: KernelStacks) -> Option<Self> {
        let top_guard = trap_frame_page::<M>().number();
        let stride = stacks.pages.checked_add(1)?;
        let used = stacks.slots.checked_mul(stride)?;
        (top_guard.checked_sub(used)? >= 1).then_some(StackArea {
            top_guard,
            slots: stacks.slots,
            pages: stacks.pages,
        })
    }

    /// How many slots there are.
    pub(super) fn slots(&self) -> usize {
        self.slots
    }

    /// The lowest virtual address of the area: the guard of the last slot, or the guard under
    /// the trampoline when there are no slots.
    pub(super) fn start(&self) -> VirtAddr {
        let page = Page::from_number(self.top_guard - self.slots * (self.pages + 1));
        // `new` checked the area fits above page 1, below the trampoline.
        page.expect("the area lies inside the space").start()
    }

    /// The pages of slot `slot`'s stack, if the slot exists.
    pub(super) fn stack_pages(&self, slot: usize) -> Option<PageRange> {
        if slot >= self.slots {
            return None;
        }
        let top = self.top_guard - slot * (self.pages + 1);
        // `new` checked that every slot's stack lies in the space, above page 1.
        let first = Page::from_number(top - self.pages).expect("a stack inside the space");
        Some(PageRange::from_pages(first, self.pages).expect("a stack inside the space"))
    }

    /// The guard page under slot `slot`'s stack, if the slot exists.
    pub(super) fn guard_page(&self, slot: usize) -> Option<Page> {
        let stack = self.stack_pages(slot)?;
        Page::from_number(stack.start().number().checked_sub(1)?).ok()
    }

    /// The slot whose stack holds `page`; `None` for guard pages and pages outside the area.
    pub(super) fn slot_of(&self, page: Page) -> Option<usize> {
        let below_top = self.top_guard.checked_sub(page.number() + 1)?;
        let (slot, depth) = (below_top / (self.pages + 1), below_top % (self.pages + 1));
        (slot < self.slots && depth < self.pages).then_some(slot)
    }
}
