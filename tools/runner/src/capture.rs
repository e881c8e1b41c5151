//! Capturing the guest's serial output: line splitting, echoing each line to
//! our stdout (and a log file) as it arrives, and running a child process
//! under a host timeout.
//!
//! QEMU's `-serial stdio` output is read on a helper thread and handed to the
//! main thread over a channel, so the main thread can give up at the deadline
//! and kill QEMU even while no bytes arrive.

use crate::verdict::End;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// Turns a byte stream into lines, keeping an unfinished line for later.
#[derive(Debug, Default)]
pub struct LineBuffer {
    pending: Vec<u8>,
}

fn to_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.trim_end_matches(['\r', '\n']).to_string()
}

impl LineBuffer {
    /// Adds bytes and returns every line they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut lines = Vec::new();
        while let Some(pos) = self.pending.iter().position(|&b| b == b'\n') {
            let rest = self.pending.split_off(pos + 1);
            lines.push(to_line(&self.pending));
            self.pending = rest;
        }
        lines
    }

    /// Returns the unfinished last line, if it has any bytes.
    pub fn finish(&mut self) -> Option<String> {
        let bytes = std::mem::take(&mut self.pending);
        (!bytes.is_empty()).then(|| to_line(&bytes))
    }
}

/// Where guest lines and the verdict go: our stdout and an optional log file.
pub struct Sink {
    log: Option<File>,
    echo: bool,
}

impl Sink {
    /// Opens (truncating) the log file, if one is given.
    pub fn new(log: Option<&Path>) -> io::Result<Self> {
        let log = log.map(File::create).transpose()?;
        Ok(Sink { log, echo: true })
    }

    /// Writes one line to stdout (flushed at once) and to the log.
    pub fn line(&mut self, line: &str) -> io::Result<()> {
        if self.echo {
            let mut out = io::stdout().lock();
            writeln!(out, "{line}")?;
            out.flush()?;
        }
        if let Some(log) = &mut self.log {
            writeln!(log, "{line}")?;
        }
        Ok(())
    }
}

/// Converts an exit status into an [`End`].
pub fn end_of(status: ExitStatus) -> End {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => End::Exited { status: code },
        (None, Some(signal)) => End::NoStatus {
            detail: format!("emulator killed by signal {signal}"),
        },
        (None, None) => End::NoStatus {
            detail: format!("emulator ended with {status}"),
        },
    }
}

fn read_lines(stdout: impl Read, tx: mpsc::Sender<String>) {
    let mut reader = BufReader::new(stdout);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if tx.send(to_line(&buffer)).is_err() {
                    return;
                }
            }
        }
    }
}

/// Kills the child and reaps it; the result is the timeout end.
fn kill(child: &mut Child, timeout: Duration) -> io::Result<End> {
    // The child may have exited on its own just now; that is not an error.
    let _ = child.kill();
    child.wait()?;
    Ok(End::TimedOut {
        secs: timeout.as_secs(),
    })
}

/// Waits for the child to exit, until the deadline.
pub fn wait_until(child: &mut Child, deadline: Instant) -> io::Result<Option<ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `command`, streaming its stdout lines into `sink`, and kills it after
/// `timeout`. Returns the lines and how the run ended.
pub fn run_streaming(
    mut command: Command,
    timeout: Duration,
    sink: &mut Sink,
) -> io::Result<(Vec<String>, End)> {
    let deadline = Instant::now() + timeout;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    // Not joined: after a timeout a grandchild may still hold the pipe open.
    thread::spawn(move || read_lines(stdout, tx));
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                sink.line(&line)?;
                lines.push(line);
            }
            Err(RecvTimeoutError::Timeout) => return Ok((lines, kill(&mut child, timeout)?)),
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    let end = match wait_until(&mut child, deadline)? {
        Some(status) => end_of(status),
        None => kill(&mut child, timeout)?,
    };
    Ok((lines, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_buffer_splits_and_keeps_partial_lines() {
        let mut buffer = LineBuffer::default();
        assert_eq!(buffer.push(b"test a ... o"), Vec::<String>::new());
        assert_eq!(
            buffer.push(b"k\r\nnext\n2 pa"),
            vec!["test a ... ok", "next"]
        );
        assert_eq!(buffer.finish().as_deref(), Some("2 pa"));
        assert_eq!(buffer.finish(), None);
    }

    #[test]
    fn streaming_a_real_child() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo one; printf 'two'; exit 7"]);
        let mut sink = Sink {
            log: None,
            echo: false,
        };
        let (lines, end) = run_streaming(command, Duration::from_secs(10), &mut sink).unwrap();
        assert_eq!(lines, vec!["one", "two"]);
        assert_eq!(end, End::Exited { status: 7 });
    }

    #[test]
    fn streaming_times_out() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo start; exec sleep 30"]);
        let mut sink = Sink {
            log: None,
            echo: false,
        };
        let (lines, end) = run_streaming(command, Duration::from_secs(1), &mut sink).unwrap();
        assert_eq!(lines, vec!["start"]);
        assert_eq!(end, End::TimedOut { secs: 1 });
    }
}
