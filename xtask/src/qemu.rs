//! The reference kernel under QEMU: building it, booting it (`cargo xtask run`), and the QEMU
//! steps of `cargo xtask test`, which boot it in test mode and count its in-kernel tests.
//!
//! The kernel is its own Cargo workspace (`kernel/`, excluded from the root one) because it
//! builds only for the bare-metal targets, with its own linker script and panic strategy.
//! A boot is a [`Boot`]: width, kernel ELF, optional initrd, boot arguments, harts, RAM and
//! deterministic time on or off; it becomes a command line, or a [`Console`] to converse with.

use std::env;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::console::Console;
use crate::process::Cmd;
use crate::steps::Step;
use crate::summary::{Outcome, Tally};
use crate::{programs, setup, shell};

/// A kernel width: its Rust target and its QEMU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Arch {
    /// 64-bit, Sv39.
    #[value(alias = "riscv64")]
    Rv64,
    /// 32-bit, Sv32.
    #[value(alias = "riscv32")]
    Rv32,
}

impl Arch {
    /// Both widths, in the order the suite boots them.
    pub const ALL: [Arch; 2] = [Arch::Rv64, Arch::Rv32];

    /// `rv64` or `rv32`.
    pub fn name(self) -> &'static str {
        ["rv64", "rv32"][self as usize]
    }

    /// The Rust target triple.
    pub const fn target(self) -> &'static str {
        [
            "riscv64imac-unknown-none-elf",
            "riscv32imac-unknown-none-elf",
        ][self as usize]
    }

    /// The QEMU binary.
    pub fn qemu(self) -> &'static str {
        ["qemu-system-riscv64", "qemu-system-riscv32"][self as usize]
    }
}

/// Where builds go: `$CARGO_TARGET_DIR` when that is set, else `target` in the workspace root
/// (both ignored by git).
pub fn build_root(root: &Path) -> PathBuf {
    root.join(env::var_os("CARGO_TARGET_DIR").unwrap_or("target".into()))
}

/// Where kernel builds go: `kernel` under the build root.
fn target_dir(root: &Path) -> PathBuf {
    build_root(root).join("kernel")
}

/// `cargo SUBCOMMAND --release --manifest-path kernel/Cargo.toml --target T --target-dir D`.
fn kernel_cargo(root: &Path, subcommand: &str, arch: Arch) -> Cmd {
    let manifest = root.join("kernel").join("Cargo.toml");
    Cmd::new("cargo", [subcommand, "--release", "--manifest-path"])
        .args([manifest.into_os_string()])
        .args(["--target", arch.target(), "--target-dir"])
        .args([target_dir(root).into_os_string()])
}

/// The kernel ELF that `cargo build --release` leaves.
pub fn kernel_elf(root: &Path, arch: Arch) -> PathBuf {
    let release = target_dir(root).join(arch.target()).join("release");
    release.join("kernel")
}

/// One boot of a kernel on QEMU's `virt` board. Start from [`Boot::new`] and change fields:
/// `Boot { append: Some("test".into()), icount: true, ..Boot::new(root, arch) }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boot {
    /// The kernel's width.
    pub arch: Arch,
    /// The kernel ELF.
    pub kernel: PathBuf,
    /// An initial RAM disk (`-initrd`), for user programs.
    pub initrd: Option<PathBuf>,
    /// Kernel boot arguments (`-append`, arriving as `/chosen/bootargs`).
    pub append: Option<String>,
    /// Number of harts.
    pub smp: u32,
    /// RAM, as QEMU's `-m` takes it (`512M`).
    pub mem: String,
    /// Deterministic guest time (`-icount shift=0,sleep=off`): for tests, and for counting
    /// instructions. Under it QEMU runs all harts on one thread.
    pub icount: bool,
    /// More QEMU arguments, after ours (a later `-machine` or `-dtb` wins).
    pub extra: Vec<String>,
}

impl Boot {
    /// Our kernel for `arch`, as `cargo build --release` leaves it, on the default board:
    /// 128 MiB, 4 harts, real time.
    pub fn new(root: &Path, arch: Arch) -> Self {
        let (kernel, mem) = (kernel_elf(root, arch), "128M".into());
        let (initrd, append, extra) = (None, None, Vec::new());
        Boot {
            arch,
            kernel,
            initrd,
            append,
            smp: 4,
            mem,
            icount: false,
            extra,
        }
    }

