//! Driving Bochs 2.7: writing a bochsrc and a debugger rc file into a temporary
//! directory, running `bochs -q -f bochsrc -rc rcfile`, polling the COM1 file
//! for lines, and judging them with the same verdict logic as QEMU.
//!
//! Bochs has no isa-debug-exit device. The kernel prints
//! `bulkhead: exit code 0x10` and then ends Bochs by writing `Shutdown` to port
//! 0x8900, so the exit-code line stands in for QEMU's status: value v becomes
//! status `(v << 1) | 1`, and Bochs must have exited by itself.
//!
//! Two bochsrc settings matter beyond the obvious. `clock: sync=none` makes
//! emulated time follow the instruction count at `cpu: ips=` instructions per
//! emulated second, and the TSC and the local APIC timer count at that rate:
//! Bochs' default of 4 million would be a 4 MHz TSC, which the kernel rejects
//! as implausible (it wants at least 100 MHz), so [`IPS`] is 200 million. And
//! `sound: driver=dummy` keeps Bochs from opening ALSA, which aborts Bochs
//! 2.7 (`buffer overflow detected`) on a machine without a sound card.
//!
//! [`boot`] is the launch-and-follow part on its own: `bochs` judges its lines
//! as a test run, `bench --emulator bochs` reads benchmark lines from them.

use crate::capture::{end_of, LineBuffer, Sink};
use crate::cli::Judging;
use crate::program::BOCHS;
use crate::protocol::{parse_exit_code, parse_final_summary};
use crate::verdict::{judge, End, Options, Verdict};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long Bochs may take to shut down after printing the summary.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How often the serial file is polled.
const POLL: Duration = Duration::from_millis(50);
/// Emulated instructions per emulated second: the guest's TSC and APIC timer
/// rate (see the module docs).
pub const IPS: u64 = 200_000_000;
/// The CPU model: it reports PCID and INVPCID in CPUID (QEMU's TCG has
/// neither).
pub const CPU_MODEL: &str = "corei7_haswell_4770";
/// The `clock:` synchronisation: none, so emulated time (the TSC among it)
/// follows the instruction count.
pub const CLOCK_SYNC: &str = "none";

/// The bochsrc for booting `iso` with COM1 written to `serial` and the log to `log`.
pub fn bochsrc(iso: &Path, serial: &Path, log: &Path) -> String {
    format!(
        "\
cpu: model={CPU_MODEL}, ips={IPS}, reset_on_triple_fault=0
memory: guest=128, host=128
ata0-master: type=cdrom, path=\"{}\", status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=\"{}\"
display_library: rfb, options=\"timeout=0\"
port_e9_hack: enabled=1
clock: sync={CLOCK_SYNC}, time0=local
log: \"{}\"
panic: action=fatal
error: action=report
sound: driver=dummy
",
        iso.display(),
        serial.display(),
        log.display()
    )
}

/// A private temporary directory, removed on drop unless kept.
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    fn new() -> io::Result<Self> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("bulkhead-bochs-{}-{nanos}", std::process::id());
        let path = std::env::temp_dir().join(name);
        fs::create_dir(&path)?;
        Ok(TempDir { path, keep: false })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Reads whatever the serial file gained since the last poll.
struct SerialTail {
    path: PathBuf,
    file: Option<File>,
    buffer: LineBuffer,
}

impl SerialTail {
    fn poll(&mut self) -> io::Result<Vec<String>> {
        if self.file.is_none() {
            self.file = File::open(&self.path).ok();
        }
        let mut bytes = Vec::new();
        if let Some(file) = &mut self.file {
            file.read_to_end(&mut bytes)?;
        }
        Ok(self.buffer.push(&bytes))
    }
}

/// Polls the serial file until Bochs exits, the summary's grace runs out, or
/// the timeout passes.
fn follow(
    child: &mut Child,
    tail: &mut SerialTail,
    timeout: Duration,
    sink: &mut Sink,
) -> io::Result<(Vec<String>, Option<End>)> {
    let start = Instant::now();
    let mut deadline = start + timeout;
    let mut lines = Vec::new();
    loop {
        let exited = child.try_wait()?;
        for line in tail.poll()? {
            sink.line(&line)?;
            // The grace starts at the run's final summary, not at a
            // suite's own on the way (containers may run long after it).
            if parse_final_summary(&line).is_some() {
                deadline = deadline.min(Instant::now() + SHUTDOWN_GRACE);
            }
            lines.push(line);
        }
        if let Some(status) = exited {
            lines.extend(tail.buffer.finish());
            return Ok((lines, end_without_line(status)));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            child.wait()?;
            let secs = start.elapsed().as_secs();
            return Ok((lines, Some(End::TimedOut { secs })));
        }
        thread::sleep(POLL);
    }
}

/// Bochs exiting is only a status once combined with the exit-code line.
fn end_without_line(status: std::process::ExitStatus) -> Option<End> {
    match end_of(status) {
        End::Exited { .. } => None,
        other => Some(other),
    }
}

