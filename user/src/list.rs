//! The kernel's listings, whole: the syscalls fill a caller's array and say how many rows
//! there are, so these ask again with a larger array until every row fits.

use crate::sys::{self, Pid};
use abi::{Errno, KmapRow, ProcRow, RegionRow};
use alloc::vec::Vec;

/// Every process, in the kernel's table order.
pub fn processes() -> Result<Vec<ProcRow>, Errno> {
    whole(sys::procs)
}

/// The map of process `pid` (0: this one), in address order.
pub fn regions(pid: Pid) -> Result<Vec<RegionRow>, Errno> {
    whole(|rows| sys::regions(pid, rows))
}

/// The kernel's map, as the boot prints it.
pub fn kernel_map() -> Result<Vec<KmapRow>, Errno> {
    whole(sys::kmap)
}

/// Calls `fill` with ever larger arrays until the count it returns fits.
fn whole<T: Default + Clone>(
    mut fill: impl FnMut(&mut [T]) -> Result<usize, Errno>,
) -> Result<Vec<T>, Errno> {
    let mut rows = alloc::vec![T::default(); 16];
    loop {
        let count = fill(&mut rows)?;
        if count <= rows.len() {
            rows.truncate(count);
            return Ok(rows);
        }
        // A few spare rows, for processes that start meanwhile.
        rows.resize(count + 8, T::default());
    }
}
