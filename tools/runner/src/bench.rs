//! `bulkhead-runner bench`: boots a benchmark ISO (`make bench`), collects
//! the guest's `bench:` and `bench-env:` lines, and prints and saves them.
//!
//! Under TCG QEMU runs with `-icount shift=0,sleep=off`, so the guest's
//! RDTSC counts executed instructions and every figure repeats exactly run
//! to run; under KVM there is no icount and the figures are real cycles.
//! With `--emulator bochs` the same ISO boots under Bochs through
//! [`bochs::boot`] (CPU model `corei7_haswell_4770`, which has PCID and
//! INVPCID): RDTSC then counts emulated instructions, and every output
//! labels the figures as emulator figures. Every output says which, and
//! which CPU features (PCID, INVPCID, SMEP, SMAP, XSAVE) the kernel ran
//! with.
//!
//! The run fails (exit 1) unless the emulator ends with the success status
//! (the root server writes it once the benchmarks exited with 0; under
//! Bochs the kernel's `bulkhead: exit code` line stands in for it), no
//! panic was printed, and [`bench_report::collect`] accepts the lines. Then
//! it prints the Markdown table and writes the JSON (and Markdown) files
//! asked for ([`outputs`]): both with the modes compared
//! ([`mode_report`]), and next to them one SVG chart per container
//! operation ([`mode_chart`]).

use crate::bench_report::{self, Host, Report};
use crate::bochs;
use crate::capture::{run_streaming, Sink};
use crate::cli::{Accel, Emulator, Machine};
use crate::program::QEMU;
use crate::protocol::PANIC_MARKER;
use crate::qemu::{qemu_args, Serial};
use crate::verdict::{End, FAILURE_STATUS, SUCCESS_STATUS};
use crate::{mode_chart, mode_report};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The `-cpu` model `qemu::qemu_args` passes (a unit test keeps them in
/// step).
pub const QEMU_CPU: &str = "max";

/// What `bench` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchOptions {
    pub iso: PathBuf,
    /// QEMU (with `accel`) or Bochs.
    pub emulator: Emulator,
    /// QEMU's accelerator; unused under Bochs.
    pub accel: Accel,
    /// QEMU's memory size; Bochs takes its bochsrc's 128 MiB.
    pub memory: String,
    pub timeout_secs: u64,
    /// Where to write the JSON results.
    pub json: Option<PathBuf>,
    /// Where to write the Markdown table.
    pub markdown: Option<PathBuf>,
    /// Where to copy the guest transcript.
    pub log: Option<PathBuf>,
}

impl BenchOptions {
    /// The machine to boot: icount exactly when the accelerator is TCG.
    pub fn machine(&self) -> Machine {
        Machine {
            iso: self.iso.clone(),
            memory: self.memory.clone(),
            accel: self.accel,
            icount: self.accel == Accel::Tcg,
            extra: Vec::new(),
        }
    }

    fn host(&self) -> Host {
        match self.emulator {
            Emulator::Qemu => Host::qemu(self.accel, QEMU_CPU),
            Emulator::Bochs => Host::bochs(),
        }
    }

    /// The first log line: how the emulator runs and what the figures are.
    fn banner(&self) -> String {
        let host = self.host();
        let how = match self.emulator {
            Emulator::Bochs => format!(
                "Bochs cpu: model={}, ips={}, clock: sync={}",
                bochs::CPU_MODEL,
                bochs::IPS,
                bochs::CLOCK_SYNC
            ),
            Emulator::Qemu if host.icount() => {
                format!(
                    "QEMU {} -icount {}",
                    self.accel.name(),
                    bench_report::ICOUNT
                )
            }
            Emulator::Qemu => format!("QEMU {}", self.accel.name()),
        };
        format!("runner: bench: {how}: {}", host.counter_note())
    }
}

/// Why the emulator's end is not a finished benchmark run, if it is not.
pub fn check_end(end: &End) -> Result<(), String> {
    match end {
        End::Exited {
            status: SUCCESS_STATUS,
        } => Ok(()),
        End::Exited {
            status: FAILURE_STATUS,
        } => Err("the guest reported failure: the benchmarks did not exit with 0".to_string()),
        End::Exited { status: 0 } => {
            Err("QEMU exit status 0: triple fault or reset before the benchmarks ended".to_string())
        }
        End::Exited { status } => Err(format!(
            "QEMU exit status {status} (guest exit value {:#x}), not the success status {SUCCESS_STATUS}",
            status >> 1
        )),
        End::NoStatus { detail } => Err(detail.clone()),
        End::TimedOut { secs } => Err(format!("no end after {secs} s (host timeout)")),
    }
}

/// Judges a finished run: the end status, no panic, then the lines.
pub fn evaluate<S: AsRef<str>>(lines: &[S], end: &End, host: &Host) -> Result<Report, String> {
    if let Some(panic) = lines.iter().find(|l| l.as_ref().contains(PANIC_MARKER)) {
        return Err(format!("the kernel panicked: {}", panic.as_ref().trim()));
    }
    check_end(end)?;
    bench_report::collect(lines, host)
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// What a finished run prints and writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Outputs {
    /// The Markdown report, the modes compared at its end.
    pub markdown: String,
    /// Files to write: the JSON, the Markdown, then the charts.
    pub files: Vec<(PathBuf, String)>,
    /// How many of the files are charts.
    pub charts: usize,
}

