//! The reference kernel under QEMU: building it, booting it (`cargo xtask run`), and the QEMU
//! steps of `cargo xtask test`, which boot it in test mode and count its in-kernel tests.
//!
//! The kernel is its own Cargo workspace (`kernel/`, excluded from the root one) because it
//! builds only for the bare-metal targets, with its own linker script and panic strategy.

use std::env;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::{self, Cmd, Input};
use crate::setup::{self, SetupError};
use crate::steps::{Step, StepOutcome};
use crate::summary::Tally;

/// A kernel width: its Rust target and its QEMU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// 64-bit, Sv39.
    Rv64,
    /// 32-bit, Sv32.
    Rv32,
}

impl Arch {
    /// Both widths, in the order the suite boots them.
    pub const ALL: [Arch; 2] = [Arch::Rv64, Arch::Rv32];

    /// `rv64` or `rv32`.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Rv64 => "rv64",
            Arch::Rv32 => "rv32",
        }
    }

    /// The Rust target triple.
    pub fn target(self) -> &'static str {
        match self {
            Arch::Rv64 => "riscv64imac-unknown-none-elf",
            Arch::Rv32 => "riscv32imac-unknown-none-elf",
        }
    }

    /// The QEMU binary.
    pub fn qemu(self) -> &'static str {
        match self {
            Arch::Rv64 => "qemu-system-riscv64",
            Arch::Rv32 => "qemu-system-riscv32",
        }
    }

    fn parse(text: &str) -> Option<Arch> {
        match text {
            "rv64" | "riscv64" => Some(Arch::Rv64),
            "rv32" | "riscv32" => Some(Arch::Rv32),
            _ => None,
        }
    }
}

/// The Debian package with both QEMUs.
const QEMU_PACKAGE: &str = "qemu-system-misc";

/// Time limit of one test boot. The slowest test stamps all of RAM; both widths take well
/// under a minute on a 2-core machine, so this only catches hangs.
const BOOT_TIMEOUT: Duration = Duration::from_secs(300);

/// The manifest of the kernel's own workspace.
fn manifest(root: &Path) -> PathBuf {
    root.join("kernel").join("Cargo.toml")
}

/// Where kernel builds go: `$CARGO_TARGET_DIR/kernel` when that is set, else
/// `target/kernel` in the workspace root (both ignored by git).
fn target_dir(root: &Path) -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir).join("kernel"),
        None => root.join("target").join("kernel"),
    }
}

/// `cargo <subcommand> --manifest-path kernel/Cargo.toml --target T --target-dir D`.
fn kernel_cargo(root: &Path, subcommand: &str, arch: Arch) -> Cmd {
    Cmd::cargo([subcommand, "--release", "--manifest-path"])
        .args([manifest(root).into_os_string()])
        .args(["--target", arch.target(), "--target-dir"])
        .args([target_dir(root).into_os_string()])
}

/// The kernel ELF that `cargo build --release` leaves.
pub fn kernel_elf(root: &Path, arch: Arch) -> PathBuf {
    target_dir(root)
        .join(arch.target())
        .join("release")
        .join("kernel")
}

/// QEMU's board and what it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boot {
    /// Kernel width.
    pub arch: Arch,
    /// RAM, as QEMU's `-m` takes it.
    pub mem: String,
    /// Harts.
    pub smp: u32,
    /// Kernel boot arguments (`-append`, arriving as `/chosen/bootargs`).
    pub append: Option<String>,
    /// Deterministic guest time (`-icount shift=0,sleep=off`), for tests.
    pub icount: bool,
    /// More QEMU arguments.
    pub extra: Vec<String>,
}

impl Boot {
    /// The default board: 128 MiB, 4 harts.
    pub fn new(arch: Arch) -> Self {
        Boot {
            arch,
            mem: "128M".to_string(),
            smp: 4,
            append: None,
            icount: false,
            extra: Vec::new(),
        }
    }

