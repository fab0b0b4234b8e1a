//! What `regions` and `memstat` report agrees with the process's own view of its memory.

use crate::util::{self, Failed, Map, Outcome, PAGE, brk};
use abi::{ExitStatus, RegionKind, RegionRow, perm};
use user::sys;

/// This process's rows (or process `pid`'s).
fn rows(pid: usize) -> Result<([RegionRow; 16], usize), Failed> {
    let mut rows = [RegionRow::default(); 16];
    let n = sys::regions(pid, &mut rows).map_err(|_| Failed)?;
    ensure!(n <= rows.len(), "{n} rows");
    Ok((rows, n))
}

/// The row of kind `kind`, if there is one.
fn find(rows: &[RegionRow], kind: RegionKind) -> Option<RegionRow> {
    rows.iter().copied().find(|r| r.kind == kind as u32)
}

/// Rows in order, not overlapping, whole pages, the permissions each kind must have, and
/// resident pages that add up to `memstat`'s.
fn check(rows: &[RegionRow], resident: u64) -> Outcome {
    let (r, w, x, u) = (perm::R, perm::W, perm::X, perm::U);
    for pair in rows.windows(2) {
        ensure!(pair[0].end <= pair[1].start, "rows out of order: {pair:x?}");
    }
    for row in rows {
        let whole = row.start % PAGE as u64 == 0 && row.end % PAGE as u64 == 0;
        ensure!(
            whole && row.start < row.end,
            "row not whole pages: {row:x?}"
        );
        expect_eq!(row.page_size, PAGE as u64, "page size of {row:x?}");
        let want = match RegionKind::from_raw(row.kind) {
            Some(RegionKind::Text) => r | x | u,
            Some(RegionKind::Rodata) => r | u,
            Some(RegionKind::Data | RegionKind::Bss | RegionKind::Heap | RegionKind::Stack) => {
                r | w | u
            }
            Some(RegionKind::TrapFrame) => r | w,
            Some(RegionKind::Trampoline) => r | x,
            None => 0,
        };
        expect_eq!(row.perms, want, "permissions of {row:x?}");
    }
    let sum: u64 = rows.iter().map(|r| r.resident_pages).sum();
    expect_eq!(
        sum,
        resident,
        "resident pages of the rows against memstat's"
    );
    Ok(())
}

pub fn match_memstat(map: &Map) -> Outcome {
    let (before, n) = rows(0)?;
    let stat = sys::memstat().map_err(|_| Failed)?;
    check(&before[..n], stat.resident_pages)?;
    ensure!(stat.free_frames <= stat.total_frames, "memstat: {stat:?}");
    ensure!(stat.low_water <= stat.free_frames, "memstat: {stat:?}");
    let tramp = find(&before[..n], RegionKind::Trampoline).ok_or(Failed)?;
    expect_eq!(tramp.end, map.va_top, "end of the trampoline row");
    expect_eq!(
        tramp.resident_pages,
        0,
        "resident pages of the shared trampoline"
    );
    // Three pages more heap: the heap row ends at the break rounded up.
    let b = util::page_up(brk());
    util::set_brk(b).map_err(|_| Failed)?;
    sys::sbrk(3 * PAGE as isize + 5).map_err(|_| Failed)?;
    let (after, n) = rows(0)?;
    let heap = find(&after[..n], RegionKind::Heap).ok_or(Failed)?;
    expect_eq!(heap.end, (b + 4 * PAGE) as u64, "heap row end after sbrk");
    expect_eq!(heap.start, map.heap_start as u64, "heap row start");
    let stat = sys::memstat().map_err(|_| Failed)?;
    check(&after[..n], stat.resident_pages)?;
    // A child's rows, read by its parent, are the parent's (a copy).
    let child = util::spawn(|| {
        sys::yield_now();
        Ok(())
    })
    .map_err(|_| Failed)?;
    if let Ok((theirs, m)) = rows(child) {
        // Unless it ended already (then it has no map).
        expect_eq!(&theirs[..m], &after[..n], "the child's rows");
    }
    expect_eq!(
        util::wait_for(child)?,
        ExitStatus::exited(0),
        "the child's status"
    );
    Ok(())
}
