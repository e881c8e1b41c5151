//! `bulkhead-runner`: boots Bulkhead ISOs in QEMU or Bochs and judges the
//! result from the kernel's serial protocol and the emulator's exit status.
//!
//! `test` runs QEMU headless with a host timeout, streams the guest's lines,
//! and prints one `runner: PASS: ...` or `runner: FAIL: ...` verdict line; `run`
//! boots interactively; `bochs` runs the same judged test under Bochs; `bench`
//! boots a benchmark ISO (and with `--scaling-iso` the scaling benchmark's ISO
//! after it) and prints and saves the results. Exit codes: 0 pass, 1 fail, 2
//! usage or environment error.

#![forbid(unsafe_code)]

mod bench;
mod bench_report;
mod bochs;
mod capture;
mod cli;
mod mode_chart;
mod mode_report;
mod program;
mod protocol;
mod qemu;
mod scaling_chart;
mod scaling_report;
mod verdict;

use cli::Command;
use std::process::ExitCode;

/// Exit code for usage and environment errors.
const USAGE_ERROR: u8 = 2;

fn execute(command: Command) -> Result<i32, String> {
    match command {
        Command::Test { machine, judging } => Ok(qemu::test(&machine, &judging)?.exit_code()),
        Command::Run { machine } => qemu::run(&machine),
        Command::Bochs { iso, judging } => Ok(bochs::test(&iso, &judging)?.exit_code()),
        Command::Bench(options) => bench::run(&options),
        Command::Help => {
            println!("{}", cli::USAGE);
            Ok(0)
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("runner: {message}\n{}", cli::USAGE);
            return ExitCode::from(USAGE_ERROR);
        }
    };
    match execute(command) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(message) => {
            println!("runner: {message}");
            ExitCode::from(USAGE_ERROR)
        }
    }
}
