//! Typed addresses, frame and page numbers, and page sizes.
//!
//! Every constructor validates and none masks bits: a value that does not fit is an
//! [`AddrError`], never a silently different address. Arithmetic that could leave the address
//! space is `checked_*` and returns `None`. Ranges of pages are a start and a count, so the last
//! page of the address space (the trampoline's, `0xFFFF_F000` on Sv32) can be named without
//! computing its exclusive end in a 32-bit `usize`.

use core::fmt;

/// log2 of the base page size.
pub const PAGE_SHIFT: u32 = 12;
/// The base page and frame size: 4 KiB.
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;

/// Physical address bits of the widest RISC-V paging mode (Sv39, Sv48 and Sv57 all use 56).
/// Narrower modes (Sv32: 34 bits) check their own limit when an address goes into an entry.
pub const PHYS_BITS: u32 = 56;

/// Top (exclusive) of the virtual addresses any supported mode can name: 2^38, the lower half of
/// Sv39, which is the part this project uses (no sign-extended upper half). Each paging mode has
/// its own, possibly lower, top that its operations check.
pub const VIRT_TOP: u64 = 1 << 38;

/// Why an address or number was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrError {
    /// The physical address has bits set at or above [`PHYS_BITS`] (or the mode's width).
    PhysOutOfRange(u64),
    /// The virtual address is at or above [`VIRT_TOP`] (or the mode's top).
    VirtOutOfRange(u64),
    /// The address is not aligned to the page size the operation needs.
    Unaligned {
        /// The offending address.
        addr: u64,
        /// The alignment it needed.
        align: u64,
    },
    /// A range whose end lies before its start, or whose end overflows.
    BadRange {
        /// Start of the range.
        start: u64,
        /// Length of the range in bytes.
        len: u64,
    },
}

impl fmt::Display for AddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AddrError::PhysOutOfRange(a) => write!(f, "physical address {a:#x} out of range"),
            AddrError::VirtOutOfRange(a) => write!(f, "virtual address {a:#x} out of range"),
            AddrError::Unaligned { addr, align } => {
                write!(f, "address {addr:#x} not aligned to {align:#x}")
            }
            AddrError::BadRange { start, len } => {
                write!(f, "range {start:#x} + {len:#x} is not a valid range")
            }
        }
    }
}

impl core::error::Error for AddrError {}

/// The sizes a leaf entry can map. Which ones a paging mode offers, and at which level, is the
/// mode's business (`paging::Mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PageSize {
    /// 4 KiB, every mode's level-0 leaf.
    Size4KiB,
    /// 2 MiB, an Sv39 level-1 superpage ("megapage").
    Size2MiB,
    /// 4 MiB, an Sv32 level-1 superpage ("megapage").
    Size4MiB,
    /// 1 GiB, an Sv39 level-2 superpage ("gigapage").
    Size1GiB,
}

impl PageSize {
    /// log2 of the size in bytes.
    pub const fn shift(self) -> u32 {
        match self {
            PageSize::Size4KiB => 12,
            PageSize::Size2MiB => 21,
            PageSize::Size4MiB => 22,
            PageSize::Size1GiB => 30,
        }
    }

    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        1 << self.shift()
    }

    /// How many 4 KiB pages one page of this size covers.
    pub const fn base_pages(self) -> usize {
        1 << (self.shift() - PAGE_SHIFT)
    }
}

impl fmt::Display for PageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PageSize::Size4KiB => "4K",
            PageSize::Size2MiB => "2M",
            PageSize::Size4MiB => "4M",
            PageSize::Size1GiB => "1G",
        })
    }
}

const fn align_mask(size: PageSize) -> u64 {
    size.bytes() - 1
}

/// A physical address, below 2^[`PHYS_BITS`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PhysAddr(u64);

impl PhysAddr {
    /// The address `raw`, if it fits in [`PHYS_BITS`] bits.
    pub const fn new(raw: u64) -> Result<Self, AddrError> {
        if raw >> PHYS_BITS == 0 {
            Ok(PhysAddr(raw))
        } else {
            Err(AddrError::PhysOutOfRange(raw))
        }
    }

    /// The raw address.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// Whether the address is a multiple of `size`.
    pub const fn is_aligned(self, size: PageSize) -> bool {
        self.0 & align_mask(size) == 0
    }

