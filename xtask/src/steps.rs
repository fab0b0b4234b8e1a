//! The steps of `cargo xtask test`, `miri` and `bench`, and the loop that runs them.
//!
//! A [`Step`] is a named unit that ends in a [`StepReport`]: a command whose exit status decides
//! (a check), a command whose `test result:` lines are counted (tests), or any function (a hook
//! for later steps such as booting the kernel in QEMU and reading its console). Every step runs
//! even when an earlier one failed, so one run shows everything that is broken.

use std::env;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::process::{self, Cmd};
use crate::setup::{MIRI_TOOLCHAIN, RISCV_TARGETS};
use crate::summary::{StepReport, Summary, Tally};

/// Library crates that are `#![no_std]` and must build for the bare-metal targets.
pub const NO_STD_CRATES: [&str; 2] = ["rvmm", "umalloc"];

/// Crates whose library tests run under Miri.
pub const MIRI_CRATES: [&str; 2] = ["rvmm", "umalloc"];

/// Crates with benchmarks, run one after the other by `cargo xtask bench`.
pub const BENCH_CRATES: [&str; 2] = ["rvmm", "umalloc"];

/// Miri flag that every run gets: no integer-to-pointer casts may produce usable pointers.
const STRICT_PROVENANCE: &str = "-Zmiri-strict-provenance";

/// Default time limit of one step; `RVMM_STEP_TIMEOUT_SECS` overrides it. A hung test then
/// fails its step with a message instead of eating CI's whole budget silently.
const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// What a custom step reports back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOutcome {
    /// Whether the step succeeded.
    pub success: bool,
    /// Test counts, for steps that run tests.
    pub tests: Option<Tally>,
    /// Why it failed, for the table.
    pub note: Option<String>,
}

impl StepOutcome {
    /// A test step with nothing run yet: success and zero counts.
    fn passed_tests() -> Self {
        StepOutcome {
            success: true,
            tests: Some(Tally::default()),
            note: None,
        }
    }

    /// Adds the result of a part of this step: it fails if the part did, counts add up, notes
    /// are joined.
    fn absorb(&mut self, part: StepOutcome) {
        self.success &= part.success;
        if let (Some(sum), Some(t)) = (self.tests.as_mut(), part.tests) {
            sum.passed += t.passed;
            sum.failed += t.failed;
            sum.ignored += t.ignored;
            sum.binaries += t.binaries;
        }
        if let Some(note) = part.note {
            self.note = Some(match self.note.take() {
                Some(before) => format!("{before}; {note}"),
                None => note,
            });
        }
    }
}

/// A custom step's body; it receives the workspace root.
pub type StepFn = Box<dyn FnOnce(&Path) -> StepOutcome>;

/// How a step's result is judged.
enum Action {
    /// Success is the command's exit status.
    Check(Cmd),
    /// The command runs tests: its `test result:` lines are counted as well.
    Tests(Cmd),
    /// Anything else.
    Custom(StepFn),
}

/// One named step of a suite.
pub struct Step {
    /// The name shown in logs and in the summary table.
    pub name: String,
    action: Action,
}

impl Step {
    /// A command that passes or fails as a whole (fmt, clippy, a build).
    pub fn check(name: &str, cmd: Cmd) -> Self {
        Step {
            name: name.to_string(),
            action: Action::Check(cmd),
        }
    }

    /// A command that runs libtest binaries, whose results are counted.
    pub fn tests(name: &str, cmd: Cmd) -> Self {
        Step {
            name: name.to_string(),
            action: Action::Tests(cmd),
        }
    }

    /// A step with a body of its own, for example a QEMU boot that checks the console.
    pub fn custom(name: &str, body: impl FnOnce(&Path) -> StepOutcome + 'static) -> Self {
        Step {
            name: name.to_string(),
            action: Action::Custom(Box::new(body)),
        }
    }

    /// What the log shows before the step starts.
    fn describe(&self) -> String {
        match &self.action {
            Action::Check(cmd) | Action::Tests(cmd) => cmd.display(),
            Action::Custom(_) => "(built-in)".to_string(),
        }
    }

    fn run(self, root: &Path) -> StepReport {
        let start = Instant::now();
        let outcome = match self.action {
            Action::Check(cmd) => run_command(&cmd, root, None),
            Action::Tests(cmd) => run_command(&cmd, root, Some(Tally::default())),
            Action::Custom(body) => body(root),
        };
        StepReport {
            name: self.name,
            success: outcome.success,
            tests: outcome.tests,
            elapsed: start.elapsed(),
            note: outcome.note,
        }
    }
}

/// Runs `cmd` streaming its output; counts test results when `tally` is given.
pub fn run_command(cmd: &Cmd, root: &Path, mut tally: Option<Tally>) -> StepOutcome {
    let finished = process::run_streaming(cmd, root, |line| {
        if let Some(tally) = tally.as_mut() {
            tally.scan(line);
        }
    });
    match finished {
        Ok(finished) => StepOutcome {
            success: finished.success(),
            tests: tally,
            note: finished.failure_note(cmd),
        },
        Err(e) => StepOutcome {
            success: false,
            tests: tally,
            note: Some(format!("could not run {}: {e}", cmd.program)),
        },
    }
}

