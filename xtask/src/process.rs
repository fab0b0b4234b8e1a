//! Running a child process with its output streamed through us (tee-like) and a time limit.
//!
//! Standard output is piped so every line can be scanned (for `test result:` lines) as it is
//! printed; standard error is inherited, so cargo's progress and compiler errors appear as usual.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

/// A command line to run from the workspace root.
#[derive(Debug, Clone)]
pub struct Cmd {
    /// Program name, looked up on `PATH`.
    pub program: String,
    /// Arguments.
    pub args: Vec<OsString>,
    /// Extra environment variables.
    pub env: Vec<(String, OsString)>,
    /// Kill the command (and everything it started) after this long.
    pub timeout: Option<Duration>,
    /// Where the child's standard input comes from.
    pub stdin: Input,
}

/// The child's standard input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Closed (`/dev/null`): the default, so nothing can wait for a user, in CI above all.
    Closed,
    /// Our own: for interactive children such as QEMU with its console on the terminal.
    Terminal,
}

impl Cmd {
    /// `program args...`.
    pub fn new<I, S>(program: &str, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Cmd {
            program: program.to_string(),
            args: args.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            timeout: None,
            stdin: Input::Closed,
        }
    }

    /// `cargo args...`, through the rustup proxy on `PATH` (not `$CARGO`), so that `+nightly`
    /// works and the toolchain pinned in `rust-toolchain.toml` applies otherwise.
    pub fn cargo<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Cmd::new("cargo", args)
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(mut self, key: &str, value: impl Into<OsString>) -> Self {
        self.env.push((key.to_string(), value.into()));
        self
    }

    /// Sets where standard input comes from.
    pub fn stdin(mut self, input: Input) -> Self {
        self.stdin = input;
        self
    }

    /// Sets the time limit.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// The command as a shell user would type it (for logs).
    pub fn display(&self) -> String {
        let mut parts: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={:?}", v.to_string_lossy()))
            .collect();
        parts.push(self.program.clone());
        parts.extend(self.args.iter().map(|a| a.to_string_lossy().into_owned()));
        parts.join(" ")
    }

    fn command(&self, dir: &Path) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .current_dir(dir)
            .stdin(match self.stdin {
                Input::Closed => Stdio::null(),
                Input::Terminal => Stdio::inherit(),
            })
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }
}

/// How a streamed command ended.
#[derive(Debug)]
pub struct Finished {
    /// The exit status.
    pub status: ExitStatus,
    /// True when the time limit killed it.
    pub timed_out: bool,
}

impl Finished {
    /// Exited with status zero within the time limit.
    pub fn success(&self) -> bool {
        self.status.success() && !self.timed_out
    }

    /// A short reason for the table when it did not succeed.
    pub fn failure_note(&self, cmd: &Cmd) -> Option<String> {
        if self.timed_out {
            let limit = cmd.timeout.unwrap_or_default().as_secs();
            Some(format!("timed out after {limit} s"))
        } else if !self.status.success() {
            Some(format!("{}", self.status))
        } else {
            None
        }
    }
}

/// Runs `cmd` in `dir`, printing each line of its standard output as it arrives and handing it
/// to `scan`. Standard input is closed: nothing here may wait for a user.
pub fn run_streaming(cmd: &Cmd, dir: &Path, mut scan: impl FnMut(&str)) -> io::Result<Finished> {
    let mut child = cmd.command(dir).stdout(Stdio::piped()).spawn()?;
    let stdout = child.stdout.take().expect("stdout was piped");
    let timed_out = Arc::new(AtomicBool::new(false));
    let cancel_watchdog = cmd
        .timeout
        .map(|limit| spawn_watchdog(child.id(), limit, Arc::clone(&timed_out)));

    // Even if reading fails, the child is waited for (and the watchdog cancelled) before the
    // error is returned, so nothing is left running behind our back.
    let streamed = stream_lines(stdout, &mut scan);
    let status = child.wait()?;
    if let Some(cancel) = cancel_watchdog {
        // The watchdog may already be gone after firing; nothing to cancel then.
        let _ = cancel.send(());
    }
    streamed?;
    Ok(Finished {
        status,
        timed_out: timed_out.load(Ordering::SeqCst),
    })
}

