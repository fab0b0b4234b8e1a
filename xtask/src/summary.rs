//! Counting results: parsing libtest's `test result:` lines and printing the step table.
//!
//! Every test binary (unit tests, integration tests, doctests, under Miri or not) ends with one
//! line such as `test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out;
//! finished in 0.01s`. Summing those lines is the only way to count tests across a whole
//! `cargo test` run without a JSON format that needs nightly.

use std::time::Duration;

/// One `test result:` line, as libtest printed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TestResult {
    /// `ok` (true) or `FAILED` (false).
    pub ok: bool,
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
    /// Tests marked `#[ignore]`.
    pub ignored: u64,
    /// Benchmarks measured (`#[bench]`).
    pub measured: u64,
    /// Tests not run because of a name filter.
    pub filtered_out: u64,
}

/// Parses one line of test output; `None` unless it is a libtest summary line.
///
/// Colour escapes are stripped first, so the line may come from a terminal-coloured run.
pub fn parse_result_line(line: &str) -> Option<TestResult> {
    let line = strip_ansi(line);
    let rest = line.trim_start().strip_prefix("test result: ")?;
    let (status, counts) = rest.split_once(". ")?;
    let ok = match status {
        "ok" => true,
        "FAILED" => false,
        _ => return None,
    };
    let mut result = TestResult {
        ok,
        ..TestResult::default()
    };
    let mut saw_passed = false;
    for item in counts.split(';') {
        let mut words = item.split_whitespace();
        let (Some(number), Some(what)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(number) = number.parse::<u64>() else {
            continue; // "finished in 0.01s"
        };
        let slot = match what {
            "passed" => {
                saw_passed = true;
                &mut result.passed
            }
            "failed" => &mut result.failed,
            "ignored" => &mut result.ignored,
            "measured" => &mut result.measured,
            "filtered" => &mut result.filtered_out,
            _ => continue,
        };
        *slot = number;
    }
    saw_passed.then_some(result)
}

/// Removes ANSI CSI escape sequences (`ESC [ ... letter`), as used for colours.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Test counts summed over every `test result:` line a step printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
    /// Tests that were ignored.
    pub ignored: u64,
    /// How many `test result:` lines were seen (test binaries and doctest runs).
    pub binaries: u64,
}

impl Tally {
    /// Adds one parsed summary line.
    pub fn add(&mut self, result: &TestResult) {
        self.passed += result.passed;
        self.failed += result.failed;
        self.ignored += result.ignored;
        self.binaries += 1;
    }

    /// Scans one output line and adds it if it is a summary line.
    pub fn scan(&mut self, line: &str) {
        if let Some(result) = parse_result_line(line) {
            self.add(&result);
        }
    }
}

/// What one step ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    /// The step's name, as shown in the table.
    pub name: String,
    /// Whether the step succeeded (exit status zero, no timeout).
    pub success: bool,
    /// Test counts for steps that run tests; `None` for checks such as fmt or a build.
    pub tests: Option<Tally>,
    /// Wall time the step took.
    pub elapsed: Duration,
    /// Why it failed, when known (exit status, timeout, spawn error).
    pub note: Option<String>,
}

impl StepReport {
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

/// The reports of all steps of one command, in order.
#[derive(Debug, Default)]
pub struct Summary {
    /// One report per step that ran.
    pub reports: Vec<StepReport>,
}

impl Summary {
    /// Total `(passed, failed)` over all steps.
    pub fn totals(&self) -> (u64, u64) {
        self.reports
            .iter()
            .map(StepReport::counts)
            .fold((0, 0), |(p, f), (dp, df)| (p + dp, f + df))
    }