    /// The QEMU command line: no firmware (`-bios none`, the kernel starts in M-mode) and the
    /// serial console on standard input and output, multiplexed with QEMU's monitor (Ctrl-A X
    /// quits). Not `-nographic`: with it, bytes piped to standard input never reach the UART.
    pub fn command(&self) -> Cmd {
        let board = "-machine virt -bios none -display none -serial mon:stdio -m";
        let cmd = Cmd::new(self.arch.qemu(), board.split(' ')).args([&self.mem, "-smp"]);
        let mut cmd = cmd
            .args([self.smp.to_string()])
            .args(["-kernel".as_ref(), self.kernel.as_os_str()]);
        if let Some(initrd) = &self.initrd {
            cmd = cmd.args(["-initrd".as_ref(), initrd.as_os_str()]);
        }
        if let Some(append) = &self.append {
            cmd = cmd.args(["-append", append]);
        }
        if self.icount {
            cmd = cmd.args(["-icount", "shift=0,sleep=off"]);
        }
        cmd.args(&self.extra)
    }
}

/// `cargo xtask run`: the board to boot.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Kernel width.
    #[arg(long, value_enum, default_value_t = Arch::Rv64)]
    arch: Arch,
    /// RAM, as QEMU's `-m` takes it.
    #[arg(long, value_name = "SIZE", default_value = "128M")]
    mem: String,
    /// Number of harts.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    smp: u32,
    /// Kernel boot arguments (arrive as /chosen/bootargs), e.g. `log=debug`.
    #[arg(long, value_name = "ARGS")]
    append: Option<String>,
    /// Start QEMU halted, waiting for gdb on port 1234, and print the command that attaches
    /// gdb with the kernel's symbols.
    #[arg(long)]
    gdb: bool,
    /// Passed to QEMU as they are, e.g. `-- -s -S` to wait for gdb.
    #[arg(last = true, value_name = "QEMU-ARGS")]
    qemu_args: Vec<String>,
}

impl RunArgs {
    /// The boot these arguments ask for.
    fn boot(&self, root: &Path, initrd: PathBuf) -> Boot {
        let (mem, smp, append) = (self.mem.clone(), self.smp, self.append.clone());
        let mut extra = self.qemu_args.clone();
        if self.gdb {
            extra.extend(["-s".into(), "-S".into()]);
        }
        Boot {
            mem,
            smp,
            append,
            extra,
            initrd: Some(initrd),
            ..Boot::new(root, self.arch)
        }
    }
}

/// `cargo xtask run`: installs what is missing, builds the kernel and the user programs, packs
/// the programs, and boots with the console on this terminal until the user quits QEMU
/// (Ctrl-A X).
pub fn run(root: &Path, args: &RunArgs) -> Result<(), String> {
    let arch = args.arch;
    setup::ensure_pinned_toolchain(root).map_err(|e| e.to_string())?;
    setup::ensure_qemu(root, arch).map_err(|e| e.to_string())?;
    for build in [
        kernel_cargo(root, "build", arch),
        programs::cargo(root, "build", arch),
    ] {
        println!("xtask: {}", build.display());
        build.run(root)?;
    }
    let archive = programs::pack(root, arch)?;
    let qemu = args.boot(root, archive).command();
    println!("xtask: {}\nxtask: quit QEMU with Ctrl-A X", qemu.display());
    if args.gdb {
        print_gdb_command(root, arch);
    }
    // Standard input stays ours: the user types on the kernel's console.
    match qemu.expr(root).run() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!("QEMU ended with {}", out.status)),
        Err(e) => Err(format!("could not run {}: {e}", arch.qemu())),
    }
}

/// Says how to attach gdb to a QEMU started with `-s -S`.
fn print_gdb_command(root: &Path, arch: Arch) {
    let gdb = ["gdb-multiarch", "riscv64-unknown-elf-gdb", "gdb"]
        .into_iter()
        .find(|g| Cmd::new(g, ["--version"]).succeeds_quietly(root));
    let elf = kernel_elf(root, arch);
    let target = ["riscv:rv64", "riscv:rv32"][arch as usize];
    match gdb {
        Some(gdb) => println!(
            "xtask: QEMU waits for gdb; in another terminal:\n  {gdb} {} -ex 'set architecture \
             {target}' -ex 'target remote :1234'",
            elf.display()
        ),
        None => println!(
            "xtask: QEMU waits for gdb on port 1234; no gdb with RISC-V support found \
             (install gdb-multiarch), then: gdb-multiarch {} -ex 'target remote :1234'",
            elf.display()
        ),
    }
}

