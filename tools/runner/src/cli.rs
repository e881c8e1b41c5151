//! Hand-written command-line parsing for the four subcommands.
//!
//! `test`, `run`, `bochs` and `bench` share one flag loop: flags are `--name VALUE`,
//! `--name=VALUE` or bare switches, and everything after `--` is passed to QEMU
//! untouched. Each subcommand lists the flags it accepts; anything else is a
//! usage error, reported as a message for `main` to print.

use crate::bench::{BenchOptions, ScalingBoot, SCALING_MEMORY};
use crate::verdict::Kind;
use std::collections::HashMap;
use std::path::PathBuf;

/// Usage text printed by `--help` and after usage errors.
pub const USAGE: &str = "\
usage:
  bulkhead-runner test  --iso PATH [--timeout SECS] [--memory SIZE] [--accel tcg|kvm]
                        [--icount] [--require-pcid] [--expect-failure REASON] [--log FILE]
                        [-- QEMU ARGS]
  bulkhead-runner run   --iso PATH [--memory SIZE] [--accel tcg|kvm] [--icount] [-- QEMU ARGS]
  bulkhead-runner bochs --iso PATH [--timeout SECS] [--require-pcid] [--expect-failure REASON]
                        [--log FILE]
  bulkhead-runner bench --iso PATH [--emulator qemu|bochs] [--accel tcg|kvm] [--timeout SECS]
                        [--memory SIZE] [--json FILE] [--markdown FILE] [--log FILE]
                        [--scaling-iso PATH [--scaling-memory SIZE]]

REASON is one of: failed-test, panic, triple-fault, timeout, missing-summary, exception,
no-pcid. --require-pcid fails the run unless the kernel's banner says 'PCID yes' and
'INVPCID yes'.
bench boots QEMU TCG with -icount shift=0,sleep=off (figures count instructions) or KVM
without icount (figures are cycles), or with --emulator bochs Bochs on corei7_haswell_4770
(PCID, INVPCID; figures are emulated instructions, labelled as emulator figures; no --accel
or --memory), prints a Markdown table and writes the files asked for. With --scaling-iso it
then boots that ISO the same way (QEMU with --scaling-memory, Bochs in 128 MiB; the same
timeout and log)
and adds its scaling.* results: a Scaling section, a \"scaling\" JSON object and a chart.
Defaults: --timeout 120, --memory 128M, --scaling-memory 2G, --accel tcg, --emulator qemu.
Environment: BULKHEAD_QEMU and BULKHEAD_BOCHS override the emulator binaries.
Exit codes: 0 pass, 1 fail, 2 usage or environment error.";

/// The QEMU accelerator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Tcg,
    Kvm,
}

impl Accel {
    /// The `-accel` argument.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }
}

/// The emulator `bench` boots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emulator {
    /// QEMU, with the accelerator `--accel` names.
    Qemu,
    /// Bochs with the runner's bochsrc (`crate::bochs`).
    Bochs,
}

/// What to boot and on what virtual machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    pub iso: PathBuf,
    pub memory: String,
    pub accel: Accel,
    pub icount: bool,
    pub extra: Vec<String>,
}

/// How a non-interactive run is judged and recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judging {
    pub timeout_secs: u64,
    pub expect: Option<Kind>,
    pub log: Option<PathBuf>,
    /// `--require-pcid`: the banner must report PCID and INVPCID in use.
    pub require_pcid: bool,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Test { machine: Machine, judging: Judging },
    Run { machine: Machine },
    Bochs { iso: PathBuf, judging: Judging },
    Bench(BenchOptions),
    Help,
}

/// Flags taking a value, per subcommand; switches are listed separately.
const TEST_FLAGS: &[&str] = &["iso", "timeout", "memory", "accel", "expect-failure", "log"];
const RUN_FLAGS: &[&str] = &["iso", "memory", "accel"];
const BOCHS_FLAGS: &[&str] = &["iso", "timeout", "expect-failure", "log"];
const BENCH_FLAGS: &[&str] = &[
    "iso",
    "emulator",
    "accel",
    "timeout",
    "memory",
    "json",
    "markdown",
    "log",
    "scaling-iso",
    "scaling-memory",
];
const TEST_SWITCHES: &[&str] = &["icount", "require-pcid"];
const RUN_SWITCHES: &[&str] = &["icount"];
const BOCHS_SWITCHES: &[&str] = &["require-pcid"];

/// Flags as given, before they are typed.
#[derive(Debug, Default)]
struct Raw {
    values: HashMap<String, String>,
    switches: Vec<String>,
    extra: Vec<String>,
}

impl Raw {
    fn take(&mut self, name: &str) -> Option<String> {
        self.values.remove(name)
    }

