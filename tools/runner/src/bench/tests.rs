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
        scaling: None,
    }
}

/// The outputs of `report` with JSON and Markdown asked for, under `out/`.
fn outputs_to_out(report: &crate::bench_report::Report) -> Outputs {
    let both = BenchOptions {
        json: Some("out/r.json".into()),
        markdown: Some("out/r.md".into()),
        ..options(Accel::Tcg)
    };
    outputs(report, &both)
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
    let out = outputs_to_out(&report);
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

#[test]
fn scaling_command_line() {
    let line = "bench --iso b.iso --timeout 60 --scaling-iso s.iso";
    let Ok(crate::cli::Command::Bench(parsed)) = parse(line) else {
        panic!("not a bench command");
    };
    let boot = ScalingBoot {
        iso: "s.iso".into(),
        memory: "2G".into(),
    };
    assert_eq!(
        parsed,
        BenchOptions {
            scaling: Some(boot.clone()),
            ..options(Accel::Tcg)
        }
    );
    let machine = parsed.scaling_machine(&boot);
    let main = parsed.machine();
    assert_eq!(
        (machine.iso.as_path(), machine.memory.as_str()),
        (Path::new("s.iso"), "2G")
    );
    assert_eq!((machine.accel, machine.icount), (main.accel, main.icount));
    let line = "bench --iso b.iso --accel kvm --scaling-iso=s.iso --scaling-memory 4G";
    let Ok(crate::cli::Command::Bench(parsed)) = parse(line) else {
        panic!("not a bench command");
    };
    let machine = parsed.scaling_machine(parsed.scaling.as_ref().unwrap());
    assert_eq!(
        (machine.memory.as_str(), machine.accel, machine.icount),
        ("4G", Accel::Kvm, false)
    );
    assert!(parse("bench --iso b.iso --scaling-memory 4G")
        .unwrap_err()
        .contains("--scaling-memory needs --scaling-iso"));
    assert!(
        parse("bench --iso b.iso --scaling-iso s.iso --scaling-memory=")
            .unwrap_err()
            .contains("needs a size")
    );
    assert!(parse("bench --iso b.iso --scaling-iso")
        .unwrap_err()
        .contains("needs a value"));
    assert!(parse("bench --iso b.iso --emulator bochs --scaling-iso s.iso").is_ok());
    assert!(
        parse("bench --iso b.iso --emulator bochs --scaling-iso s.iso --scaling-memory 2G")
            .unwrap_err()
            .contains("--scaling-memory is for QEMU")
    );
    assert!(crate::cli::USAGE.contains("[--scaling-iso PATH [--scaling-memory SIZE]]"));
}

/// A transcript of one boot: the environment lines (PCID `pcid`), the
/// kernel's own line, then `extra`.
fn boot_lines(pcid: &str, extra: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> = [
        "bench-env: accelerator tcg",
        "bench-env: cpu.model QEMU TCG CPU version 2.5+",
        "bench-env: invpcid no",
        "bench-env: smep yes",
        "bench-env: smap yes",
        "bench-env: xsave yes",
        "bench: cr3.load.flush 1 instructions (mov cr3)",
    ]
    .iter()
    .map(|l| l.to_string())
    .collect();
    lines.push(format!("bench-env: pcid {pcid}"));
    lines.extend(extra.iter().map(|l| l.to_string()));
    lines
}

#[test]
fn the_scaling_boot_is_judged_and_merged() {
    let host = options(Accel::Tcg).host();
    let ok = End::Exited {
        status: SUCCESS_STATUS,
    };
    let main_lines = boot_lines("no", &["bench: syscall.null.native 213 instructions"]);
    let main = evaluate(&main_lines, &ok, &host).unwrap();
    let scaling_lines = boot_lines(
        "no",
        &[
            "bench: scaling.pcids 0 pcids (none)",
            "[bench] bench: scaling.n10.getpid.ipc 695 instructions (ipc)",
        ],
    );
    let merged = judge_scaling(main.clone(), &scaling_lines, &ok, &host).unwrap();
    let names: Vec<&str> = merged.results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "cr3.load.flush",
            "syscall.null.native",
            "scaling.pcids",
            "scaling.n10.getpid.ipc"
        ]
    );
    assert_eq!(merged.env, main.env);
    let fail = |lines: &[String], end: &End| judge_scaling(main.clone(), lines, end, &host);
    let reason = fail(&scaling_lines, &End::TimedOut { secs: 60 }).unwrap_err();
    assert_eq!(reason, "scaling boot: no end after 60 s (host timeout)");
    let mut panicked = scaling_lines.clone();
    panicked.push("KERNEL PANIC: out of frames".to_string());
    assert!(fail(&panicked, &ok)
        .unwrap_err()
        .starts_with("scaling boot: the kernel panicked"));
    let pcid = boot_lines("yes", &["bench: scaling.n1.getpid.ipc 1 instructions"]);
    assert_eq!(
        fail(&pcid, &ok).unwrap_err(),
        "scaling boot: the CPU features differ: PCID yes in the scaling boot, no in the main boot"
    );
    let without_env: Vec<String> = scaling_lines
        .iter()
        .filter(|l| !l.contains("smap"))
        .cloned()
        .collect();
    assert!(fail(&without_env, &ok)
        .unwrap_err()
        .starts_with("scaling boot: no 'bench-env: smap' line"));
    let bad_n = boot_lines("no", &["bench: scaling.nX.getpid.ipc 1 instructions"]);
    assert!(fail(&bad_n, &ok)
        .unwrap_err()
        .contains("'nX' is not n followed by a number"));
    let main_bad_n = boot_lines("no", &["bench: scaling.n1x.address_spaces 3 spaces"]);
    assert!(evaluate(&main_bad_n, &ok, &host).is_err());
    let kernel_only = boot_lines("no", &[]);
    assert!(fail(&kernel_only, &ok)
        .unwrap_err()
        .contains("no 'bench: scaling."));
    let twice = evaluate(&scaling_lines, &ok, &host).unwrap();
    let reason = judge_scaling(twice, &scaling_lines, &ok, &host).unwrap_err();
    assert_eq!(
        reason,
        "scaling boot: 'scaling.pcids' reported by both boots"
    );
}