    /// The address rounded down to a multiple of `size`.
    pub const fn align_down(self, size: PageSize) -> Self {
        PhysAddr(self.0 & !align_mask(size))
    }

    /// The address rounded up to a multiple of `size`, if that is still a physical address.
    pub const fn align_up(self, size: PageSize) -> Option<Self> {
        match self.0.checked_add(align_mask(size)) {
            Some(v) => match PhysAddr::new(v & !align_mask(size)) {
                Ok(a) => Some(a),
                Err(_) => None,
            },
            None => None,
        }
    }

    /// `self + bytes`, if that is still a physical address.
    pub const fn checked_add(self, bytes: u64) -> Option<Self> {
        match self.0.checked_add(bytes) {
            Some(v) => match PhysAddr::new(v) {
                Ok(a) => Some(a),
                Err(_) => None,
            },
            None => None,
        }
    }

    /// The offset of the address inside its 4 KiB frame.
    pub const fn page_offset(self) -> usize {
        (self.0 & align_mask(PageSize::Size4KiB)) as usize
    }
}

impl TryFrom<u64> for PhysAddr {
    type Error = AddrError;
    fn try_from(raw: u64) -> Result<Self, AddrError> {
        PhysAddr::new(raw)
    }
}

impl fmt::Debug for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhysAddr({:#x})", self.0)
    }
}

/// A virtual address, below [`VIRT_TOP`] (each paging mode checks its own, lower, top).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct VirtAddr(usize);

impl VirtAddr {
    /// Address 0, which no address space maps (a null pointer faults).
    pub const ZERO: VirtAddr = VirtAddr(0);

    /// The address `raw`, if it is below [`VIRT_TOP`].
    pub const fn new(raw: usize) -> Result<Self, AddrError> {
        if (raw as u64) < VIRT_TOP {
            Ok(VirtAddr(raw))
        } else {
            Err(AddrError::VirtOutOfRange(raw as u64))
        }
    }

    /// The raw address.
    pub const fn as_usize(self) -> usize {
        self.0
    }

    /// The raw address widened to `u64`, for arithmetic that must not overflow on 32-bit.
    pub const fn as_u64(self) -> u64 {
        self.0 as u64
    }

    /// Whether the address is a multiple of `size`.
    pub const fn is_aligned(self, size: PageSize) -> bool {
        self.0 as u64 & align_mask(size) == 0
    }

    /// The address rounded down to a multiple of `size`.
    pub const fn align_down(self, size: PageSize) -> Self {
        VirtAddr((self.0 as u64 & !align_mask(size)) as usize)
    }

    /// The address rounded up to a multiple of `size`, if that is still a virtual address.
    pub const fn align_up(self, size: PageSize) -> Option<Self> {
        let up = (self.0 as u64 + align_mask(size)) & !align_mask(size);
        if up < VIRT_TOP && up <= usize::MAX as u64 {
            Some(VirtAddr(up as usize))
        } else {
            None
        }
    }

    /// `self + bytes`, if that is still a virtual address.
    pub const fn checked_add(self, bytes: usize) -> Option<Self> {
        match self.0.checked_add(bytes) {
            Some(v) => match VirtAddr::new(v) {
                Ok(a) => Some(a),
                Err(_) => None,
            },
            None => None,
        }
    }

    /// `self - bytes`, if that does not go below zero.
    pub const fn checked_sub(self, bytes: usize) -> Option<Self> {
        match self.0.checked_sub(bytes) {
            // Below a virtual address, so below `VIRT_TOP` too.
            Some(v) => Some(VirtAddr(v)),
            None => None,
        }
    }

    /// The offset of the address inside its 4 KiB page.
    pub const fn page_offset(self) -> usize {
        self.0 & (PAGE_SIZE - 1)
    }
}

impl TryFrom<usize> for VirtAddr {
    type Error = AddrError;
    fn try_from(raw: usize) -> Result<Self, AddrError> {
        VirtAddr::new(raw)
    }
}

impl TryFrom<u64> for VirtAddr {
    type Error = AddrError;
    fn try_from(raw: u64) -> Result<Self, AddrError> {
        match usize::try_from(raw) {
            Ok(v) => VirtAddr::new(v),
            Err(_) => Err(AddrError::VirtOutOfRange(raw)),
        }
    }
}

