//! Tests of `bench`: the machine and banner per emulator, judging the
//! end and the lines, the command line, and the outputs and files.

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
