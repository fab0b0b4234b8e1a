//! `cargo xtask`: project automation (the cargo alias lives in `.cargo/config.toml`).
//!
//! Every command runs from the workspace root whatever the caller's directory, calls `cargo`
//! through the rustup proxy on `PATH`, and never reads standard input (except `run`, whose
//! console is the terminal), so CI can run it as is.

#![forbid(unsafe_code)]

mod bench_qemu;
mod console;
mod inventory;
mod process;
mod programs;
mod qemu;
mod setup;
mod shell;
mod steps;
mod summary;

use std::path::Path;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use summary::final_line;

/// Project automation for rvmm: the whole test suite, Miri, benchmarks, and the kernel in QEMU.
#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    max_term_width = 92,
    after_help = "Environment:\n  RVMM_STEP_TIMEOUT_SECS\n      time limit of one step of `test` \
                  or `miri`, in seconds (default 1800)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Install missing prerequisites, then fmt check, clippy -D warnings, host tests, the
    /// unsafe inventory, riscv64/riscv32 library builds, the kernel's and the user programs'
    /// fmt/clippy/build, and for rv64 and rv32 the in-kernel tests, `memtests` and the shell
    /// booted in QEMU, and Miri; ends with `N passed, M failed`
    Test {
        /// Run only the steps whose name contains this text (e.g. `--step "rv32 shell"`); the
        /// earlier steps they need (builds) are not run for you.
        #[arg(long, value_name = "TEXT")]
        step: Option<String>,
    },
    /// The library tests (rvmm, umalloc) under Miri with -Zmiri-strict-provenance (MIRIFLAGS
    /// from the environment are kept); e.g. `cargo xtask miri -- frame`
    Miri {
        /// Passed to `cargo miri test`.
        #[arg(
            allow_hyphen_values = true,
            trailing_var_arg = true,
            value_name = "CARGO-TEST-ARGS"
        )]
        args: Vec<String>,
    },
    /// cargo bench -p rvmm, then -p umalloc, with the arguments passed through
    /// (RVMM_BENCH_ROUNDS sets the rounds); `bench qemu` instead counts the guest instructions
    /// of the `bench` program's workloads on both widths and compares them with VIMIX's
    Bench {
        /// Passed to `cargo bench`.
        #[arg(
            allow_hyphen_values = true,
            trailing_var_arg = true,
            value_name = "CARGO-BENCH-ARGS"
        )]
        args: Vec<String>,
    },
    /// Build the kernel (release) and boot it in QEMU with the console on this terminal (quit
    /// with Ctrl-A X); installs missing rustup targets and, as root, qemu-system-misc; e.g.
    /// `cargo xtask run --arch rv32 -- -s -S`
    Run(qemu::RunArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(cargo_args(std::env::args())) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    process::kill_groups_on_interrupt();
    let root = workspace_root();
    let steps = match cli.command {
        None => return ExitCode::from(u8::from(Cli::command().print_help().is_err())),
        Some(Command::Run(args)) => {
            return qemu::run(root, &args).map_or_else(fail, |()| ExitCode::SUCCESS);
        }
        Some(Command::Test { step }) => setup::ensure_all(root).map(|()| {
            let all = steps::test_suite(root);
            match step {
                Some(text) => all.into_iter().filter(|s| s.name.contains(&text)).collect(),
                None => all,
            }
        }),
        // Without arguments, exactly the suite's step; with a filter or flags, one command.
        Some(Command::Miri { args }) => setup::ensure_miri(root).map(|()| match args.is_empty() {
            true => vec![steps::miri_suite_step()],
            false => vec![steps::miri_step(&args)],
        }),
        Some(Command::Bench { args }) if args.first().is_some_and(|a| a == "qemu") => {
            setup::ensure_all(root).map(|()| bench_qemu::steps(root))
        }
        Some(Command::Bench { args }) => Ok(steps::bench_steps(&args)),
    };
    match steps {
        Ok(steps) => {
            let summary = steps::run_all(root, steps);
            print!("\n{}", summary.render());
            ExitCode::from(u8::from(!summary.all_ok()))
        }
        Err(e) => {
            println!("{}", final_line((0, 1)));
            fail(e)
        }
    }
}

/// Prints `error` and returns failure.
fn fail(error: impl std::fmt::Display) -> ExitCode {
    eprintln!("xtask: {error}");
    ExitCode::FAILURE
}

/// Our arguments with the program name first; a `--` right after `miri` or `bench` is kept
/// (clap would take it as its own end of options), so `cargo xtask miri -- frame` passes
/// `-- frame` to cargo as it did.
fn cargo_args(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut args: Vec<String> = args.collect();
    let passes_through = matches!(args.get(1).map(String::as_str), Some("miri" | "bench"));
    if passes_through && args.get(2).is_some_and(|a| a == "--") {
        args.insert(2, "--".into());
    }
    args
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> &'static Path {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let args = ["xtask"].iter().chain(args).map(|s| s.to_string());
        Cli::try_parse_from(cargo_args(args))
    }

    fn passed_through(args: &[&str]) -> Vec<String> {
        match parse(args).expect("valid").command {
            Some(Command::Miri { args } | Command::Bench { args }) => args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn miri_and_bench_pass_their_arguments_through_verbatim() {
        assert_eq!(passed_through(&["miri", "--", "frame"]), ["--", "frame"]);
        assert_eq!(
            passed_through(&["miri", "frame", "--", "--exact"]),
            ["frame", "--", "--exact"]
        );
        assert_eq!(
            passed_through(&["bench", "--bench", "frames"]),
            ["--bench", "frames"]
        );
        assert!(passed_through(&["bench"]).is_empty());
    }

    #[test]
    fn commands_are_parsed_and_bad_ones_rejected() {
        assert!(matches!(
            parse(&["test"]).expect("valid").command,
            Some(Command::Test { step: None })
        ));
        assert!(matches!(
            parse(&["test", "--step", "rv32 shell"]).expect("valid").command,
            Some(Command::Test { step: Some(s) }) if s == "rv32 shell"
        ));
        assert!(parse(&[]).expect("valid").command.is_none());
        for bad in [&["test", "extra"][..], &["frob"], &["run", "--smp", "0"]] {
            let error = parse(bad).expect_err("invalid");
            assert_eq!(error.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn help_names_every_command_and_the_environment() {
        let help = Cli::command().render_long_help().to_string();
        for command in [
            "test",
            "miri",
            "bench",
            "run",
            "help",
            "RVMM_STEP_TIMEOUT_SECS",
        ] {
            assert!(help.contains(command), "{command} in {help}");
        }
        let run = parse(&["help", "run"])
            .expect_err("help is printed as an error")
            .to_string();
        assert!(
            run.contains("--arch <ARCH>") && run.contains("- rv32: 32-bit, Sv32"),
            "{run}"
        );
    }

    #[test]
    fn the_workspace_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml"));
        assert!(manifest.is_ok_and(|m| m.contains("[workspace]")));
    }
}
