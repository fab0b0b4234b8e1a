//! What every scenario uses: the failure type, the process's map, frame counts, raw syscalls,
//! a seeded random generator.

use abi::{Errno, ExitStatus, RegionKind, RegionRow, nr};
use core::fmt;
use user::raw::BreakBytes;
use user::sys::{self, Pid};

/// A scenario failed; it printed why.
#[derive(Debug)]
pub struct Failed;

/// What a scenario returns.
pub type Outcome = Result<(), Failed>;

/// Bytes in a page.
pub const PAGE: usize = 4096;

/// `a` rounded up to a page.
pub const fn page_up(a: usize) -> usize {
    (a + PAGE - 1) & !(PAGE - 1)
}

/// Where things are in this program's address space (the same in every child: forks share
/// the layout, only the break moves).
pub struct Map {
    /// First byte of the text segment.
    pub text: usize,
    /// First byte of the read-only data.
    pub rodata: usize,
    /// First byte of the writable data.
    pub data: usize,
    /// First byte of the heap: the page after the last segment.
    pub heap_start: usize,
    /// Exclusive top of the stack: the trap frame page's first byte.
    pub stack_top: usize,
    /// The trap frame page.
    pub trap_frame: usize,
    /// The trampoline page.
    pub trampoline: usize,
    /// The first address above user space (2^38 on Sv39, 2^32 on Sv32).
    pub va_top: u64,
    /// Frames the machine has.
    pub total_frames: u64,
}

impl Map {
    /// This process's map, from `regions`.
    pub fn read() -> Map {
        let mut rows = [RegionRow::default(); 16];
        let n = sys::regions(0, &mut rows)
            .expect("regions of the caller")
            .min(rows.len());
        let mut map = Map {
            text: 0,
            rodata: 0,
            data: 0,
            heap_start: 0,
            stack_top: 0,
            trap_frame: 0,
            trampoline: 0,
            va_top: 0,
            total_frames: sys::memstat().map_or(0, |s| s.total_frames),
        };
        for row in &rows[..n] {
            let (start, end) = (row.start as usize, row.end);
            match RegionKind::from_raw(row.kind) {
                Some(RegionKind::Text) => map.text = start,
                Some(RegionKind::Rodata) => map.rodata = start,
                Some(RegionKind::Data) => map.data = start,
                // A data segment without file bytes is all bss.
                Some(RegionKind::Bss) if map.data == 0 => map.data = start,
                Some(RegionKind::Stack) => map.stack_top = end as usize,
                Some(RegionKind::TrapFrame) => map.trap_frame = start,
                Some(RegionKind::Trampoline) => {
                    map.trampoline = start;
                    map.va_top = end;
                }
                _ => {}
            }
            if matches!(
                RegionKind::from_raw(row.kind),
                Some(RegionKind::Text | RegionKind::Rodata | RegionKind::Data | RegionKind::Bss)
            ) {
                map.heap_start = map.heap_start.max(page_up(end as usize));
            }
        }
        map
    }

    /// The highest address of user space (`va_top - 1`).
    pub fn last_address(&self) -> usize {
        (self.va_top - 1) as usize
    }

    /// RAM in bytes.
    pub fn ram_bytes(&self) -> usize {
        self.total_frames as usize * PAGE
    }
}

/// Frames of the machine not held by anyone but this process: the free ones plus this
/// process's own pages and page tables. Invariant under this process's stack moving.
pub fn system_frames() -> u64 {
    let s = sys::memstat().expect("memstat with a valid pointer");
    s.free_frames + s.resident_pages + s.table_frames
}

/// How many processes more than `baseline` still exist after waiting up to two seconds for
/// them to end (polling once a millisecond).
pub fn processes_left_behind(baseline: u64) -> u64 {
    let count = || sys::memstat().map_or(0, |s| s.processes);
    let per_ms = sys::clock().map_or(0, |c| c.ticks_per_second / 1000);
    let deadline = sys::time() + 2000 * per_ms;
    while count() > baseline && sys::time() < deadline {
        let _ = sys::sleep(1);
    }
    count().saturating_sub(baseline)
}

/// Free frames now.
pub fn free_frames() -> u64 {
    sys::memstat()
        .expect("memstat with a valid pointer")
        .free_frames
}

/// Milliseconds of the `time` counter since `start` (a `sys::time()` reading).
pub fn ms_since(start: u64) -> u64 {
    let per_ms = sys::clock().map_or(0, |c| c.ticks_per_second / 1000).max(1);
    sys::time().saturating_sub(start) / per_ms
}

/// The current break.
pub fn brk() -> usize {
    sys::sbrk(0).expect("sbrk(0) never fails")
}

/// Moves the break to `to` (which must be allowed); returns the old break.
pub fn set_brk(to: usize) -> Result<usize, Errno> {
    let now = brk();
    sys::sbrk(to.wrapping_sub(now) as isize)
}

