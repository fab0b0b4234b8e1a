//! The shell, driven through QEMU's console as a person would: type a command, read what comes
//! back, check it. Each check is one test in the summary; on failure the step prints the whole
//! transcript. Real time (no `-icount`): `meminfo -w` sleeps a second per line, which under
//! icount would race ahead of the typing.

use std::path::Path;
use std::time::Duration;

use crate::console::Console;
use crate::qemu::{self, Arch};
use crate::summary::{Outcome, Tally};

/// How long one command may take to answer (generous: the machine may be loaded).
const STEP: Duration = Duration::from_secs(60);
/// How long the boot may take to reach the first prompt.
const BOOT: Duration = Duration::from_secs(120);
/// The prompt, at the start of a line.
const PROMPT: &str = "\n$ ";
/// The line typed before the kernel has booted.
const TYPED_AHEAD: &str = "echo typed ahead";
/// Boots `arch` with the programs, lands in the shell and runs the checks.
pub fn dialogue(root: &Path, arch: Arch) -> Outcome {
    let boot = match qemu::with_programs(root, arch) {
        Ok(boot) => boot,
        Err(e) => return Outcome::of(Err(e), None),
    };
    let cmd = boot.command();
    println!("xtask: {}", cmd.display());
    let mut console = match Console::start(&cmd, root) {
        Ok(c) => c,
        Err(e) => return Outcome::of(Err(format!("could not start QEMU: {e}")), None),
    };
    let mut session = Session {
        console: &mut console,
        passed: 0,
        failed: Vec::new(),
    };
    session.run_checks();
    let Session { passed, failed, .. } = session;
    // Ctrl-A X: QEMU's multiplexed console quits.
    let _ = console.press("\u{1}x");
    let _ = console.finish(Duration::from_secs(10));
    if !failed.is_empty() {
        println!("{}", console.transcript());
    }
    let tally = Tally {
        passed,
        failed: failed.len() as u64,
        ignored: 0,
        binaries: 1,
    };
    let result = if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    };
    Outcome::of(result, Some(tally))
}

struct Session<'a> {
    console: &'a mut Console,
    passed: u64,
    failed: Vec<String>,
}