    fn switch(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }
}

fn split_flag(arg: &str) -> Result<(&str, Option<&str>), String> {
    let body = arg
        .strip_prefix("--")
        .ok_or_else(|| format!("unexpected argument '{arg}'"))?;
    Ok(match body.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (body, None),
    })
}

fn parse_raw(args: &[String], flags: &[&str], switches: &[&str]) -> Result<Raw, String> {
    let mut raw = Raw::default();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            raw.extra = iter.cloned().collect();
            break;
        }
        let (name, inline) = split_flag(arg)?;
        if switches.contains(&name) && inline.is_none() {
            raw.switches.push(name.to_string());
        } else if flags.contains(&name) {
            let value = match inline {
                Some(v) => v.to_string(),
                None => iter
                    .next()
                    .ok_or(format!("--{name} needs a value"))?
                    .clone(),
            };
            raw.values.insert(name.to_string(), value);
        } else {
            return Err(format!("unknown option '--{name}'"));
        }
    }
    Ok(raw)
}

fn parse_accel(value: Option<String>) -> Result<Accel, String> {
    match value.as_deref() {
        None | Some("tcg") => Ok(Accel::Tcg),
        Some("kvm") => Ok(Accel::Kvm),
        Some(other) => Err(format!("unknown accelerator '{other}' (tcg or kvm)")),
    }
}

fn parse_emulator(value: Option<String>) -> Result<Emulator, String> {
    match value.as_deref() {
        None | Some("qemu") => Ok(Emulator::Qemu),
        Some("bochs") => Ok(Emulator::Bochs),
        Some(other) => Err(format!("unknown emulator '{other}' (qemu or bochs)")),
    }
}

fn parse_timeout(value: Option<String>) -> Result<u64, String> {
    match value {
        None => Ok(120),
        Some(v) => match v.parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(secs),
            _ => Err(format!(
                "--timeout wants a positive number of seconds, not '{v}'"
            )),
        },
    }
}

fn take_iso(raw: &mut Raw) -> Result<PathBuf, String> {
    raw.take("iso")
        .map(PathBuf::from)
        .ok_or_else(|| "--iso PATH is required".to_string())
}

fn machine(raw: &mut Raw) -> Result<Machine, String> {
    let memory = raw.take("memory").unwrap_or_else(|| "128M".to_string());
    if memory.is_empty() {
        return Err("--memory needs a size such as 128M".to_string());
    }
    Ok(Machine {
        iso: take_iso(raw)?,
        memory,
        accel: parse_accel(raw.take("accel"))?,
        icount: raw.switch("icount"),
        extra: std::mem::take(&mut raw.extra),
    })
}

fn judging(raw: &mut Raw) -> Result<Judging, String> {
    Ok(Judging {
        timeout_secs: parse_timeout(raw.take("timeout"))?,
        expect: raw.take("expect-failure").map(|r| r.parse()).transpose()?,
        log: raw.take("log").map(PathBuf::from),
        require_pcid: raw.switch("require-pcid"),
    })
}

fn parse_bochs(mut raw: Raw) -> Result<Command, String> {
    if !raw.extra.is_empty() {
        return Err("bochs takes no extra emulator arguments".to_string());
    }
    Ok(Command::Bochs {
        iso: take_iso(&mut raw)?,
        judging: judging(&mut raw)?,
    })
}

