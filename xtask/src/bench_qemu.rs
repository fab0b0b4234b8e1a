//! `cargo xtask bench qemu`: the memory work of the `bench` program, counted in guest
//! instructions on both widths and compared with the seed's own kernel (VIMIX OS, measured the
//! same way: QEMU 7.2 `virt`, `-m 64M -smp 1 -icount shift=0,sleep=off`).
//!
//! Under `-icount` with one hart the counts are deterministic, so one boot per workload gives
//! the figures (each workload runs its repetitions in that boot), and the first workload is
//! booted twice to check that the same run gives the same numbers. Speed is reported, not
//! asserted: the steps fail only when something does not run.

use crate::qemu::{Arch, Boot, with_programs};
use crate::steps::Step;
use crate::summary::Outcome;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Repetitions per workload, each measured on its own.
const REPS: usize = 5;

/// Time limit of one benchmark boot (the slowest, 100,000 malloc/free pairs five times, takes
/// well under a minute).
const BOOT_TIMEOUT: Duration = Duration::from_secs(600);

/// One workload of the `bench` program.
struct Workload {
    /// Its name on the `bench` command line and in its output.
    name: &'static str,
    /// What one repetition does, for the table.
    what: &'static str,
    /// What the per-unit figure divides by.
    unit: &'static str,
    /// VIMIX's figure (release, minimum of 5) on rv64 and rv32, and the target ratio.
    anchor: Option<(u64, u64, f64)>,
}

/// The workloads, (a) to (d) with the anchor's figures, then the ones without.
const WORKLOADS: [Workload; 9] = [
    Workload {
        name: "a",
        what: "(a) sbrk(+16 MiB), touch every page, sbrk(-16 MiB)",
        unit: "page",
        anchor: Some((8_671_506, 14_439_223, 0.4)),
    },
    Workload {
        name: "b",
        what: "(b) 4,096 x sbrk(+4096) and touch, 4,096 x sbrk(-4096)",
        unit: "page",
        anchor: Some((18_098_186, 24_052_676, 0.4)),
    },
    Workload {
        name: "c",
        what: "(c) fork with 8 MiB touched, child exits, wait",
        unit: "page",
        anchor: Some((43_224_240, 43_021_637, 0.1)),
    },
    Workload {
        name: "d",
        what: "(d) 100,000 x (free a random one of 1,000, malloc 16..512 B)",
        unit: "pair",
        anchor: Some((131_000_732, 137_044_295, 0.1)),
    },
    Workload {
        name: "getpid",
        what: "getpid round trip",
        unit: "call",
        anchor: None,
    },
    Workload {
        name: "sbrk",
        what: "sbrk(+4096) alone",
        unit: "call",
        anchor: None,
    },
    Workload {
        name: "stack",
        what: "stack growth by fault (in a fresh child), 256 pages",
        unit: "page",
        anchor: None,
    },
    Workload {
        name: "exec",
        what: "exec of a program, to its first instruction",
        unit: "exec",
        anchor: None,
    },
    Workload {
        name: "yield",
        what: "yield between two processes",
        unit: "switch",
        anchor: None,
    },
];

/// (e), the boot: VIMIX's figures and the target ratio.
const BOOT_ANCHOR: (u64, u64, f64) = (55_997_118, 40_995_274, 0.2);

/// Repetitions of one workload on one width: (instructions, units) each.
type Reps = Vec<(u64, u64)>;

/// Everything measured, by width and workload (`e` is the boot).
#[derive(Default)]
struct Results {
    figures: BTreeMap<(&'static str, &'static str), Reps>,
    notes: Vec<String>,
}

/// The steps: per width, the release builds and one step that boots every workload; then the
/// table.
pub fn steps(root: &Path) -> Vec<Step> {
    let results = Arc::new(Mutex::new(Results::default()));
    let mut steps = Vec::new();
    for arch in Arch::ALL {
        steps.extend(crate::qemu::build_steps(root, arch));
        let results = Arc::clone(&results);
        let name = format!("bench qemu {}", arch.name());
        steps.push(Step::custom(&name, move |root| {
            let mut results = results.lock().expect("no step panics holding it");
            run_width(root, arch, &mut results)
        }));
    }
    steps.push(Step::custom("bench qemu table", move |_| {
        let results = results.lock().expect("no step panics holding it");
        println!("{}", table(&results));
        Outcome::of(Ok(()), None)
    }));
    steps
}

/// The boot for `arch`: the programs, 64 MiB, one hart, `-icount`, `init` running `argv`.
fn boot(root: &Path, arch: Arch, argv: &[&str]) -> Result<Boot, String> {
    Ok(Boot {
        append: Some(format!("run={}", argv.join(","))),
        icount: true,
        smp: 1,
        mem: "64M".into(),
        ..with_programs(root, arch)?
    })
}

/// What one boot printed: `bench NAME REP INSTRUCTIONS UNITS` lines and `init`'s instret at
/// its first instruction.
#[derive(Debug, Default, PartialEq, Eq)]
struct Console {
    reps: BTreeMap<String, Reps>,
    boot: Option<u64>,
}