impl Session<'_> {
    /// Records check `name`'s verdict.
    fn check(&mut self, name: &str, verdict: Result<(), String>) {
        match verdict {
            Ok(()) => {
                println!("xtask: shell {name} ... ok");
                self.passed += 1;
            }
            Err(e) => {
                println!("xtask: shell {name} ... FAILED: {e}");
                self.failed.push(format!("{name}: {e}"));
            }
        }
    }

    /// Types `line` and returns everything up to the next prompt.
    fn command(&mut self, line: &str) -> Result<String, String> {
        self.console.send(line).map_err(|e| e.to_string())?;
        self.console
            .expect(PROMPT, STEP)
            .map_err(|e| format!("no prompt after `{line}`: {}", e.short()))
    }

    /// Reads until `text`.
    fn until(&mut self, text: &str) -> Result<String, String> {
        self.console
            .expect(text, STEP)
            .map_err(|e| format!("no `{text}`: {}", e.short()))
    }

    fn run_checks(&mut self) {
        // Typed before the kernel is up: it must wait in the UART, not be lost.
        let early = self.console.send(TYPED_AHEAD).map_err(|e| e.to_string());
        let booted = self
            .console
            .expect(PROMPT, BOOT)
            .map(|_| ())
            .map_err(|e| format!("no prompt after boot: {}", e.short()));
        let up = booted.is_ok();
        self.check("prompt after boot", booted);
        if !up {
            return;
        }
        // The kernel echoes the line when it arrives, which may be before or after the first
        // prompt; the command's own output is the text without the echo.
        let ran = early
            .and_then(|()| self.until(PROMPT))
            .and_then(|out| contains(&out.replace(TYPED_AHEAD, ""), "typed ahead"));
        self.check("input typed during boot runs", ran);
        let help = self.command("help").and_then(|out| lists_programs(&out));
        self.check("help lists the programs", help);
        let before = self
            .command("meminfo")
            .and_then(|out| meminfo_adds_up(&out));
        let free_before = before.as_ref().ok().copied();
        self.check("meminfo adds up", before.map(|_| ()));
        let unknown = self
            .command("nosuch")
            .and_then(|out| contains(&out, "sh: nosuch: no such program"));
        self.check("an unknown command says so", unknown);
        let usage = self.command("kill").and_then(|out| {
            contains(&out, "usage: kill PID")?;
            contains(&out, "sh: kill: exit 2")
        });
        self.check("bad arguments give a usage line", usage);
        let hog = self.background_hog();
        let pid = hog.as_ref().ok().copied();
        self.check("hog & runs in the background", hog.map(|_| ()));
        if let Some(pid) = pid {
            let vmmap = self
                .command(&format!("vmmap {pid}"))
                .and_then(|out| heap_pages(&out))
                .and_then(|pages| at_least(pages, 1000, "resident heap pages"));
            self.check("vmmap PID shows the hog's heap", vmmap);
            let ps = self
                .command("ps")
                .and_then(|out| lists_process(&out, pid, "hog"));
            self.check("ps lists the hog", ps);
            // `kill` waits until its target has ended, so the shell reaps the job before the
            // very next prompt, with the kill command's own output.
            let killed = self
                .command(&format!("kill {pid}"))
                .and_then(|out| contains(&out, &format!("[{pid}] hog: killed")));
            self.check("kill PID ends it", killed);
            let after = self
                .command("meminfo")
                .and_then(|out| meminfo_adds_up(&out));
            let back = after.and_then(|free| match free_before {
                Some(before) if before == free => Ok(()),
                Some(before) => Err(format!("{free} frames free after, {before} before")),
                None => Err("no figure from before".into()),
            });
            self.check("the free count returns after the kill", back);
        }
        let ctrl_c = self.ctrl_c();
        self.check("Ctrl-C ends meminfo -w", ctrl_c);
        let fault = self
            .command("fault null")
            .and_then(|out| contains(&out, "sh: fault: killed: load page fault"));
        self.check("a bad access kills with a reason", fault);
    }

    /// `hog 60 &`: the job's pid, once it holds its memory.
    fn background_hog(&mut self) -> Result<u64, String> {
        self.console.send("hog 60 &").map_err(|e| e.to_string())?;
        let out = self.until("] hog\r")?;
        let pid = out
            .rsplit('[')
            .next()
            .and_then(|rest| rest.split(']').next())
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| format!("no `[PID] hog` in {out:?}"))?;
        self.until("keeping")?;
        self.command("")?;
        Ok(pid)
    }

    /// `meminfo -w`, two lines of it, Ctrl-C: the shell reports it killed.
    fn ctrl_c(&mut self) -> Result<(), String> {
        self.console.send("meminfo -w").map_err(|e| e.to_string())?;
        self.until("]\r")?;
        self.until("]\r")?;
        self.console.press("\u{3}").map_err(|e| e.to_string())?;
        self.until("sh: meminfo: killed")?;
        self.console
            .expect(PROMPT, STEP)
            .map(|_| ())
            .map_err(|e| format!("no prompt after Ctrl-C: {}", e.short()))
    }
}

fn contains(text: &str, wanted: &str) -> Result<(), String> {
    if text.contains(wanted) {
        Ok(())
    } else {
        Err(format!("no `{wanted}` in {text:?}"))
    }
}

fn at_least(value: u64, floor: u64, what: &str) -> Result<(), String> {
    if value >= floor {
        Ok(())
    } else {
        Err(format!("{value} {what}, expected at least {floor}"))
    }
}

