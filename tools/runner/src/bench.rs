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
//!
//! **Scaling.** With `--scaling-iso` (QEMU, or Bochs in its 128 MiB) a second boot follows a
//! main boot that passed: the scaling ISO (same kernel, N idle containers
//! kept alive by its root server) on the same accelerator, icount under TCG,
//! with `--scaling-memory` (default [`SCALING_MEMORY`]), the same timeout,
//! its transcript appended to the same log. [`judge_scaling`] judges it as
//! the main boot and takes only its `scaling.` results into the report (the
//! kernel's own lines it repeats are dropped); a `scaling.` name both boots
//! printed, CPU features (PCID, INVPCID, SMEP, SMAP, XSAVE) that differ
//! between them, or a scaling boot without `scaling.` results fail the run,
//! as any failure of that boot does (`runner: FAIL: bench: scaling boot:
//! ...`). The outputs then have a "Scaling" section, a `"scaling"` JSON
//! object ([`scaling_report`]) and a `scaling.svg` chart
//! ([`scaling_chart`]); they come from whatever `scaling.` results the
//! report holds, so a main ISO that prints them gets them too.

use crate::bench_report::{self, Host, Report};
use crate::bochs;
use crate::capture::{run_streaming, Sink};
use crate::cli::{Accel, Emulator, Machine};
use crate::program::QEMU;
use crate::protocol::PANIC_MARKER;
use crate::qemu::{qemu_args, Serial};
use crate::verdict::{End, FAILURE_STATUS, SUCCESS_STATUS};
use crate::{mode_chart, mode_report, scaling_chart, scaling_report};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The `-cpu` model `qemu::qemu_args` passes (a unit test keeps them in
/// step).
pub const QEMU_CPU: &str = "max";
/// QEMU's memory size for the scaling boot unless `--scaling-memory` says.
pub const SCALING_MEMORY: &str = "2G";

/// The second boot `--scaling-iso` asks for (QEMU only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalingBoot {
    pub iso: PathBuf,
    /// QEMU's memory size for it: room for a thousand containers.
    pub memory: String,
}

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
    /// Where to copy the guest transcript (both boots).
    pub log: Option<PathBuf>,
    /// The scaling benchmark's boot, after the main one.
    pub scaling: Option<ScalingBoot>,
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

    /// The scaling boot's machine: the main one with its ISO and memory.
    pub fn scaling_machine(&self, boot: &ScalingBoot) -> Machine {
        Machine {
            iso: boot.iso.clone(),
            memory: boot.memory.clone(),
            ..self.machine()
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
    let report = bench_report::collect(lines, host)?;
    scaling_report::collect(&report)?;
    Ok(report)
}

/// Judges the scaling boot like the main one ([`evaluate`]) and merges its
/// `scaling.` results into the main report
/// ([`scaling_report::merge`]: same CPU features, no name twice).
pub fn judge_scaling<S: AsRef<str>>(
    mut main: Report,
    lines: &[S],
    end: &End,
    host: &Host,
) -> Result<Report, String> {
    let judged = evaluate(lines, end, host).and_then(|boot| scaling_report::merge(&mut main, boot));
    judged.map_err(|reason| format!("scaling boot: {reason}"))?;
    Ok(main)
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
    /// The Markdown report, the modes compared and the scaling after it.
    pub markdown: String,
    /// Files to write: the JSON, the Markdown, then the charts.
    pub files: Vec<(PathBuf, String)>,
    /// How many of the files are charts.
    pub charts: usize,
}

/// The outputs of a run: the Markdown report with the "Modes compared"
/// and "Scaling" sections, the JSON with its `"modes"` and `"scaling"`
/// objects, and one chart per container operation and one of the scaling
/// next to the Markdown file (or else the JSON file; none without either).
/// The scaling parts are left out without `scaling.` results (and when
/// they do not parse, which [`evaluate`] catches first).
pub fn outputs(report: &Report, options: &BenchOptions) -> Outputs {
    let comparison = mode_report::compare(report);
    let scaling = scaling_report::collect(report).ok().flatten();
    let anchor = options.markdown.as_deref().or(options.json.as_deref());
    let stem = anchor.map(|path| {
        path.file_stem()
            .map_or_else(|| "results".into(), |s| s.to_string_lossy())
    });
    let charts = match &stem {
        Some(stem) => mode_chart::charts(&comparison, stem),
        None => Vec::new(),
    };
    let listed: Vec<(String, String)> = charts
        .iter()
        .map(|c| (c.op.clone(), c.file.clone()))
        .collect();
    let mut charts: Vec<(String, String)> = charts.into_iter().map(|c| (c.file, c.svg)).collect();
    let mut markdown = bench_report::to_markdown(report);
    markdown.push_str(&mode_report::to_markdown(&comparison, &listed));
    let mut extra = vec![("modes", mode_report::to_json(&comparison))];
    if let Some(scaling) = &scaling {
        let chart = stem
            .filter(|_| !scaling.rows.is_empty())
            .map(|stem| (scaling_chart::file_name(&stem), scaling_chart::svg(scaling)));
        let file = chart.as_ref().map(|(file, _)| file.as_str());
        markdown.push_str(&scaling_report::to_markdown(scaling, file));
        extra.push(("scaling", scaling_report::to_json(scaling)));
        charts.extend(chart);
    }
    let mut files = Vec::new();
    if let Some(path) = &options.json {
        files.push((path.clone(), bench_report::to_json_with(report, &extra)));
    }
    if let Some(path) = &options.markdown {
        files.push((path.clone(), markdown.clone()));
    }
    let dir = anchor.and_then(Path::parent).unwrap_or(Path::new(""));
    let count = charts.len();
    files.extend(charts.into_iter().map(|(file, svg)| (dir.join(file), svg)));
    Outputs {
        markdown,
        files,
        charts: count,
    }
}

/// Boots `machine` under QEMU; returns the guest's lines and how QEMU
/// ended.
fn boot_qemu(
    machine: &Machine,
    timeout_secs: u64,
    sink: &mut Sink,
) -> Result<(Vec<String>, End), String> {
    let program = QEMU.locate()?;
    if !machine.iso.is_file() {
        return Err(format!("ISO not found: {}", machine.iso.display()));
    }
    let mut command = Command::new(&program);
    command.args(qemu_args(machine, Serial::Stdio));
    let timeout = Duration::from_secs(timeout_secs);
    run_streaming(command, timeout, sink).map_err(|e| format!("running {}: {e}", program.display()))
}

/// Boots the main ISO and judges it: `Ok(Err(reason))` is a failed run.
fn main_boot(
    options: &BenchOptions,
    host: &Host,
    sink: &mut Sink,
) -> Result<Result<Report, String>, String> {
    Ok(match options.emulator {
        Emulator::Qemu => {
            let (lines, end) = boot_qemu(&options.machine(), options.timeout_secs, sink)?;
            evaluate(&lines, &end, host)
        }
        Emulator::Bochs => {
            let timeout = Duration::from_secs(options.timeout_secs);
            let mut boot = bochs::boot(&options.iso, timeout, sink)?;
            let verdict = evaluate(&boot.lines, &boot.end, host);
            if verdict.is_err() {
                boot.keep_files();
            }
            verdict
        }
    })
}

/// Boots the scaling ISO after the main boot gave `main`, judges it and
/// merges its results ([`judge_scaling`]): `Ok(Err(reason))` is a failed
/// run.
fn scaling_boot(
    options: &BenchOptions,
    boot: &ScalingBoot,
    main: Report,
    sink: &mut Sink,
) -> Result<Result<Report, String>, String> {
    let machine = options.scaling_machine(boot);
    let memory = match options.emulator {
        Emulator::Qemu => machine.memory.as_str(),
        Emulator::Bochs => "128M (bochsrc)",
    };
    sink.line(&format!(
        "runner: bench: scaling boot of {} with {memory} of memory",
        machine.iso.display(),
    ))
    .map_err(|e| format!("writing the log: {e}"))?;
    let host = main.host.clone();
    Ok(match options.emulator {
        Emulator::Qemu => {
            let (lines, end) = boot_qemu(&machine, options.timeout_secs, sink)?;
            judge_scaling(main, &lines, &end, &host)
        }
        Emulator::Bochs => {
            let timeout = Duration::from_secs(options.timeout_secs);
            let mut run = bochs::boot(&boot.iso, timeout, sink)?;
            let verdict = judge_scaling(main, &run.lines, &run.end, &host);
            if verdict.is_err() {
                run.keep_files();
            }
            verdict
        }
    })
}

/// Runs the benchmarks. Returns our exit code (0 pass, 1 fail); an `Err` is
/// an environment problem (exit 2).
pub fn run(options: &BenchOptions) -> Result<i32, String> {
    if let Some(boot) = &options.scaling {
        // Before the main boot, which takes minutes.
        if !boot.iso.is_file() {
            return Err(format!("scaling ISO not found: {}", boot.iso.display()));
        }
    }
    let mut sink = Sink::new(options.log.as_deref()).map_err(|e| {
        let path = options.log.as_deref().unwrap_or("?".as_ref());
        format!("cannot create log {}: {e}", path.display())
    })?;
    let host = options.host();
    sink.line(&options.banner())
        .map_err(|e| format!("writing the log: {e}"))?;
    let mut verdict = main_boot(options, &host, &mut sink)?;
    if let (Ok(main), Some(boot)) = (&verdict, &options.scaling) {
        verdict = scaling_boot(options, boot, main.clone(), &mut sink)?;
    }
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
    let scaling = match options.scaling {
        Some(_) => {
            let count = report
                .results
                .iter()
                .filter(|r| r.name.starts_with(scaling_report::PREFIX));
            format!(" ({} from the scaling boot)", count.count())
        }
        None => String::new(),
    };
    sink.line(&format!(
        "runner: PASS: bench: {} results{scaling} in {}{what}{saved}",
        report.results.len(),
        host.counter_unit()
    ))
    .map_err(|e| format!("writing the verdict: {e}"))?;
    Ok(0)
}

#[cfg(test)]
mod tests;
