//! Counting results: parsing libtest's `test result:` lines and printing the step table.
//!
//! Every test binary (unit tests, integration tests, doctests, under Miri or not) ends with one
//! line such as `test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out;
//! finished in 0.01s`. Summing those lines counts the tests of a whole `cargo test` run without
//! a JSON format that needs nightly.

use std::time::Duration;

/// Test counts: one `test result:` line, or the sum over every such line a step printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
    /// Tests marked `#[ignore]`.
    pub ignored: u64,
    /// How many `test result:` lines (test binaries, doctest runs) or boots were counted.
    pub binaries: u64,
}

impl Tally {
    /// Parses one line of test output; `None` unless it is a libtest summary line, in which
    /// case `binaries` is 1. Colour escapes are stripped first.
    pub fn parse(line: &str) -> Option<Tally> {
        let line = strip_ansi(line);
        let (status, counts) = line
            .trim_start()
            .strip_prefix("test result: ")?
            .split_once(". ")?;
        if status != "ok" && status != "FAILED" {
            return None;
        }
        let mut tally = Tally {
            binaries: 1,
            ..Tally::default()
        };
        let mut saw_passed = false;
        for item in counts.split(';') {
            let mut words = item.split_whitespace();
            let (Some(Ok(n)), Some(what)) = (words.next().map(str::parse), words.next()) else {
                continue; // "finished in 0.01s"
            };
            match what {
                "passed" => (tally.passed, saw_passed) = (n, true),
                "failed" => tally.failed = n,
                "ignored" => tally.ignored = n,
                _ => {}
            }
        }
        saw_passed.then_some(tally)
    }

    /// Scans one output line and adds it if it is a summary line.
    pub fn scan(&mut self, line: &str) {
        if let Some(result) = Tally::parse(line) {
            *self += result;
        }
    }
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.ignored += other.ignored;
        self.binaries += other.binaries;
    }
}

/// Removes ANSI CSI escape sequences (`ESC [ ... letter`), as used for colours.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
        } else if chars.next() == Some('[') {
            chars.by_ref().find(char::is_ascii_alphabetic);
        }
    }
    out
}

/// What a step ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Whether the step succeeded (exit status zero, no timeout, console as expected).
    pub success: bool,
    /// Test counts for steps that run tests; `None` for checks such as fmt or a build.
    pub tests: Option<Tally>,
    /// Why it failed, when known (exit status, timeout, spawn error).
    pub note: Option<String>,
}

impl Outcome {
    /// Success when `result` is `Ok`; its error is the note.
    pub fn of(result: Result<(), String>, tests: Option<Tally>) -> Self {
        Outcome {
            success: result.is_ok(),
            tests,
            note: result.err(),
        }
    }

    /// Adds the result of a part of a step: it fails if the part did, counts add up, notes
    /// are joined.
    pub fn absorb(&mut self, part: Outcome) {
        self.success &= part.success;
        *self.tests.get_or_insert_default() += part.tests.unwrap_or_default();
        self.note = match (self.note.take(), part.note) {
            (Some(before), Some(note)) => Some(format!("{before}; {note}")),
            (before, note) => before.or(note),
        };
    }

    /// The step's contribution to the final `N passed, M failed` line.
    ///
    /// A test step counts its tests; if it failed without any failing test (it did not compile,
    /// it crashed, it timed out) it adds one failure so the failure cannot vanish from the total.
    /// A check step counts nothing when it passes and one failure when it fails.
    pub fn counts(&self) -> (u64, u64) {
        let unexplained = u64::from(!self.success);
        match self.tests {
            Some(tally) if tally.failed > 0 => (tally.passed, tally.failed),
            Some(tally) => (tally.passed, unexplained),
            None => (0, unexplained),
        }
    }
}

/// A step's name, outcome and wall time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    /// The step's name, as shown in the table.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Wall time the step took.
    pub elapsed: Duration,
}

