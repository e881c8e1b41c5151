//! `bulkhead-runner bench`: boots a benchmark ISO (`make bench`), collects
//! the guest's `bench:` and `bench-env:` lines, and prints and saves them.
//!
//! Under TCG QEMU runs with `-icount shift=0,sleep=off`, so the guest's
//! RDTSC counts executed instructions and every figure repeats exactly run
//! to run; under KVM there is no icount and the figures are real cycles.
//! Every output says which, and which CPU features (PCID, INVPCID, SMEP,
//! SMAP, XSAVE) the kernel ran with.
//!
//! The run fails (exit 1) unless QEMU exits with the success status (the
//! root server writes it once the benchmarks exited with 0), no panic was
//! printed, and [`bench_report::collect`] accepts the lines. Then it prints
//! the Markdown table and writes the JSON (and Markdown) files asked for.

use crate::bench_report::{self, Host, Report};
use crate::capture::{run_streaming, Sink};
use crate::cli::{Accel, Machine};
use crate::program::QEMU;
use crate::protocol::PANIC_MARKER;
use crate::qemu::{qemu_args, Serial};
use crate::verdict::{End, FAILURE_STATUS, SUCCESS_STATUS};
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
    pub accel: Accel,
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
        Host {
            accel: self.accel,
            qemu_cpu: QEMU_CPU.to_string(),
        }
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

/// Runs the benchmarks. Returns our exit code (0 pass, 1 fail); an `Err` is
/// an environment problem (exit 2).
pub fn run(options: &BenchOptions) -> Result<i32, String> {
    let program = QEMU.locate()?;
    let machine = options.machine();
    if !machine.iso.is_file() {
        return Err(format!("ISO not found: {}", machine.iso.display()));
    }
    let mut sink = Sink::new(options.log.as_deref()).map_err(|e| {
        let path = options.log.as_deref().unwrap_or("?".as_ref());
        format!("cannot create log {}: {e}", path.display())
    })?;
    let host = options.host();
    sink.line(&format!(
        "runner: bench: QEMU {}{}: {}",
        options.accel.name(),
        if host.icount() {
            format!(" -icount {}", bench_report::ICOUNT)
        } else {
            String::new()
        },
        host.counter_note()
    ))
    .map_err(|e| format!("writing the log: {e}"))?;
    let mut command = Command::new(&program);
    command.args(qemu_args(&machine, Serial::Stdio));
    let timeout = Duration::from_secs(options.timeout_secs);
    let (lines, end) = run_streaming(command, timeout, &mut sink)
        .map_err(|e| format!("running {}: {e}", program.display()))?;
    let report = match evaluate(&lines, &end, &host) {
        Ok(report) => report,
        Err(reason) => {
            sink.line(&format!("runner: FAIL: bench: {reason}"))
                .map_err(|e| format!("writing the verdict: {e}"))?;
            return Ok(1);
        }
    };
    let markdown = bench_report::to_markdown(&report);
    println!("\n{markdown}");
    let mut written = Vec::new();
    if let Some(path) = &options.json {
        write_file(path, &bench_report::to_json(&report))?;
        written.push(format!("JSON {}", path.display()));
    }
    if let Some(path) = &options.markdown {
        write_file(path, &markdown)?;
        written.push(format!("Markdown {}", path.display()));
    }
    let saved = if written.is_empty() {
        String::new()
    } else {
        format!("; wrote {}", written.join(", "))
    };
    sink.line(&format!(
        "runner: PASS: bench: {} results in {}{saved}",
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