    /// The QEMU command line for `elf`.
    pub fn command(&self, elf: &Path) -> Cmd {
        let mut cmd = Cmd::new(
            self.arch.qemu(),
            ["-machine", "virt", "-bios", "none", "-nographic", "-m"],
        )
        .args([self.mem.as_str(), "-smp", &self.smp.to_string(), "-kernel"])
        .args([elf.as_os_str()]);
        if let Some(append) = &self.append {
            cmd = cmd.args(["-append", append.as_str()]);
        }
        if self.icount {
            cmd = cmd.args(["-icount", "shift=0,sleep=off"]);
        }
        cmd.args(&self.extra)
    }
}

/// QEMU for `arch`, installed with apt-get when missing and we are root.
pub fn ensure_qemu(root: &Path, arch: Arch) -> Result<(), SetupError> {
    let found = |program: &str| process::capture(&Cmd::new(program, ["--version"]), root).is_ok();
    if found(arch.qemu()) {
        return Ok(());
    }
    let fix = format!(
        "apt-get install {QEMU_PACKAGE}   (as root; it provides {})",
        arch.qemu()
    );
    let what = format!("{} (Debian package {QEMU_PACKAGE})", arch.qemu());
    let is_root =
        process::capture(&Cmd::new("id", ["-u"]), root).is_ok_and(|uid| uid.trim() == "0");
    if !is_root {
        return Err(setup_error(
            &what,
            &fix,
            "not installed, and we are not root".into(),
        ));
    }
    println!("xtask: installing {QEMU_PACKAGE} with apt-get");
    let apt = |args: &[&str]| {
        let cmd =
            Cmd::new("apt-get", args.iter().copied()).env("DEBIAN_FRONTEND", "noninteractive");
        process::run_inherited(&cmd, root).is_ok_and(|s| s.success())
    };
    if !apt(&["install", "-y", "--no-install-recommends", QEMU_PACKAGE]) {
        // A fresh machine may have no package lists yet.
        let _ = apt(&["update"]);
        if !apt(&["install", "-y", "--no-install-recommends", QEMU_PACKAGE]) {
            return Err(setup_error(&what, &fix, "apt-get install failed".into()));
        }
    }
    if found(arch.qemu()) {
        Ok(())
    } else {
        Err(setup_error(
            &what,
            &fix,
            format!("{} still not found after install", arch.qemu()),
        ))
    }
}

fn setup_error(what: &str, fix: &str, detail: String) -> SetupError {
    SetupError {
        what: what.to_string(),
        fix: fix.to_string(),
        detail,
    }
}

/// What `cargo xtask run` was asked for.
#[derive(Debug, PartialEq, Eq)]
pub struct RunArgs {
    /// The board and boot arguments.
    pub boot: Boot,
}

/// Parses `[--arch rv64|rv32] [--mem SIZE] [--smp N] [--append TEXT] [-- QEMU-ARGS...]`.
pub fn parse_run_args(args: &[String]) -> Result<RunArgs, String> {
    let mut boot = Boot::new(Arch::Rv64);
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        if arg == "--" {
            boot.extra = args[i + 1..].to_vec();
            break;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg, None),
        };
        let mut value = || -> Result<String, String> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            i += 1;
            args.get(i)
                .cloned()
                .ok_or_else(|| format!("`{flag}` needs a value"))
        };
        match flag {
            "--arch" => {
                let v = value()?;
                boot.arch = Arch::parse(&v).ok_or(format!("unknown arch `{v}` (rv64 or rv32)"))?;
            }
            "--mem" => boot.mem = value()?,
            "--smp" => {
                let v = value()?;
                boot.smp = match v.parse() {
                    Ok(n) if n >= 1 => n,
                    _ => return Err(format!("`--smp {v}`: a number of harts, at least 1")),
                };
            }
            "--append" => boot.append = Some(value()?),
            other => return Err(format!("unknown argument `{other}`")),
        }
        i += 1;
    }
    Ok(RunArgs { boot })
}