/// Runs every step in order, logging each, and returns their reports.
pub fn run_all(root: &Path, steps: Vec<Step>) -> Summary {
    let count = steps.len();
    let mut summary = Summary::default();
    for (i, step) in steps.into_iter().enumerate() {
        println!(
            "\n==> [{}/{count}] {}: {}",
            i + 1,
            step.name,
            step.describe()
        );
        let _ = std::io::stdout().flush();
        let report = step.run(root);
        println!(
            "<== {}: {} in {:.1} s{}",
            report.name,
            if report.success { "ok" } else { "FAILED" },
            report.elapsed.as_secs_f64(),
            report
                .note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
        );
        summary.reports.push(report);
    }
    summary
}

/// The per-step time limit, from `RVMM_STEP_TIMEOUT_SECS` or the default.
fn step_timeout() -> Duration {
    env::var("RVMM_STEP_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_STEP_TIMEOUT)
}

/// Colours for tools whose output we pipe (they see no terminal): only when we have one, so CI
/// logs hold no escape codes.
fn colour() -> &'static str {
    if std::io::stdout().is_terminal() {
        "always"
    } else {
        "never"
    }
}

/// `-p a -p b ...`.
fn packages(crates: &[&str]) -> Vec<String> {
    crates
        .iter()
        .flat_map(|c| ["-p".to_string(), c.to_string()])
        .collect()
}

/// The full suite of `cargo xtask test`, the kernel's QEMU boots included.
pub fn test_suite() -> Vec<Step> {
    let limit = step_timeout();
    let mut steps = vec![
        Step::check(
            "fmt",
            Cmd::cargo(["fmt", "--all", "--", "--check", "--color", colour()]).timeout(limit),
        ),
        Step::check(
            "clippy",
            Cmd::cargo([
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ])
            .timeout(limit),
        ),
        // --no-fail-fast: a failing binary must not hide the results of the ones after it.
        Step::tests(
            "host tests",
            Cmd::cargo(["test", "--workspace", "--no-fail-fast"]).timeout(limit),
        ),
        // umalloc's feature-gated parts: double/foreign free reports and junk (`debug`), the C
        // functions over the host's real sbrk (`c-abi`). Separate from the run above because
        // `c-abi` exports `malloc` and so replaces the allocator of every test binary it is in.
        Step::tests(
            "umalloc features",
            Cmd::cargo(["test", "-p", "umalloc", "--features", "debug,c-abi"])
                .args(["--no-fail-fast"])
                .timeout(limit),
        ),
    ];
    for target in RISCV_TARGETS {
        let arch = target.split('-').next().unwrap_or(target);
        steps.push(Step::check(
            &format!("build {arch}"),
            Cmd::cargo(["build"])
                .args(packages(&NO_STD_CRATES))
                .args(["--target", target])
                .timeout(limit),
        ));
    }
    steps.extend(crate::qemu::test_steps(limit));
    steps.push(miri_suite_step());
    steps
}

/// `cargo +nightly miri test` over the library crates, with strict provenance.
///
/// Only library and integration tests (`--lib --tests`): doctests and benches add minutes under
/// the interpreter and test nothing the host run does not. With `extra` arguments (a test
/// filter, say) it is one command; see [`miri_suite_step`] for the suite's two workers.
pub fn miri_step(extra: &[String]) -> Step {
    let cmd = miri_cmd(&MIRI_CRATES, &["--lib", "--tests"]).args(extra);
    Step::tests("miri", cmd)
}

/// `cargo +nightly miri test -p CRATE... ARGS --no-fail-fast` with strict provenance.
fn miri_cmd(crates: &[&str], args: &[&str]) -> Cmd {
    Cmd::cargo([format!("+{MIRI_TOOLCHAIN}"), "miri".into(), "test".into()])
        .args(packages(crates))
        .args(args)
        .args(["--no-fail-fast"])
        .env("MIRIFLAGS", miri_flags(env::var_os("MIRIFLAGS")))
        .timeout(step_timeout())
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
pub fn miri_suite_step() -> Step {
    Step::custom("miri", |root| {
        let queue = match miri_queue(root) {
            Ok(queue) => queue,
            Err(e) => {
                return StepOutcome {
                    success: false,
                    tests: None,
                    note: Some(format!("could not list the test files: {e}")),
                };
            }
        };
        let build = miri_cmd(&MIRI_CRATES, &["--lib", "--tests", "--no-run"]);
        println!("xtask: {}", build.display());
        let built = run_command(&build, root, None);
        if !built.success {
            return built;
        }
        let queue = std::sync::Mutex::new(queue.into_iter());
        let next = || queue.lock().ok()?.next();
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = StepOutcome::passed_tests();
                        while let Some(cmd) = next() {
                            println!("xtask: {}", cmd.display());
                            done.absorb(run_command(&cmd, root, Some(Tally::default())));
                        }
                        done
                    })
                })
                .collect();
            let mut total = StepOutcome::passed_tests();
            for worker in workers {
                total.absorb(worker.join().unwrap_or_else(|_| StepOutcome {
                    success: false,
                    tests: None,
                    note: Some("a Miri worker panicked".into()),
                }));
            }
            total
        })
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
    let mut queue: Vec<Cmd> = tests
        .iter()
        .map(|(krate, test)| miri_cmd(&[krate], &["--test", test]))
        .collect();
    queue.extend(
        MIRI_CRATES
            .iter()
            .map(|krate| miri_cmd(&[krate], &["--lib"])),
    );
    Ok(queue)
}

