//! A small benchmark harness: side-by-side runs, medians, ratios.
//!
//! The machines are shared and noisy, so each case is run several times, interleaved with the
//! cases it is compared against, and the median is reported. Criterion would do, but its
//! statistics answer a different question (is this run different from the last one?) and it
//! cannot print "ours / theirs" ratios from one run; this does exactly that in ~100 lines.

use std::hint::black_box;
use std::time::Instant;

/// One measured case.
pub struct Case<'a> {
    /// Name shown in the table.
    pub name: &'a str,
    /// Runs the work once and returns how many operations it did.
    pub run: Box<dyn FnMut() -> u64 + 'a>,
}

impl<'a> Case<'a> {
    /// A case named `name` whose closure does the work once and returns its operation count.
    pub fn new(name: &'a str, run: impl FnMut() -> u64 + 'a) -> Self {
        Case {
            name,
            run: Box::new(run),
        }
    }
}

/// Result of one case: the median nanoseconds per operation over all rounds.
#[derive(Clone, Debug)]
pub struct Measured {
    /// The case's name.
    pub name: String,
    /// Median ns per operation.
    pub median_ns: f64,
    /// Every round's ns per operation, sorted.
    pub rounds: Vec<f64>,
}

/// How many interleaved rounds to run: `RVMM_BENCH_ROUNDS`, default 7 (1 under `--quick`
/// style smoke runs that set it).
pub fn rounds() -> usize {
    std::env::var("RVMM_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(7)
}

/// Runs every case `rounds` times, round-robin (so drift on a shared machine hits all of them
/// alike), and returns the medians in case order.
pub fn compare(group: &str, cases: &mut [Case<'_>], rounds: usize) -> Vec<Measured> {
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for _ in 0..rounds {
        for (i, case) in cases.iter_mut().enumerate() {
            let t = Instant::now();
            let ops = black_box((case.run)());
            let ns = t.elapsed().as_nanos() as f64;
            samples[i].push(ns / ops.max(1) as f64);
        }
    }
    let out: Vec<Measured> = cases
        .iter()
        .zip(samples)
        .map(|(c, mut s)| {
            s.sort_by(f64::total_cmp);
            Measured {
                name: c.name.to_string(),
                median_ns: s[s.len() / 2],
                rounds: s,
            }
        })
        .collect();
    print_table(group, &out);
    out
}

/// Prints a Markdown table: each case's median and its ratio to the first case.
pub fn print_table(group: &str, rows: &[Measured]) {
    println!("\n### {group}\n");
    println!(
        "| case | median ns/op | ratio to {} | min | max |",
        rows[0].name
    );
    println!("|---|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {:.2} | {:.3} | {:.2} | {:.2} |",
            r.name,
            r.median_ns,
            r.median_ns / rows[0].median_ns,
            r.rounds[0],
            r.rounds[r.rounds.len() - 1]
        );
    }
}

/// A small, fast, seedable PRNG (xorshift64*), so benchmarks and tests need no `rand`.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced by a fixed non-zero value).
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Shuffles `v` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}
