//! Memory syscalls: `sbrk`, `memstat`, `regions`.

use super::copy_out;
use crate::mem;
use crate::proc::{self, ProcRef};
use abi::{Errno, MemStat, RegionKind, RegionRow, Wire, perm};
use rvmm::addr::PAGE_SIZE;
use rvmm::paging::Perms;
use rvmm::space::user::{self, SbrkError};
use rvmm::tlb::Sfence;

/// `sbrk(increment)`: the old break. Growth the heap cap or memory cannot give is `ENOMEM`;
/// a shrink below the heap's start, or arithmetic that leaves the address space, is `EINVAL`.
pub fn sbrk(p: ProcRef, increment: isize) -> Result<usize, Errno> {
    let mut space = p.space.lock();
    let space = space.as_mut().expect("a process in a syscall has a space");
    let pages = increment.unsigned_abs() / rvmm::addr::PAGE_SIZE;
    let (old, flush) = space
        .sbrk(increment, &mut mem::kalloc::for_frames(pages))
        .map_err(|e| match e {
            SbrkError::OutOfMemory | SbrkError::AboveCap { .. } => Errno::ENOMEM,
            SbrkError::BelowStart { .. } | SbrkError::Overflow { .. } => Errno::EINVAL,
        })?;
    flush.apply(&mut Sfence);
    Ok(old.as_usize())
}

/// `memstat(out)`.
pub fn memstat(p: ProcRef, out: usize) -> Result<usize, Errno> {
    let stats = mem::frames().stats();
    let (resident, tables) = {
        let space = p.space.lock();
        let space = space.as_ref().expect("a process in a syscall has a space");
        (space.resident_pages(), space.table_frames())
    };
    let processes = proc::table().lock().iter().count();
    let (kernel_tables, kernel_stacks) = mem::kernel_map_frames();
    let stat = MemStat {
        total_frames: stats.total as u64,
        free_frames: stats.free as u64,
        low_water: stats.low_water as u64,
        cached_frames: stats.cached as u64,
        resident_pages: resident as u64,
        table_frames: tables as u64,
        kernel_table_frames: kernel_tables as u64,
        kernel_stack_frames: kernel_stacks as u64,
        // One frame per record, plus the process table's and the run queue's.
        record_frames: processes as u64 + 2,
        processes: processes as u64,
    };
    copy_out(p, out, &stat).map(|()| 0)
}

/// Most rows a process's map has: every segment, heap, stack, trap frame, trampoline.
const MAX_ROWS: usize = user::MAX_SEGMENTS + 4;

/// `regions(pid, out, n)`: writes at most `n` rows of process `pid`'s map (0: the caller's)
/// and returns how many it has.
pub fn regions(p: ProcRef, pid: usize, out: usize, n: usize) -> Result<usize, Errno> {
    let mut rows = [RegionRow::default(); MAX_ROWS];
    let count = {
        let table = proc::table().lock();
        let target = if pid == 0 { Some(p) } else { table.find(pid) };
        let target = target.ok_or(Errno::ESRCH)?;
        let space = target.space.lock();
        let Some(space) = space.as_ref() else {
            return Err(Errno::ESRCH); // a zombie: its memory is gone
        };
        let mut count = 0;
        for (row, region) in rows.iter_mut().zip(space.regions()) {
            *row = row_of(&region);
            count += 1;
        }
        count
    };
    let wanted = n.min(count);
    let mut bytes = [0u8; MAX_ROWS * RegionRow::SIZE];
    for (i, row) in rows[..wanted].iter().enumerate() {
        row.write_to(&mut bytes[i * RegionRow::SIZE..]);
    }
    p.space
        .lock()
        .as_mut()
        .expect("a process in a syscall has a space")
        .copy_out(out, &bytes[..wanted * RegionRow::SIZE])
        .map_err(|_| Errno::EFAULT)?;
    Ok(count)
}

/// The abi row of one region of a process's map.
fn row_of(region: &user::RegionRow) -> RegionRow {
    let bit = |p: Perms, b: u32| if region.perms.contains(p) { b } else { 0 };
    let perms = bit(Perms::R, perm::R)
        | bit(Perms::W, perm::W)
        | bit(Perms::X, perm::X)
        | bit(Perms::U, perm::U);
    let kind = match region.what {
        user::UserRegion::Program if region.perms.contains(Perms::X) => RegionKind::Text,
        user::UserRegion::Program if region.perms.contains(Perms::W) => RegionKind::Data,
        user::UserRegion::Program => RegionKind::Rodata,
        user::UserRegion::Bss => RegionKind::Bss,
        user::UserRegion::Heap => RegionKind::Heap,
        user::UserRegion::Stack => RegionKind::Stack,
        user::UserRegion::TrapFrame => RegionKind::TrapFrame,
        user::UserRegion::Trampoline => RegionKind::Trampoline,
    };
    // Every page of a user region and the trap frame is a frame of the process's own; the
    // trampoline is shared.
    let resident = if region.what == user::UserRegion::Trampoline {
        0
    } else {
        region.pages
    };
    RegionRow {
        start: region.start.as_u64(),
        end: region.end(),
        perms,
        kind: kind as u32,
        resident_pages: resident as u64,
        page_size: PAGE_SIZE as u64,
    }
}