/// `cargo xtask run`: installs what is missing, builds the kernel and boots it with the console
/// on this terminal until the user quits QEMU (Ctrl-A X).
pub fn run(root: &Path, args: RunArgs) -> Result<(), String> {
    let arch = args.boot.arch;
    setup::ensure_pinned_toolchain(root).map_err(|e| e.to_string())?;
    ensure_qemu(root, arch).map_err(|e| e.to_string())?;
    let build = kernel_cargo(root, "build", arch);
    println!("xtask: {}", build.display());
    match process::run_inherited(&build, root) {
        Ok(status) if status.success() => {}
        Ok(status) => return Err(format!("kernel build failed ({status})")),
        Err(e) => return Err(format!("could not run cargo: {e}")),
    }
    let qemu = args
        .boot
        .command(&kernel_elf(root, arch))
        .stdin(Input::Terminal);
    println!("xtask: {}\nxtask: quit QEMU with Ctrl-A X", qemu.display());
    match process::run_inherited(&qemu, root) {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("QEMU ended with {status}")),
        Err(e) => Err(format!("could not run {}: {e}", arch.qemu())),
    }
}

/// The kernel's steps of `cargo xtask test`: fmt, then for each width clippy, a release build
/// and a boot in test mode.
pub fn test_steps(limit: Duration) -> Vec<Step> {
    let mut steps = vec![Step::check(
        "kernel fmt",
        Cmd::cargo([
            "fmt",
            "--manifest-path",
            "kernel/Cargo.toml",
            "--",
            "--check",
        ])
        .timeout(limit),
    )];
    for arch in Arch::ALL {
        steps.push(Step::custom(
            &format!("kernel clippy {}", arch.name()),
            move |root| {
                let cmd = kernel_cargo(root, "clippy", arch)
                    .args(["--", "-D", "warnings"])
                    .timeout(limit);
                check(&cmd, root)
            },
        ));
        steps.push(Step::custom(
            &format!("kernel build {}", arch.name()),
            move |root| check(&kernel_cargo(root, "build", arch).timeout(limit), root),
        ));
        steps.push(Step::custom(
            &format!("qemu {} ktest", arch.name()),
            move |root| boot_tests(root, arch),
        ));
        steps.push(Step::custom(
            &format!("qemu {} bad dtb", arch.name()),
            move |root| bad_device_trees(root, arch),
        ));
        steps.push(Step::custom(
            &format!("qemu {} panic", arch.name()),
            move |root| panic_boot(root, arch),
        ));
    }
    steps
}

/// Runs a command whose exit status decides, showing it first.
fn check(cmd: &Cmd, root: &Path) -> StepOutcome {
    println!("xtask: {}", cmd.display());
    crate::steps::run_command(cmd, root, None)
}

/// What the console of a test boot said.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KtestLog {
    /// `ktest NAME ... ok` lines.
    pub passed: u64,
    /// `ktest NAME ... FAILED` lines.
    pub failed: u64,
    /// The kernel's own `ktest result: N passed, M failed`, if it got that far.
    pub summary: Option<(u64, u64)>,
    /// Whether the kernel said it panicked or hit a boot failure.
    pub crashed: bool,
}

impl KtestLog {
    /// Reads one console line.
    pub fn scan(&mut self, line: &str) {
        let line = line.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("ktest result: ") {
            let numbers: Vec<u64> = rest
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse().ok())
                .collect();
            if let [p, f] = numbers[..] {
                self.summary = Some((p, f));
            }
        } else if let Some(rest) = line.strip_prefix("ktest ") {
            if rest.ends_with(" ... ok") {
                self.passed += 1;
            } else if rest.ends_with(" ... FAILED") {
                self.failed += 1;
            }
        } else if line.starts_with("panic on hart")
            || line.starts_with("boot failed:")
            || line.starts_with("M-mode trap")
        {
            self.crashed = true;
        }
    }

    /// Whether the log shows a clean run: a summary that agrees with the lines and no failure.
    pub fn all_passed(&self) -> bool {
        !self.crashed && self.failed == 0 && self.summary == Some((self.passed, 0))
    }
}