/// The boot the suite's program steps use: the programs' archive, 128 MiB, 4 harts.
pub fn with_programs(root: &Path, arch: Arch) -> Result<Boot, String> {
    Ok(Boot {
        initrd: Some(programs::pack(root, arch)?),
        ..Boot::new(root, arch)
    })
}

/// The release builds of the kernel and the programs for `arch`, as steps.
pub fn build_steps(root: &Path, arch: Arch) -> [Step; 2] {
    let name = arch.name();
    [
        Step::check(
            &format!("kernel build {name}"),
            kernel_cargo(root, "build", arch),
        ),
        Step::check(
            &format!("user build {name}"),
            programs::cargo(root, "build", arch),
        ),
    ]
}

/// Time limit of one test boot. The slowest test stamps all of RAM; both widths take well
/// under a minute on a 2-core machine, so this only catches hangs.
const BOOT_TIMEOUT: Duration = Duration::from_secs(300);

/// Time limit of the `memtests` boot: a few minutes of guest work under `-icount` (all harts
/// on one host thread), with room for a loaded machine.
const MEMTESTS_TIMEOUT: Duration = Duration::from_secs(900);

/// Time limit of the short boots that must fail in a given way.
const FAILING_BOOT_TIMEOUT: Duration = Duration::from_secs(60);

/// The kernel's and the programs' steps of `cargo xtask test`: fmt, then for each width
/// clippy and a release build of both, and the boots: the in-kernel tests, `memtests`, the
/// shell driven as a person would, broken device trees, a panic.
pub fn test_steps(root: &Path, limit: Duration) -> Vec<Step> {
    let mut steps = Vec::new();
    for (what, dir) in [("kernel", "kernel"), ("user", "user")] {
        let manifest = format!("{dir}/Cargo.toml");
        let fmt = Cmd::cargo("fmt").args(["--manifest-path", &manifest, "--", "--check"]);
        steps.push(Step::check(&format!("{what} fmt"), fmt.timeout(limit)));
    }
    for arch in Arch::ALL {
        let name = arch.name();
        let clippy = |cmd: Cmd| cmd.args(["--", "-D", "warnings"]).timeout(limit);
        steps.extend([
            Step::check(
                &format!("kernel clippy {name}"),
                clippy(kernel_cargo(root, "clippy", arch)),
            ),
            Step::check(
                &format!("kernel build {name}"),
                kernel_cargo(root, "build", arch).timeout(limit),
            ),
            Step::check(
                &format!("user clippy {name}"),
                clippy(programs::cargo(root, "clippy", arch)),
            ),
            Step::check(
                &format!("user build {name}"),
                programs::cargo(root, "build", arch).timeout(limit),
            ),
            Step::custom(&format!("qemu {name} ktest"), move |r| boot_tests(r, arch)),
            Step::custom(&format!("qemu {name} memtests"), move |r| memtests(r, arch)),
            Step::custom(&format!("qemu {name} shell"), move |r| {
                shell::dialogue(r, arch)
            }),
            Step::custom(&format!("qemu {name} bad dtb"), move |r| bad_trees(r, arch)),
            Step::custom(&format!("qemu {name} panic"), move |r| panic_boot(r, arch)),
        ]);
    }
    steps
}

/// What the console of a test boot said: lines `ITEM NAME ... ok` and `ITEM NAME ... FAILED`
/// (the in-kernel tests' `ktest`, `memtests`' `memtest`), and the summary
/// `SUMMARY N passed, M failed` the program printed at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestLog {
    item: &'static str,
    summary_prefix: &'static str,
    /// Lines that say ok.
    pub passed: u64,
    /// Lines that say FAILED.
    pub failed: u64,
    /// The program's own summary, if it got that far.
    pub summary: Option<(u64, u64)>,
    /// Whether the kernel said it panicked or hit a boot failure.
    pub crashed: bool,
}

