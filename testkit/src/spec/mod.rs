//! An independent page walker written from the RISC-V privileged spec.
//!
//! Why: a page table that agrees with its own `translate` can still be wrong in ways only the
//! hardware notices (a reserved bit, a misaligned superpage, A clear, a table frame left
//! unzeroed). This walker reads the raw table bytes from an [`Arena`] and follows the spec's
//! "Virtual Address Translation Process" (section 4.3.2 of the privileged spec, Sv32; Sv39 in
//! 4.4 differs only in its constants) step by step. It shares no code or types with
//! `rvmm::paging` on purpose, so a bug there is not copied here: the modes are this module's own
//! [`SpecMode`], the PTE bits its own constants.
//!
//! The modelled hart implements Svade (it faults instead of setting A or D), no Svpbmt and no
//! Svnapot (so Sv39 bits 63..54 must be zero), and every table read that misses the arena is an
//! access fault.
//!
//! ```
//! use rvmm::PhysAddr;
//! use rvmm_testkit::Arena;
//! use rvmm_testkit::spec::{self, Access, PTE_A, PTE_R, PTE_V, SpecMode};
//!
//! // A one-level-deep Sv39 table: root entry 2 is a 1 GiB leaf for VA 0x8000_0000.
//! let arena = Arena::new(0x8000_0000, 4096);
//! let leaf: u64 = (0x8000_0000 >> 12) << 10 | PTE_V | PTE_R | PTE_A;
//! # use rvmm::Frame;
//! arena.write(Frame::containing(arena.base()), 2 * 8, &leaf.to_le_bytes()).unwrap();
//! let t = spec::translate(&arena, SpecMode::Sv39, arena.base(), 0x8000_1234, Access::read());
//! assert_eq!(t.unwrap().pa.as_u64(), 0x8000_1234);
//! ```

mod access;
mod satp;
mod tree;

pub use access::{Access, AccessKind, Privilege};
pub use satp::{Satp, SatpError};
pub use tree::{Defect, Malformed, SpecLeaf, SpecTree, leaves, walk};

use crate::arena::Arena;
use access::permitted;
use rvmm::addr::{PageSize, PhysAddr};

/// Valid.
pub const PTE_V: u64 = 1 << 0;
/// Readable.
pub const PTE_R: u64 = 1 << 1;
/// Writable.
pub const PTE_W: u64 = 1 << 2;
/// Executable.
pub const PTE_X: u64 = 1 << 3;
/// Accessible to user mode.
pub const PTE_U: u64 = 1 << 4;
/// Global: present in every address space (on a pointer, for the whole subtree).
pub const PTE_G: u64 = 1 << 5;
/// Accessed.
pub const PTE_A: u64 = 1 << 6;
/// Dirty.
pub const PTE_D: u64 = 1 << 7;
/// Where the PPN field starts in a PTE, in both modes (bits 9..8 are RSW, free for software).
pub const PTE_PPN_SHIFT: u32 = 10;
/// RSW bit 8, which the hardware ignores and rvmm sets on a leaf whose frame the page table
/// allocated itself (`PageTable::map_new`'s owned leaves). The walker neither checks nor
/// needs it; tests compare it with their model.
pub const PTE_OWNED: u64 = 1 << 8;

/// Sv39 bits 63..54: N, PBMT and reserved bits, all of which must be zero on this hart.
const SV39_RESERVED: u64 = 0x3FF << 54;

/// The translation modes this walker knows, with the spec's constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpecMode {
    /// 32-bit VA, 2 levels of 1024 four-byte PTEs, 34-bit PA.
    Sv32,
    /// 39-bit sign-extended VA, 3 levels of 512 eight-byte PTEs, 56-bit PA.
    Sv39,
}

impl SpecMode {
    /// LEVELS in the spec.
    pub const fn levels(self) -> usize {
        match self {
            SpecMode::Sv32 => 2,
            SpecMode::Sv39 => 3,
        }
    }

    /// PTESIZE in the spec, in bytes.
    pub const fn pte_bytes(self) -> usize {
        match self {
            SpecMode::Sv32 => 4,
            SpecMode::Sv39 => 8,
        }
    }

    /// Entries per table (each table is one 4 KiB page).
    pub const fn entries(self) -> usize {
        4096 / self.pte_bytes()
    }

    /// Bits of each VPN field.
    pub const fn vpn_bits(self) -> u32 {
        match self {
            SpecMode::Sv32 => 10,
            SpecMode::Sv39 => 9,
        }
    }

    /// Width of the physical address.
    pub const fn pa_bits(self) -> u32 {
        match self {
            SpecMode::Sv32 => 34,
            SpecMode::Sv39 => 56,
        }
    }

    /// Width of the PPN field of a PTE (and of satp).
    pub const fn ppn_bits(self) -> u32 {
        self.pa_bits() - 12
    }

