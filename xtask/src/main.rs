//! `cargo xtask`: project automation (the cargo alias lives in `.cargo/config.toml`).
//!
//! Every command runs from the workspace root whatever the caller's directory, calls `cargo`
//! through the rustup proxy on `PATH`, and never reads standard input, so CI can run it as is.

mod process;
mod qemu;
mod setup;
mod steps;
mod summary;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use summary::{Summary, final_line};

/// One subcommand: its name, argument synopsis, one-line help and body.
struct Subcommand {
    name: &'static str,
    synopsis: &'static str,
    about: &'static str,
    run: fn(&Path, &[String]) -> ExitCode,
}

const SUBCOMMANDS: &[Subcommand] = &[
    Subcommand {
        name: "test",
        synopsis: "",
        about: "install missing prerequisites, then fmt check, clippy -D warnings, host tests, \
                riscv64/riscv32 library builds, the kernel's fmt/clippy/build and its in-kernel \
                tests booted in QEMU for rv64 and rv32, and Miri; ends with `N passed, M failed`",
        run: cmd_test,
    },
    Subcommand {
        name: "miri",
        synopsis: "[CARGO-TEST-ARGS...]",
        about: "the library tests (rvmm, umalloc) under Miri with -Zmiri-strict-provenance \
                (MIRIFLAGS from the environment are kept); e.g. `cargo xtask miri -- frame`",
        run: cmd_miri,
    },
    Subcommand {
        name: "bench",
        synopsis: "[CARGO-BENCH-ARGS...]",
        about: "cargo bench -p rvmm, then -p umalloc, with the arguments passed through \
                (RVMM_BENCH_ROUNDS sets the rounds)",
        run: cmd_bench,
    },
    Subcommand {
        name: "run",
        synopsis: "[--arch rv64|rv32] [--mem SIZE] [--smp N] [--append ARGS] [-- QEMU-ARGS...]",
        about: "build the kernel (release) and boot it in QEMU with the console on this terminal \
                (defaults: rv64, 128M, 4 harts; quit with Ctrl-A X); installs missing rustup \
                targets and, as root, qemu-system-misc; e.g. `cargo xtask run --arch rv32 -- -s -S`",
        run: cmd_run,
    },
    Subcommand {
        name: "help",
        synopsis: "",
        about: "this text",
        run: cmd_help,
    },
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let Some((name, rest)) = args.split_first() else {
        return cmd_help(&root, &[]);
    };
    let name = match name.as_str() {
        "-h" | "--help" => "help",
        other => other,
    };
    match SUBCOMMANDS.iter().find(|c| c.name == name) {
        Some(subcommand) => (subcommand.run)(&root, rest),
        None => {
            eprintln!("xtask: unknown command `{name}`\n");
            eprint!("{}", usage());
            ExitCode::from(2)
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

fn usage() -> String {
    let mut text = String::from("Usage: cargo xtask <COMMAND> [ARGS]\n\nCommands:\n");
    for c in SUBCOMMANDS {
        text.push_str(format!("  {} {}", c.name, c.synopsis).trim_end());
        text.push('\n');
        text.push_str(&wrap(c.about, "      ", 92));
    }
    text.push_str("\nEnvironment:\n  RVMM_STEP_TIMEOUT_SECS\n");
    text.push_str(&wrap(
        "time limit of one step of `test` or `miri`, in seconds (default 1800)",
        "      ",
        92,
    ));
    text
}

/// `text` broken into lines of at most `width` characters (longer words stay whole), each
/// starting with `indent`.
fn wrap(text: &str, indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::from(indent);
    for word in text.split_whitespace() {
        if line.len() > indent.len() && line.len() + 1 + word.len() > width {
            out.push_str(&line);
            out.push('\n');
            line = String::from(indent);
        }
        if line.len() > indent.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

fn cmd_help(_root: &Path, _args: &[String]) -> ExitCode {
    print!("{}", usage());
    ExitCode::SUCCESS
}

/// Rejects arguments for commands that take none.
fn no_args(command: &str, args: &[String]) -> Result<(), ExitCode> {
    if args.is_empty() {
        return Ok(());
    }
    eprintln!(
        "xtask: `{command}` takes no arguments (got {})\n",
        args.join(" ")
    );
    eprint!("{}", usage());
    Err(ExitCode::from(2))
}

fn cmd_test(root: &Path, args: &[String]) -> ExitCode {
    if let Err(code) = no_args("test", args) {
        return code;
    }
    if let Err(e) = setup::ensure_all(root) {
        return setup_failed(&e);
    }
    for arch in qemu::Arch::ALL {
        if let Err(e) = qemu::ensure_qemu(root, arch) {
            return setup_failed(&e);
        }
    }
    finish(steps::run_all(root, steps::test_suite()))
}

fn cmd_miri(root: &Path, args: &[String]) -> ExitCode {
    if let Err(e) = setup::ensure_miri(root) {
        return setup_failed(&e);
    }
    // Without arguments, exactly the suite's step; with a filter or flags, one plain command.
    let step = if args.is_empty() {
        steps::miri_suite_step()
    } else {
        steps::miri_step(args)
    };
    finish(steps::run_all(root, vec![step]))
}

fn cmd_bench(root: &Path, args: &[String]) -> ExitCode {
    finish(steps::run_all(root, steps::bench_steps(args)))
}

fn cmd_run(root: &Path, args: &[String]) -> ExitCode {
    let args = match qemu::parse_run_args(args) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("xtask: {e}\n");
            eprint!("{}", usage());
            return ExitCode::from(2);
        }
    };
    match qemu::run(root, args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn setup_failed(error: &setup::SetupError) -> ExitCode {
    eprintln!("xtask: {error}");
    println!("{}", final_line((0, 1)));
    ExitCode::FAILURE
}

/// Prints the table and the final line; the exit code says whether everything passed.
fn finish(summary: Summary) -> ExitCode {
    print!("\n{}", summary.render());
    if summary.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_names_every_command_and_stays_narrow() {
        let text = usage();
        for c in SUBCOMMANDS {
            assert!(text.contains(&format!("\n  {}", c.name)), "{}", c.name);
        }
        assert!(text.lines().all(|l| l.len() <= 92), "{text}");
    }

    #[test]
    fn wrap_breaks_between_words_and_keeps_long_words_whole() {
        assert_eq!(wrap("aa bb cc", "> ", 7), "> aa bb\n> cc\n");
        assert_eq!(wrap("abcdefghij", "> ", 5), "> abcdefghij\n");
    }

    #[test]
    fn the_workspace_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml"));
        assert!(manifest.is_ok_and(|m| m.contains("[workspace]")));
    }
}