/// The outputs of a run: the Markdown report with the "Modes compared"
/// section, the JSON with its `"modes"` object, and one chart per container
/// operation next to the Markdown file (or else the JSON file; none
/// without either).
pub fn outputs(report: &Report, options: &BenchOptions) -> Outputs {
    let comparison = mode_report::compare(report);
    let anchor = options.markdown.as_deref().or(options.json.as_deref());
    let charts = match anchor {
        Some(path) => {
            let stem = path
                .file_stem()
                .map_or_else(|| "results".into(), |s| s.to_string_lossy());
            mode_chart::charts(&comparison, &stem)
        }
        None => Vec::new(),
    };
    let listed: Vec<(String, String)> = charts
        .iter()
        .map(|c| (c.op.clone(), c.file.clone()))
        .collect();
    let mut markdown = bench_report::to_markdown(report);
    markdown.push_str(&mode_report::to_markdown(&comparison, &listed));
    let mut files = Vec::new();
    if let Some(path) = &options.json {
        let modes = mode_report::to_json(&comparison);
        let json = bench_report::to_json_with(report, &[("modes", modes)]);
        files.push((path.clone(), json));
    }
    if let Some(path) = &options.markdown {
        files.push((path.clone(), markdown.clone()));
    }
    let dir = anchor.and_then(Path::parent).unwrap_or(Path::new(""));
    let count = charts.len();
    files.extend(charts.into_iter().map(|c| (dir.join(c.file), c.svg)));
    Outputs {
        markdown,
        files,
        charts: count,
    }
}

/// Boots the ISO under QEMU; returns the guest's lines and how QEMU ended.
fn boot_qemu(options: &BenchOptions, sink: &mut Sink) -> Result<(Vec<String>, End), String> {
    let program = QEMU.locate()?;
    let machine = options.machine();
    if !machine.iso.is_file() {
        return Err(format!("ISO not found: {}", machine.iso.display()));
    }
    let mut command = Command::new(&program);
    command.args(qemu_args(&machine, Serial::Stdio));
    let timeout = Duration::from_secs(options.timeout_secs);
    run_streaming(command, timeout, sink).map_err(|e| format!("running {}: {e}", program.display()))
}

/// Runs the benchmarks. Returns our exit code (0 pass, 1 fail); an `Err` is
/// an environment problem (exit 2).
pub fn run(options: &BenchOptions) -> Result<i32, String> {
    let mut sink = Sink::new(options.log.as_deref()).map_err(|e| {
        let path = options.log.as_deref().unwrap_or("?".as_ref());
        format!("cannot create log {}: {e}", path.display())
    })?;
    let host = options.host();
    sink.line(&options.banner())
        .map_err(|e| format!("writing the log: {e}"))?;
    let verdict = match options.emulator {
        Emulator::Qemu => {
            let (lines, end) = boot_qemu(options, &mut sink)?;
            evaluate(&lines, &end, &host)
        }
        Emulator::Bochs => {
            let timeout = Duration::from_secs(options.timeout_secs);
            let mut boot = bochs::boot(&options.iso, timeout, &mut sink)?;
            let verdict = evaluate(&boot.lines, &boot.end, &host);
            if verdict.is_err() {
                boot.keep_files();
            }
            verdict
        }
    };
    let report = match verdict {
        Ok(report) => report,
        Err(reason) => {
            sink.line(&format!("runner: FAIL: bench: {reason}"))
                .map_err(|e| format!("writing the verdict: {e}"))?;
            return Ok(1);
        }
    };
    let outputs = outputs(&report, options);
    println!("\n{}", outputs.markdown);
    for (path, text) in &outputs.files {
        write_file(path, text)?;
    }
    let mut written = Vec::new();
    if let Some(path) = &options.json {
        written.push(format!("JSON {}", path.display()));
    }
    if let Some(path) = &options.markdown {
        written.push(format!("Markdown {}", path.display()));
    }
    // The charts come last.
    if let Some((first, _)) = outputs.files.get(outputs.files.len() - outputs.charts) {
        let dir = first.parent().filter(|d| !d.as_os_str().is_empty());
        let dir = dir.map_or_else(|| ".".to_string(), |d| d.display().to_string());
        written.push(format!("{} SVG charts in {dir}", outputs.charts));
    }
    let saved = if written.is_empty() {
        String::new()
    } else {
        format!("; wrote {}", written.join(", "))
    };
    let what = match options.emulator {
        Emulator::Qemu => String::new(),
        Emulator::Bochs => " (Bochs emulator figures, not hardware cycles)".to_string(),
    };
    sink.line(&format!(
        "runner: PASS: bench: {} results in {}{what}{saved}",
        report.results.len(),
        host.counter_unit()
    ))
    .map_err(|e| format!("writing the verdict: {e}"))?;
    Ok(0)
}

#[cfg(test)]
mod tests;