/// `help` names every program a newcomer needs.
fn lists_programs(help: &str) -> Result<(), String> {
    let programs = [
        "meminfo",
        "vmmap",
        "kmap",
        "ps",
        "kill",
        "sbrkdemo",
        "stackdemo",
        "forkdemo",
        "hog",
        "memtests",
        "echo",
    ];
    for program in programs {
        contains(help, &format!("\n  {program}"))?;
    }
    Ok(())
}

/// The numbers on a line, in order (digits only; a bar or label adds none).
fn numbers(line: &str) -> Vec<u64> {
    line.split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// `meminfo`: total = free + used, and the rows of "used by" add up to used. Returns free.
fn meminfo_adds_up(out: &str) -> Result<u64, String> {
    let first = |label: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(label))
            .and_then(|l| numbers(l).first().copied())
            .ok_or_else(|| format!("no `{label}` row in {out:?}"))
    };
    let (total, free, used) = (first("total")?, first("free")?, first("used ")?);
    if total != free + used {
        return Err(format!("total {total} != free {free} + used {used}"));
    }
    let holders = out.split("used by").nth(1).ok_or("no `used by` table")?;
    // Each row ends in frames, KiB and a bar: the frames are the second-to-last number (a
    // row label may hold a pid).
    let sum: u64 = holders
        .lines()
        .skip(1)
        .take_while(|l| l.contains('['))
        .map(|l| {
            let n = numbers(l.split('[').next().unwrap_or(""));
            n.len().checked_sub(2).map_or(0, |i| n[i])
        })
        .sum();
    if sum != used {
        return Err(format!(
            "the `used by` rows add up to {sum}, used is {used}"
        ));
    }
    Ok(free)
}

/// `vmmap`: the heap row's resident pages (the second-to-last number of the row).
fn heap_pages(out: &str) -> Result<u64, String> {
    let row = out
        .lines()
        .find(|l| l.contains(" heap "))
        .ok_or_else(|| format!("no heap row in {out:?}"))?;
    let n = numbers(row);
    n.len()
        .checked_sub(2)
        .map(|i| n[i])
        .ok_or_else(|| format!("no page count in {row:?}"))
}

/// `ps` has a row for `pid` named `name`.
fn lists_process(out: &str, pid: u64, name: &str) -> Result<(), String> {
    let found = out
        .lines()
        .any(|l| numbers(l).first() == Some(&pid) && l.split_whitespace().any(|w| w == name));
    if found {
        Ok(())
    } else {
        Err(format!("no row for {pid} {name} in {out:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMINFO: &str = "\
                frames     KiB
total            32466  129864
free             32359  129436  [#############################.]
used               107     428  [#.............................]
low water        32334  129336
in hart caches       0       0

used by              frames  KiB
kernel page tables       11   44  [###...........................]
process page tables      15   60  [####..........................]
kernel stacks             6   24  [#.............................]
process records           5   20  [#.............................]
pid 1 init               15   60  [####..........................]
pid 2 sh                 27  108  [#######.......................]
pid 3 meminfo            28  112  [#######.......................]
$ ";

    #[test]
    fn meminfo_figures_are_read_and_must_add_up() {
        assert_eq!(meminfo_adds_up(MEMINFO), Ok(32359));
        let off = MEMINFO.replace("pid 3 meminfo            28", "pid 3 meminfo            29");
        assert!(meminfo_adds_up(&off).is_err());
        let wrong = MEMINFO.replace("free             32359", "free             32358");
        assert!(meminfo_adds_up(&wrong).is_err());
    }

    #[test]
    fn vmmap_and_ps_rows_are_found_by_what_they_say() {
        let vmmap = "start end size perm kind resident page\n\
            0000012000  0000013000   4 KiB  rw-u  heap   31234  4 KiB\n";
        assert_eq!(heap_pages(vmmap), Ok(31234));
        let ps = "pid parent state hart name pages tables\n  7  2 sleeping 1 hog 31000 40\n";
        assert!(lists_process(ps, 7, "hog").is_ok());
        assert!(lists_process(ps, 8, "hog").is_err());
    }
}
