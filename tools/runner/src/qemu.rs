//! Driving QEMU: the argument builder shared by `test` and `run`, the judged
//! `test` run with a host timeout, and the interactive `run`.
//!
//! The machine is always q35 with `-cpu max`, `-no-reboot` (so a triple fault
//! ends QEMU with status 0) and the `isa-debug-exit` device at port 0xf4 (so
//! the guest's exit value v becomes status `(v << 1) | 1`).

use crate::capture::{run_streaming, Sink};
use crate::cli::{Judging, Machine};
use crate::program::QEMU;
use crate::verdict::{judge, Options, Verdict, SUCCESS_STATUS};
use std::ffi::OsString;
use std::io;
use std::process::Command;
use std::time::Duration;

/// Where the guest's COM1 goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serial {
    /// `-serial stdio`: captured and judged.
    Stdio,
    /// `-serial mon:stdio`: interactive, with the QEMU monitor on Ctrl-A c.
    MonStdio,
}

/// The isa-debug-exit device the kernel writes its exit value to.
pub const DEBUG_EXIT_DEVICE: &str = "isa-debug-exit,iobase=0xf4,iosize=0x04";

/// Builds QEMU's arguments for booting `machine`.
pub fn qemu_args(machine: &Machine, serial: Serial) -> Vec<OsString> {
    let serial = match serial {
        Serial::Stdio => "stdio",
        Serial::MonStdio => "mon:stdio",
    };
    let mut args: Vec<OsString> = [
        "-machine",
        "q35",
        "-cpu",
        "max",
        "-m",
        &machine.memory,
        "-serial",
        serial,
        "-display",
        "none",
        "-no-reboot",
        "-device",
        DEBUG_EXIT_DEVICE,
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push("-cdrom".into());
    args.push(machine.iso.clone().into_os_string());
    args.extend(["-boot", "d", "-accel", machine.accel.name()].map(OsString::from));
    if machine.icount {
        args.extend(["-icount", "shift=0,sleep=off"].map(OsString::from));
    }
    args.extend(machine.extra.iter().map(OsString::from));
    args
}

fn check_iso(machine: &Machine) -> Result<(), String> {
    if machine.iso.is_file() {
        Ok(())
    } else {
        Err(format!("ISO not found: {}", machine.iso.display()))
    }
}

/// The judged `test` run. Returns the verdict, already printed.
pub fn test(machine: &Machine, judging: &Judging) -> Result<Verdict, String> {
    let program = QEMU.locate()?;
    check_iso(machine)?;
    let mut sink = Sink::new(judging.log.as_deref()).map_err(|e| log_error(judging, e))?;
    let mut command = Command::new(&program);
    command.args(qemu_args(machine, Serial::Stdio));
    let timeout = Duration::from_secs(judging.timeout_secs);
    let (lines, end) = run_streaming(command, timeout, &mut sink)
        .map_err(|e| format!("running {}: {e}", program.display()))?;
    let options = Options {
        expect: judging.expect,
        require_pcid: judging.require_pcid,
    };
    let verdict = judge(&lines, &end, &options);
    sink.line(&format!("runner: {verdict}"))
        .map_err(|e| format!("writing the verdict: {e}"))?;
    Ok(verdict)
}

fn log_error(judging: &Judging, error: io::Error) -> String {
    let path = judging.log.as_deref().unwrap_or("?".as_ref());
    format!("cannot create log {}: {error}", path.display())
}

/// The interactive `run`: QEMU inherits our terminal. Returns our exit code.
pub fn run(machine: &Machine) -> Result<i32, String> {
    let program = QEMU.locate()?;
    check_iso(machine)?;
    let status = Command::new(&program)
        .args(qemu_args(machine, Serial::MonStdio))
        .status()
        .map_err(|e| format!("running {}: {e}", program.display()))?;
    match status.code() {
        Some(SUCCESS_STATUS) => Ok(0),
        Some(0) => {
            println!("runner: QEMU exit status 0: triple fault, reset, or quit from the monitor");
            Ok(1)
        }
        Some(code) => {
            println!(
                "runner: QEMU exit status {code} (guest exit value {:#x})",
                code >> 1
            );
            Ok(1)
        }
        None => {
            println!("runner: QEMU ended without an exit status ({status})");
            Ok(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Accel;

    fn machine() -> Machine {
        Machine {
            iso: "out/bulkhead.iso".into(),
            memory: "128M".into(),
            accel: Accel::Tcg,
            icount: false,
            extra: Vec::new(),
        }
    }

    fn joined(args: &[OsString]) -> String {
        let strings: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
        strings.join(" ")
    }

    #[test]
    fn default_test_arguments() {
        assert_eq!(
            joined(&qemu_args(&machine(), Serial::Stdio)),
            "-machine q35 -cpu max -m 128M -serial stdio -display none -no-reboot \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom out/bulkhead.iso \
             -boot d -accel tcg"
        );
    }

    #[test]
    fn icount_kvm_memory_and_extra_arguments() {
        let mut m = machine();
        m.accel = Accel::Kvm;
        m.icount = true;
        m.memory = "512M".into();
        m.extra = vec!["-smp".into(), "2".into()];
        let args = joined(&qemu_args(&m, Serial::MonStdio));
        assert!(args.contains("-m 512M -serial mon:stdio "));
        assert!(args.ends_with("-accel kvm -icount shift=0,sleep=off -smp 2"));
    }
}
