//! Page-table entries: bits, permissions, and an encoding that only builds legal entries.

use super::mode::Mode;
use crate::addr::{Frame, PhysAddr};
use bitflags::bitflags;
use core::fmt;

bitflags! {
    /// The low eight bits of an entry, as the privileged spec names them.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct PteFlags: u8 {
        /// Valid.
        const V = 1 << 0;
        /// Readable.
        const R = 1 << 1;
        /// Writable.
        const W = 1 << 2;
        /// Executable.
        const X = 1 << 3;
        /// Accessible to user mode.
        const U = 1 << 4;
        /// Global: present in every address space.
        const G = 1 << 5;
        /// Accessed.
        const A = 1 << 6;
        /// Dirty.
        const D = 1 << 7;
    }
}

bitflags! {
    /// What a caller may ask of a leaf: the permission subset of [`PteFlags`], same bit positions.
    /// V, A and D are the library's to set.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Perms: u8 {
        /// Readable.
        const R = 1 << 1;
        /// Writable (needs R: the spec reserves W without R).
        const W = 1 << 2;
        /// Executable.
        const X = 1 << 3;
        /// User-accessible.
        const U = 1 << 4;
        /// Global.
        const G = 1 << 5;
    }
}

impl Perms {
    /// Readable and writable.
    pub const RW: Perms = Perms::R.union(Perms::W);
    /// Readable and executable.
    pub const RX: Perms = Perms::R.union(Perms::X);

    /// Whether a leaf with these permissions is legal: at least one of R/W/X, and W only with R.
    pub const fn is_legal_leaf(self) -> bool {
        self.intersects(Perms::R.union(Perms::W).union(Perms::X))
            && (!self.contains(Perms::W) || self.contains(Perms::R))
    }

    /// The permissions of raw flags (V, A, D dropped).
    pub const fn from_flags(flags: PteFlags) -> Perms {
        Perms::from_bits_truncate(flags.bits())
    }

    /// The flags a leaf with these permissions carries: V and A always, D when writable, so a
    /// core that faults instead of setting A/D never faults on our leaves.
    const fn leaf_flags(self) -> PteFlags {
        let mut f =
            PteFlags::from_bits_retain(self.bits() | PteFlags::V.bits() | PteFlags::A.bits());
        if self.contains(Perms::W) {
            f = f.union(PteFlags::D);
        }
        f
    }
}

impl fmt::Display for Perms {
    /// The letters `RWXUG`, a dash for each permission missing (`R-X-G`). A precision keeps
    /// the first letters only (`{:.3}` shows `R-X`); the alternate form writes them in lower
    /// case, as `vmmap`-style dumps do (`{:#.4}` shows `r-xu`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letters = [
            (Perms::R, 'R'),
            (Perms::W, 'W'),
            (Perms::X, 'X'),
            (Perms::U, 'U'),
            (Perms::G, 'G'),
        ];
        let shown = f.precision().unwrap_or(letters.len()).min(letters.len());
        for (perm, letter) in &letters[..shown] {
            let letter = match (self.contains(*perm), f.alternate()) {
                (false, _) => '-',
                (true, false) => *letter,
                (true, true) => letter.to_ascii_lowercase(),
            };
            fmt::Write::write_char(f, letter)?;
        }
        Ok(())
    }
}

/// What an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PteKind {
    /// Not valid.
    Invalid,
    /// Points to the next-level table.
    Table(Frame),
    /// Maps a page at this level.
    Leaf(PhysAddr, Perms),
}

/// A raw entry, widened to `u64` for both modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pte(pub u64);

impl Pte {
    /// The invalid entry.
    pub const INVALID: Pte = Pte(0);

    /// Where the PPN field starts.
    pub(super) const PPN_SHIFT: u32 = 10;

    /// RSW bit 8 of a leaf (the same place in Sv39 and Sv32; the hardware ignores RSW): the
    /// table allocated the leaf's frame itself (`map_new`) and gives it back when the leaf
    /// goes. Such leaves are always 4 KiB.
    pub(super) const OWNED: u64 = 1 << 8;

    /// RSW bit 9 of a pointer to a leaf table: leaves in it may be owned, so `destroy` must
    /// look at them. Set when `map_new` writes the first owned leaf there, never cleared while
    /// the table lives, so tables of foreign leaves only (the kernel's RAM) are never scanned.
    pub(super) const HOLDS_OWNED: u64 = 1 << 9;

    /// The raw flag bits.
    pub const fn flags(self) -> PteFlags {
        PteFlags::from_bits_retain(self.0 as u8)
    }

    /// A pointer to the table in `frame`; `None` if the frame is beyond the mode's PA width.
    pub fn table<M: Mode>(frame: Frame) -> Option<Pte> {
        let ppn = frame.number();
        (ppn >> M::PPN_BITS == 0).then_some(Pte(ppn << Self::PPN_SHIFT | PteFlags::V.bits() as u64))
    }

    /// A leaf at `level` mapping `pa` with `perms`; `None` unless the result is legal: legal
    /// permissions, `pa` within the mode's width and aligned to the level's page size.
    pub fn leaf<M: Mode>(pa: PhysAddr, perms: Perms, level: usize) -> Option<Pte> {
        let size = *M::LEAF_SIZES.get(level)?;
        let ppn = pa.as_u64() >> 12;
        let legal = perms.is_legal_leaf() && pa.is_aligned(size) && ppn >> M::PPN_BITS == 0;
        legal.then(|| Pte(ppn << Self::PPN_SHIFT | perms.leaf_flags().bits() as u64))
    }

    /// A leaf mapping the 4 KiB `frame`, which the table allocated, with `perms`; `None` unless
    /// legal.
    pub(super) fn owned_leaf<M: Mode>(frame: Frame, perms: Perms) -> Option<Pte> {
        Pte::leaf::<M>(frame.start(), perms, 0).map(|leaf| Pte(leaf.0 | Pte::OWNED))
    }

    /// Whether this leaf's frame is the table's (RSW bit 8; meaningful on leaves only).
    pub fn is_owned(self) -> bool {
        self.0 & Pte::OWNED != 0
    }

    /// The flags that say what an entry is: V, and R/W/X for a leaf.
    pub(super) const KIND: PteFlags = PteFlags::V
        .union(PteFlags::R)
        .union(PteFlags::W)
        .union(PteFlags::X);

    /// Whether the entry is a valid leaf: V and at least one of R/W/X. The low four bits of
    /// such an entry are odd and above 1, so one bit test of a mask holding 3, 5, ..., 15
    /// answers (the walk's hot path; `kind` says the same at more length).
    pub(super) const fn is_leaf(self) -> bool {
        (0xAAA8u16 >> (self.0 & 0xf)) & 1 != 0
    }

    /// The PPN field, masked to the mode's width.
    pub(super) const fn ppn<M: Mode>(self) -> u64 {
        (self.0 >> Self::PPN_SHIFT) & ((1 << M::PPN_BITS) - 1)
    }

    /// Decodes the entry.
    pub fn kind<M: Mode>(self) -> PteKind {
        let flags = self.flags();
        if !flags.contains(PteFlags::V) {
            return PteKind::Invalid;
        }
        // The PPN is masked to the mode's width, at most 44 bits (`mode::check`): a frame.
        let frame = Frame::from_masked_number(self.ppn::<M>());
        if flags.intersects(PteFlags::R | PteFlags::W | PteFlags::X) {
            PteKind::Leaf(frame.start(), Perms::from_flags(flags))
        } else {
            PteKind::Table(frame)
        }
    }
}
