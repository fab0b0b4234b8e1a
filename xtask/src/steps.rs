//! The steps of `cargo xtask test`, `miri` and `bench`, and the loop that runs them.
//!
//! A [`Step`] is a named unit that ends in an [`Outcome`]: a command whose exit status decides
//! (a check), a command whose `test result:` lines are counted (tests), or any function (a QEMU
//! boot that reads the console, the unsafe inventory). Every step runs even when an earlier one
//! failed, so one run shows everything that is broken.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::process::Cmd;
use crate::setup::{MIRI_TOOLCHAIN, RISCV_TARGETS};
use crate::summary::{Outcome, StepReport, Summary, Tally};

/// Library crates that are `#![no_std]` and must build for the bare-metal targets; their tests
/// run under Miri and their benchmarks under `cargo xtask bench`.
const LIBRARIES: [&str; 2] = ["rvmm", "umalloc"];

/// Miri flag that every run gets: no integer-to-pointer casts may produce usable pointers.
const STRICT_PROVENANCE: &str = "-Zmiri-strict-provenance";

/// Default time limit of one step; `RVMM_STEP_TIMEOUT_SECS` overrides it. A hung test then
/// fails its step with a message instead of eating CI's whole budget silently.
const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// One named step of a suite: what the log shows before it starts, and its body, which gets
/// the workspace root.
pub struct Step {
    /// The name shown in logs and in the summary table.
    pub name: String,
    shows: String,
    body: Box<dyn FnOnce(&Path) -> Outcome>,
}

impl Step {
    /// A command that passes or fails as a whole (fmt, clippy, a build).
    pub fn check(name: &str, cmd: Cmd) -> Self {
        Step::command(name, cmd, None)
    }

    /// A command that runs libtest binaries, whose `test result:` lines are counted.
    pub fn tests(name: &str, cmd: Cmd) -> Self {
        Step::command(name, cmd, Some(Tally::default()))
    }

    fn command(name: &str, cmd: Cmd, tally: Option<Tally>) -> Self {
        let shows = cmd.display();
        Step::new(name, shows, move |root| run_command(&cmd, root, tally))
    }

    /// A step with a body of its own, for example a QEMU boot that checks the console.
    pub fn custom(name: &str, body: impl FnOnce(&Path) -> Outcome + 'static) -> Self {
        Step::new(name, "(built-in)".into(), body)
    }

    fn new(name: &str, shows: String, body: impl FnOnce(&Path) -> Outcome + 'static) -> Self {
        let (name, body) = (name.to_string(), Box::new(body));
        Step { name, shows, body }
    }
}

/// Runs `cmd` streaming its output; counts test results when `tally` is given.
pub fn run_command(cmd: &Cmd, root: &Path, mut tally: Option<Tally>) -> Outcome {
    let result = cmd.stream(root, |line| tally.iter_mut().for_each(|t| t.scan(line)));
    Outcome::of(result, tally)
}

/// Runs every step in order, logging each, and returns their reports.
pub fn run_all(root: &Path, steps: Vec<Step>) -> Summary {
    let count = steps.len();
    let mut summary = Summary::default();
    for (i, Step { name, shows, body }) in steps.into_iter().enumerate() {
        println!("\n==> [{}/{count}] {name}: {shows}", i + 1);
        let _ = std::io::stdout().flush();
        let start = Instant::now();
        let outcome = body(root);
        let elapsed = start.elapsed();
        let result = if outcome.success { "ok" } else { "FAILED" };
        let note = outcome.note.as_ref().map(|n| format!(" ({n})"));
        let secs = elapsed.as_secs_f64();
        println!(
            "<== {name}: {result} in {secs:.1} s{}",
            note.unwrap_or_default()
        );
        summary.reports.push(StepReport {
            name,
            outcome,
            elapsed,
        });
    }
    summary
}

/// The per-step time limit, from `RVMM_STEP_TIMEOUT_SECS` or the default.
fn step_timeout() -> Duration {
    let secs = std::env::var("RVMM_STEP_TIMEOUT_SECS").ok();
    let secs = secs.and_then(|s| s.trim().parse().ok());
    secs.map_or(DEFAULT_STEP_TIMEOUT, Duration::from_secs)
}

