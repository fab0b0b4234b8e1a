//! The `satp` register, decoded and encoded from the spec's field layout.
//!
//! Why here: a page table's `satp` encoding is part of what the hardware sees, so it is checked
//! by the same independent reading as the table bytes. RV32: MODE is bit 31 (1 = Sv32), ASID
//! bits 30..22, PPN bits 21..0. RV64: MODE bits 63..60 (8 = Sv39), ASID bits 59..44, PPN bits
//! 43..0.

use super::{Access, Arena};
use super::{SpecFault, SpecMode, SpecTranslation, translate};
use rvmm::addr::{PageSize, PhysAddr};

/// A decoded `satp` value that turns translation on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Satp {
    mode: SpecMode,
    asid: u16,
    root: PhysAddr,
}

/// Why a `satp` value or its fields were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SatpError {
    /// MODE = Bare: translation is off.
    Bare,
    /// A MODE this walker does not model (Sv48, Sv57, or a reserved value).
    UnsupportedMode(u64),
    /// An RV32 `satp` value with bits above 31.
    TooWide(u64),
    /// The ASID does not fit the mode's field (9 bits on Sv32, 16 on Sv39).
    AsidTooWide(u16),
    /// The root is not a 4 KiB aligned address of the mode's PA width.
    BadRoot(PhysAddr),
}

impl Satp {
    /// The `satp` for a table of `mode` rooted at `root`, tagged with `asid`.
    pub fn new(mode: SpecMode, asid: u16, root: PhysAddr) -> Result<Self, SatpError> {
        if u32::from(asid) >> asid_bits(mode) != 0 {
            return Err(SatpError::AsidTooWide(asid));
        }
        if !root.is_aligned(PageSize::Size4KiB) || root.as_u64() >> mode.pa_bits() != 0 {
            return Err(SatpError::BadRoot(root));
        }
        Ok(Satp { mode, asid, root })
    }

    /// Decodes an RV32 `satp` value (given as `u64` for convenience; bits above 31 are refused).
    pub fn decode_rv32(raw: u64) -> Result<Self, SatpError> {
        if raw >> 32 != 0 {
            return Err(SatpError::TooWide(raw));
        }
        if raw >> 31 == 0 {
            return Err(SatpError::Bare);
        }
        Ok(Self::from_fields(SpecMode::Sv32, raw))
    }

    /// Decodes an RV64 `satp` value.
    pub fn decode_rv64(raw: u64) -> Result<Self, SatpError> {
        match raw >> 60 {
            0 => Err(SatpError::Bare),
            8 => Ok(Self::from_fields(SpecMode::Sv39, raw)),
            other => Err(SatpError::UnsupportedMode(other)),
        }
    }

    fn from_fields(mode: SpecMode, raw: u64) -> Self {
        let ppn = raw & ((1 << mode.ppn_bits()) - 1);
        let asid = (raw >> mode.ppn_bits()) & ((1 << asid_bits(mode)) - 1);
        Satp {
            mode,
            asid: asid as u16,
            root: PhysAddr::new(ppn << 12).expect("a satp PPN fits the PA space"),
        }
    }

    /// The raw register value (an RV32 value fits the low 32 bits).
    pub fn encode(self) -> u64 {
        let mode_field = match self.mode {
            SpecMode::Sv32 => 1 << 31,
            SpecMode::Sv39 => 8 << 60,
        };
        let asid = u64::from(self.asid) << self.mode.ppn_bits();
        mode_field | asid | (self.root.as_u64() >> 12)
    }

    /// The translation mode.
    pub fn mode(self) -> SpecMode {
        self.mode
    }

    /// The address-space identifier.
    pub fn asid(self) -> u16 {
        self.asid
    }

    /// The root table's address.
    pub fn root(self) -> PhysAddr {
        self.root
    }

    /// [`translate`] through the table this value names.
    pub fn translate(
        self,
        arena: &Arena,
        va: u64,
        access: Access,
    ) -> Result<SpecTranslation, SpecFault> {
        translate(arena, self.mode, self.root, va, access)
    }
}

/// Width of the ASID field.
const fn asid_bits(mode: SpecMode) -> u32 {
    match mode {
        SpecMode::Sv32 => 9,
        SpecMode::Sv39 => 16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pa(raw: u64) -> PhysAddr {
        PhysAddr::new(raw).unwrap()
    }

    #[test]
    fn rv32_fields_sit_where_the_spec_puts_them() {
        // MODE=1, ASID=0x1FF (all 9 bits), PPN=0x3F_FFFF (all 22 bits): every bit set.
        let s = Satp::decode_rv32(0xFFFF_FFFF).unwrap();
        assert_eq!(s.mode(), SpecMode::Sv32);
        assert_eq!(s.asid(), 0x1FF);
        assert_eq!(s.root(), pa(0x3_FFFF_F000));
        assert_eq!(s.encode(), 0xFFFF_FFFF);
        let s = Satp::decode_rv32(0x8040_0123).unwrap();
        assert_eq!((s.asid(), s.root()), (1, pa(0x12_3000)));
        assert_eq!(Satp::decode_rv32(0x7FFF_FFFF), Err(SatpError::Bare));
        assert_eq!(Satp::decode_rv32(1 << 32), Err(SatpError::TooWide(1 << 32)));
    }

    #[test]
    fn rv64_fields_sit_where_the_spec_puts_them() {
        let raw = 0x8000_0000_0000_0000 | (0xBEEF << 44) | 0x8_0000;
        let s = Satp::decode_rv64(raw).unwrap();
        assert_eq!(s.mode(), SpecMode::Sv39);
        assert_eq!(s.asid(), 0xBEEF);
        assert_eq!(s.root(), pa(0x8000_0000));
        assert_eq!(s.encode(), raw);
        let top = Satp::decode_rv64(0x8FFF_FFFF_FFFF_FFFF).unwrap();
        assert_eq!((top.asid(), top.root()), (0xFFFF, pa((1 << 56) - 4096)));
        assert_eq!(Satp::decode_rv64(0x0FFF), Err(SatpError::Bare));
        assert_eq!(
            Satp::decode_rv64(9 << 60),
            Err(SatpError::UnsupportedMode(9))
        );
    }

    #[test]
    fn new_refuses_what_the_fields_cannot_hold() {
        let root = pa(0x8000_0000);
        assert_eq!(
            Satp::new(SpecMode::Sv32, 0x200, root),
            Err(SatpError::AsidTooWide(0x200))
        );
        assert!(Satp::new(SpecMode::Sv39, 0xFFFF, root).is_ok());
        assert_eq!(
            Satp::new(SpecMode::Sv32, 0, pa(1 << 34)),
            Err(SatpError::BadRoot(pa(1 << 34)))
        );
        assert_eq!(
            Satp::new(SpecMode::Sv39, 0, pa(0x8000_0010)),
            Err(SatpError::BadRoot(pa(0x8000_0010)))
        );
        let s = Satp::new(SpecMode::Sv32, 5, pa(0x3_0000_0000)).unwrap();
        assert_eq!(Satp::decode_rv32(s.encode()), Ok(s));
    }
}
