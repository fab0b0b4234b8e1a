//! Child processes: a command line we can show in logs, run through duct, and the one thing duct
//! leaves to us: a time limit that kills the whole process tree.
//!
//! A limited command starts as the leader of a new process group, so SIGKILL to the group ends
//! cargo, the test binaries it started and QEMU alike (QEMU under `-icount sleep=off` ignores
//! SIGTERM). The group is killed before its leader is reaped, so its id cannot have been reused.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};

/// A command line to run from the workspace root, shown in logs as a shell user would type it.
#[derive(Debug, Clone, Default)]
pub struct Cmd {
    /// Program name, looked up on `PATH`.
    pub program: String,
    /// Arguments.
    pub args: Vec<OsString>,
    /// Extra environment variables.
    pub env: Vec<(String, OsString)>,
    /// Kill the command and everything it started after this long.
    pub limit: Option<Duration>,
}

impl Cmd {
    /// `program args...`; `cargo` is the rustup proxy on `PATH` (not `$CARGO`), so that
    /// `+nightly` works and the toolchain pinned in `rust-toolchain.toml` applies otherwise.
    pub fn new<S: Into<OsString>>(program: &str, args: impl IntoIterator<Item = S>) -> Self {
        let args = args.into_iter().map(Into::into).collect();
        Cmd {
            program: program.into(),
            args,
            ..Cmd::default()
        }
    }

    /// `cargo` with the words of `args`, for fixed command lines: `Cmd::cargo("fmt --all")`.
    pub fn cargo(args: &str) -> Self {
        Cmd::new("cargo", args.split_whitespace())
    }

    /// Appends arguments.
    pub fn args<S: Into<OsString>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets the time limit.
    pub fn timeout(self, limit: Duration) -> Self {
        Cmd {
            limit: Some(limit),
            ..self
        }
    }

    /// The command line, with its environment first.
    pub fn display(&self) -> String {
        let env = self.env.iter().map(|(k, v)| format!("{k}={v:?}"));
        let args = self.args.iter().map(|a| a.to_string_lossy().into_owned());
        let words: Vec<String> = env.chain([self.program.clone()]).chain(args).collect();
        words.join(" ")
    }

    /// The duct expression, run in `dir`, whose exit status is ours to judge. Standard input is
    /// inherited: callers close it unless a user is meant to type (`cargo xtask run`).
    pub fn expr(&self, dir: &Path) -> duct::Expression {
        let expr = duct::cmd(&self.program, &self.args).dir(dir).unchecked();
        self.env.iter().fold(expr, |e, (k, v)| e.env(k, v))
    }

    /// Runs with standard input closed and the output going straight to ours; `Err` says why it
    /// failed.
    pub fn run(&self, dir: &Path) -> Result<(), String> {
        let ran = self.expr(dir).stdin_null().run();
        match ran.map_err(|e| format!("`{}` could not start: {e}", self.display()))? {
            out if out.status.success() => Ok(()),
            out => Err(format!("`{}` failed ({})", self.display(), out.status)),
        }
    }

    /// Runs with standard input closed and the output thrown away: did it succeed?
    pub fn succeeds_quietly(&self, dir: &Path) -> bool {
        let expr = self.expr(dir).stdin_null().stdout_null().stderr_null();
        expr.run().is_ok_and(|out| out.status.success())
    }

    /// Runs in `dir` with standard input closed, printing each line of standard output as it
    /// arrives and handing it to `scan`; standard error is inherited, so cargo's progress and
    /// compiler errors appear as usual. At the time limit the whole process group is killed.
    /// `Err` is a short reason for the summary table.
    pub fn stream(&self, dir: &Path, scan: impl FnMut(&str) + Send) -> Result<(), String> {
        let cannot = |e: io::Error| format!("could not run {}: {e}", self.program);
        let (output, writer) = io::pipe().map_err(cannot)?;
        let child =
            Group::start(self.expr(dir).stdin_null().stdout_file(writer)).map_err(cannot)?;
        let deadline = self.limit.map(|limit| Instant::now() + limit);
        let (status, timed_out) = std::thread::scope(|scope| {
            let (done, output_closed) = mpsc::channel();
            let tee = scope.spawn(move || {
                tee_lines(output, scan);
                done.send(())
            });
            // The output closes when every process of the group has exited (or closed it); the
            // leader's exit comes after. Both within the one deadline.
            let closed = match deadline {
                Some(d) => output_closed.recv_timeout(d.saturating_duration_since(Instant::now())),
                None => output_closed.recv().map_err(Into::into),
            };
            let exited = closed.is_ok() && child.wait_until(deadline).is_ok_and(|s| s.is_some());
            if !exited {
                eprintln!("xtask: time limit reached, killing `{}`", self.display());
                child.kill();
            }
            let status = child.wait();
            let _ = tee.join();
            (status, !exited)
        });
        match status.map_err(cannot)? {
            _ if timed_out => Err(format!(
                "timed out after {} s",
                self.limit.unwrap_or_default().as_secs()
            )),
            status if !status.success() => Err(status.to_string()),
            _ => Ok(()),
        }
    }
}