    /// The size a leaf at `level` maps, or `None` above the top level.
    pub const fn page_size(self, level: usize) -> Option<PageSize> {
        match (self, level) {
            (_, 0) => Some(PageSize::Size4KiB),
            (SpecMode::Sv32, 1) => Some(PageSize::Size4MiB),
            (SpecMode::Sv39, 1) => Some(PageSize::Size2MiB),
            (SpecMode::Sv39, 2) => Some(PageSize::Size1GiB),
            _ => None,
        }
    }

    /// Whether `va` is an address of the mode: Sv32 addresses fit 32 bits; Sv39 bits 63..39
    /// must all equal bit 38.
    pub const fn is_canonical(self, va: u64) -> bool {
        match self {
            SpecMode::Sv32 => va >> 32 == 0,
            SpecMode::Sv39 => (((va as i64) << 25) >> 25) as u64 == va,
        }
    }

    /// The VPN field of `va` for `level` (VPN\[level\] in the spec).
    pub const fn vpn(self, va: u64, level: usize) -> usize {
        ((va >> (12 + self.vpn_bits() * level as u32)) & ((1 << self.vpn_bits()) - 1)) as usize
    }

    /// The PPN field of `pte`.
    pub const fn ppn(self, pte: u64) -> u64 {
        (pte >> PTE_PPN_SHIFT) & ((1 << self.ppn_bits()) - 1)
    }

    /// Bits of a PTE reserved for future standard use, which must be zero.
    const fn reserved(self) -> u64 {
        match self {
            SpecMode::Sv32 => 0,
            SpecMode::Sv39 => SV39_RESERVED,
        }
    }

    /// Decodes one little-endian PTE from its bytes.
    fn decode(self, bytes: &[u8]) -> u64 {
        match self {
            SpecMode::Sv32 => u32::from_le_bytes(bytes.try_into().expect("4 bytes")).into(),
            SpecMode::Sv39 => u64::from_le_bytes(bytes.try_into().expect("8 bytes")),
        }
    }
}

/// Why a translation faulted, named by the step of the spec's algorithm that stopped it.
///
/// On hardware all but [`SpecFault::PteOutsideMemory`] are page faults; the variants say which
/// rule fired so a test failure explains itself. `level` is the spec's `i`; `pte` the raw entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpecFault {
    /// The VA is not an address of the mode (Sv39: bits 63..39 differ from bit 38; Sv32: wider
    /// than 32 bits, which an RV32 hart cannot even form).
    NonCanonical {
        /// The address.
        va: u64,
    },
    /// A PTE lies outside the arena: an access fault on hardware (step 2).
    PteOutsideMemory {
        /// Level of the table being read.
        level: usize,
        /// Address of the PTE.
        pte_addr: PhysAddr,
    },
    /// V = 0 (step 3).
    Invalid {
        /// Level of the entry.
        level: usize,
        /// The entry.
        pte: u64,
    },
    /// R = 0 and W = 1, a reserved encoding (step 3).
    WriteWithoutRead {
        /// Level of the entry.
        level: usize,
        /// The entry.
        pte: u64,
    },
    /// Sv39 bits 63..54 are not zero (step 3).
    ReservedBits {
        /// Level of the entry.
        level: usize,
        /// The entry.
        pte: u64,
    },
    /// A pointer (R = W = X = 0) has A, D or U set, which the spec reserves on non-leaf entries.
    NonLeafFlags {
        /// Level of the entry.
        level: usize,
        /// The entry.
        pte: u64,
    },
    /// A pointer at level 0, where there is no next level (step 4).
    PointerAtLastLevel {
        /// The entry.
        pte: u64,
    },
    /// R/W/X/U with the privilege, SUM and MXR forbid the access (step 5).
    Permission {
        /// Level of the leaf.
        level: usize,
        /// The leaf.
        pte: u64,
    },
    /// A superpage whose low PPN fields are not zero (step 6).
    MisalignedSuperpage {
        /// Level of the leaf.
        level: usize,
        /// The leaf.
        pte: u64,
    },
    /// A = 0; this hart does not set it (step 7, Svade).
    NotAccessed {
        /// Level of the leaf.
        level: usize,
        /// The leaf.
        pte: u64,
    },
    /// A store to a leaf with D = 0; this hart does not set it (step 7, Svade).
    NotDirty {
        /// Level of the leaf.
        level: usize,
        /// The leaf.
        pte: u64,
    },
}

/// A successful translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpecTranslation {
    /// The physical address.
    pub pa: PhysAddr,
    /// The level of the leaf (0 = 4 KiB).
    pub level: usize,
    /// The size of the page the leaf maps.
    pub page_size: PageSize,
    /// The leaf's flag bits 7..0 (`PTE_V` .. `PTE_D`).
    pub flags: u8,
    /// Whether the mapping is global: G on the leaf or on any pointer above it.
    pub global: bool,
    /// The raw leaf entry.
    pub pte: u64,
    /// Where the leaf entry lives.
    pub pte_addr: PhysAddr,
}