/// `-p a -p b ...`.
fn packages(crates: &[&str]) -> Vec<String> {
    crates
        .iter()
        .flat_map(|c| ["-p", c])
        .map(String::from)
        .collect()
}

/// The full suite of `cargo xtask test`, the kernel's QEMU boots included.
pub fn test_suite(root: &Path) -> Vec<Step> {
    let limit = step_timeout();
    // Colours only on a terminal, so CI logs hold no escape codes.
    let colour = ["never", "always"][usize::from(std::io::stdout().is_terminal())];
    let fmt = Cmd::cargo("fmt --all -- --check --color").args([colour]);
    let clippy = Cmd::cargo("clippy --workspace --all-targets --all-features -- -D warnings");
    let mut steps = vec![
        Step::check("fmt", fmt.timeout(limit)),
        Step::check("clippy", clippy.timeout(limit)),
        // --no-fail-fast: a failing binary must not hide the results of the ones after it.
        Step::tests(
            "host tests",
            Cmd::cargo("test --workspace --no-fail-fast").timeout(limit),
        ),
        // umalloc's feature-gated parts: double/foreign free reports and junk (`debug`), the C
        // functions over the host's real sbrk (`c-abi`). Separate from the run above because
        // `c-abi` exports `malloc` and so replaces the allocator of every test binary it is in.
        Step::tests(
            "umalloc features",
            Cmd::cargo("test -p umalloc --features debug,c-abi --no-fail-fast").timeout(limit),
        ),
        Step::custom("unsafe inventory", crate::inventory::step),
    ];
    for target in RISCV_TARGETS {
        let arch = target.split('-').next().unwrap_or(target);
        let build = Cmd::cargo("build").args(packages(&LIBRARIES));
        let build = build.args(["--target", target]).timeout(limit);
        steps.push(Step::check(&format!("build {arch}"), build));
    }
    steps.extend(crate::qemu::test_steps(root, limit));
    steps.push(miri_suite_step());
    steps
}

/// `cargo +nightly miri test -p CRATE... ARGS --no-fail-fast` with strict provenance.
///
/// Only library and integration tests (`--lib --tests`): doctests and benches add minutes under
/// the interpreter and test nothing the host run does not.
fn miri_cmd(crates: &[&str], args: &[&str]) -> Cmd {
    let cmd = Cmd::cargo(&format!("+{MIRI_TOOLCHAIN} miri test")).args(packages(crates));
    let cmd = cmd
        .args(args)
        .args(["--no-fail-fast"])
        .timeout(step_timeout());
    let flags = miri_flags(std::env::var_os("MIRIFLAGS"));
    Cmd {
        env: vec![("MIRIFLAGS".into(), flags)],
        ..cmd
    }
}

/// `cargo xtask miri ARGS`: one command over both crates, the arguments passed through.
pub fn miri_step(extra: &[String]) -> Step {
    let cmd = miri_cmd(&LIBRARIES, &["--lib", "--tests"]).args(extra);
    Step::tests("miri", cmd)
}

/// Test binaries that take minutes under Miri, started first so that no long one is left to run
/// alone at the end. Only an order: every test file runs whether it is named here or not.
const MIRI_SLOW_FIRST: [&str; 6] = [
    "space_user_lifecycle",
    "resize_and_break",
    "space_user_copy",
    "space_user_load",
    "space_user_fork",
    "space_user_elf",
];