impl fmt::Debug for VirtAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VirtAddr({:#x})", self.0)
    }
}

/// A 4 KiB physical frame, named by its frame number (PPN).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Frame(u64);

impl Frame {
    /// The frame whose first byte is `start`; refuses an address that is not 4 KiB aligned.
    pub const fn from_start(start: PhysAddr) -> Result<Self, AddrError> {
        if start.is_aligned(PageSize::Size4KiB) {
            Ok(Frame(start.0 >> PAGE_SHIFT))
        } else {
            Err(AddrError::Unaligned {
                addr: start.0,
                align: PAGE_SIZE as u64,
            })
        }
    }

    /// The frame that holds `addr`.
    pub const fn containing(addr: PhysAddr) -> Self {
        Frame(addr.0 >> PAGE_SHIFT)
    }

    /// The frame with number `number`, if its address fits in [`PHYS_BITS`] bits.
    pub const fn from_number(number: u64) -> Result<Self, AddrError> {
        if number >> (PHYS_BITS - PAGE_SHIFT) == 0 {
            Ok(Frame(number))
        } else {
            Err(AddrError::PhysOutOfRange(number))
        }
    }

    /// The frame whose number is the low `PHYS_BITS - PAGE_SHIFT` bits of `number`: for
    /// numbers already masked to a paging mode's PPN width, which always name a frame.
    pub(crate) const fn from_masked_number(number: u64) -> Self {
        Frame(number & ((1 << (PHYS_BITS - PAGE_SHIFT)) - 1))
    }

    /// The frame number (PPN).
    pub const fn number(self) -> u64 {
        self.0
    }

    /// The address of the frame's first byte.
    pub const fn start(self) -> PhysAddr {
        PhysAddr(self.0 << PAGE_SHIFT)
    }

    /// The frame `n` frames further on, if it exists.
    pub const fn checked_add(self, n: u64) -> Option<Self> {
        match self.0.checked_add(n) {
            Some(v) => match Frame::from_number(v) {
                Ok(f) => Some(f),
                Err(_) => None,
            },
            None => None,
        }
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Frame({:#x})", self.0 << PAGE_SHIFT)
    }
}

/// A 4 KiB virtual page, named by its page number (VPN).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Page(usize);

impl Page {
    /// The page whose first byte is `start`; refuses an address that is not 4 KiB aligned.
    pub const fn from_start(start: VirtAddr) -> Result<Self, AddrError> {
        if start.is_aligned(PageSize::Size4KiB) {
            Ok(Page(start.0 >> PAGE_SHIFT))
        } else {
            Err(AddrError::Unaligned {
                addr: start.0 as u64,
                align: PAGE_SIZE as u64,
            })
        }
    }

    /// The page that holds `addr`.
    pub const fn containing(addr: VirtAddr) -> Self {
        Page(addr.0 >> PAGE_SHIFT)
    }

    /// The page with number `number`, if its address is below [`VIRT_TOP`].
    pub const fn from_number(number: usize) -> Result<Self, AddrError> {
        if (number as u64) < VIRT_TOP >> PAGE_SHIFT {
            Ok(Page(number))
        } else {
            Err(AddrError::VirtOutOfRange(number as u64))
        }
    }

    /// The page number (VPN).
    pub const fn number(self) -> usize {
        self.0
    }

    /// The address of the page's first byte.
    pub const fn start(self) -> VirtAddr {
        VirtAddr(self.0 << PAGE_SHIFT)
    }

    /// The page `n` pages further on, if it exists.
    pub const fn checked_add(self, n: usize) -> Option<Self> {
        match self.0.checked_add(n) {
            Some(v) => match Page::from_number(v) {
                Ok(p) => Some(p),
                Err(_) => None,
            },
            None => None,
        }
    }
}

impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Page({:#x})", self.0 << PAGE_SHIFT)
    }
}

/// A run of `count` consecutive 4 KiB virtual pages starting at `start`.
///
/// Kept as start and count, not start and end, so a range that ends at the very top of a 32-bit
/// address space is representable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageRange {
    start: Page,
    count: usize,
}

impl PageRange {
    /// The pages covering `[start, start + len)`; `start` and `len` must be 4 KiB multiples and
    /// the range must stay below [`VIRT_TOP`].
    pub const fn new(start: VirtAddr, len: usize) -> Result<Self, AddrError> {
        let page = match Page::from_start(start) {
            Ok(p) => p,
            Err(e) => return Err(e),
        };
        if !len.is_multiple_of(PAGE_SIZE) {
            return Err(AddrError::Unaligned {
                addr: len as u64,
                align: PAGE_SIZE as u64,
            });
        }
        PageRange::from_pages(page, len / PAGE_SIZE)
    }