/// A leaf entry found by steps 1 to 4, before the access-dependent checks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FoundLeaf {
    pub level: usize,
    pub pte: u64,
    pub pte_addr: PhysAddr,
    pub global: bool,
}

/// Translates `va` for `access` through the table whose root page is at `root`.
///
/// # Panics
/// If `root` is not 4 KiB aligned or wider than the mode's PA: satp cannot name such a root, so
/// the test itself is wrong.
pub fn translate(
    arena: &Arena,
    mode: SpecMode,
    root: PhysAddr,
    va: u64,
    access: Access,
) -> Result<SpecTranslation, SpecFault> {
    let leaf = find_leaf(arena, mode, root, va)?;
    check_leaf(mode, leaf, va, access)
}

/// Steps 1 to 4: walks from the root to the leaf entry for `va`.
pub(crate) fn find_leaf(
    arena: &Arena,
    mode: SpecMode,
    root: PhysAddr,
    va: u64,
) -> Result<FoundLeaf, SpecFault> {
    assert!(
        root.is_aligned(PageSize::Size4KiB) && root.as_u64() >> mode.pa_bits() == 0,
        "{root:?} cannot be the root of an {mode:?} table"
    );
    if !mode.is_canonical(va) {
        return Err(SpecFault::NonCanonical { va });
    }
    let mut table = root.as_u64();
    let mut global = false;
    for level in (0..mode.levels()).rev() {
        let pte_addr = PhysAddr::new(table + (mode.vpn(va, level) * mode.pte_bytes()) as u64)
            .expect("a table inside the PA space holds its entries");
        let mut bytes = [0; 8];
        let bytes = &mut bytes[..mode.pte_bytes()];
        let frame = rvmm::Frame::containing(pte_addr);
        if arena.read(frame, pte_addr.page_offset(), bytes).is_err() {
            return Err(SpecFault::PteOutsideMemory { level, pte_addr });
        }
        let pte = mode.decode(bytes);
        check_entry(mode, level, pte)?;
        global |= pte & PTE_G != 0;
        if pte & (PTE_R | PTE_X) != 0 {
            return Ok(FoundLeaf {
                level,
                pte,
                pte_addr,
                global,
            });
        }
        table = mode.ppn(pte) << 12;
    }
    unreachable!("check_entry refuses a pointer at level 0")
}

/// Steps 3 and 4 for one entry on its own: the checks that do not depend on the access.
pub(crate) fn check_entry(mode: SpecMode, level: usize, pte: u64) -> Result<(), SpecFault> {
    if pte & PTE_V == 0 {
        return Err(SpecFault::Invalid { level, pte });
    }
    if pte & (PTE_R | PTE_W) == PTE_W {
        return Err(SpecFault::WriteWithoutRead { level, pte });
    }
    if pte & mode.reserved() != 0 {
        return Err(SpecFault::ReservedBits { level, pte });
    }
    if pte & (PTE_R | PTE_X) == 0 {
        if pte & (PTE_A | PTE_D | PTE_U) != 0 {
            return Err(SpecFault::NonLeafFlags { level, pte });
        }
        if level == 0 {
            return Err(SpecFault::PointerAtLastLevel { pte });
        }
    }
    Ok(())
}

/// Step 6 on its own: whether a leaf at `level` has nonzero low PPN fields.
pub(crate) fn misaligned(mode: SpecMode, level: usize, pte: u64) -> bool {
    let low_bits = mode.vpn_bits() * level as u32;
    mode.ppn(pte) & ((1 << low_bits) - 1) != 0
}

/// Steps 5 to 8: checks the leaf against the access and forms the physical address.
pub(crate) fn check_leaf(
    mode: SpecMode,
    leaf: FoundLeaf,
    va: u64,
    access: Access,
) -> Result<SpecTranslation, SpecFault> {
    let FoundLeaf { level, pte, .. } = leaf;
    if !permitted(pte, access) {
        return Err(SpecFault::Permission { level, pte });
    }
    if misaligned(mode, level, pte) {
        return Err(SpecFault::MisalignedSuperpage { level, pte });
    }
    if pte & PTE_A == 0 {
        return Err(SpecFault::NotAccessed { level, pte });
    }
    if access.kind() == AccessKind::Write && pte & PTE_D == 0 {
        return Err(SpecFault::NotDirty { level, pte });
    }
    let page_size = mode.page_size(level).expect("walk stays within the levels");
    let offset = va & (page_size.bytes() - 1);
    Ok(SpecTranslation {
        pa: PhysAddr::new((mode.ppn(pte) << 12) | offset).expect("a PPN fits the PA space"),
        level,
        page_size,
        flags: pte as u8,
        global: leaf.global,
        pte,
        pte_addr: leaf.pte_addr,
    })
}