/// The suite's Miri step: the same tests as [`miri_step`], one test binary per command, run by
/// two workers at once, because the interpreter runs a binary on one core and the machines
/// have two. Everything is built first, so the workers never wait on Cargo's build lock.
///
/// Why not `cargo miri nextest run`, which would balance single tests instead of binaries:
/// nextest starts one interpreter per test, and each start costs Miri about 2.3 CPU-seconds
/// here (rvmm's 10 unit tests: 3.1 CPU-s under libtest, 26.3 under nextest), so the 388 tests
/// would add some 15 CPU-minutes, 7 minutes of wall time on two cores, far more than the
/// queue loses waiting for its slowest binary. And where cargo-nextest is not installed,
/// `cargo install cargo-nextest --locked` compiles for 13 CPU-minutes (25 minutes of wall
/// time on this shared 2-core machine).
pub fn miri_suite_step() -> Step {
    Step::custom("miri", |root| {
        let queue = match miri_queue(root) {
            Ok(queue) => std::sync::Mutex::new(queue.into_iter()),
            Err(e) => return Outcome::of(Err(format!("could not list the tests: {e}")), None),
        };
        let build = miri_cmd(&LIBRARIES, &["--lib", "--tests", "--no-run"]);
        println!("xtask: {}", build.display());
        let mut total = run_command(&build, root, None);
        if !total.success {
            return total;
        }
        let next = || queue.lock().ok()?.next();
        std::thread::scope(|scope| {
            let work = || {
                let mut done = Outcome::of(Ok(()), Some(Tally::default()));
                while let Some(cmd) = next() {
                    println!("xtask: {}", cmd.display());
                    done.absorb(run_command(&cmd, root, Some(Tally::default())));
                }
                done
            };
            for worker in [scope.spawn(work), scope.spawn(work)] {
                let panicked = || Outcome::of(Err("a Miri worker panicked".into()), None);
                total.absorb(worker.join().unwrap_or_else(|_| panicked()));
            }
        });
        total
    })
}

/// One command per test binary of the Miri crates: the slow ones first, then the rest in name
/// order, then the unit tests.
fn miri_queue(root: &Path) -> std::io::Result<Vec<Cmd>> {
    let mut tests = Vec::new();
    for (krate, dir) in [("rvmm", "mm"), ("umalloc", "umalloc")] {
        for entry in std::fs::read_dir(root.join(dir).join("tests"))? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if let Some(test) = name.strip_suffix(".rs") {
                tests.push((krate, test.to_string()));
            }
        }
    }
    let rank = |test: &str| MIRI_SLOW_FIRST.iter().position(|slow| *slow == test);
    tests.sort_by_key(|(_, test)| (rank(test).unwrap_or(usize::MAX), test.clone()));
    let binaries = tests
        .iter()
        .map(|(krate, test)| miri_cmd(&[krate], &["--test", test]));
    let units = LIBRARIES.iter().map(|krate| miri_cmd(&[krate], &["--lib"]));
    Ok(binaries.chain(units).collect())
}

/// The caller's `MIRIFLAGS` plus strict provenance (once).
fn miri_flags(existing: Option<OsString>) -> OsString {
    let mut flags = existing.unwrap_or_default();
    let words = flags.to_string_lossy().into_owned();
    if !words.split_whitespace().any(|f| f == STRICT_PROVENANCE) {
        flags.push(if flags.is_empty() { "" } else { " " });
        flags.push(STRICT_PROVENANCE);
    }
    flags
}