    /// `count` pages from `start`; the range must stay below [`VIRT_TOP`].
    pub const fn from_pages(start: Page, count: usize) -> Result<Self, AddrError> {
        if (start.0 as u64) + (count as u64) > VIRT_TOP >> PAGE_SHIFT {
            return Err(AddrError::BadRange {
                start: start.start().as_u64(),
                len: (count as u64) << PAGE_SHIFT,
            });
        }
        Ok(PageRange { start, count })
    }

    /// The lowest page of the range (also when it is empty: where it would start).
    pub const fn start(self) -> Page {
        self.start
    }

    /// The number of pages.
    pub const fn count(self) -> usize {
        self.count
    }

    /// Whether the range holds no page.
    pub const fn is_empty(self) -> bool {
        self.count == 0
    }

    /// The last page, if the range is not empty.
    pub const fn last(self) -> Option<Page> {
        if self.count == 0 {
            None
        } else {
            Some(Page(self.start.0 + self.count - 1))
        }
    }

    /// The exclusive end address, as `u64` because on Sv32 it can be 2^32.
    pub const fn end_u64(self) -> u64 {
        ((self.start.0 as u64) + self.count as u64) << PAGE_SHIFT
    }

    /// The length in bytes, as `u64` for the same reason.
    pub const fn len_u64(self) -> u64 {
        (self.count as u64) << PAGE_SHIFT
    }

    /// Whether `page` lies in the range.
    pub const fn contains(self, page: Page) -> bool {
        page.0 >= self.start.0 && page.0 - self.start.0 < self.count
    }
}

/// A half-open range of physical addresses `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PhysRange {
    start: PhysAddr,
    end: PhysAddr,
}

impl PhysRange {
    /// `[start, end)`; refuses `end < start`.
    pub const fn new(start: PhysAddr, end: PhysAddr) -> Result<Self, AddrError> {
        if end.0 < start.0 {
            return Err(AddrError::BadRange {
                start: start.0,
                len: 0,
            });
        }
        Ok(PhysRange { start, end })
    }

    /// `[start, start + len)`; refuses a range whose end is not a physical address.
    pub const fn with_len(start: u64, len: u64) -> Result<Self, AddrError> {
        let s = match PhysAddr::new(start) {
            Ok(s) => s,
            Err(e) => return Err(e),
        };
        match s.checked_add(len) {
            Some(end) => Ok(PhysRange { start: s, end }),
            None => Err(AddrError::BadRange { start, len }),
        }
    }

    /// The first address.
    pub const fn start(self) -> PhysAddr {
        self.start
    }

    /// The exclusive end.
    pub const fn end(self) -> PhysAddr {
        self.end
    }

    /// Length in bytes.
    pub const fn len(self) -> u64 {
        self.end.0 - self.start.0
    }

    /// Whether the range is empty.
    pub const fn is_empty(self) -> bool {
        self.end.0 == self.start.0
    }

    /// Whether `addr` lies in the range.
    pub const fn contains(self, addr: PhysAddr) -> bool {
        addr.0 >= self.start.0 && addr.0 < self.end.0
    }

    /// Whether the two ranges share a byte.
    pub const fn overlaps(self, other: PhysRange) -> bool {
        self.start.0 < other.end.0 && other.start.0 < self.end.0
    }