/// Prints each line of `from` as it arrives and hands it to `scan`, until end of file.
fn stream_lines(from: impl Read, scan: &mut impl FnMut(&str)) -> io::Result<()> {
    let mut reader = BufReader::new(from);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        // Test output may hold invalid UTF-8: shown lossily, which is fine for a log. `print!`
        // rather than writing to `io::stdout()` so that libtest captures it in our own tests
        // (a `test result:` line leaking out of them would be counted by an outer run).
        let line = String::from_utf8_lossy(&buf);
        print!("{line}");
        io::stdout().flush()?;
        scan(line.trim_end_matches(['\n', '\r']));
    }
}

/// Runs `cmd` in `dir` with its output going straight to ours and returns its status.
pub fn run_inherited(cmd: &Cmd, dir: &Path) -> io::Result<ExitStatus> {
    cmd.command(dir).status()
}

/// Runs `cmd` in `dir` and returns its standard output if it exits successfully.
pub fn capture(cmd: &Cmd, dir: &Path) -> io::Result<String> {
    let output = cmd.command(dir).stderr(Stdio::piped()).output()?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(io::Error::other(format!(
            "`{}` failed ({}): {}",
            cmd.display(),
            output.status,
            stderr.trim()
        )))
    }
}

/// Starts a thread that kills `pid` and its descendants unless cancelled within `limit`.
fn spawn_watchdog(pid: u32, limit: Duration, timed_out: Arc<AtomicBool>) -> mpsc::Sender<()> {
    let (cancel, cancelled) = mpsc::channel::<()>();
    thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = cancelled.recv_timeout(limit) {
            timed_out.store(true, Ordering::SeqCst);
            eprintln!(
                "xtask: time limit of {} s reached, killing process {pid} and its children",
                limit.as_secs()
            );
            kill_tree(pid);
        }
    });
    cancel
}

/// Kills `root` and every process descending from it (cargo -> test binary -> ...), so that a
/// hung test does not keep the pipe open. Linux only: the tree is read from `/proc`.
fn kill_tree(root: u32) {
    let mut victims = vec![root];
    let parents = process_parents();
    let mut i = 0;
    while i < victims.len() {
        let parent = victims[i];
        victims.extend(
            parents
                .iter()
                .filter(|&&(_, ppid)| ppid == parent)
                .map(|&(pid, _)| pid),
        );
        i += 1;
    }
    // Children first is not needed with SIGKILL: nobody gets to react.
    let _ = Command::new("kill")
        .arg("-KILL")
        .args(victims.iter().map(u32::to_string))
        .stdin(Stdio::null())
        .status();
}

/// `(pid, parent pid)` of every process visible in `/proc`.
fn process_parents() -> Vec<(u32, u32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            Some((pid, parse_parent_pid(&stat)?))
        })
        .collect()
}

/// The parent pid from a `/proc/PID/stat` line: `pid (comm) state ppid ...`, where `comm` may
/// itself contain spaces and parentheses, so parsing starts after the last `)`.
fn parse_parent_pid(stat: &str) -> Option<u32> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_pid_is_read_after_the_command_name() {
        assert_eq!(parse_parent_pid("42 (cargo) S 7 42 42 0 -1"), Some(7));
        assert_eq!(parse_parent_pid("43 (a) b (c) R 12 43 43"), Some(12));
        assert_eq!(parse_parent_pid("garbage"), None);
    }

    #[test]
    fn streams_lines_to_the_scanner_and_reports_the_status() {
        let cmd = Cmd::new("sh", ["-c", "echo one; echo two; exit 3"]);
        let mut seen = Vec::new();
        let finished = run_streaming(&cmd, Path::new("."), |line| seen.push(line.to_string()))
            .expect("sh runs");
        assert_eq!(seen, ["one", "two"]);
        assert_eq!(finished.status.code(), Some(3));
        assert!(!finished.timed_out);
        assert_eq!(
            finished.failure_note(&cmd).as_deref(),
            Some("exit status: 3")
        );
    }

    #[test]
    fn a_time_limit_kills_the_command_and_its_children() {
        // The grandchild `sleep` holds the pipe open; only killing the tree ends the read.
        let cmd = Cmd::new("sh", ["-c", "echo started; sleep 300; echo never"])
            .timeout(Duration::from_millis(300));
        let mut seen = Vec::new();
        let finished = run_streaming(&cmd, Path::new("."), |line| seen.push(line.to_string()))
            .expect("sh runs");
        assert!(finished.timed_out);
        assert!(!finished.success());
        assert!(!seen.iter().any(|line| line == "never"), "{seen:?}");
    }
}