impl TestLog {
    /// The in-kernel tests' log: `ktest NAME ... ok`, `ktest result: N passed, M failed`.
    pub fn ktest() -> Self {
        TestLog::new("ktest ", "ktest result: ")
    }

    /// `memtests`' log: `memtest NAME ... ok`, `memtests result: N passed, M failed`.
    pub fn memtests() -> Self {
        TestLog::new("memtest ", "memtests result: ")
    }

    fn new(item: &'static str, summary_prefix: &'static str) -> Self {
        TestLog {
            item,
            summary_prefix,
            passed: 0,
            failed: 0,
            summary: None,
            crashed: false,
        }
    }

    /// Reads one console line.
    pub fn scan(&mut self, line: &str) {
        let line = line.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix(self.summary_prefix) {
            let mut numbers = rest
                .split(|c: char| !c.is_ascii_digit())
                .flat_map(str::parse);
            if let (Some(p), Some(f), None) = (numbers.next(), numbers.next(), numbers.next()) {
                self.summary = Some((p, f));
            }
        } else if let Some(rest) = line.strip_prefix(self.item) {
            self.passed += u64::from(rest.ends_with(" ... ok"));
            self.failed += u64::from(rest.contains(" ... FAILED"));
        } else {
            let crashes = ["panic on hart", "boot failed:", "M-mode trap"];
            self.crashed |= crashes.iter().any(|c| line.starts_with(c));
        }
    }

    /// Whether the log shows a clean run: a summary that agrees with the lines and no failure.
    pub fn all_passed(&self) -> bool {
        !self.crashed && self.failed == 0 && self.summary == Some((self.passed, 0))
    }

    /// The step's outcome from the log and how QEMU ended.
    fn outcome(&self, ended: Result<(), String>) -> Outcome {
        let result = ended.and_then(|()| match self.summary {
            _ if self.all_passed() => Ok(()),
            Some((p, f)) => Err(format!("console: \"{p} passed, {f} failed\"")),
            None if self.crashed => Err("console: the kernel crashed".into()),
            None => Err("console: no summary".into()),
        });
        let tally = Tally {
            passed: self.passed,
            failed: self.failed,
            ignored: 0,
            binaries: 1,
        };
        Outcome::of(result, Some(tally))
    }
}

/// Boots `arch` in test mode and counts its tests; QEMU's exit status must agree.
fn boot_tests(root: &Path, arch: Arch) -> Outcome {
    let boot = Boot {
        append: Some("test".into()),
        icount: true,
        ..Boot::new(root, arch)
    };
    let cmd = boot.command().timeout(BOOT_TIMEOUT);
    println!("xtask: {}", cmd.display());
    let mut log = TestLog::ktest();
    let ended = cmd
        .stream(root, |line| log.scan(line))
        .map_err(|e| format!("QEMU {e}"));
    log.outcome(ended)
}

/// Boots `arch` with the programs and `run=memtests` on 4 harts under `-icount`: `init` runs
/// the suite and ends QEMU with its status; every scenario line is counted.
fn memtests(root: &Path, arch: Arch) -> Outcome {
    let boot = match with_programs(root, arch) {
        Ok(boot) => boot,
        Err(e) => return Outcome::of(Err(e), None),
    };
    let boot = Boot {
        append: Some("run=memtests".into()),
        icount: true,
        ..boot
    };
    let cmd = boot.command().timeout(MEMTESTS_TIMEOUT);
    println!("xtask: {}", cmd.display());
    let mut log = TestLog::memtests();
    let ended = cmd
        .stream(root, |line| log.scan(line))
        .map_err(|e| format!("QEMU {e}"));
    log.outcome(ended)
}

/// Exit code of a kernel that found its device tree lacking (kernel/src/exit.rs).
const EXIT_BAD_DEVICE_TREE: i32 = 5;

/// Exit code of a kernel panic (kernel/src/exit.rs).
const EXIT_PANIC: i32 = 4;

/// Node names renamed (same length, so the blob stays valid) to take the node away, and the
/// message the kernel must print. QEMU itself needs `/chosen` to pass `-append`, so that case
/// cannot be booted.
const BROKEN_NODES: [(&str, &str, &str); 2] = [
    ("memory@", "memorx@", "device tree lacks /memory"),
    ("cpus\0", "cpux\0", "device tree lacks /cpus"),
];