/// One `cargo bench -p CRATE` step per crate with benchmarks, extra arguments passed through.
pub fn bench_steps(extra: &[String]) -> Vec<Step> {
    let bench = |krate| Cmd::cargo("bench -p").args([krate]).args(extra);
    let step = |krate| Step::check(&format!("bench {krate}"), bench(krate));
    LIBRARIES.map(step).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> &'static Path {
        crate::workspace_root()
    }

    #[test]
    fn miri_flags_add_strict_provenance_once() {
        assert_eq!(miri_flags(None), "-Zmiri-strict-provenance");
        let seeded = miri_flags(Some("-Zmiri-seed=3".into()));
        assert_eq!(seeded, "-Zmiri-seed=3 -Zmiri-strict-provenance");
        let both = "-Zmiri-strict-provenance -Zmiri-seed=3";
        assert_eq!(miri_flags(Some(both.into())), both);
    }

    #[test]
    fn the_suite_has_the_named_steps_in_order() {
        let names: Vec<String> = test_suite(root()).into_iter().map(|s| s.name).collect();
        let expected = [
            "fmt",
            "clippy",
            "host tests",
            "umalloc features",
            "unsafe inventory",
            "build riscv64imac",
            "build riscv32imac",
            "kernel fmt",
            "user fmt",
            "kernel clippy rv64",
            "kernel build rv64",
            "user clippy rv64",
            "user build rv64",
            "qemu rv64 ktest",
            "qemu rv64 memtests",
            "qemu rv64 shell",
            "qemu rv64 bad dtb",
            "qemu rv64 panic",
            "kernel clippy rv32",
            "kernel build rv32",
            "user clippy rv32",
            "user build rv32",
            "qemu rv32 ktest",
            "qemu rv32 memtests",
            "qemu rv32 shell",
            "qemu rv32 bad dtb",
            "qemu rv32 panic",
            "miri",
        ];
        assert_eq!(names, expected);
    }

    #[test]
    fn miri_queue_runs_every_test_file_once_slow_ones_first() {
        let queue = miri_queue(root()).expect("test dirs are readable");
        let shown: Vec<String> = queue.iter().map(Cmd::display).collect();
        let mut files = 0;
        for (krate, dir) in [("rvmm", "mm/tests"), ("umalloc", "umalloc/tests")] {
            for file in std::fs::read_dir(root().join(dir)).expect("test dir") {
                let name = file
                    .expect("entry")
                    .file_name()
                    .into_string()
                    .expect("utf-8");
                if let Some(test) = name.strip_suffix(".rs") {
                    files += 1;
                    let needle = format!("-p {krate} --test {test} ");
                    let hits = shown.iter().filter(|c| c.contains(&needle)).count();
                    assert_eq!(hits, 1, "{needle} in {shown:#?}");
                }
            }
        }
        assert_eq!(
            shown.len(),
            files + LIBRARIES.len(),
            "plus one --lib per crate"
        );
        assert!(shown[0].contains(&format!("--test {} ", MIRI_SLOW_FIRST[0])));
        for krate in LIBRARIES {
            let lib = format!("-p {krate} --lib ");
            assert!(shown.iter().any(|c| c.contains(&lib)), "{lib}");
        }
        assert!(shown.iter().all(|c| c.contains(STRICT_PROVENANCE)));
    }

    #[test]
    fn miri_runs_on_nightly_with_strict_provenance_and_the_arguments_last() {
        let shown = miri_step(&["--".into(), "frame".into()]).shows;
        assert!(shown.starts_with("MIRIFLAGS=\"") && shown.contains(STRICT_PROVENANCE));
        let cargo = "cargo +nightly miri test -p rvmm -p umalloc --lib --tests --no-fail-fast";
        assert!(shown.ends_with(&format!("{cargo} -- frame")), "{shown}");
    }

    #[test]
    fn failures_do_not_stop_later_steps_and_are_counted() {
        let counted = "echo 'test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; \
                       0 filtered out; finished in 0.00s'; exit 101";
        let two = Some(Tally {
            passed: 2,
            ..Tally::default()
        });
        let steps = vec![
            Step::check("fails", Cmd::new("sh", ["-c", "exit 1"])),
            Step::tests("counts", Cmd::new("sh", ["-c", counted])),
            Step::custom("custom", move |_| Outcome::of(Ok(()), two)),
            Step::check("missing", Cmd::new("/nonexistent/xtask-probe", [""; 0])),
        ];
        let summary = run_all(Path::new("."), steps);
        let results: Vec<bool> = summary.reports.iter().map(|r| r.outcome.success).collect();
        assert_eq!(results, [false, false, true, false]);
        assert_eq!(summary.totals(), (5, 3));
    }

    #[test]
    fn bench_passes_the_arguments_to_each_crate() {
        let steps = bench_steps(&["--bench".into(), "frames".into()]);
        let shown: Vec<&str> = steps.iter().map(|s| s.shows.as_str()).collect();
        assert_eq!(
            shown,
            [
                "cargo bench -p rvmm --bench frames",
                "cargo bench -p umalloc --bench frames"
            ]
        );
    }
}
