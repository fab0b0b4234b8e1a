//! Listings that cross the boundary: a row per process (`procs`) and per run of the kernel map
//! (`kmap`), with the one formatter of the kernel map's table, used both by the kernel's boot
//! printout and by the `kmap` program.

use core::fmt;

/// A short name (a process's or a map region's), NUL-padded.
#[repr(C)]
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Name(pub [u8; 16]);

impl Name {
    /// `text` cut to 15 bytes (at a character boundary).
    pub fn new(text: &str) -> Self {
        let mut end = text.len().min(15);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0; 16];
        bytes[..end].copy_from_slice(&text.as_bytes()[..end]);
        Name(bytes)
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(self.0.len());
        core::str::from_utf8(&self.0[..len]).unwrap_or("?")
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

wire_enum! {
    /// Where a process is in its life, as `procs` reports it.
    pub enum ProcState: u32;
    /// The name `ps` shows.
    fn name {
        /// Being created.
        New = 0 => "new",
        /// Waiting for a hart.
        Runnable = 1 => "runnable",
        /// Running on a hart.
        Running = 2 => "running",
        /// Waiting for an event.
        Sleeping = 3 => "sleeping",
        /// Ended, not yet reaped.
        Zombie = 4 => "zombie",
    }
}

/// One process, as `procs` returns it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcRow {
    /// Its id.
    pub pid: u32,
    /// Its parent's id (0 for `init`).
    pub parent: u32,
    /// A [`ProcState`] number.
    pub state: u32,
    /// The hart it runs or last ran on.
    pub hart: u32,
    /// Its program's name.
    pub name: Name,
    /// Data pages its address space owns (0 for a zombie: already given back).
    pub resident_pages: u64,
    /// Page-table frames of its address space.
    pub table_frames: u64,
}

/// One run of the kernel map: pages of one size and one set of permissions that are all one
/// thing, mapped to consecutive physical addresses.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KmapRow {
    /// First virtual address.
    pub va: u64,
    /// First physical address.
    pub pa: u64,
    /// Length in bytes.
    pub len: u64,
    /// Size of its pages in bytes.
    pub page_size: u64,
    /// [`perm`](crate::perm) bits.
    pub perms: u32,
    /// Reserved, zero.
    pub _pad: u32,
    /// What it is: `text`, `ram`, `uart`, `kernel stack 3`, ...
    pub what: Name,
}

impl KmapRow {
    /// The header line of the table [`KmapRow::row`] fills, for addresses `width` hex digits
    /// wide (10 on Sv39, 9 on Sv32, whose top is 2^32).
    pub fn header(width: usize) -> impl fmt::Display {
        Header(width)
    }

    /// The row as one line of the table: VA range, PA range, size, permissions, page size, what.
    pub fn row(&self, width: usize) -> impl fmt::Display + '_ {
        Row(self, width)
    }
}

struct Header(usize);

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let range = 2 * self.0 + 2;
        write!(
            f,
            "  {:<range$}  {:<range$}  {:>8}  perm  page    what",
            "VA range", "PA range", "size"
        )
    }
}

struct Row<'a>(&'a KmapRow, usize);

impl fmt::Display for Row<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (r, w) = (self.0, self.1);
        let bit = |b: u32, c: char| if r.perms & b != 0 { c } else { '-' };
        write!(
            f,
            "  {:0w$x}..{:0w$x}  {:0w$x}..{:0w$x}  {:>8}  {}{}{}   {:<6}  {}",
            r.va,
            r.va + r.len,
            r.pa,
            r.pa + r.len,
            Size(r.len),
            bit(crate::perm::R, 'R'),
            bit(crate::perm::W, 'W'),
            bit(crate::perm::X, 'X'),
            Size(r.page_size),
            r.what
        )
    }
}

/// A byte count as `4 KiB`, `2 MiB`, `126 MiB`, `1 GiB` (whole units, else the next smaller).
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, unit) = match self.0 {
            n if n >= 1 << 30 && n % (1 << 30) == 0 => (n >> 30, "GiB"),
            n if n >= 1 << 20 && n % (1 << 20) == 0 => (n >> 20, "MiB"),
            n => (n >> 10, "KiB"),
        };
        // Padded as a whole: format into a small buffer first.
        let mut buf = [0u8; 24];
        let mut w = Buf(&mut buf, 0);
        let _ = fmt::write(&mut w, format_args!("{n} {unit}"));
        let len = w.1;
        f.pad(core::str::from_utf8(&buf[..len]).unwrap_or("?"))
    }
}

struct Buf<'a>(&'a mut [u8], usize);

impl fmt::Write for Buf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = (self.1 + s.len()).min(self.0.len());
        self.0[self.1..end].copy_from_slice(&s.as_bytes()[..end - self.1]);
        self.1 = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;

    #[test]
    fn states_and_region_kinds_round_trip_through_their_numbers() {
        for raw in 0..=5 {
            let state = ProcState::from_raw(raw);
            assert_eq!(state.map(|s| s as u32), (raw <= 4).then_some(raw));
        }
        assert_eq!(ProcState::Sleeping.name(), "sleeping");
        for raw in 0..=9 {
            let kind = crate::RegionKind::from_raw(raw);
            assert_eq!(
                kind.map(|k| k as u32),
                (1..=8).contains(&raw).then_some(raw)
            );
        }
        assert_eq!(crate::RegionKind::TrapFrame.name(), "trap frame");
    }

    #[test]
    fn names_are_cut_at_15_bytes_on_a_character_boundary() {
        assert_eq!(Name::new("kernel stack 12").as_str(), "kernel stack 12");
        assert_eq!(Name::new("a-much-longer-name").as_str(), "a-much-longer-n");
        assert_eq!(Name::new("ééééééééé").as_str(), "ééééééé");
    }

    #[test]
    fn a_row_keeps_its_columns_up_to_the_top_of_sv32() {
        let row = KmapRow {
            va: 0xffff_f000,
            pa: 0x8001_e000,
            len: 4096,
            page_size: 4096,
            perms: crate::perm::R | crate::perm::X,
            _pad: 0,
            what: Name::new("trampoline"),
        };
        let line = format!("{}", row.row(9));
        assert_eq!(
            line,
            "  0ffff_f000..100000000  08001e000..08001f000     4 KiB  R-X   4 KiB   trampoline"
                .replace('_', "")
        );
        let header = format!("{}", KmapRow::header(9));
        assert_eq!(header.find("PA range"), line.find("08001e000"));
        assert_eq!(format!("{}", Size(124 << 20)), "124 MiB");
        assert_eq!(format!("{:>8}", Size(1820 << 10)), "1820 KiB");
    }
}
