//! An interactive session with a child process over pipes: send a line, expect a text within a
//! time limit, keep the whole transcript for the failure message. For driving the kernel's
//! console (QEMU's serial port on stdio) the way a person at the terminal would.

use std::fmt;
use std::io::{self, PipeWriter, Read, Write};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::process::{Cmd, Group};

/// A running child whose standard input we write and whose output (stdout and stderr merged)
/// we read. Dropping it kills the child's whole process group.
#[derive(Debug)]
pub struct Console {
    child: Group,
    input: Option<PipeWriter>,
    output: Receiver<Vec<u8>>,
    /// Everything the child printed so far.
    transcript: Vec<u8>,
    /// Where the next `expect` starts looking: just after the previous match.
    cursor: usize,
    waited: bool,
}

/// Why [`Console::expect`] returned without its text.
#[derive(Debug)]
pub struct ExpectError {
    /// What was expected.
    pub pattern: String,
    /// `true`: the time ran out; `false`: the child closed its output first.
    pub timed_out: bool,
    /// The whole transcript up to then.
    pub transcript: String,
}

impl fmt::Display for ExpectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = if self.timed_out {
            "not seen in time"
        } else {
            "not seen before the end"
        };
        write!(
            f,
            "`{}` {why}; transcript:\n{}",
            self.pattern, self.transcript
        )
    }
}

impl ExpectError {
    /// What went wrong, without the transcript (which the caller prints once).
    pub fn short(&self) -> String {
        let why = if self.timed_out {
            "not seen in time"
        } else {
            "the console ended first"
        };
        format!("`{}` {why}", self.pattern)
    }
}

impl Console {
    /// Starts `cmd` in `dir` (in its own process group) with piped standard input and output.
    pub fn start(cmd: &Cmd, dir: &Path) -> io::Result<Console> {
        let (stdin, input) = io::pipe()?;
        let (mut stdout, writer) = io::pipe()?;
        // duct applies the last redirection first: stdout to the pipe, then stderr to stdout.
        let expr = cmd
            .expr(dir)
            .stdin_file(stdin)
            .stderr_to_stdout()
            .stdout_file(writer);
        let child = Group::start(expr)?;
        let (chunks, output) = mpsc::channel();
        // Ends at end of file, when the whole group has exited; no join needed.
        std::thread::spawn(move || {
            let mut buf = [0; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buf) {
                if chunks.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let (transcript, cursor, waited) = (Vec::new(), 0, false);
        Ok(Console {
            child,
            input: Some(input),
            output,
            transcript,
            cursor,
            waited,
        })
    }

    /// Writes `keys` to the child's standard input as they are (no newline): a control key.
    pub fn press(&mut self, keys: &str) -> io::Result<()> {
        let input = self.input.as_mut().ok_or(io::ErrorKind::BrokenPipe)?;
        input.write_all(keys.as_bytes())?;
        input.flush()
    }

    /// Writes `line` and a newline to the child's standard input.
    pub fn send(&mut self, line: &str) -> io::Result<()> {
        let input = self.input.as_mut().ok_or(io::ErrorKind::BrokenPipe)?;
        input.write_all(format!("{line}\n").as_bytes())?;
        input.flush()
    }

    /// Reads until `pattern` appears after the previous match, for at most `timeout`, and
    /// returns the text from there up to and including `pattern`.
    pub fn expect(&mut self, pattern: &str, timeout: Duration) -> Result<String, ExpectError> {
        let deadline = Instant::now() + timeout;
        loop {
            let unread = &self.transcript[self.cursor..];
            let found = unread
                .windows(pattern.len().max(1))
                .position(|w| w == pattern.as_bytes());
            if let Some(at) = found {
                let end = self.cursor + at + pattern.len();
                let text = String::from_utf8_lossy(&self.transcript[self.cursor..end]);
                self.cursor = end;
                return Ok(text.into_owned());
            }
            match self
                .output
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(chunk) => self.transcript.extend_from_slice(&chunk),
                Err(closed) => {
                    let transcript = self.transcript();
                    let timed_out = closed == RecvTimeoutError::Timeout;
                    return Err(ExpectError {
                        pattern: pattern.into(),
                        timed_out,
                        transcript,
                    });
                }
            }
        }
    }

    /// Everything the child printed that was read so far: by [`Console::expect`], and all of
    /// it after [`Console::finish`].
    pub fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.transcript).into_owned()
    }

    /// Closes the child's input, waits for it to exit (killing its group after `timeout`) and
    /// reads the rest of its output into the transcript.
    pub fn finish(&mut self, timeout: Duration) -> io::Result<std::process::ExitStatus> {
        self.input = None;
        let deadline = Instant::now() + timeout;
        if self.child.wait_until(Some(deadline))?.is_none() {
            self.child.kill();
        }
        self.waited = true;
        let status = self.child.wait()?;
        // The reader ends when the last process holding the output has gone.
        while let Ok(chunk) = self
            .output
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.transcript.extend_from_slice(&chunk);
        }
        Ok(status)
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if !self.waited {
            self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHORT: Duration = Duration::from_secs(10);

    fn sh(script: &str) -> Console {
        Console::start(&Cmd::new("sh", ["-c", script]), Path::new(".")).expect("sh starts")
    }

    #[test]
    fn send_and_expect_in_turn_return_the_text_between_matches() {
        let mut console = sh("while read -r line; do echo \"got $line\"; done");
        console.send("one").expect("send");
        assert_eq!(console.expect("got one", SHORT).expect("echoed"), "got one");
        console.send("two").expect("send");
        assert_eq!(console.expect("two", SHORT).expect("echoed"), "\ngot two");
        assert_eq!(console.transcript(), "got one\ngot two\n");
        assert!(
            console
                .finish(SHORT)
                .expect("exits at end of input")
                .success()
        );
    }

    #[test]
    fn finish_closes_the_input_and_reads_what_comes_after_it() {
        let mut console = sh("echo ready; read -r line; echo after");
        console.expect("ready", SHORT).expect("printed");
        assert!(console.finish(SHORT).expect("exits").success());
        assert_eq!(console.transcript(), "ready\nafter\n");
    }

    #[test]
    fn a_match_is_not_found_twice() {
        let mut console = sh("echo ready; cat");
        console.expect("ready", SHORT).expect("printed");
        let missing = console.expect("ready", Duration::from_millis(200));
        let error = missing.expect_err("printed only once");
        assert!(error.timed_out);
        assert_eq!(
            error.to_string(),
            "`ready` not seen in time; transcript:\nready\n"
        );
    }

    #[test]
    fn expect_reports_the_end_of_output_with_the_transcript_including_stderr() {
        let mut console = sh("echo out; echo err >&2; exit 2");
        let error = console.expect("prompt$", SHORT).expect_err("never printed");
        assert!(!error.timed_out);
        assert!(error.transcript.contains("out\n") && error.transcript.contains("err\n"));
        assert_eq!(console.finish(SHORT).expect("exited").code(), Some(2));
    }

    #[test]
    fn finish_kills_a_child_that_does_not_exit_and_drop_kills_one_never_finished() {
        let mut stubborn = sh("trap '' TERM HUP; sleep 300");
        let status = stubborn.finish(Duration::from_millis(200)).expect("killed");
        assert_eq!(status.code(), None, "killed by a signal: {status}");
        let mut dropped = sh("echo $$; sleep 300");
        let pid = dropped.expect("\n", SHORT).expect("the shell's pid");
        drop(dropped);
        let proc = format!("/proc/{}", pid.trim());
        assert!(!Path::new(&proc).exists(), "{proc}: killed and reaped");
    }
}
