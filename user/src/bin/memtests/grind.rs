//! The grind: four processes (one per hart with `-smp 4`) issue a bounded, seeded stream of
//! random syscalls with random, mostly invalid, arguments, fork children that do the same and
//! end in random ways, and kill and reap them. Every answer must be one the syscall can give
//! for those arguments; at the end every child is reaped and every frame is back.
//!
//! The grinders never hurt their harness: kill targets are their own children, pid 1 (`EPERM`)
//! and pids never issued; pointers the kernel may write through are either invalid or in a
//! scratch area of the grinder's own; `exec` names are never those of a program.

use crate::util::{self, Map, Outcome, PAGE, Rng, call, system_frames};
use abi::{Errno, ExitStatus, KillCause, nr};
use user::sys::{self, Pid};

/// Grinders running at once.
const GRINDERS: usize = 4;
/// Syscalls each grinder makes.
const CALLS: usize = 1000;
/// Syscalls a grinder's child makes before it ends.
const CHILD_CALLS: usize = 20;
/// Children a grinder has at most at a time.
const MAX_CHILDREN: usize = 6;
/// How far above its starting break a grinder's heap may move.
const HEAP_RANGE: usize = 512 << 10;

mod args;

use args::{ARGV_AT, KERNEL_AT, SCRATCH_SLACK, in_scratch, scratch, scratch_get, scratch_put};

struct Grinder<'a> {
    map: &'a Map,
    rng: Rng,
    me: Pid,
    /// The break when the grind started: the grinder's heap moves in [floor, floor + range).
    floor: usize,
    brk: usize,
    live: [Pid; MAX_CHILDREN],
    lives: usize,
    /// The last child reaped: a pid that is never live again.
    reaped: Pid,
    child: bool,
    call: usize,
}

/// Fails the grind with the grinder's seed and call number.
macro_rules! grind_ensure {
    ($g:expr, $cond:expr, $($arg:tt)*) => {
        ensure!($cond, "grinder pid {} call {}: {}", $g.me, $g.call, format_args!($($arg)*))
    };
}

