//! `memtests`: the memory-management test suite of the reference kernel (issue 10).
//!
//! Each scenario runs in a forked child; the parent checks how the child ended (exit code 0,
//! or killed with the one [`KillCause`] the scenario must provoke) and that every frame the
//! child took came back, prints `memtest NAME ... ok` or `... FAILED (why)`, and ends with
//! `N passed, M failed`. The frame count of the whole machine is also compared before and
//! after the suite.
//!
//! Frames are counted as the free frames plus the frames of the counting process itself (its
//! pages and page tables, from `memstat`): the parent's own stack grows and shrinks between two
//! readings, which must not read as a leak or hide one.
//!
//! `memtests WORD...` runs only the scenarios whose names contain one of the words; `-v` adds
//! each scenario's guest time. Other modes are for the suite's own `exec` tests:
//! `--exit N`, `--args ...`, `--after-exec FREE`.
//!
//! Output, for the xtask to count: a line `memtest NAME ... ok` per passing scenario; lines
//! starting with two spaces that say why, then `memtest NAME ... FAILED`, per failing one;
//! finally `memtests result: N passed, M failed`.
#![no_std]
#![no_main]

/// Fails the running scenario, printing where and why, unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            user::println!("  {}:{}: {}", file!(), line!(), format_args!($($arg)*));
            return Err($crate::util::Failed);
        }
    };
}

/// Fails the running scenario unless `got == want`, printing both.
macro_rules! expect_eq {
    ($got:expr, $want:expr, $($arg:tt)*) => {
        match (&$got, &$want) {
            (got, want) => ensure!(
                *got == *want,
                "{}: expected {:?}, got {:?}",
                format_args!($($arg)*),
                want,
                got
            ),
        }
    };
}

mod exec;
mod exhaust;
mod fork;
mod grind;
mod kill;
mod malloc;
mod pointers;
mod protection;
mod regions;
mod sbrk;
mod stack;
mod util;

use abi::{ExitStatus, KillCause};
use user::{println, sys};
use util::{Map, Outcome};

user::entry!(main);

/// How a scenario's child must end.
#[derive(Clone, Copy)]
enum Expect {
    /// `exit(0)`.
    Exit0,
    /// Killed by the kernel for this cause.
    Killed(KillCause),
}

impl Expect {
    fn status(self) -> ExitStatus {
        match self {
            Expect::Exit0 => ExitStatus::exited(0),
            Expect::Killed(cause) => ExitStatus::killed(cause),
        }
    }
}

/// One scenario: a name, the code its child runs, how the child must end.
struct Scenario {
    name: &'static str,
    run: fn(&Map) -> Outcome,
    expect: Expect,
}

const fn ok(name: &'static str, run: fn(&Map) -> Outcome) -> Scenario {
    Scenario {
        name,
        run,
        expect: Expect::Exit0,
    }
}

const fn killed(name: &'static str, run: fn(&Map) -> Outcome, cause: KillCause) -> Scenario {
    Scenario {
        name,
        run,
        expect: Expect::Killed(cause),
    }
}

use KillCause::{InstructionPageFault as Exec, LoadPageFault as Load, StorePageFault as Store};

static SCENARIOS: &[Scenario] = &[
    ok("bad-pointers-write", pointers::write),
    ok("bad-pointers-read", pointers::read),
    ok("bad-pointers-exec", pointers::exec),
    ok("bad-pointers-memstat", pointers::memstat),
    ok("bad-pointers-wait", pointers::wait),
    ok("bad-pointers-regions", pointers::regions),
    ok("bad-pointers-clock", pointers::clock),
    ok("bad-pointers-procs", pointers::procs),
    ok("bad-pointers-kmap", pointers::kmap),
    ok("regions-match-memstat", regions::match_memstat),
    ok("sbrk-one-byte-steps", sbrk::one_byte_steps),
    ok("sbrk-half-of-ram", sbrk::half_of_ram),
    ok("sbrk-shrink-one-page", sbrk::shrink_one_page),
    ok("sbrk-regrown-reads-zero", sbrk::regrown_reads_zero),
    ok("sbrk-below-heap-start", sbrk::below_heap_start),
    ok("sbrk-beyond-ram", sbrk::beyond_ram),
    ok("sbrk-sign-wrapping", sbrk::sign_wrapping),
    killed("sbrk-released-is-gone", sbrk::released_is_gone, Store),
    ok("stack-1mib-recursion", stack::recursion),
    killed("stack-far-below-sp", stack::far_below_sp, Load),
    killed("stack-above-top", stack::above_top, Load),
    ok("stack-bogus-sp-preempted", stack::bogus_sp_preempted),
    ok("stack-red-zone-grows", stack::red_zone_grows),
    killed("stack-below-red-zone", stack::below_red_zone, Store),
    ok(
        "stack-red-zone-kept-at-preemption",
        stack::red_zone_kept_at_preemption,
    ),
    killed("stack-overflow", stack::overflow, Store),
    ok(
        "stack-syscall-into-untouched-stack",
        stack::syscall_into_untouched_stack,
    ),
    killed("protect-read-kernel", protection::read_kernel, Load),
    killed("protect-read-trampoline", protection::read_trampoline, Load),
    killed("protect-store-text", protection::store_text, Store),
    killed("protect-store-rodata", protection::store_rodata, Store),
    killed("protect-jump-heap", protection::jump_heap, Exec),
    killed("protect-jump-stack", protection::jump_stack, Exec),
    killed("protect-jump-trampoline", protection::jump_trampoline, Exec),
    killed("protect-load-page-0", protection::load_page_0, Load),
    killed(
        "protect-store-trap-frame",
        protection::store_trap_frame,
        Store,
    ),
    killed(
        "protect-privileged-csr",
        protection::privileged,
        KillCause::IllegalInstruction,
    ),
    killed(
        "protect-ebreak",
        protection::breakpoint,
        KillCause::Breakpoint,
    ),
    killed(
        "protect-misaligned-atomic",
        protection::misaligned_atomic,
        KillCause::Misaligned,
    ),
    ok("fork-heaps-independent", fork::heaps_independent),
    ok("fork-until-full", fork::until_full),
    ok("fork-until-enomem", fork::until_enomem),
    ok("fork-child-grows-and-exits", fork::child_grows_and_exits),
    ok("fork-orphans-reaped-by-init", fork::orphans_reaped_by_init),
    ok("kill-spinning-child", kill::spinning),
    ok("kill-sleeping-reader", kill::sleeping_reader),
    ok("kill-racing-reader", kill::racing_reader),
    ok("kill-sleeping-in-sleep", kill::sleeping_in_sleep),
    ok("exec-errors", exec::errors),
    ok("exec-most-arguments", exec::most_arguments),
    ok("exec-releases-old-image", exec::releases_old_image),
    ok("exhaust-parallel", exhaust::parallel),
    ok("malloc-until-null", malloc::until_null),
    ok("malloc-too-large", malloc::too_large),
    ok("malloc-realloc-in-place", malloc::realloc_in_place),
    ok("malloc-break-returns", malloc::break_returns),
    ok("grind", grind::grind),
];

