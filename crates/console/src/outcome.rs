//! How a program ended, in words, and what an exploit demonstration's
//! ending means in each mode.
//!
//! The exploit program (`user/linux/src/exploit.c`) triggers a deliberate
//! bug in the syscall code: `jump` makes it call the middle of a kernel
//! function, `peek` makes it read another container's kernel data. What
//! follows depends on where the syscall code runs:
//!
//! | mode     | jump                                  | peek                                   |
//! |----------|---------------------------------------|----------------------------------------|
//! | `direct` | exit 0: the gadget ran in the kernel  | exit 0: the other container's data read |
//! | `sci`    | signal 11: stopped, nothing mapped there | signal 11: stopped, not in its table |
//! | `ipc`    | signal 9: its own server crashed and was restarted | exit 1: no kernel data to name |
//!
//! The in-kernel bugs exist only in kernels built with the `test-suite`
//! feature (as `make test` builds them); in other kernels the calls
//! answer `-ENOSYS` and the program exits 1, which [`explain`] says. The
//! `ipc` server has its copy of the bugs when started with `test=1`.

use alloc::format;
use alloc::string::String;
use core::fmt;

/// How a program ended (mirrors the syscall server's report).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It called exit with this status.
    Exited(i32),
    /// It was stopped as if by this Linux signal.
    Signaled(i32),
    /// It could not be started; a Linux errno.
    NotStarted(i32),
    /// No word of its end (its server gave up or was stopped first).
    Unknown,
}

/// The Linux name of a signal the kernel or a server may report.
pub fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        _ => return None,
    })
}

/// The Linux name of an errno a program start may fail with.
pub fn errno_name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        2 => "ENOENT: no such file in the container's tree",
        8 => "ENOEXEC: not a program it can load",
        11 => "EAGAIN: a limit of the container (threads, capability slots)",
        12 => "ENOMEM: the container's memory",
        13 => "EACCES: permission denied",
        20 => "ENOTDIR: a path component is not a directory",
        21 => "EISDIR: a directory",
        _ => return None,
    })
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Outcome::Exited(status) => write!(f, "exited with status {status}"),
            Outcome::Signaled(signal) => match signal_name(signal) {
                Some(name) => write!(f, "killed by signal {signal} ({name})"),
                None => write!(f, "killed by signal {signal}"),
            },
            Outcome::NotStarted(errno) => match errno_name(errno) {
                Some(name) => write!(f, "not started (errno {errno}, {name})"),
                None => write!(f, "not started (errno {errno})"),
            },
            Outcome::Unknown => f.write_str("did not report an end"),
        }
    }
}

/// The short form for tables: `exit 0`, `signal 11`, `not started (2)`.
pub fn short(outcome: Option<Outcome>) -> String {
    match outcome {
        Some(Outcome::Exited(status)) => format!("exit {status}"),
        Some(Outcome::Signaled(signal)) => format!("signal {signal}"),
        Some(Outcome::NotStarted(errno)) => format!("not started ({errno})"),
        Some(Outcome::Unknown) | None => String::from("-"),
    }
}

/// The two exploit demonstrations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Demo {
    /// `exploit jump`: call the middle of a kernel function.
    Jump,
    /// `exploit peek`: read another container's kernel data.
    Peek,
}

impl Demo {
    /// Its argument to `/bin/exploit`.
    pub fn arg(self) -> &'static str {
        match self {
            Demo::Jump => "jump",
            Demo::Peek => "peek",
        }
    }
}

