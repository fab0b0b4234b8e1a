//! The bytes of the structs that cross the boundary, as the kernel writes them into a
//! program's memory: each field little-endian, in declaration order, which is exactly the
//! `#[repr(C)]` layout on RISC-V (all fields are 8-byte or paired 4-byte words, so there is no
//! padding). Written out by hand so that this crate needs no `unsafe`.

use crate::{Clock, ExitStatus, KmapRow, MemStat, ProcRow, RegionRow};

/// A struct the kernel copies to user memory.
pub trait Wire: Sized {
    /// Its size in bytes, equal to `size_of::<Self>()`.
    const SIZE: usize;
    /// Its bytes, as they lie in memory.
    fn write_to(&self, out: &mut [u8]);
}

fn put(out: &mut [u8], at: &mut usize, bytes: &[u8]) {
    out[*at..*at + bytes.len()].copy_from_slice(bytes);
    *at += bytes.len();
}

impl Wire for MemStat {
    const SIZE: usize = 80;
    fn write_to(&self, out: &mut [u8]) {
        let mut at = 0;
        for v in [
            self.total_frames,
            self.free_frames,
            self.low_water,
            self.cached_frames,
            self.resident_pages,
            self.table_frames,
            self.kernel_table_frames,
            self.kernel_stack_frames,
            self.record_frames,
            self.processes,
        ] {
            put(out, &mut at, &v.to_le_bytes());
        }
    }
}

impl Wire for RegionRow {
    const SIZE: usize = 40;
    fn write_to(&self, out: &mut [u8]) {
        let mut at = 0;
        put(out, &mut at, &self.start.to_le_bytes());
        put(out, &mut at, &self.end.to_le_bytes());
        put(out, &mut at, &self.perms.to_le_bytes());
        put(out, &mut at, &self.kind.to_le_bytes());
        put(out, &mut at, &self.resident_pages.to_le_bytes());
        put(out, &mut at, &self.page_size.to_le_bytes());
    }
}

impl Wire for ProcRow {
    const SIZE: usize = 48;
    fn write_to(&self, out: &mut [u8]) {
        let mut at = 0;
        for v in [self.pid, self.parent, self.state, self.hart] {
            put(out, &mut at, &v.to_le_bytes());
        }
        put(out, &mut at, &self.name.0);
        put(out, &mut at, &self.resident_pages.to_le_bytes());
        put(out, &mut at, &self.table_frames.to_le_bytes());
    }
}

impl Wire for KmapRow {
    const SIZE: usize = 56;
    fn write_to(&self, out: &mut [u8]) {
        let mut at = 0;
        for v in [self.va, self.pa, self.len, self.page_size] {
            put(out, &mut at, &v.to_le_bytes());
        }
        put(out, &mut at, &self.perms.to_le_bytes());
        put(out, &mut at, &self._pad.to_le_bytes());
        put(out, &mut at, &self.what.0);
    }
}

impl Wire for Clock {
    const SIZE: usize = 16;
    fn write_to(&self, out: &mut [u8]) {
        let mut at = 0;
        put(out, &mut at, &self.ticks.to_le_bytes());
        put(out, &mut at, &self.ticks_per_second.to_le_bytes());
    }
}

impl Wire for ExitStatus {
    const SIZE: usize = 4;
    fn write_to(&self, out: &mut [u8]) {
        out[..4].copy_from_slice(&self.0.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T: Wire>() {
        assert_eq!(T::SIZE, size_of::<T>());
    }

    #[test]
    fn sizes_match_the_repr_c_layout() {
        check::<MemStat>();
        check::<RegionRow>();
        check::<ProcRow>();
        check::<KmapRow>();
        check::<Clock>();
        check::<ExitStatus>();
    }

    #[test]
    fn fields_land_at_their_repr_c_offsets() {
        let row = RegionRow {
            start: 0x1000,
            end: 0x3000,
            perms: 5,
            kind: 1,
            resident_pages: 2,
            page_size: 4096,
        };
        let mut out = [0u8; RegionRow::SIZE];
        row.write_to(&mut out);
        let at = |off: usize, len: usize| {
            let mut b = [0u8; 8];
            b[..len].copy_from_slice(&out[off..off + len]);
            u64::from_le_bytes(b)
        };
        assert_eq!(at(core::mem::offset_of!(RegionRow, start), 8), 0x1000);
        assert_eq!(at(core::mem::offset_of!(RegionRow, end), 8), 0x3000);
        assert_eq!(at(core::mem::offset_of!(RegionRow, perms), 4), 5);
        assert_eq!(at(core::mem::offset_of!(RegionRow, kind), 4), 1);
        assert_eq!(at(core::mem::offset_of!(RegionRow, resident_pages), 8), 2);
        assert_eq!(at(core::mem::offset_of!(RegionRow, page_size), 8), 4096);
        let stat = MemStat {
            table_frames: 6,
            processes: 9,
            ..MemStat::default()
        };
        let mut out = [0u8; MemStat::SIZE];
        stat.write_to(&mut out);
        assert_eq!(out[core::mem::offset_of!(MemStat, table_frames)], 6);
        assert_eq!(out[core::mem::offset_of!(MemStat, processes)], 9);
        let proc = ProcRow {
            pid: 7,
            name: crate::Name::new("sh"),
            table_frames: 3,
            ..ProcRow::default()
        };
        let mut out = [0u8; ProcRow::SIZE];
        proc.write_to(&mut out);
        assert_eq!(out[core::mem::offset_of!(ProcRow, pid)], 7);
        assert_eq!(out[core::mem::offset_of!(ProcRow, name)], b's');
        assert_eq!(out[core::mem::offset_of!(ProcRow, table_frames)], 3);
        let row = KmapRow {
            perms: 5,
            what: crate::Name::new("uart"),
            ..KmapRow::default()
        };
        let mut out = [0u8; KmapRow::SIZE];
        row.write_to(&mut out);
        assert_eq!(out[core::mem::offset_of!(KmapRow, perms)], 5);
        assert_eq!(out[core::mem::offset_of!(KmapRow, what)], b'u');
    }
}
