//! The static table of known command-line options.
//!
//! [`OPTIONS`] is the single source of truth for option names, value syntax,
//! defaults and help text: the parser maps names to [`Key`] through it, the
//! diagnostics list known names from it, and the kernel prints it for `help`.
//! Invariant: `OPTIONS[k as usize].key == k` for every [`Key`] `k`.

use core::fmt;

/// Internal identifier of a known option; its value indexes [`OPTIONS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    LogLevel = 0,
    TimerHz = 1,
    Test = 2,
    TestInject = 3,
    MemPunch = 4,
    MemLimit = 5,
    PcidLimit = 6,
}

impl Key {
    /// Looks up a known option by its exact name.
    pub(crate) fn from_name(name: &str) -> Option<Key> {
        OPTIONS
            .iter()
            .find(|info| info.name == name)
            .map(|info| info.key)
    }
}

/// Description of one known option, for parsing and for `help`.
#[derive(Clone, Copy, Debug)]
pub struct OptionInfo {
    pub(crate) key: Key,
    /// The option name, as written before `=`.
    pub name: &'static str,
    /// The accepted values, e.g. `error|warn|info|debug|trace`.
    pub syntax: &'static str,
    /// The value used when the option is absent.
    pub default: &'static str,
    /// One line describing what the option does.
    pub help: &'static str,
}

impl fmt::Display for OptionInfo {
    /// One `help` line: `name=syntax  help (default: ...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={}  {} (default: {})",
            self.name, self.syntax, self.help, self.default
        )
    }
}

/// All known options, in the order `help` prints them.
pub static OPTIONS: &[OptionInfo] = &[
    OptionInfo {
        key: Key::LogLevel,
        name: "loglevel",
        syntax: "error|warn|info|debug|trace",
        default: "info",
        help: "most verbose kernel log level to print",
    },
    OptionInfo {
        key: Key::TimerHz,
        name: "timer_hz",
        syntax: "N",
        default: "100",
        help: "periodic timer interrupt frequency in Hz, 1..=10000",
    },
    OptionInfo {
        key: Key::Test,
        name: "test",
        syntax: "SUBSTRING",
        default: "none, run all",
        help: "run only in-kernel tests whose name contains SUBSTRING",
    },
    OptionInfo {
        key: Key::TestInject,
        name: "test.inject",
        syntax: "none|fail|panic|triple_fault|hang|exception",
        default: "none",
        help: "harness self-test: make the test run fail in this way",
    },
    OptionInfo {
        key: Key::MemPunch,
        name: "mem.punch",
        syntax: "N",
        default: "0",
        help: "punch N one-page holes spread across usable memory, 0..=4096",
    },
    OptionInfo {
        key: Key::MemLimit,
        name: "mem.limit",
        syntax: "SIZE",
        default: "none",
        help: "ignore usable memory above SIZE (like 64M, 1G, 4096K or bytes)",
    },
    OptionInfo {
        key: Key::PcidLimit,
        name: "pcid.limit",
        syntax: "N",
        default: "4095",
        help: "hand out at most N PCIDs, 1..=4095 (lower to force sharing and recycling)",
    },
];

/// Writes the known option names as `a, b, c`.
pub(crate) fn write_known_names(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for (index, info) in OPTIONS.iter().enumerate() {
        if index > 0 {
            f.write_str(", ")?;
        }
        f.write_str(info.name)?;
    }
    Ok(())
}

/// The table entry for a known option name.
pub(crate) fn info_for(name: &str) -> Option<&'static OptionInfo> {
    OPTIONS.iter().find(|info| info.name == name)
}