/// A raw syscall: `(a0, a1)` exactly as the kernel left them. Inlined (no call, no stack),
/// for code that runs while memory is exhausted. Callers that pass pointers to their own
/// memory pass buffers the kernel may write (or addresses that are not theirs at all, which is
/// the point of the tests).
#[inline(always)]
pub fn raw(number: usize, a0: usize, a1: usize, a2: usize) -> (usize, usize) {
    sys::syscall_raw(number, [a0, a1, a2, 0, 0, 0])
}

/// A raw syscall's result as `Result`, with an errno the kernel does not define as `ENOSYS`.
#[inline(always)]
pub fn call(number: usize, a0: usize, a1: usize, a2: usize) -> Result<usize, Errno> {
    match raw(number, a0, a1, a2) {
        (v, 0) => Ok(v),
        (_, e) => Err(Errno::from_raw(e).unwrap_or(Errno::ENOSYS)),
    }
}

/// `wait` that reaps every child; how many ended with `want`, and how many otherwise. Calls
/// nothing, so it needs no new stack page while memory is exhausted.
#[inline(never)]
pub fn reap_all(want: ExitStatus) -> (usize, usize) {
    let (mut good, mut bad) = (0, 0);
    let mut status = ExitStatus::default();
    loop {
        match call(nr::WAIT, &raw mut status as usize, 0, 0) {
            Ok(_) if status == want => good += 1,
            Ok(_) => bad += 1,
            Err(_) => return (good, bad),
        }
    }
}

/// Sleeps until killed, touching no memory: a child that holds what it has while the
/// parent exhausts the rest. (Sleeping, not yielding: harts that hand a yielding process back
/// and forth spin on its hand-over, which under `-icount` costs QEMU's 100 ms round-robin
/// period each time.)
#[inline(never)]
pub fn hold_until_killed() -> ! {
    loop {
        raw(nr::SLEEP, 3_600_000, 0, 0);
    }
}

/// Frames set aside in a child process while a scenario exhausts memory, and given back (by
/// killing the child) the moment the scenario is done exhausting it. A process that runs code
/// while no frame is free may be killed at its next stack growth, which is right for the
/// kernel but not what the scenario tests: from exhaustion until [`Reserve::release`] the
/// scenario runs only code inlined into its own function.
pub struct Reserve(Pid);

impl Reserve {
    /// Sets aside `pages` pages.
    pub fn new(pages: usize) -> Result<Reserve, Failed> {
        let bytes = pages * PAGE;
        let b = brk();
        let start = page_up(b);
        let mut held = BreakBytes::grow(start + bytes - b).map_err(|_| Failed)?;
        held.bytes_mut()[start - b..].fill(0x52);
        let pid = match sys::fork() {
            Ok(0) => hold_until_killed(),
            Ok(pid) => pid,
            Err(_) => return Err(Failed),
        };
        held.give_back().map_err(|_| Failed)?;
        Ok(Reserve(pid))
    }

    /// Kills the child holding the frames and waits until it has ended (and its frames are
    /// free); whether that went as it should. Raw syscalls only, inlined into the caller.
    #[inline(always)]
    pub fn release(self) -> bool {
        if call(nr::KILL, self.0, 0, 0).is_err() {
            return false;
        }
        loop {
            match call(nr::WAIT, 0, 0, 0) {
                Ok(pid) if pid == self.0 => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    }
}

/// Ends a forked child with code 0 if `outcome` passed, else 1.
pub fn exit_with(outcome: Outcome) -> ! {
    sys::exit(if outcome.is_ok() { 0 } else { 1 })
}

/// Forks a child that runs `f` and exits with its outcome (0 passed, 1 failed).
pub fn spawn(f: impl FnOnce() -> Outcome) -> Result<Pid, Errno> {
    match sys::fork()? {
        0 => exit_with(f()),
        pid => Ok(pid),
    }
}

/// Waits for child `pid` (and only it, failing on any other) and returns how it ended.
pub fn wait_for(pid: Pid) -> Result<ExitStatus, Failed> {
    match sys::wait() {
        Ok((p, status)) if p == pid => Ok(status),
        other => {
            user::println!("  wait for pid {pid}: got {other:?}");
            Err(Failed)
        }
    }
}

/// An exit status as words.
pub struct Status(pub ExitStatus);

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.code(), self.0.kill_cause()) {
            (Some(code), _) => write!(f, "exit {code}"),
            (None, Some(cause)) => write!(f, "killed by {}", cause.describe()),
            (None, None) => write!(f, "status {:#x}", self.0.0),
        }
    }
}

/// A small seeded generator (SplitMix64): the grind is the same run after run.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A random word.
    pub fn word(&mut self) -> usize {
        self.next() as usize
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// One of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// True one time in `n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}