fn parse_bench(mut raw: Raw) -> Result<Command, String> {
    if !raw.extra.is_empty() {
        return Err("bench takes no extra emulator arguments".to_string());
    }
    let emulator = parse_emulator(raw.take("emulator"))?;
    if emulator == Emulator::Bochs {
        for flag in ["accel", "memory"] {
            if raw.values.contains_key(flag) {
                return Err(format!(
                    "--{flag} is for QEMU; Bochs runs with the CPU and 128 MiB of its bochsrc"
                ));
            }
        }
        if raw.values.contains_key("scaling-memory") {
            return Err(
                "--scaling-memory is for QEMU; Bochs boots the scaling ISO in its bochsrc's 128 MiB"
                    .to_string(),
            );
        }
    }
    let memory = raw.take("memory").unwrap_or_else(|| "128M".to_string());
    if memory.is_empty() {
        return Err("--memory needs a size such as 128M".to_string());
    }
    let scaling_memory = raw.take("scaling-memory");
    let scaling = match (raw.take("scaling-iso"), scaling_memory) {
        (None, None) => None,
        (None, Some(_)) => return Err("--scaling-memory needs --scaling-iso".to_string()),
        (Some(_), Some(memory)) if memory.is_empty() => {
            return Err("--scaling-memory needs a size such as 2G".to_string())
        }
        (Some(iso), memory) => Some(ScalingBoot {
            iso: PathBuf::from(iso),
            memory: memory.unwrap_or_else(|| SCALING_MEMORY.to_string()),
        }),
    };
    Ok(Command::Bench(BenchOptions {
        iso: take_iso(&mut raw)?,
        emulator,
        accel: parse_accel(raw.take("accel"))?,
        memory,
        timeout_secs: parse_timeout(raw.take("timeout"))?,
        json: raw.take("json").map(PathBuf::from),
        markdown: raw.take("markdown").map(PathBuf::from),
        log: raw.take("log").map(PathBuf::from),
        scaling,
    }))
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((sub, rest)) = args.split_first() else {
        return Err("missing subcommand".to_string());
    };
    if rest.iter().any(|a| a == "-h" || a == "--help") && !rest.contains(&"--".to_string()) {
        return Ok(Command::Help);
    }
    match sub.as_str() {
        "test" => {
            let mut raw = parse_raw(rest, TEST_FLAGS, TEST_SWITCHES)?;
            let judging = judging(&mut raw)?;
            Ok(Command::Test {
                machine: machine(&mut raw)?,
                judging,
            })
        }
        "run" => {
            let mut raw = parse_raw(rest, RUN_FLAGS, RUN_SWITCHES)?;
            Ok(Command::Run {
                machine: machine(&mut raw)?,
            })
        }
        "bochs" => parse_bochs(parse_raw(rest, BOCHS_FLAGS, BOCHS_SWITCHES)?),
        "bench" => parse_bench(parse_raw(rest, BENCH_FLAGS, &[])?),
        "help" | "-h" | "--help" => Ok(Command::Help),
        other => Err(format!("unknown subcommand '{other}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn test_defaults() {
        let Command::Test { machine, judging } = parse(&args("test --iso b.iso")).unwrap() else {
            panic!("not a test command");
        };
        assert_eq!(machine.iso, PathBuf::from("b.iso"));
        assert_eq!(
            (machine.memory.as_str(), machine.accel),
            ("128M", Accel::Tcg)
        );
        assert!(!machine.icount && machine.extra.is_empty());
        assert_eq!(judging.timeout_secs, 120);
        assert_eq!((judging.expect, judging.log), (None, None));
        assert!(!judging.require_pcid);
    }

    #[test]
    fn test_all_flags() {
        let line = "test --iso=b.iso --timeout 5 --memory 256M --accel kvm --icount \
                    --require-pcid --expect-failure panic --log out.txt -- -smp 2";
        let Command::Test { machine, judging } = parse(&args(line)).unwrap() else {
            panic!("not a test command");
        };
        assert_eq!(
            (machine.memory.as_str(), machine.accel),
            ("256M", Accel::Kvm)
        );
        assert!(machine.icount);
        assert_eq!(machine.extra, args("-smp 2"));
        assert_eq!(judging.timeout_secs, 5);
        assert_eq!(judging.expect, Some(Kind::Panic));
        assert_eq!(judging.log, Some(PathBuf::from("out.txt")));
        assert!(judging.require_pcid);
    }

    #[test]
    fn errors() {
        assert!(parse(&args("")).is_err());
        assert!(parse(&args("test")).unwrap_err().contains("--iso"));
        assert!(parse(&args("test --iso a --timeout 0")).is_err());
        assert!(parse(&args("test --iso a --accel hvf")).is_err());
        assert!(parse(&args("test --iso a --expect-failure nope")).is_err());
        assert!(parse(&args("test --iso"))
            .unwrap_err()
            .contains("needs a value"));
        assert!(parse(&args("run --iso a --timeout 3")).is_err());
        assert!(parse(&args("bochs --iso a -- -x")).is_err());
        assert!(parse(&args("run --iso a --require-pcid")).is_err());
        assert!(parse(&args("bochs --iso a --require-pcid=yes")).is_err());
        assert!(parse(&args("frob")).is_err());
        assert!(parse(&args("test stray")).is_err());
    }

    #[test]
    fn run_bochs_and_help() {
        assert!(matches!(
            parse(&args("run --iso a -- -s")),
            Ok(Command::Run { .. })
        ));
        let line = "bochs --iso a --timeout 7 --require-pcid";
        let Command::Bochs { iso, judging } = parse(&args(line)).unwrap() else {
            panic!("not a bochs command");
        };
        assert_eq!((iso, judging.timeout_secs), (PathBuf::from("a"), 7));
        assert!(judging.require_pcid);
        assert_eq!(parse(&args("test --help")), Ok(Command::Help));
        assert_eq!(parse(&args("help")), Ok(Command::Help));
    }
}