/// What a demonstration's `outcome` in a container of `mode` (the
/// manifest's spelling) means.
pub fn explain(mode: &str, demo: Demo, outcome: Outcome) -> &'static str {
    let sci = mode == "sci" || mode == "sci-sticky";
    let in_kernel = sci || mode == "direct";
    match (demo, outcome) {
        (Demo::Jump, Outcome::Exited(0)) if mode == "direct" => {
            "the gadget ran inside the kernel: in direct mode the syscall code reaches all kernel code, \
             so a corrupted return address can run any of it"
        }
        (Demo::Peek, Outcome::Exited(0)) if mode == "direct" => {
            "it read another container's kernel data: in direct mode nothing separates containers \
             inside the kernel"
        }
        (Demo::Jump, Outcome::Signaled(11)) if sci => {
            "stopped: the middle of a kernel function is never mapped in the container's restricted \
             page table (the kernel's report above names the symbol)"
        }
        (Demo::Peek, Outcome::Signaled(11)) if sci => {
            "stopped: another container's data is not in this container's restricted page table"
        }
        (Demo::Jump, Outcome::Signaled(9)) if mode == "ipc" => {
            "the container's own syscall server jumped to a kernel address in its own address space \
             and crashed; the root server restarted it, and no other container noticed"
        }
        (Demo::Peek, Outcome::Exited(1)) if mode == "ipc" => {
            "nothing to read: an ipc syscall server holds no other container's kernel data to name"
        }
        (Demo::Jump, Outcome::Exited(1)) if in_kernel => {
            "not demonstrated: this kernel has no deliberate bugs (the calls answer ENOSYS); \
             kernels built with the exploit-demos feature (make run, make test) have them"
        }
        (Demo::Peek, Outcome::Exited(1)) if in_kernel => {
            "not demonstrated: this kernel has no deliberate bugs (the calls answer ENOSYS; \
             exploit-demos kernels have them), or no other in-kernel container is held"
        }
        (Demo::Jump, Outcome::Exited(1)) if mode == "ipc" => {
            "not demonstrated: the server has no deliberate bug (it has them only when started for \
             a test or demonstration)"
        }
        (_, Outcome::NotStarted(_)) => "not started: see the reason above",
        _ => "unexpected for this mode: see the program's own lines above",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn outcomes_in_words() {
        assert_eq!(Outcome::Exited(0).to_string(), "exited with status 0");
        assert_eq!(
            Outcome::Signaled(11).to_string(),
            "killed by signal 11 (SIGSEGV)"
        );
        assert_eq!(Outcome::Signaled(33).to_string(), "killed by signal 33");
        assert_eq!(
            Outcome::NotStarted(2).to_string(),
            "not started (errno 2, ENOENT: no such file in the container's tree)"
        );
        assert_eq!(
            Outcome::NotStarted(99).to_string(),
            "not started (errno 99)"
        );
        assert_eq!(short(Some(Outcome::Exited(3))), "exit 3");
        assert_eq!(short(Some(Outcome::Signaled(9))), "signal 9");
        assert_eq!(short(None), "-");
    }

    #[test]
    fn the_documented_endings_are_explained() {
        assert!(explain("direct", Demo::Jump, Outcome::Exited(0)).contains("gadget ran"));
        assert!(explain("direct", Demo::Peek, Outcome::Exited(0)).contains("read another"));
        for mode in ["sci", "sci-sticky"] {
            assert!(explain(mode, Demo::Jump, Outcome::Signaled(11)).starts_with("stopped"));
            assert!(explain(mode, Demo::Peek, Outcome::Signaled(11)).starts_with("stopped"));
        }
        assert!(explain("ipc", Demo::Jump, Outcome::Signaled(9)).contains("restarted"));
        assert!(explain("ipc", Demo::Peek, Outcome::Exited(1)).starts_with("nothing to read"));
        assert!(explain("ipc", Demo::Jump, Outcome::Exited(1)).starts_with("not demonstrated"));
    }

    #[test]
    fn a_kernel_without_the_bugs_is_named() {
        for mode in ["direct", "sci"] {
            for demo in [Demo::Jump, Demo::Peek] {
                assert!(explain(mode, demo, Outcome::Exited(1)).contains("no deliberate bugs"));
            }
        }
    }

    #[test]
    fn anything_else_is_unexpected() {
        assert!(explain("sci", Demo::Jump, Outcome::Exited(0)).starts_with("unexpected"));
        assert!(explain("direct", Demo::Jump, Outcome::Signaled(11)).starts_with("unexpected"));
        assert!(explain("ipc", Demo::Jump, Outcome::Unknown).starts_with("unexpected"));
        assert_eq!(Demo::Peek.arg(), "peek");
    }
}