/// Prints each line of `from` as it arrives and hands it to `scan`, until end of file.
fn tee_lines(from: impl Read, mut scan: impl FnMut(&str)) {
    let mut reader = BufReader::new(from);
    let mut buf = Vec::new();
    while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
        // Test output may hold invalid UTF-8: lossy is fine for a log. `print!` rather than
        // `io::stdout()` so that libtest captures it in our own tests (a `test result:` line
        // leaking out of them would be counted by an outer run).
        let line = String::from_utf8_lossy(&buf);
        print!("{line}");
        let _ = io::stdout().flush();
        scan(line.trim_end_matches(['\n', '\r']));
        buf.clear();
    }
}

/// Process groups that are running, killed when we get Ctrl-C or SIGTERM: they are not in the
/// terminal's foreground group, so the terminal's signal does not reach them.
static RUNNING: Mutex<Vec<Pid>> = Mutex::new(Vec::new());

/// Installs the Ctrl-C / SIGTERM handler that kills every running group, then exits.
pub fn kill_groups_on_interrupt() {
    let installed = ctrlc::set_handler(|| {
        for &group in RUNNING.lock().iter().flat_map(|groups| groups.iter()) {
            let _ = kill_process_group(group, Signal::KILL);
        }
        std::process::exit(130);
    });
    if let Err(e) = installed {
        eprintln!("xtask: no Ctrl-C handler ({e}): an interrupt may leave children running");
    }
}

/// A child started as the leader of its own process group.
#[derive(Debug)]
pub struct Group {
    handle: duct::Handle,
    pgid: Pid,
}

impl Group {
    /// Starts `expr` (one command, not a pipeline) in a new process group.
    pub fn start(expr: duct::Expression) -> io::Result<Group> {
        let expr = expr.before_spawn(|command| {
            command.process_group(0);
            Ok(())
        });
        let handle = expr.start()?;
        let pid = handle
            .pids()
            .first()
            .and_then(|&pid| Pid::from_raw(pid.try_into().ok()?));
        let pgid = pid.ok_or_else(|| io::Error::other("the child has no pid"))?;
        RUNNING
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .push(pgid);
        Ok(Group { handle, pgid })
    }

    /// Waits until the leader exits or `deadline` passes (`None`: then it is still running and
    /// not reaped, so the group is still ours).
    pub fn wait_until(&self, deadline: Option<Instant>) -> io::Result<Option<ExitStatus>> {
        match deadline {
            Some(d) => Ok(self.handle.wait_deadline(d)?.map(|out| out.status)),
            None => self.wait().map(Some),
        }
    }

    /// Waits for the leader to exit.
    pub fn wait(&self) -> io::Result<ExitStatus> {
        let status = self.handle.wait()?.status;
        RUNNING
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .retain(|&g| g != self.pgid);
        Ok(status)
    }

    /// SIGKILL to every process of the group (they cannot catch it). Only before
    /// [`Group::wait`] has returned: after, the id may belong to someone else.
    pub fn kill(&self) {
        // ESRCH: everyone has exited already (the leader as a zombie); nothing to do.
        let _ = kill_process_group(self.pgid, Signal::KILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(script: &str, limit: Option<Duration>) -> (Result<(), String>, Vec<String>) {
        let cmd = Cmd {
            limit,
            ..Cmd::new("sh", ["-c", script])
        };
        let mut seen = Vec::new();
        let result = cmd.stream(Path::new("."), |line| seen.push(line.to_string()));
        (result, seen)
    }

    #[test]
    fn streams_lines_to_the_scanner_and_reports_the_status() {
        let (result, seen) = stream("echo one; echo two; exit 3", None);
        assert_eq!(
            (result, seen),
            (
                Err("exit status: 3".into()),
                vec!["one".into(), "two".into()]
            )
        );
        assert_eq!(stream("true", None).0, Ok(()));
        let missing = Cmd::new("/nonexistent/xtask-probe", [""; 0]).stream(Path::new("."), |_| {});
        assert!(missing.is_err_and(|e| e.starts_with("could not run /nonexistent/xtask-probe")));
    }

    #[test]
    fn a_time_limit_kills_the_command_and_its_children() {
        // The grandchild `sleep` holds the pipe open and the shell ignores SIGTERM as QEMU
        // does: only SIGKILL to the whole group ends the read.
        let script = "trap '' TERM; echo started; sleep 300; echo never";
        let (result, seen) = stream(script, Some(Duration::from_millis(300)));
        assert_eq!(
            (result, seen),
            (Err("timed out after 0 s".into()), vec!["started".into()])
        );
    }

    #[test]
    fn a_grandchild_left_on_the_pipe_after_the_child_exits_is_killed_at_the_limit() {
        let (result, seen) = stream(
            "(sleep 300; echo late) & echo bye",
            Some(Duration::from_millis(300)),
        );
        assert_eq!(
            (result, seen),
            (Err("timed out after 0 s".into()), vec!["bye".into()])
        );
    }

    #[test]
    fn run_names_the_command_when_it_fails() {
        let dir = Path::new(".");
        let failing = Cmd::new("sh", ["-c", "exit 1"]);
        assert_eq!(
            failing.run(dir),
            Err("`sh -c exit 1` failed (exit status: 1)".into())
        );
        assert!(!failing.succeeds_quietly(dir) && Cmd::new("true", [""; 0]).succeeds_quietly(dir));
    }

    #[test]
    fn display_shows_the_environment_first() {
        let env = vec![("MIRIFLAGS".into(), "-Zx".into())];
        let cmd = Cmd {
            env,
            ..Cmd::new("cargo", ["test", "--lib"])
        };
        assert_eq!(cmd.display(), "MIRIFLAGS=\"-Zx\" cargo test --lib");
    }
}