/// Boots `arch` in test mode and counts its tests; QEMU's exit status must agree.
fn boot_tests(root: &Path, arch: Arch) -> StepOutcome {
    let mut boot = Boot::new(arch);
    boot.append = Some("test".to_string());
    boot.icount = true;
    let cmd = boot.command(&kernel_elf(root, arch)).timeout(BOOT_TIMEOUT);
    println!("xtask: {}", cmd.display());
    let mut log = KtestLog::default();
    let finished = process::run_streaming(&cmd, root, |line| log.scan(line));
    let tests = Some(Tally {
        passed: log.passed,
        failed: log.failed,
        ignored: 0,
        binaries: 1,
    });
    let (success, note) = match finished {
        Err(e) => (false, Some(format!("could not run {}: {e}", arch.qemu()))),
        Ok(f) if f.timed_out => (false, f.failure_note(&cmd)),
        Ok(f) if !f.status.success() => (false, Some(format!("QEMU {}", f.status))),
        Ok(_) if !log.all_passed() => (
            false,
            Some(format!(
                "console: {:?}",
                log.summary.map_or("no summary".into(), |(p, f)| format!(
                    "{p} passed, {f} failed"
                ))
            )),
        ),
        Ok(_) => (true, None),
    };
    StepOutcome {
        success,
        tests,
        note,
    }
}

/// Exit code of a kernel that found its device tree lacking (kernel/src/exit.rs).
const EXIT_BAD_DEVICE_TREE: i32 = 5;

/// Node names renamed (same length, so the blob stays valid) to take the node away, and the
/// message the kernel must print. QEMU itself needs `/chosen` to pass `-append`, so that case
/// cannot be booted.
const BROKEN_NODES: [(&str, &str, &str); 2] = [
    ("memory@", "memorx@", "device tree lacks /memory"),
    ("cpus\0", "cpux\0", "device tree lacks /cpus"),
];

/// `bytes` with the first `from` replaced by `to` (same length); `None` if absent.
pub fn rename_node(bytes: &[u8], from: &str, to: &str) -> Option<Vec<u8>> {
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let at = bytes.windows(from.len()).position(|w| w == from)?;
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    Some(out)
}