#[test]
fn outputs_add_the_scaling() {
    use crate::bench_report::Engine;
    use crate::mode_report::tests::{getpid, report};
    use crate::scaling_report::tests::scaling_records;
    let mut records = getpid();
    records.extend(scaling_records("256").into_iter().skip(1));
    let report = report(Engine::Tcg, records);
    let out = outputs_to_out(&report);
    let paths: Vec<&Path> = out.files.iter().map(|(p, _)| p.as_path()).collect();
    assert_eq!(
        paths,
        [
            "out/r.json",
            "out/r.md",
            "out/r-mode-getpid.svg",
            "out/r-scaling.svg"
        ]
        .map(Path::new)
    );
    assert_eq!(out.charts, 2);
    let json = &out.files[0].1;
    assert!(json.contains("\n  },\n  \"modes\": {\n"));
    assert!(json.contains("\n  },\n  \"scaling\": {\n    \"pcids\": 256,\n"));
    assert!(json.ends_with("\n    ]\n  }\n}\n"));
    assert_json_balanced(json);
    let modes = out.markdown.find("\n## Modes compared\n").unwrap();
    let scaling = out.markdown.find("\n## Scaling\n").unwrap();
    assert!(modes < scaling);
    assert!(out
        .markdown
        .ends_with("\nChart: [r-scaling.svg](r-scaling.svg)\n"));
    assert!(out.files[3].1.contains("<title>Scaling: getpid (ipc)"));
    let json_only = BenchOptions {
        json: Some("results.json".into()),
        ..options(Accel::Tcg)
    };
    let out = outputs(&report, &json_only);
    assert_eq!(out.files.last().unwrap().0, Path::new("scaling.svg"));
    let neither = outputs(&report, &options(Accel::Tcg));
    assert!(neither.files.is_empty() && neither.charts == 0);
    assert!(neither
        .markdown
        .ends_with("(no --markdown or --json path to put it next to).\n"));
    // Without scaling results: no section, no object, no chart.
    let plain = outputs_to_out(&crate::mode_report::tests::report(Engine::Tcg, getpid()));
    assert!(!plain.markdown.contains("## Scaling") && plain.charts == 1);
    assert!(!plain.files[0].1.contains("\"scaling\""));
}