/// Derives the run's [`End`] from the kernel's exit-code line.
pub fn bochs_end(lines: &[String]) -> End {
    match lines.iter().rev().find_map(|l| parse_exit_code(l)) {
        Some(value) => End::Exited {
            status: i32::try_from((u64::from(value) << 1) | 1).unwrap_or(i32::MAX),
        },
        None => End::NoStatus {
            detail: "bochs exited without a 'bulkhead: exit code' line".to_string(),
        },
    }
}

fn spawn(program: &Path, dir: &Path) -> io::Result<Child> {
    let console = File::create(dir.join("bochs-console.txt"))?;
    Command::new(program)
        .arg("-q")
        .arg("-f")
        .arg(dir.join("bochsrc"))
        .arg("-rc")
        .arg(dir.join("rc"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(console.try_clone()?)
        .stderr(console)
        .spawn()
}

fn prepare(dir: &Path, iso: &Path) -> io::Result<PathBuf> {
    let serial = dir.join("serial.txt");
    let iso = fs::canonicalize(iso)?;
    let rc = bochsrc(&iso, &serial, &dir.join("bochs.log"));
    fs::write(dir.join("bochsrc"), rc)?;
    fs::write(dir.join("rc"), "c\n")?;
    Ok(serial)
}

fn io_err(what: &'static str) -> impl Fn(io::Error) -> String {
    move |e| format!("{what}: {e}")
}

/// A finished Bochs boot: the serial lines, how it ended, and the files
/// it ran from.
pub struct Boot {
    pub lines: Vec<String>,
    pub end: End,
    dir: TempDir,
}

impl Boot {
    /// Keeps the bochsrc, serial file, Bochs log and console output for a
    /// post-mortem, and says where they are.
    pub fn keep_files(&mut self) {
        self.dir.keep = true;
        println!("runner: bochs files kept in {}", self.dir.path.display());
    }
}

/// Boots `iso` under Bochs, writing each serial line to `sink` as it
/// arrives, until Bochs exits by itself or `timeout` passes. The end comes
/// from the kernel's exit-code line (see the module docs).
pub fn boot(iso: &Path, timeout: Duration, sink: &mut Sink) -> Result<Boot, String> {
    let program = BOCHS.locate()?;
    if !iso.is_file() {
        return Err(format!("ISO not found: {}", iso.display()));
    }
    let dir = TempDir::new().map_err(io_err("creating a temp dir"))?;
    let serial = prepare(&dir.path, iso).map_err(io_err("writing bochsrc"))?;
    let mut child = spawn(&program, &dir.path).map_err(io_err("running bochs"))?;
    let mut tail = SerialTail {
        path: serial,
        file: None,
        buffer: LineBuffer::default(),
    };
    let (lines, end) = follow(&mut child, &mut tail, timeout, sink)
        .map_err(io_err("following the serial output"))?;
    let end = end.unwrap_or_else(|| bochs_end(&lines));
    Ok(Boot { lines, end, dir })
}

/// The judged Bochs run. Returns the verdict, already printed.
pub fn test(iso: &Path, judging: &Judging) -> Result<Verdict, String> {
    let mut sink = Sink::new(judging.log.as_deref()).map_err(io_err("creating the log"))?;
    let timeout = Duration::from_secs(judging.timeout_secs);
    let mut boot = boot(iso, timeout, &mut sink)?;
    let verdict = judge(
        &boot.lines,
        &boot.end,
        &Options {
            expect: judging.expect,
            require_pcid: judging.require_pcid,
        },
    );
    if !verdict.is_pass() {
        boot.keep_files();
    }
    sink.line(&format!("runner: {verdict}"))
        .map_err(io_err("writing the verdict"))?;
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bochsrc_has_the_required_lines() {
        let rc = bochsrc(Path::new("/b.iso"), Path::new("/t/s"), Path::new("/t/l"));
        for needle in [
            "cpu: model=corei7_haswell_4770, ips=200000000,",
            "clock: sync=none",
            "sound: driver=dummy",
            "ata0-master: type=cdrom, path=\"/b.iso\", status=inserted",
            "boot: cdrom",
            "memory: guest=128, host=128",
            "com1: enabled=1, mode=file, dev=\"/t/s\"",
            "display_library: rfb, options=\"timeout=0\"",
            "port_e9_hack: enabled=1",
        ] {
            assert!(rc.contains(needle), "missing {needle}");
        }
        assert!(!rc.contains("megs"));
    }

    #[test]
    fn exit_code_line_stands_in_for_the_status() {
        let lines = vec![
            "2 passed, 0 failed".to_string(),
            "bulkhead: exit code 0x10".into(),
        ];
        assert_eq!(bochs_end(&lines), End::Exited { status: 33 });
        let lines = vec!["bulkhead: exit code 0x11".to_string()];
        assert_eq!(bochs_end(&lines), End::Exited { status: 35 });
        assert!(matches!(bochs_end(&[]), End::NoStatus { .. }));
    }
}