/// Boots `arch` with device trees that lack `/memory` or `/cpus` (QEMU's own tree, dumped and
/// edited): the kernel must say what is missing and exit with its device-tree code, not hang
/// or panic. One test per broken tree.
fn bad_device_trees(root: &Path, arch: Arch) -> StepOutcome {
    let dir = target_dir(root).join("dtb");
    let mut tally = Tally {
        binaries: 1,
        ..Tally::default()
    };
    let mut notes = Vec::new();
    let good = dir.join(format!("virt-{}.dtb", arch.name()));
    let mut dump = Boot::new(arch);
    dump.extra = vec![
        "-machine".into(),
        format!("virt,dumpdtb={}", good.display()),
    ];
    let dumped = std::fs::create_dir_all(&dir).is_ok()
        && process::capture(&dump.command(&kernel_elf(root, arch)), root).is_ok();
    let original = std::fs::read(&good).ok().filter(|_| dumped);
    for (from, to, message) in BROKEN_NODES {
        let node = from.trim_end_matches(['@', '\0']);
        let path = dir.join(format!(
            "virt-{}-{}.dtb",
            arch.name(),
            to.trim_end_matches(['@', '\0'])
        ));
        let written = original
            .as_deref()
            .and_then(|bytes| rename_node(bytes, from, to))
            .is_some_and(|bytes| std::fs::write(&path, bytes).is_ok());
        if !written {
            tally.failed += 1;
            notes.push(format!("could not make a tree without /{node}"));
            continue;
        }
        let mut boot = Boot::new(arch);
        boot.append = Some("exit".into());
        boot.extra = vec!["-dtb".into(), path.display().to_string()];
        match boot_expecting(root, boot, message, EXIT_BAD_DEVICE_TREE) {
            Ok(()) => tally.passed += 1,
            Err(e) => {
                tally.failed += 1;
                notes.push(format!("without /{node}: {e}"));
            }
        }
    }
    StepOutcome {
        success: tally.failed == 0,
        tests: Some(tally),
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}

/// Exit code of a kernel panic (kernel/src/exit.rs).
const EXIT_PANIC: i32 = 4;

/// Boots `arch` with `-append panic`: the kernel must report the panic with its hart and
/// location and end QEMU with the panic code.
fn panic_boot(root: &Path, arch: Arch) -> StepOutcome {
    let mut boot = Boot::new(arch);
    boot.append = Some("panic".into());
    let result = boot_expecting(root, boot, "panic on hart 0 at src/main.rs:", EXIT_PANIC);
    let passed = result.is_ok();
    StepOutcome {
        success: passed,
        tests: Some(Tally {
            passed: u64::from(passed),
            failed: u64::from(!passed),
            ignored: 0,
            binaries: 1,
        }),
        note: result.err(),
    }
}

/// Boots `boot` (under icount, 60 s at most) and checks that the console printed a line
/// containing `message` and that QEMU exited with `code`.
fn boot_expecting(root: &Path, mut boot: Boot, message: &str, code: i32) -> Result<(), String> {
    boot.icount = true;
    let cmd = boot
        .command(&kernel_elf(root, boot.arch))
        .timeout(Duration::from_secs(60));
    println!("xtask: {}", cmd.display());
    let mut said = false;
    match process::run_streaming(&cmd, root, |line| said |= line.contains(message)) {
        Ok(f) if said && f.status.code() == Some(code) => {
            println!("xtask: `{message}` and exit {code}: ok");
            Ok(())
        }
        Ok(f) => Err(format!("{} (`{message}` seen: {said})", f.status)),
        Err(e) => Err(format!("could not run {}: {e}", boot.arch.qemu())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn run_defaults_to_rv64_with_128m_and_4_harts() {
        let parsed = parse_run_args(&[]).expect("no arguments is fine");
        assert_eq!(parsed.boot, Boot::new(Arch::Rv64));
        let cmd = parsed.boot.command(Path::new("k.elf")).display();
        assert!(cmd.starts_with("qemu-system-riscv64 -machine virt -bios none -nographic -m 128M -smp 4 -kernel k.elf"), "{cmd}");
        assert!(!cmd.contains("icount"));
    }

    #[test]
    fn run_takes_arch_mem_smp_append_and_passes_the_rest_to_qemu() {
        let parsed = parse_run_args(&strings(&[
            "--arch",
            "rv32",
            "--mem=256M",
            "--smp",
            "2",
            "--append",
            "log=debug",
            "--",
            "-s",
            "-S",
        ]))
        .expect("valid");
        let b = parsed.boot;
        assert_eq!((b.arch, b.mem.as_str(), b.smp), (Arch::Rv32, "256M", 2));
        let cmd = b.command(Path::new("k")).display();
        assert!(cmd.starts_with("qemu-system-riscv32 "), "{cmd}");
        assert!(cmd.ends_with("-kernel k -append log=debug -s -S"), "{cmd}");
    }

    #[test]
    fn run_rejects_bad_arguments() {
        for bad in [
            &["--arch", "x86"][..],
            &["--smp", "0"],
            &["--mem"],
            &["--frob"],
        ] {
            assert!(parse_run_args(&strings(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ktest_log_counts_lines_and_checks_the_summary() {
        let mut log = KtestLog::default();
        for line in [
            "ktest frames ...",
            "ktest frames ... ok",
            "    check failed at x.rs:1: boom",
            "ktest wx ... FAILED\r",
            "ktest result: 1 passed, 1 failed",
        ] {
            log.scan(line);
        }
        assert_eq!((log.passed, log.failed, log.summary), (1, 1, Some((1, 1))));
        assert!(!log.all_passed());
        let mut good = KtestLog::default();
        good.scan("ktest a ... ok");
        assert!(
            !good.all_passed(),
            "no summary yet: the kernel did not finish"
        );
        good.scan("ktest result: 1 passed, 0 failed");
        assert!(good.all_passed());
        good.scan("panic on hart 2 at src/x.rs:3: oops");
        assert!(!good.all_passed());
    }

    #[test]
    fn renaming_a_node_keeps_the_length_and_changes_only_the_first() {
        let tree = b"\0cpus\0memory@80000000\0memory@90000000\0";
        let out = rename_node(tree, "memory@", "memorx@").expect("present");
        assert_eq!(out.len(), tree.len());
        assert_eq!(&out[..], b"\0cpus\0memorx@80000000\0memory@90000000\0");
        assert!(rename_node(tree, "chosen\0", "chosex\0").is_none());
    }

    #[test]
    fn the_elf_lies_in_the_kernel_target_dir() {
        let elf = kernel_elf(Path::new("/r"), Arch::Rv32);
        assert!(
            elf.ends_with("kernel/riscv32imac-unknown-none-elf/release/kernel"),
            "{elf:?}"
        );
    }
}