    /// True when every step succeeded and no test failed.
    pub fn all_ok(&self) -> bool {
        self.totals().1 == 0 && self.reports.iter().all(|r| r.success)
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
        let mut out = String::new();
        out.push_str(&format!(
            "{:<width$}  {:<6}  {:>7}  {:>6}  {:>7}  {:>8}  note\n",
            "step", "result", "passed", "failed", "ignored", "time"
        ));
        for report in &self.reports {
            let (passed, failed) = report.counts();
            let (passed, ignored) = match report.tests {
                Some(tally) => (passed.to_string(), tally.ignored.to_string()),
                None => ("-".to_string(), "-".to_string()),
            };
            let row = format!(
                "{:<width$}  {:<6}  {:>7}  {:>6}  {:>7}  {:>7.1}s  {}",
                report.name,
                if report.success { "ok" } else { "FAILED" },
                passed,
                failed,
                ignored,
                report.elapsed.as_secs_f64(),
                report.note.as_deref().unwrap_or(""),
            );
            out.push_str(row.trim_end());
            out.push('\n');
        }
        out.push_str(&final_line(self.totals()));
        out.push('\n');
        out
    }
}

/// The one line CI reads: `N passed, M failed`.
pub fn final_line((passed, failed): (u64, u64)) -> String {
    format!("{passed} passed, {failed} failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_ok_unit_test_line() {
        let line = "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 3 filtered out; \
                    finished in 0.04s";
        assert_eq!(
            parse_result_line(line),
            Some(TestResult {
                ok: true,
                passed: 12,
                failed: 0,
                ignored: 1,
                measured: 0,
                filtered_out: 3,
            })
        );
    }

    #[test]
    fn parses_a_failed_line() {
        let line = "test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; \
                    0 filtered out; finished in 0.00s";
        let result = parse_result_line(line).expect("a summary line");
        assert!(!result.ok);
        assert_eq!((result.passed, result.failed), (3, 1));
    }

    #[test]
    fn parses_a_doctest_summary_and_ignores_the_merged_doctest_timing_line() {
        let output = "\
running 2 tests
test mm/src/addr.rs - addr::PhysAddr::new (line 42) ... ok
test mm/src/frame/mod.rs - frame (line 7) - compile ... ok

test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.61s

all doctests ran in 0.71s; merged doctests compilation took 0.09s";
        let mut tally = Tally::default();
        output.lines().for_each(|line| tally.scan(line));
        assert_eq!(
            tally,
            Tally {
                passed: 2,
                failed: 0,
                ignored: 0,
                binaries: 1
            }
        );
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
        let mut tally = Tally::default();
        output.lines().for_each(|line| tally.scan(line));
        assert_eq!(
            tally,
            Tally {
                passed: 2,
                failed: 1,
                ignored: 1,
                binaries: 2
            }
        );
    }

    #[test]
    fn strips_colour_escapes() {
        let line = "test result: \u{1b}[32mok\u{1b}[0m. 5 passed; 0 failed; 0 ignored; \
                    0 measured; 0 filtered out; finished in 0.00s";
        let result = parse_result_line(line).expect("a coloured summary line");
        assert!(result.ok);
        assert_eq!(result.passed, 5);
        let failed = "test result: \u{1b}[31mFAILED\u{1b}[0m. 0 passed; 2 failed; 0 ignored; \
                      0 measured; 0 filtered out; finished in 0.00s";
        assert_eq!(
            parse_result_line(failed).map(|r| (r.ok, r.failed)),
            Some((false, 2))
        );
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
            assert_eq!(parse_result_line(line), None, "{line:?}");
        }
    }

    fn report(name: &str, success: bool, tests: Option<Tally>) -> StepReport {
        StepReport {
            name: name.to_string(),
            success,
            tests,
            elapsed: Duration::from_millis(1500),
            note: None,
        }
    }

    #[test]
    fn a_failed_check_counts_as_one_failure_and_a_passed_check_as_nothing() {
        assert_eq!(report("fmt", true, None).counts(), (0, 0));
        assert_eq!(report("clippy", false, None).counts(), (0, 1));
    }

    #[test]
    fn a_test_step_that_failed_without_failing_tests_adds_one_failure() {
        let compiled_none = Tally::default();
        assert_eq!(report("tests", false, Some(compiled_none)).counts(), (0, 1));
        let failing = Tally {
            passed: 3,
            failed: 1,
            ignored: 0,
            binaries: 1,
        };
        assert_eq!(report("tests", false, Some(failing)).counts(), (3, 1));
    }

    #[test]
    fn the_table_ends_with_the_final_line_and_totals_all_steps() {
        let tests = Tally {
            passed: 40,
            failed: 2,
            ignored: 1,
            binaries: 3,
        };
        let summary = Summary {
            reports: vec![
                report("fmt", false, None),
                report("host tests", false, Some(tests)),
                report(
                    "miri",
                    true,
                    Some(Tally {
                        passed: 7,
                        ..Tally::default()
                    }),
                ),
            ],
        };
        assert_eq!(summary.totals(), (47, 3));
        assert!(!summary.all_ok());
        let rendered = summary.render();
        assert_eq!(rendered.lines().last(), Some("47 passed, 3 failed"));
        assert_eq!(rendered.lines().count(), 1 + 3 + 1);
        assert!(
            rendered
                .lines()
                .nth(2)
                .is_some_and(|l| l.starts_with("host tests  FAILED"))
        );
        assert!(
            rendered.lines().all(|l| l == l.trim_end()),
            "no trailing blanks"
        );
    }

    #[test]
    fn an_all_green_summary_is_ok() {
        let summary = Summary {
            reports: vec![
                report("fmt", true, None),
                report("tests", true, Some(Tally::default())),
            ],
        };
        assert!(summary.all_ok());
        assert_eq!(final_line(summary.totals()), "0 passed, 0 failed");
    }
}