/// `bytes` with the first `from` replaced by `to` (same length); `None` if absent.
fn rename_node(bytes: &[u8], from: &str, to: &str) -> Option<Vec<u8>> {
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let at = bytes.windows(from.len()).position(|w| w == from)?;
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    Some(out)
}

/// Boots `arch` with device trees that lack `/memory` or `/cpus` (QEMU's own tree, dumped with
/// `-machine virt,dumpdtb=PATH` and edited): the kernel must say what is missing and exit with
/// its device-tree code, not hang or panic. One test per broken tree.
fn bad_trees(root: &Path, arch: Arch) -> Outcome {
    let dir = target_dir(root).join("dtb");
    let good = dir.join(format!("virt-{}.dtb", arch.name()));
    let dump = format!("virt,dumpdtb={}", good.display());
    let dump = Boot {
        extra: vec!["-machine".into(), dump],
        ..Boot::new(root, arch)
    };
    let dumped = std::fs::create_dir_all(&dir).is_ok() && dump.command().succeeds_quietly(root);
    let original = std::fs::read(&good).ok().filter(|_| dumped);
    let results = BROKEN_NODES.map(|(from, to, message)| {
        let node = from.trim_end_matches(['@', '\0']);
        let path = dir.join(format!(
            "virt-{}-{}.dtb",
            arch.name(),
            to.trim_end_matches(['@', '\0'])
        ));
        let broken = original
            .as_deref()
            .and_then(|tree| rename_node(tree, from, to));
        if broken.is_none_or(|tree| std::fs::write(&path, tree).is_err()) {
            return Err(format!("could not make a tree without /{node}"));
        }
        let (append, extra) = (
            Some("exit".into()),
            vec!["-dtb".into(), path.display().to_string()],
        );
        let boot = Boot {
            append,
            extra,
            ..Boot::new(root, arch)
        };
        let result = boot_expecting(root, &boot, message, EXIT_BAD_DEVICE_TREE);
        result.map_err(|e| format!("without /{node}: {e}"))
    });
    outcome(&results)
}

/// Boots `arch` with `-append panic`: the kernel must report the panic with its hart and
/// location and end QEMU with the panic code.
fn panic_boot(root: &Path, arch: Arch) -> Outcome {
    let boot = Boot {
        append: Some("panic".into()),
        ..Boot::new(root, arch)
    };
    let message = "panic on hart 0 at src/main.rs:";
    outcome(&[boot_expecting(root, &boot, message, EXIT_PANIC)])
}

/// One test per result, the errors joined as the note.
fn outcome(results: &[Result<(), String>]) -> Outcome {
    let errors: Vec<&str> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(String::as_str))
        .collect();
    let failed = errors.len() as u64;
    let tally = Tally {
        passed: results.len() as u64 - failed,
        failed,
        ignored: 0,
        binaries: 1,
    };
    let result = if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    };
    Outcome::of(result, Some(tally))
}