/// The caller's `MIRIFLAGS` plus strict provenance (once).
fn miri_flags(existing: Option<OsString>) -> OsString {
    let mut flags = existing.unwrap_or_default();
    let has_strict = flags
        .to_string_lossy()
        .split_whitespace()
        .any(|f| f == STRICT_PROVENANCE);
    if !has_strict {
        if !flags.is_empty() {
            flags.push(" ");
        }
        flags.push(STRICT_PROVENANCE);
    }
    flags
}

/// One `cargo bench -p CRATE` step per crate with benchmarks, extra arguments passed through.
pub fn bench_steps(extra: &[String]) -> Vec<Step> {
    BENCH_CRATES
        .iter()
        .map(|krate| {
            Step::check(
                &format!("bench {krate}"),
                Cmd::cargo(["bench", "-p", krate]).args(extra),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn miri_flags_add_strict_provenance_once() {
        assert_eq!(miri_flags(None), "-Zmiri-strict-provenance");
        assert_eq!(
            miri_flags(Some("-Zmiri-seed=3".into())),
            "-Zmiri-seed=3 -Zmiri-strict-provenance"
        );
        assert_eq!(
            miri_flags(Some("-Zmiri-strict-provenance -Zmiri-seed=3".into())),
            "-Zmiri-strict-provenance -Zmiri-seed=3"
        );
    }

    #[test]
    fn the_suite_has_the_named_steps_in_order() {
        let names: Vec<String> = test_suite().into_iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "fmt",
                "clippy",
                "host tests",
                "umalloc features",
                "build riscv64imac",
                "build riscv32imac",
                "kernel fmt",
                "kernel clippy rv64",
                "kernel build rv64",
                "qemu rv64 ktest",
                "qemu rv64 bad dtb",
                "qemu rv64 panic",
                "kernel clippy rv32",
                "kernel build rv32",
                "qemu rv32 ktest",
                "qemu rv32 bad dtb",
                "qemu rv32 panic",
                "miri"
            ]
        );
    }

    #[test]
    fn miri_queue_runs_every_test_file_once_slow_ones_first() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root");
        let shown: Vec<String> = miri_queue(root)
            .expect("test dirs are readable")
            .iter()
            .map(Cmd::display)
            .collect();
        let mut files = 0;
        for (krate, dir) in [("rvmm", "mm/tests"), ("umalloc", "umalloc/tests")] {
            for file in std::fs::read_dir(root.join(dir)).expect("test dir") {
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
            files + MIRI_CRATES.len(),
            "plus one --lib per crate"
        );
        assert!(shown[0].contains(&format!("--test {} ", MIRI_SLOW_FIRST[0])));
        for krate in MIRI_CRATES {
            assert!(
                shown
                    .iter()
                    .any(|c| c.contains(&format!("-p {krate} --lib ")))
            );
        }
        assert!(shown.iter().all(|c| c.contains(STRICT_PROVENANCE)));
    }

    #[test]
    fn miri_runs_on_nightly_from_the_workspace_root_with_strict_provenance() {
        let step = miri_step(&["--".into(), "frame".into()]);
        let described = step.describe();
        assert!(described.contains("cargo +nightly miri test -p rvmm -p umalloc --lib --tests"));
        assert!(described.contains("MIRIFLAGS="));
        assert!(described.contains(STRICT_PROVENANCE));
        assert!(described.ends_with("-- frame"));
    }

    #[test]
    fn failures_do_not_stop_later_steps_and_are_counted() {
        let steps = vec![
            Step::check("fails", Cmd::new("sh", ["-c", "exit 1"])),
            Step::tests(
                "counts",
                Cmd::new(
                    "sh",
                    [
                        "-c",
                        "echo 'test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; \
                         0 filtered out; finished in 0.00s'; exit 101",
                    ],
                ),
            ),
            Step::custom("custom", |_| StepOutcome {
                success: true,
                tests: Some(Tally {
                    passed: 2,
                    ..Tally::default()
                }),
                note: None,
            }),
            Step::check(
                "missing program",
                Cmd::new("/nonexistent/xtask-probe", [""; 0]),
            ),
        ];
        let summary = run_all(Path::new("."), steps);
        let results: Vec<bool> = summary.reports.iter().map(|r| r.success).collect();
        assert_eq!(results, [false, false, true, false]);
        assert_eq!(summary.totals(), (5, 3));
        assert!(
            summary.reports[3]
                .note
                .as_deref()
                .is_some_and(|n| n.starts_with("could not run"))
        );
    }
}