    /// The whole frames inside the range: the start rounded up, the end rounded down (edges
    /// are trimmed, never rounded outward). Returns the first frame and the count.
    pub const fn inner_frames(self) -> (Frame, u64) {
        let first = (self.start.0 + (PAGE_SIZE as u64 - 1)) >> PAGE_SHIFT;
        let end = self.end.0 >> PAGE_SHIFT;
        if end > first {
            (Frame(first), end - first)
        } else {
            (Frame(first), 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phys_addr_refuses_bits_above_56() {
        assert!(PhysAddr::new((1 << 56) - 1).is_ok());
        assert_eq!(
            PhysAddr::new(1 << 56),
            Err(AddrError::PhysOutOfRange(1 << 56))
        );
        assert!(PhysAddr::try_from(u64::MAX).is_err());
    }

    #[test]
    fn virt_addr_refuses_at_and_above_top() {
        assert!(VirtAddr::new((VIRT_TOP - 1) as usize).is_ok());
        assert!(VirtAddr::new(VIRT_TOP as usize).is_err());
        assert!(VirtAddr::try_from(u64::MAX).is_err());
        assert!(VirtAddr::new(0xFFFF_FFFF).is_ok());
    }

    #[test]
    fn alignment_helpers_round_the_right_way() {
        let a = PhysAddr::new(0x8020_1234).unwrap();
        assert_eq!(a.align_down(PageSize::Size4KiB).as_u64(), 0x8020_1000);
        assert_eq!(
            a.align_up(PageSize::Size4KiB).unwrap().as_u64(),
            0x8020_2000
        );
        assert_eq!(a.align_down(PageSize::Size2MiB).as_u64(), 0x8020_0000);
        assert_eq!(
            a.align_up(PageSize::Size2MiB).unwrap().as_u64(),
            0x8040_0000
        );
        assert_eq!(a.page_offset(), 0x234);
        let top = PhysAddr::new((1 << 56) - 1).unwrap();
        assert_eq!(top.align_up(PageSize::Size4KiB), None);
        assert_eq!(top.checked_add(1), None);
        let v = VirtAddr::new(0x3F_FFFF_F001).unwrap();
        assert_eq!(v.align_up(PageSize::Size4KiB), None);
        assert!(
            v.align_down(PageSize::Size4KiB)
                .is_aligned(PageSize::Size4KiB)
        );
    }

    #[test]
    fn frames_and_pages_refuse_unaligned_starts() {
        let unaligned = PhysAddr::new(0x1001).unwrap();
        assert!(Frame::from_start(unaligned).is_err());
        assert_eq!(Frame::containing(unaligned).start().as_u64(), 0x1000);
        assert!(Page::from_start(VirtAddr::new(0x10).unwrap()).is_err());
        assert!(Frame::from_number(1 << 44).is_err());
        assert!(Page::from_number((VIRT_TOP >> PAGE_SHIFT) as usize).is_err());
    }

    #[test]
    fn last_page_of_sv32_is_nameable_without_overflow() {
        let r = PageRange::new(VirtAddr::new(0xFFFF_F000).unwrap(), PAGE_SIZE).unwrap();
        assert_eq!(r.last().unwrap().start().as_usize(), 0xFFFF_F000);
        assert_eq!(r.end_u64(), 1 << 32);
        assert!(r.contains(Page::containing(VirtAddr::new(0xFFFF_FFFF).unwrap())));
        assert!(PageRange::new(VirtAddr::new(0x1000).unwrap(), 0x1001).is_err());
        let last = Page::from_number((VIRT_TOP >> PAGE_SHIFT) as usize - 1).unwrap();
        assert!(PageRange::from_pages(last, 1).is_ok());
        assert!(PageRange::from_pages(last, 2).is_err());
        assert_eq!(last.checked_add(1), None);
    }

    #[test]
    fn phys_range_trims_unaligned_edges_inward() {
        let r = PhysRange::with_len(0x8000_0800, 0x3000).unwrap();
        let (first, count) = r.inner_frames();
        assert_eq!(first.start().as_u64(), 0x8000_1000);
        assert_eq!(count, 2);
        let tiny = PhysRange::with_len(0x8000_0800, 0x1000).unwrap();
        assert_eq!(tiny.inner_frames().1, 0);
        assert!(PhysRange::with_len((1 << 56) - 0x1000, 0x2000).is_err());
        let a = PhysRange::with_len(0x1000, 0x1000).unwrap();
        let b = PhysRange::with_len(0x2000, 0x1000).unwrap();
        assert!(!a.overlaps(b));
        assert!(a.overlaps(PhysRange::with_len(0x1fff, 2).unwrap()));
    }
}