/// Boots `boot` under icount and checks that the console says `message` and that QEMU then
/// exits with `code`. The console is shown when QEMU has ended.
fn boot_expecting(root: &Path, boot: &Boot, message: &str, code: i32) -> Result<(), String> {
    let cmd = Boot {
        icount: true,
        ..boot.clone()
    }
    .command();
    println!("xtask: {}", cmd.display());
    let mut console = Console::start(&cmd, root).map_err(|e| format!("could not run it: {e}"))?;
    let said = console.expect(message, FAILING_BOOT_TIMEOUT).is_ok();
    let exited = console.finish(FAILING_BOOT_TIMEOUT);
    println!("{}", console.transcript());
    match exited {
        Ok(status) if said && status.code() == Some(code) => {
            println!("xtask: `{message}` and exit {code}: ok");
            Ok(())
        }
        Ok(status) => Err(format!("QEMU {status}, `{message}` seen: {said}")),
        Err(e) => Err(format!("waiting for QEMU: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// Only `run`'s arguments, parsed as `cargo xtask run ARGS` would.
    #[derive(Parser)]
    struct Run {
        #[command(flatten)]
        args: RunArgs,
    }

    fn parse(args: &[&str]) -> Result<Cmd, clap::Error> {
        let run = Run::try_parse_from([&"run"].into_iter().chain(args))?;
        Ok(run
            .args
            .boot(Path::new("/r"), "/r/fs.cpio".into())
            .command())
    }

    #[test]
    fn run_defaults_to_rv64_with_128m_and_4_harts() {
        let cmd = parse(&[]).expect("no arguments is fine").display();
        let elf = "/r/target/kernel/riscv64imac-unknown-none-elf/release/kernel";
        let board = "-machine virt -bios none -display none -serial mon:stdio -m 128M -smp 4";
        let initrd = "-initrd /r/fs.cpio";
        assert_eq!(
            cmd,
            format!("qemu-system-riscv64 {board} -kernel {elf} {initrd}")
        );
    }

    #[test]
    fn run_with_gdb_starts_halted_and_listening() {
        let cmd = parse(&["--gdb"]).expect("valid").display();
        assert!(cmd.ends_with("-initrd /r/fs.cpio -s -S"), "{cmd}");
    }

    #[test]
    fn run_takes_arch_mem_smp_append_and_passes_the_rest_to_qemu() {
        let args = [
            "--arch",
            "riscv32",
            "--mem=256M",
            "--smp",
            "2",
            "--append",
            "log=debug",
        ];
        let cmd = parse(&[&args[..], &["--", "-s", "-S"]].concat()).expect("valid");
        let cmd = cmd.display();
        assert!(cmd.starts_with("qemu-system-riscv32 "), "{cmd}");
        assert!(cmd.contains(" -m 256M -smp 2 -kernel "), "{cmd}");
        assert!(
            cmd.ends_with("/release/kernel -initrd /r/fs.cpio -append log=debug -s -S"),
            "{cmd}"
        );
    }

    #[test]
    fn run_rejects_bad_arguments() {
        for bad in [
            &["--arch", "x86"][..],
            &["--smp", "0"],
            &["--mem"],
            &["--frob"],
            &["-s"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_boot_puts_initrd_append_and_icount_before_extra_arguments() {
        let (initrd, append) = (Some("fs.cpio".into()), Some("test".into()));
        let (kernel, extra) = ("k".into(), vec!["-s".into()]);
        let boot = Boot {
            kernel,
            initrd,
            append,
            extra,
            icount: true,
            ..Boot::new(Path::new("/"), Arch::Rv32)
        };
        let cmd = boot.command().display();
        let tail = "-kernel k -initrd fs.cpio -append test -icount shift=0,sleep=off -s";
        assert!(cmd.ends_with(tail), "{cmd}");
    }

    #[test]
    fn ktest_log_counts_lines_and_checks_the_summary() {
        let mut log = TestLog::ktest();
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
        let mut good = TestLog::ktest();
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
    fn memtests_log_reads_its_own_lines_and_summary_only() {
        let mut log = TestLog::memtests();
        for line in [
            "memtest sbrk-consecutive ... ok",
            "  expected EFAULT, got Ok(3)",
            "memtest bad-pointers ... FAILED (write)",
            "ktest frames ... ok",
            "memtests result: 1 passed, 1 failed",
        ] {
            log.scan(line);
        }
        assert_eq!((log.passed, log.failed, log.summary), (1, 1, Some((1, 1))));
        let out = log.outcome(Ok(()));
        assert!(!out.success);
        let mut good = TestLog::memtests();
        good.scan("memtest a ... ok");
        good.scan("memtests result: 1 passed, 0 failed");
        assert!(good.outcome(Ok(())).success);
        assert!(!good.outcome(Err("QEMU exit 3".into())).success);
    }

    #[test]
    fn renaming_a_node_keeps_the_length_and_changes_only_the_first() {
        let tree = b"\0cpus\0memory@80000000\0memory@90000000\0";
        let out = rename_node(tree, "memory@", "memorx@").expect("present");
        assert_eq!(&out[..], b"\0cpus\0memorx@80000000\0memory@90000000\0");
        assert!(rename_node(tree, "chosen\0", "chosex\0").is_none());
    }

    #[test]
    fn outcome_counts_one_test_per_result_and_joins_the_errors() {
        let out = outcome(&[Ok(()), Err("a".into()), Err("b".into())]);
        assert!(!out.success);
        assert_eq!(out.tests.map(|t| (t.passed, t.failed)), Some((1, 2)));
        assert_eq!(out.note.as_deref(), Some("a; b"));
    }
}