/// The reports of all steps of one command, in order.
#[derive(Debug, Default)]
pub struct Summary {
    /// One report per step that ran.
    pub reports: Vec<StepReport>,
}

impl Summary {
    /// Total `(passed, failed)` over all steps.
    pub fn totals(&self) -> (u64, u64) {
        let counts = self.reports.iter().map(|r| r.outcome.counts());
        counts.fold((0, 0), |(p, f), (dp, df)| (p + dp, f + df))
    }

    /// True when every step succeeded and no test failed.
    pub fn all_ok(&self) -> bool {
        self.totals().1 == 0 && self.reports.iter().all(|r| r.outcome.success)
    }

    /// The summary table followed by the final `N passed, M failed` line.
    pub fn render(&self) -> String {
        let width = self
            .reports
            .iter()
            .map(|r| r.name.len())
            .chain([4])
            .max()
            .unwrap_or(4);
        let mut out = format!(
            "{:<width$}  {:<6}  {:>7}  {:>6}  {:>7}  {:>8}  note\n",
            "step", "result", "passed", "failed", "ignored", "time"
        );
        for report in &self.reports {
            let Outcome {
                success,
                tests,
                note,
            } = &report.outcome;
            let (passed, failed) = report.outcome.counts();
            let (passed, ignored) = match tests {
                Some(tally) => (passed.to_string(), tally.ignored.to_string()),
                None => ("-".to_string(), "-".to_string()),
            };
            let row = format!(
                "{:<width$}  {:<6}  {passed:>7}  {failed:>6}  {ignored:>7}  {:>7.1}s  {}",
                report.name,
                if *success { "ok" } else { "FAILED" },
                report.elapsed.as_secs_f64(),
                note.as_deref().unwrap_or(""),
            );
            out.push_str(row.trim_end());
            out.push('\n');
        }
        out + &final_line(self.totals()) + "\n"
    }
}