impl Grinder<'_> {
    fn grind(&mut self, calls: usize) -> Outcome {
        for i in 0..calls {
            self.call = i;
            self.one()?;
        }
        Ok(())
    }

    /// One random syscall and the check of its answer.
    fn one(&mut self) -> Outcome {
        match self.rng.below(if self.child { 14 } else { 17 }) {
            0 => self.write(),
            1 => self.read(),
            2 => self.exec(),
            3 => {
                let at = self.target();
                let got = call(nr::MEMSTAT, at, 0, 0);
                self.expect_target(at, got, "memstat")
            }
            4 => {
                let at = self.target();
                let got = call(nr::CLOCK, at, 0, 0);
                self.expect_target(at, got, "clock")
            }
            5 => self.regions(),
            6 => self.sbrk(),
            7 => {
                let got = call(nr::GETPID, 0, 0, 0);
                grind_ensure!(self, got == Ok(self.me), "getpid: {got:?}");
                Ok(())
            }
            8 => {
                let number = self.rng.pick(&[0, 1000, 1 << 20, usize::MAX]);
                let got = call(number, self.rng.word(), self.rng.word(), self.rng.word());
                grind_ensure!(self, got == Err(Errno::ENOSYS), "syscall {number}: {got:?}");
                Ok(())
            }
            9 => {
                let got = call(nr::SHUTDOWN, self.rng.below(256), 0, 0);
                grind_ensure!(self, got == Err(Errno::EPERM), "shutdown: {got:?}");
                Ok(())
            }
            10 => {
                sys::yield_now();
                Ok(())
            }
            11 => self.wait(),
            12 => self.listing(),
            13 => {
                // Zero milliseconds: a sleeper with a deadline under `-icount` and four harts
                // waits up to QEMU's 100 ms round-robin period (see the report), too slow here.
                let got = call(nr::SLEEP, 0, 0, 0);
                let fine = got == Ok(0) || (self.child && got == Err(Errno::EINTR));
                grind_ensure!(self, fine, "sleep: {got:?}");
                Ok(())
            }
            14 | 15 => self.fork(),
            _ => self.kill(),
        }
    }

    /// `Ok` through the scratch area, `EFAULT` through a bad pointer.
    fn expect_target(&self, at: usize, got: Result<usize, Errno>, what: &str) -> Outcome {
        let want_ok = in_scratch(at);
        grind_ensure!(self, want_ok == got.is_ok(), "{what}({at:#x}): {got:?}");
        if !want_ok {
            grind_ensure!(self, got == Err(Errno::EFAULT), "{what}({at:#x}): {got:?}");
        }
        Ok(())
    }

    fn write(&mut self) -> Outcome {
        let fd = self.rng.pick(&[0, 1, 2, 3, usize::MAX]);
        let at = if self.rng.one_in(2) {
            self.bad()
        } else {
            self.map.text
        };
        let len = if self.rng.one_in(4) { 0 } else { self.huge() };
        let got = call(nr::WRITE, fd, at, len);
        let want = match fd {
            1 | 2 if len == 0 && (at as u64) < self.map.va_top => Ok(0),
            1 | 2 => Err(Errno::EFAULT),
            _ => Err(Errno::EBADF),
        };
        grind_ensure!(
            self,
            got == want,
            "write({fd}, {at:#x}, {len:#x}): {got:?}, not {want:?}"
        );
        Ok(())
    }

    fn read(&mut self) -> Outcome {
        let fd = self.rng.pick(&[0, 0, 1, 7]);
        let (at, len) = if self.rng.one_in(3) {
            (self.target(), 0) // nothing to wait for
        } else {
            let len = if self.rng.one_in(2) {
                1 + self.rng.below(64)
            } else {
                self.huge()
            };
            (self.bad(), len)
        };
        let got = call(nr::READ, fd, at, len);
        let fine = match fd {
            0 if len == 0 => got == Ok(0) || got == Err(Errno::EFAULT),
            0 => got == Err(Errno::EFAULT),
            _ => got == Err(Errno::EBADF),
        };
        grind_ensure!(self, fine, "read({fd}, {at:#x}, {len:#x}): {got:?}");
        Ok(())
    }

    fn exec(&mut self) -> Outcome {
        let name = self.name();
        let argv = if self.rng.one_in(3) {
            self.bad()
        } else {
            let n = self.rng.below(40);
            for i in 0..n {
                let p = match self.rng.below(4) {
                    0 => self.bad(),
                    _ => name,
                };
                scratch_put(ARGV_AT + i * size_of::<usize>(), &p.to_le_bytes());
            }
            if n < 40 && !self.rng.one_in(8) {
                scratch_put(ARGV_AT + n * size_of::<usize>(), &0usize.to_le_bytes());
            }
            scratch() + ARGV_AT
        };
        let got = call(nr::EXEC, name, argv, 0);
        let allowed = [
            Errno::EFAULT,
            Errno::ENOENT,
            Errno::ENAMETOOLONG,
            Errno::E2BIG,
        ];
        grind_ensure!(
            self,
            got.is_err_and(|e| allowed.contains(&e)),
            "exec({name:#x}, {argv:#x}): {got:?}"
        );
        Ok(())
    }

    fn regions(&mut self) -> Outcome {
        let (pid, _) = self.victim();
        // Any process may be looked at: this one, its children, others near it in age.
        let pid = match self.rng.below(4) {
            0 => 0,
            1 => (self.me + self.rng.below(64)).saturating_sub(32),
            _ => pid,
        };
        let at = self.target();
        let n = self.rng.pick(&[0, 1, 3, 12, usize::MAX]);
        let got = call(nr::REGIONS, pid, at, n);
        let fine = match got {
            Ok(rows) => (5..=12).contains(&rows),
            Err(e) => e == Errno::EFAULT || e == Errno::ESRCH,
        };
        grind_ensure!(self, fine, "regions({pid}, {at:#x}, {n}): {got:?}");
        Ok(())
    }

    fn sbrk(&mut self) -> Outcome {
        let room_up = (self.floor + HEAP_RANGE - self.brk) as isize;
        let room_down = (self.brk - self.floor) as isize;
        let below_start = -((self.brk - self.map.heap_start) as isize) - 1;
        let (delta, want) = match self.rng.below(8) {
            0 => (
                below_start - self.rng.below(1 << 20) as isize,
                Err(Errno::EINVAL),
            ),
            1 => (isize::MIN + self.rng.below(16) as isize, Err(Errno::EINVAL)),
            #[cfg(target_pointer_width = "64")]
            2 => (isize::MAX - self.rng.below(16) as isize, Err(Errno::EINVAL)),
            3 | 4 => {
                let d = self.rng.below(room_down as usize + 1) as isize;
                (-d, Ok(self.brk))
            }
            _ => {
                let d = self.rng.below(room_up as usize / 4 + 1) as isize;
                (d, Ok(self.brk))
            }
        };
        let got = sys::sbrk(delta);
        grind_ensure!(self, got == want, "sbrk({delta:#x}): {got:?}, not {want:?}");
        if got.is_ok() {
            self.brk = self.brk.wrapping_add_signed(delta);
            if delta > 0 {
                // The last byte below the new break: the grinder's own, no Rust object's.
                user::raw::store(self.brk - 1, 0x5a);
            }
        }
        let now = util::brk();
        grind_ensure!(
            self,
            now == self.brk,
            "break {now:#x}, expected {:#x}",
            self.brk
        );
        Ok(())
    }

    /// `procs` or `kmap` into a bad pointer (any row count) or the scratch area (as many rows
    /// as fit).
    fn listing(&mut self) -> Outcome {
        // kmap walks the whole kernel map under its lock, which fork and reaping need too:
        // under `-icount` the harts spinning for it cost the most guest time of the grind.
        let (number, what) = if self.rng.one_in(4) {
            (nr::KMAP, "kmap")
        } else {
            (nr::PROCS, "procs")
        };
        let at = self.target();
        let n = if in_scratch(at) {
            self.rng.pick(&[0, 1, 4, 8])
        } else {
            self.rng.pick(&[0, 1, 8, 1000, usize::MAX])
        };
        let got = call(number, at, n, 0);
        let fine = match got {
            Ok(rows) => rows > 0 && (n == 0 || in_scratch(at)),
            Err(e) => e == Errno::EFAULT && !in_scratch(at),
        };
        grind_ensure!(self, fine, "{what}({at:#x}, {n}): {got:?}");
        Ok(())
    }

    fn wait(&mut self) -> Outcome {
        let at = match self.rng.below(3) {
            0 => 0,
            1 => self.bad(),
            _ => scratch() + KERNEL_AT + self.rng.below(2 * PAGE - KERNEL_AT - SCRATCH_SLACK),
        };
        let flags = self.rng.pick(&[0, 0, abi::WNOHANG, 2, usize::MAX]);
        let got = call(nr::WAIT, at, flags, 0);
        if flags != 0 && flags != abi::WNOHANG {
            grind_ensure!(
                self,
                got == Err(Errno::EINVAL),
                "wait flags {flags:#x}: {got:?}"
            );
            return Ok(());
        }
        match got {
            Ok(0) if flags == abi::WNOHANG && self.lives > 0 => {}
            Ok(pid) => {
                let Some(i) = self.live[..self.lives].iter().position(|&p| p == pid) else {
                    grind_ensure!(self, false, "wait({at:#x}) reaped {pid}, not a child");
                    return Ok(());
                };
                self.lives -= 1;
                self.live[i] = self.live[self.lives];
                self.reaped = pid;
                if at != 0 {
                    // The kernel wrote a 4-byte status at `at` in the scratch area.
                    let status = ExitStatus(u32::from_le_bytes(scratch_get(at)));
                    let sane = status.code().is_some() || status.kill_cause().is_some();
                    grind_ensure!(self, sane, "wait: child {pid} ended with {:#x}", status.0);
                }
            }
            Err(Errno::EFAULT) if at != 0 && !in_scratch(at) => {}
            Err(Errno::ECHILD) if self.lives == 0 => {}
            Err(e) => grind_ensure!(
                self,
                false,
                "wait({at:#x}) with {} children: {e:?}",
                self.lives
            ),
        }
        Ok(())
    }

    fn fork(&mut self) -> Outcome {
        if self.lives == MAX_CHILDREN {
            return self.wait();
        }
        match sys::fork() {
            Ok(0) => {
                let me = sys::getpid();
                self.rng = Rng::new(self.rng.next() ^ me as u64);
                self.me = me;
                self.child = true;
                self.lives = 0;
                self.reaped = 0;
                let calls = self.rng.below(CHILD_CALLS);
                let outcome = self.grind(calls);
                if outcome.is_err() {
                    sys::exit(255);
                }
                match self.rng.below(10) {
                    2 => {
                        // A real exec, while the parent may be killing or inspecting this.
                        let mut digits = [0u8; 3];
                        let code = self.rng.below(200);
                        digits[0] = b'0' + (code / 100) as u8;
                        digits[1] = b'0' + (code / 10 % 10) as u8;
                        digits[2] = b'0' + (code % 10) as u8;
                        let code = core::str::from_utf8(&digits).unwrap_or("1");
                        let e = sys::exec("memtests", &["memtests", "--exit", code]);
                        user::println!("  grinder child {me}: exec: {e}");
                        sys::exit(252)
                    }
                    0 => {
                        let at = self.bad();
                        crate::stack::load(at);
                        sys::exit(254) // survived a bad load
                    }
                    1 => {
                        let _ = sys::kill(me);
                        sys::yield_now();
                        sys::exit(253) // survived its own kill
                    }
                    _ => sys::exit(self.rng.below(200) as i32),
                }
            }
            Ok(pid) => {
                self.live[self.lives] = pid;
                self.lives += 1;
            }
            Err(e) => {
                grind_ensure!(
                    self,
                    e == Errno::EAGAIN || e == Errno::ENOMEM,
                    "fork: {e:?}"
                )
            }
        }
        Ok(())
    }

    fn kill(&mut self) -> Outcome {
        let (pid, errors) = self.victim();
        let got = call(nr::KILL, pid, 0, 0);
        let fine = match got {
            Ok(_) => self.live[..self.lives].contains(&pid),
            Err(e) => errors.contains(&e),
        };
        grind_ensure!(self, fine, "kill({pid}): {got:?}");
        Ok(())
    }

    /// Kills and reaps every child; the statuses must all be ones a child can end with.
    fn finish(&mut self) -> Outcome {
        for &pid in &self.live[..self.lives] {
            let _ = sys::kill(pid);
        }
        loop {
            match sys::wait() {
                Ok((pid, status)) => {
                    let fine = match (status.code(), status.kill_cause()) {
                        (Some(code), _) => code < 200,
                        (None, Some(cause)) => matches!(
                            cause,
                            KillCause::Killed
                                | KillCause::LoadPageFault
                                | KillCause::StorePageFault
                        ),
                        _ => false,
                    };
                    grind_ensure!(
                        self,
                        fine,
                        "child {pid} ended with {}",
                        util::Status(status)
                    );
                }
                Err(Errno::ECHILD) => break,
                Err(e) => grind_ensure!(self, false, "final wait: {e:?}"),
            }
        }
        self.lives = 0;
        let got = util::set_brk(self.floor);
        grind_ensure!(self, got.is_ok(), "giving the heap back: {got:?}");
        Ok(())
    }
}

/// One grinder process: `CALLS` random syscalls from `seed`.
fn grinder(map: &Map, seed: u64) -> Outcome {
    let brk = util::brk();
    let mut g = Grinder {
        map,
        rng: Rng::new(seed),
        me: sys::getpid(),
        floor: brk,
        brk,
        live: [0; MAX_CHILDREN],
        lives: 0,
        reaped: 0,
        child: false,
        call: 0,
    };
    let outcome = g.grind(CALLS);
    g.call = CALLS;
    g.finish()?;
    outcome
}

pub fn grind(map: &Map) -> Outcome {
    let before = system_frames();
    for i in 0..GRINDERS {
        let seed = 0x6772_696e_6400 + i as u64;
        util::spawn(|| grinder(map, seed)).map_err(|_| util::Failed)?;
    }
    let (ok, failed) = util::reap_all(ExitStatus::exited(0));
    expect_eq!(
        (ok, failed),
        (GRINDERS, 0),
        "grinders that passed and failed"
    );
    expect_eq!(system_frames(), before, "frames after the grind");
    Ok(())
}
