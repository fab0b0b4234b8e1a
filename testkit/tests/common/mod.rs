//! Helpers for tests that hand-build page tables in an arena.
#![allow(dead_code)] // each test file uses its own subset

use rvmm::PhysAddr;
use rvmm_testkit::Arena;
use rvmm_testkit::spec::SpecMode;

/// Where every test arena starts.
pub const BASE: u64 = 0x8000_0000;

/// The physical address `raw`.
pub fn pa(raw: u64) -> PhysAddr {
    PhysAddr::new(raw).unwrap()
}

/// The address of the arena's `n`-th frame.
pub fn frame(n: u64) -> u64 {
    BASE + n * 4096
}

/// An arena of `frames` zeroed frames at [`BASE`].
pub fn arena(frames: usize) -> Arena {
    Arena::new(BASE, frames * 4096)
}

/// A PTE naming physical address `addr` with flag bits `flags`: the PPN sits at bit 10 in both
/// modes.
pub fn pte(addr: u64, flags: u64) -> u64 {
    ((addr >> 12) << 10) | flags
}

/// Stores `entry` little-endian as entry `index` of the table at `table`, in the mode's width.
pub fn put(arena: &Arena, mode: SpecMode, table: u64, index: u64, entry: u64) {
    let width = match mode {
        SpecMode::Sv32 => {
            assert!(entry >> 32 == 0, "an Sv32 entry is 32 bits");
            4
        }
        SpecMode::Sv39 => 8,
    };
    let at = pa(table + index * width as u64);
    let frame = rvmm::Frame::containing(at);
    arena
        .write(frame, at.page_offset(), &entry.to_le_bytes()[..width])
        .unwrap();
}