fn main(args: &user::Args) -> i32 {
    match args.get(1) {
        Some("--exit") => return args.get(2).and_then(|c| c.parse().ok()).unwrap_or(1),
        Some("--args") => return exec::check_args(args),
        Some("--after-exec") => return exec::after_exec(args),
        _ => {}
    }
    let verbose = args.iter().any(|a| a == "-v");
    let words = || args.iter().skip(1).filter(|&a| a != "-v");
    let selected = |name: &str| words().next().is_none() || words().any(|w| name.contains(w));
    let map = Map::read();
    let start = sys::time();
    let before = util::system_frames();
    let (mut passed, mut failed) = (0, 0);
    for scenario in SCENARIOS.iter().filter(|s| selected(s.name)) {
        if run(scenario, &map, verbose) {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    let after = util::system_frames();
    if after == before {
        passed += 1;
        println!("memtest no-frame-leaked-by-the-suite ... ok");
    } else {
        failed += 1;
        println!("  {before} frames before the suite, {after} after");
        println!("memtest no-frame-leaked-by-the-suite ... FAILED");
    }
    // Under `-icount shift=0` one guest nanosecond is one instruction.
    println!("memtests: {} ms guest time", util::ms_since(start));
    println!("memtests result: {passed} passed, {failed} failed");
    if failed == 0 { 0 } else { 1 }
}

/// Runs one scenario in a child and reports (`memtest NAME ... ok` or, after lines saying
/// why, `memtest NAME ... FAILED`); whether it passed.
fn run(s: &Scenario, map: &Map, verbose: bool) -> bool {
    let stat_before = sys::memstat().unwrap_or_default();
    let before = util::system_frames();
    let start = sys::time();
    let ended = fork_and_wait(s, map);
    // A failed scenario may leave processes behind (now init's); their frames would read as a
    // leak, or, when init reaps them later, as frames appearing in another scenario.
    let left = util::processes_left_behind(stat_before.processes);
    if left > 0 {
        println!("  {left} processes left behind (init reaps them when they end)");
    }
    let passed = match ended {
        None => false,
        Some(status) if status != s.expect.status() => {
            let want = util::Status(s.expect.status());
            println!("  expected {want}, got {}", util::Status(status));
            false
        }
        Some(_) => {
            let after = util::system_frames();
            if after != before {
                let leaked = before as i64 - after as i64;
                println!("  {leaked} frames leaked: {before} before, {after} after");
                println!("  memstat before: {stat_before:?}");
                println!("  memstat after:  {:?}", sys::memstat().unwrap_or_default());
            }
            after == before && left == 0
        }
    };
    if passed {
        println!("memtest {} ... ok", s.name);
        if verbose {
            println!("  ({} ms guest time)", util::ms_since(start));
        }
    } else {
        println!("memtest {} ... FAILED", s.name);
    }
    passed
}

/// Runs the scenario in a child; how the child ended (`None`, having said why, if it could not
/// be run or waited for).
fn fork_and_wait(s: &Scenario, map: &Map) -> Option<ExitStatus> {
    let child = match sys::fork() {
        Ok(0) => {
            let code = match ((s.run)(map), s.expect) {
                (Ok(()), Expect::Exit0) => 0,
                (Ok(()), Expect::Killed(cause)) => {
                    println!("  survived what must kill it ({})", cause.describe());
                    2
                }
                (Err(util::Failed), _) => 1,
            };
            sys::exit(code)
        }
        Ok(pid) => pid,
        Err(e) => {
            println!("  fork: {e}");
            return None;
        }
    };
    match sys::wait() {
        Ok((pid, status)) if pid == child => Some(status),
        other => {
            println!("  wait for the scenario's child {child}: {other:?}");
            None
        }
    }
}
