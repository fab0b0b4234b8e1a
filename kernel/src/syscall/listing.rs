//! Listings: every process (`procs`) and the kernel's map (`kmap`).

use crate::mem;
use crate::proc::{self, ProcRef, State};
use abi::{Errno, KmapRow, Name, ProcRow, ProcState, Wire};

/// Copies `row` to row `i` of the caller's array at `out`.
fn put<T: Wire>(p: ProcRef, out: usize, i: usize, row: &T) -> Result<(), Errno> {
    let at = i
        .checked_mul(T::SIZE)
        .and_then(|o| out.checked_add(o))
        .ok_or(Errno::EFAULT)?;
    super::copy_out(p, at, row)
}

/// Checks that `rows` rows of `T` fit at `out` in the caller's memory, before any is written.
fn check_room<T: Wire>(p: ProcRef, out: usize, rows: usize) -> Result<(), Errno> {
    let len = rows.checked_mul(T::SIZE).ok_or(Errno::EFAULT)?;
    p.space
        .lock()
        .as_ref()
        .expect("a process in a syscall has a space")
        .check_writable(out, len)
        .map_err(|_| Errno::EFAULT)
}

/// `procs(out, n)`: writes at most `n` rows, one per process, and returns how many exist.
pub fn procs(p: ProcRef, out: usize, n: usize) -> Result<usize, Errno> {
    let table = proc::table().lock();
    let count = table.iter().count();
    let wanted = n.min(count);
    check_room::<ProcRow>(p, out, wanted)?;
    for (i, q) in table.iter().take(wanted).enumerate() {
        let row = row_of(q);
        put(p, out, i, &row)?;
    }
    Ok(count)
}

fn row_of(q: ProcRef) -> ProcRow {
    let (state, parent, hart, name) = {
        let st = q.status.lock();
        let state = match st.state {
            State::New => ProcState::New,
            State::Runnable => ProcState::Runnable,
            State::Running => ProcState::Running,
            State::Sleeping(_) => ProcState::Sleeping,
            State::Zombie(_) => ProcState::Zombie,
        };
        (state, st.parent, st.hart, st.name)
    };
    let (resident, tables) = q
        .space
        .lock()
        .as_ref()
        .map_or((0, 0), |s| (s.resident_pages(), s.table_frames()));
    ProcRow {
        pid: q.pid() as u32,
        parent: parent as u32,
        state: state as u32,
        hart: hart as u32,
        name: Name::new(name.as_str()),
        resident_pages: resident as u64,
        table_frames: tables as u64,
    }
}

/// `kmap(out, n)`: writes at most `n` rows of the kernel map and returns how many it has.
pub fn kmap(p: ProcRef, out: usize, n: usize) -> Result<usize, Errno> {
    let count = mem::show::rows(|_| {});
    check_room::<KmapRow>(p, out, n.min(count))?;
    let mut i = 0;
    let mut result = Ok(());
    mem::show::rows(|row| {
        if i < n && result.is_ok() {
            result = put(p, out, i, &row);
        }
        i += 1;
    });
    result.map(|()| count)
}