/// The one line CI reads: `N passed, M failed`.
pub fn final_line((passed, failed): (u64, u64)) -> String {
    format!("{passed} passed, {failed} failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(passed: u64, failed: u64, ignored: u64, binaries: u64) -> Tally {
        Tally {
            passed,
            failed,
            ignored,
            binaries,
        }
    }

    #[test]
    fn parses_ok_and_failed_lines() {
        let ok = "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 3 filtered out; \
                  finished in 0.04s";
        assert_eq!(Tally::parse(ok), Some(tally(12, 0, 1, 1)));
        let failed = "test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; \
                      0 filtered out; finished in 0.00s";
        assert_eq!(Tally::parse(failed), Some(tally(3, 1, 0, 1)));
    }

    #[test]
    fn parses_a_doctest_summary_and_ignores_the_merged_doctest_timing_line() {
        let output = "\
running 2 tests
test mm/src/addr.rs - addr::PhysAddr::new (line 42) ... ok
test mm/src/frame/mod.rs - frame (line 7) - compile ... ok

test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.61s

all doctests ran in 0.71s; merged doctests compilation took 0.09s";
        let mut sum = Tally::default();
        output.lines().for_each(|line| sum.scan(line));
        assert_eq!(sum, tally(2, 0, 0, 1));
    }

    #[test]
    fn sums_a_whole_cargo_test_run_with_a_failure_and_an_empty_binary() {
        let output = "\
     Running unittests src/lib.rs (target/debug/deps/rvmm-0123abcd)

running 4 tests
test addr::tests::rejects_high_bits ... ok
test frame::tests::double_free_is_an_error ... FAILED
test frame::tests::counts_back ... ok
test paging::tests::slow_soak ... ignored

failures:

---- frame::tests::double_free_is_an_error stdout ----
thread 'frame::tests::double_free_is_an_error' panicked at mm/src/frame/mod.rs:10:5:
test result: this text is not a summary line
failures:
    frame::tests::double_free_is_an_error

test result: FAILED. 2 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running unittests src/main.rs (target/debug/deps/xtask-4567ef01)

running 0 tests

test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
";
        let mut sum = Tally::default();
        output.lines().for_each(|line| sum.scan(line));
        assert_eq!(sum, tally(2, 1, 1, 2));
    }

    #[test]
    fn strips_colour_escapes() {
        let line = "test result: \u{1b}[32mok\u{1b}[0m. 5 passed; 0 failed; 0 ignored; \
                    0 measured; 0 filtered out; finished in 0.00s";
        assert_eq!(Tally::parse(line), Some(tally(5, 0, 0, 1)));
        let failed = "test result: \u{1b}[31mFAILED\u{1b}[0m. 0 passed; 2 failed; 0 ignored; \
                      0 measured; 0 filtered out; finished in 0.00s";
        assert_eq!(Tally::parse(failed), Some(tally(0, 2, 0, 1)));
    }

    #[test]
    fn rejects_lines_that_only_look_similar() {
        for line in [
            "",
            "test result:",
            "test result: ok.",
            "test result: maybe. 1 passed; 0 failed;",
            "test foo ... ok",
            "running 3 tests",
            "error: test failed, to rerun pass `-p rvmm --lib`",
            "all doctests ran in 0.71s; merged doctests compilation took 0.09s",
        ] {
            assert_eq!(Tally::parse(line), None, "{line:?}");
        }
    }

    fn report(name: &str, success: bool, tests: Option<Tally>) -> StepReport {
        let outcome = Outcome::of(if success { Ok(()) } else { Err("why".into()) }, tests);
        let elapsed = Duration::from_millis(1500);
        StepReport {
            name: name.into(),
            outcome,
            elapsed,
        }
    }

    #[test]
    fn a_check_counts_one_failure_when_it_fails_and_nothing_when_it_passes() {
        assert_eq!(report("fmt", true, None).outcome.counts(), (0, 0));
        assert_eq!(report("clippy", false, None).outcome.counts(), (0, 1));
    }

    #[test]
    fn a_test_step_that_failed_without_failing_tests_adds_one_failure() {
        let counts = |tests| report("tests", false, Some(tests)).outcome.counts();
        assert_eq!(counts(Tally::default()), (0, 1));
        assert_eq!(counts(tally(3, 1, 0, 1)), (3, 1));
    }

    #[test]
    fn the_table_ends_with_the_final_line_and_totals_all_steps() {
        let tests = [None, Some(tally(40, 2, 1, 3)), Some(tally(7, 0, 0, 1))];
        let reports = ["fmt", "host tests", "miri"].into_iter().zip(tests);
        let reports = reports.map(|(name, tests)| report(name, name == "miri", tests));
        let summary = Summary {
            reports: reports.collect(),
        };
        assert!(!summary.all_ok());
        assert_eq!(
            summary.render(),
            "\
step        result   passed  failed  ignored      time  note
fmt         FAILED        -       1        -      1.5s  why
host tests  FAILED       40       2        1      1.5s  why
miri        ok            7       0        0      1.5s
47 passed, 3 failed
"
        );
    }

    #[test]
    fn an_all_green_summary_is_ok() {
        let reports = vec![
            report("fmt", true, None),
            report("t", true, Some(tally(1, 0, 0, 1))),
        ];
        let summary = Summary { reports };
        assert!(summary.all_ok());
        assert_eq!(final_line(summary.totals()), "1 passed, 0 failed");
    }

    #[test]
    fn absorbing_parts_adds_counts_and_joins_notes() {
        let part = |result: Result<(), &str>, passed| {
            Outcome::of(result.map_err(String::from), Some(tally(passed, 0, 0, 1)))
        };
        let mut total = part(Ok(()), 1);
        total.absorb(part(Err("a"), 2));
        total.absorb(part(Err("b"), 3));
        let expected = Outcome::of(Err("a; b".into()), Some(tally(6, 0, 0, 3)));
        assert_eq!(total, expected);
    }
}
