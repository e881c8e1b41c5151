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
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn options(accel: Accel) -> BenchOptions {
        BenchOptions {
            iso: "b.iso".into(),
            emulator: Emulator::Qemu,
            accel,
            memory: "128M".into(),
            timeout_secs: 60,
            json: None,
            markdown: None,
            log: None,
        }
    }

    fn joined(args: &[OsString]) -> String {
        let strings: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
        strings.join(" ")
    }

    #[test]
    fn tcg_runs_with_icount_and_kvm_without() {
        let tcg = joined(&qemu_args(&options(Accel::Tcg).machine(), Serial::Stdio));
        assert!(tcg.contains(&format!("-cpu {QEMU_CPU} ")));
        assert!(tcg.ends_with("-accel tcg -icount shift=0,sleep=off"));
        let kvm = joined(&qemu_args(&options(Accel::Kvm).machine(), Serial::Stdio));
        assert!(kvm.ends_with("-accel kvm"));
        assert!(options(Accel::Kvm)
            .host()
            .counter_note()
            .contains("real CPU cycles"));
    }

    #[test]
    fn bochs_runs_its_own_model_and_says_so() {
        let bochs = BenchOptions {
            emulator: Emulator::Bochs,
            ..options(Accel::Tcg)
        };
        assert_eq!(bochs.host(), Host::bochs());
        let banner = bochs.banner();
        assert!(banner.starts_with(
            "runner: bench: Bochs cpu: model=corei7_haswell_4770, ips=200000000, \
             clock: sync=none: emulator figures, not hardware cycles"
        ));
        assert!(options(Accel::Tcg)
            .banner()
            .starts_with("runner: bench: QEMU tcg -icount shift=0,sleep=off: RDTSC"));
        assert!(options(Accel::Kvm)
            .banner()
            .starts_with("runner: bench: QEMU kvm: RDTSC"));
        // The Bochs end comes from the exit-code line, then the lines count.
        let lines = [
            "bench-env: accelerator none",
            "bench: cr3.load.noflush 1 cycles",
            "bulkhead: exit code 0x11",
        ];
        let owned: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        let end = bochs::bochs_end(&owned);
        assert!(evaluate(&lines, &end, &bochs.host())
            .unwrap_err()
            .contains("did not exit with 0"));
    }

    #[test]
    fn only_the_success_status_ends_a_run_well() {
        assert_eq!(
            check_end(&End::Exited {
                status: SUCCESS_STATUS
            }),
            Ok(())
        );
        let failure = check_end(&End::Exited {
            status: FAILURE_STATUS,
        });
        assert!(failure.unwrap_err().contains("did not exit with 0"));
        assert!(check_end(&End::Exited { status: 0 })
            .unwrap_err()
            .contains("triple fault"));
        assert!(check_end(&End::Exited { status: 1 }).is_err());
        assert!(check_end(&End::TimedOut { secs: 9 })
            .unwrap_err()
            .contains("9 s"));
        let killed = End::NoStatus {
            detail: "killed".into(),
        };
        assert_eq!(check_end(&killed), Err("killed".to_string()));
    }

    #[test]
    fn evaluate_checks_panics_then_status_then_lines() {
        let host = options(Accel::Tcg).host();
        let ok = End::Exited {
            status: SUCCESS_STATUS,
        };
        let panicked = ["bench-env: pcid no", "KERNEL PANIC: oops"];
        assert!(evaluate(&panicked, &ok, &host)
            .unwrap_err()
            .contains("panicked"));
        let timeout = End::TimedOut { secs: 1 };
        assert!(evaluate(&["x"], &timeout, &host)
            .unwrap_err()
            .contains("timeout"));
        assert!(evaluate(&["x"], &ok, &host)
            .unwrap_err()
            .contains("no 'bench:'"));
    }

    fn parse(line: &str) -> Result<crate::cli::Command, String> {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        crate::cli::parse(&args)
    }

    #[test]
    fn command_line() {
        let Ok(crate::cli::Command::Bench(parsed)) = parse("bench --iso b.iso --timeout 60") else {
            panic!("not a bench command");
        };
        assert_eq!(parsed, options(Accel::Tcg));
        let line = "bench --iso=b.iso --accel kvm --memory 256M --timeout 9 \
                    --json out/r.json --markdown out/r.md --log out/b.log";
        let Ok(crate::cli::Command::Bench(parsed)) = parse(line) else {
            panic!("not a bench command");
        };
        assert_eq!((parsed.accel, parsed.memory.as_str()), (Accel::Kvm, "256M"));
        assert_eq!(parsed.timeout_secs, 9);
        assert_eq!(parsed.json, Some(PathBuf::from("out/r.json")));
        assert_eq!(parsed.markdown, Some(PathBuf::from("out/r.md")));
        assert_eq!(parsed.log, Some(PathBuf::from("out/b.log")));
        assert!(parse("bench").unwrap_err().contains("--iso"));
        assert!(parse("bench --iso a --icount").is_err());
        assert!(parse("bench --iso a --accel hvf").is_err());
        assert!(parse("bench --iso a -- -smp 2").is_err());
        assert_eq!(parsed.emulator, Emulator::Qemu);
        let Ok(crate::cli::Command::Bench(parsed)) =
            parse("bench --iso b.iso --emulator bochs --timeout 60")
        else {
            panic!("not a bench command");
        };
        assert_eq!(
            parsed,
            BenchOptions {
                emulator: Emulator::Bochs,
                ..options(Accel::Tcg)
            }
        );
        assert!(parse("bench --iso a --emulator=qemu --accel kvm").is_ok());
        assert!(parse("bench --iso a --emulator bochs --accel kvm")
            .unwrap_err()
            .contains("--accel is for QEMU"));
        assert!(parse("bench --iso a --emulator bochs --memory 256M")
            .unwrap_err()
            .contains("--memory is for QEMU"));
        assert!(parse("bench --iso a --emulator vbox")
            .unwrap_err()
            .contains("qemu or bochs"));
    }

    /// Brackets paired outside strings, strings closed: enough to catch a
    /// missing comma-level mistake in the hand-written JSON.
    fn assert_json_balanced(json: &str) {
        let mut open = Vec::new();
        let (mut in_string, mut escaped) = (false, false);
        for c in json.chars() {
            match (in_string, escaped, c) {
                (true, true, _) => escaped = false,
                (true, false, '\\') => escaped = true,
                (true, false, '"') | (false, _, '"') => in_string = !in_string,
                (false, _, '{' | '[') => open.push(c),
                (false, _, '}') => assert_eq!(open.pop(), Some('{')),
                (false, _, ']') => assert_eq!(open.pop(), Some('[')),
                _ => {}
            }
        }
        assert!(!in_string && open.is_empty());
    }

    #[test]
    fn outputs_add_the_modes_and_the_charts() {
        use crate::bench_report::Engine;
        use crate::mode_report::tests::{getpid, report};
        let report = report(Engine::Tcg, getpid());
        let both = BenchOptions {
            json: Some("out/r.json".into()),
            markdown: Some("out/r.md".into()),
            ..options(Accel::Tcg)
        };
        let out = outputs(&report, &both);
        let paths: Vec<&Path> = out.files.iter().map(|(p, _)| p.as_path()).collect();
        assert_eq!(
            paths,
            ["out/r.json", "out/r.md", "out/r-mode-getpid.svg"].map(Path::new)
        );
        assert_eq!(out.charts, 1);
        // "results" and "env" as before, then "modes".
        let plain = bench_report::to_json(&report);
        let json = &out.files[0].1;
        let kept = plain.strip_suffix("\n}\n").unwrap();
        assert!(json.starts_with(kept));
        assert!(json[kept.len()..].starts_with(",\n  \"modes\": {\n    \"baseline\": \"direct\","));
        assert!(json.ends_with("\n  }\n}\n"));
        assert_json_balanced(json);
        assert_json_balanced(&plain);
        assert_eq!(out.files[1].1, out.markdown);
        assert!(out
            .markdown
            .starts_with(&bench_report::to_markdown(&report)));
        assert!(out.markdown.contains("\n## Modes compared\n"));
        assert!(out
            .markdown
            .ends_with("- getpid: [r-mode-getpid.svg](r-mode-getpid.svg)\n"));
        assert!(out.files[2].1.starts_with("<?xml"));
        let json_only = BenchOptions {
            json: Some("results.json".into()),
            ..options(Accel::Tcg)
        };
        let out = outputs(&report, &json_only);
        let paths: Vec<&Path> = out.files.iter().map(|(p, _)| p.as_path()).collect();
        assert_eq!(paths, ["results.json", "mode-getpid.svg"].map(Path::new));
        let neither = outputs(&report, &options(Accel::Tcg));
        assert!(neither.files.is_empty() && neither.charts == 0);
        assert!(neither.markdown.contains("None written"));
    }

    #[test]
    fn files_are_written_with_their_directories() {
        let dir = std::env::temp_dir().join(format!("bulkhead-bench-test-{}", std::process::id()));
        let path = dir.join("sub/results.json");
        write_file(&path, "{}\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{}\n");
        fs::remove_dir_all(&dir).unwrap();
    }
}