impl Console {
    fn scan(&mut self, line: &str) {
        let line = line.trim();
        if let Some(n) = line.strip_prefix("init: first instruction at instret ") {
            self.boot = n.trim().parse().ok();
            return;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["bench", name, _rep, n, units] = words[..]
            && let (Ok(n), Ok(units)) = (n.parse(), units.parse())
        {
            self.reps
                .entry(name.to_string())
                .or_default()
                .push((n, units));
        }
    }
}

/// Boots `bench WORKLOAD REPS` once and returns what it printed; an error if QEMU failed or a
/// repetition is missing.
fn measure(root: &Path, arch: Arch, workload: &str) -> Result<Console, String> {
    let reps = REPS.to_string();
    let cmd = boot(root, arch, &["bench", workload, &reps])?
        .command()
        .timeout(BOOT_TIMEOUT);
    println!("xtask: {}", cmd.display());
    let mut console = Console::default();
    cmd.stream(root, |line| console.scan(line))
        .map_err(|e| format!("{workload}: QEMU {e}"))?;
    let got = console.reps.get(workload).map_or(0, Vec::len);
    if got != REPS {
        return Err(format!("{workload}: {got} of {REPS} repetitions printed"));
    }
    Ok(console)
}

/// Every workload on `arch`, into `results`.
fn run_width(root: &Path, arch: Arch, results: &mut Results) -> Outcome {
    let mut outcome = Outcome::of(Ok(()), None);
    let width = arch.name();
    for w in &WORKLOADS {
        match measure(root, arch, w.name) {
            Ok(console) => {
                if let Some(boot) = console.boot {
                    results
                        .figures
                        .entry((width, "e"))
                        .or_default()
                        .push((boot, 1));
                }
                let reps = console.reps.get(w.name).cloned().unwrap_or_default();
                if w.name == WORKLOADS[0].name {
                    let again = measure(root, arch, w.name);
                    let same = again.as_ref().is_ok_and(|a| *a == console);
                    results.notes.push(format!(
                        "{width}: workload {} booted twice gives {} figures",
                        w.name,
                        if same { "the same" } else { "DIFFERENT" }
                    ));
                }
                results.figures.insert((width, w.name), reps);
            }
            Err(e) => outcome.absorb(Outcome::of(Err(e), None)),
        }
    }
    outcome
}

/// Minimum and median of the instruction counts, and the median's units.
fn min_median(reps: &Reps) -> Option<(u64, u64, u64)> {
    let mut counts: Vec<u64> = reps.iter().map(|r| r.0).collect();
    counts.sort_unstable();
    let median = *counts.get(counts.len() / 2)?;
    Some((counts[0], median, reps.first()?.1.max(1)))
}

/// The report: per workload and width, the minimum, the median, the per-unit figure, and where
/// there is one, the anchor, the ratio (ours' minimum over the anchor's) and the target.
fn table(results: &Results) -> String {
    let mut out = String::from(
        "| workload | width | min | median | per unit | VIMIX | ratio | target | |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    let boot = Workload {
        name: "e",
        what: "(e) boot: reset to the first instruction of init",
        unit: "boot",
        anchor: Some(BOOT_ANCHOR),
    };
    for w in WORKLOADS
        .iter()
        .take(4)
        .chain([&boot])
        .chain(&WORKLOADS[4..])
    {
        for (i, arch) in Arch::ALL.into_iter().enumerate() {
            let Some((min, median, units)) = results
                .figures
                .get(&(arch.name(), w.name))
                .and_then(min_median)
            else {
                continue;
            };
            let per = format!("{} / {}", group(median / units), w.unit);
            let anchor = w.anchor.map(|(a64, a32, target)| {
                let anchor = if i == 0 { a64 } else { a32 };
                let ratio = min as f64 / anchor as f64;
                let verdict = if ratio <= target { "met" } else { "missed" };
                format!("{} | {ratio:.3} | <= {target} | {verdict}", group(anchor))
            });
            out += &format!(
                "| {} | {} | {} | {} | {per} | {} |\n",
                w.what,
                arch.name(),
                group(min),
                group(median),
                anchor.unwrap_or_else(|| "- | - | - |".into()),
            );
        }
    }
    for note in &results.notes {
        out += &format!("\n{note}");
    }
    out
}

/// `1234567` as `1,234,567`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_are_read_and_other_lines_ignored() {
        let mut c = Console::default();
        for line in [
            "init: first instruction at instret 3230123",
            "bench a 1 8520000 4096",
            "bench a 2 8510000 4096",
            "bench stack-child 99",
            "bench a x y z",
            "something else",
        ] {
            c.scan(line);
        }
        assert_eq!(c.boot, Some(3_230_123));
        assert_eq!(c.reps["a"], vec![(8_520_000, 4096), (8_510_000, 4096)]);
        assert_eq!(c.reps.len(), 1);
    }

    #[test]
    fn min_median_and_grouping() {
        let reps = vec![(5, 2), (1, 2), (4, 2), (2, 2), (3, 2)];
        assert_eq!(min_median(&reps), Some((1, 3, 2)));
        assert_eq!(min_median(&Vec::new()), None);
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
    }

    #[test]
    fn the_table_compares_with_the_anchor_and_says_met_or_missed() {
        let mut results = Results::default();
        results
            .figures
            .insert(("rv64", "a"), vec![(3_000_000, 4096); 5]);
        results
            .figures
            .insert(("rv32", "a"), vec![(9_000_000, 4096); 5]);
        let t = table(&results);
        assert!(
            t.contains(
                "| rv64 | 3,000,000 | 3,000,000 | 732 / page | 8,671,506 | 0.346 | <= 0.4 | met |"
            ),
            "{t}"
        );
        assert!(t.contains("| rv32 | 9,000,000 | 9,000,000 | 2,197 / page | 14,439,223 | 0.623 | <= 0.4 | missed |"), "{t}");
    }
}
