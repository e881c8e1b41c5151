//! Typed option values and their parsers.
//!
//! Every parser takes an untrusted `&str` and returns `None` on anything it
//! does not accept exactly: no sign, no surrounding whitespace, no overflow
//! (all arithmetic is checked), no trailing garbage.

use core::fmt;

/// Kernel log level, ordered from least (`Error`) to most verbose (`Trace`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    /// Description of the accepted values, used in diagnostics.
    pub const EXPECTED: &'static str = "one of error, warn, info, debug, trace";
    const ALL: [LogLevel; 5] = [
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }

    /// Parses a command-line name (exact, lower case).
    pub fn from_name(name: &str) -> Option<LogLevel> {
        Self::ALL.into_iter().find(|level| level.as_str() == name)
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How `test.inject=` makes the in-kernel test run fail (harness self-test).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Inject {
    /// No injection: tests run normally.
    None,
    /// Report a failed test.
    Fail,
    /// Panic inside a test.
    Panic,
    /// Cause a triple fault (the machine resets).
    TripleFault,
    /// Never finish (the runner's timeout must catch it).
    Hang,
    /// Raise an unhandled CPU exception.
    Exception,
}

impl Inject {
    /// Description of the accepted values, used in diagnostics.
    pub const EXPECTED: &'static str = "one of none, fail, panic, triple_fault, hang, exception";
    const ALL: [Inject; 6] = [
        Inject::None,
        Inject::Fail,
        Inject::Panic,
        Inject::TripleFault,
        Inject::Hang,
        Inject::Exception,
    ];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Inject::None => "none",
            Inject::Fail => "fail",
            Inject::Panic => "panic",
            Inject::TripleFault => "triple_fault",
            Inject::Hang => "hang",
            Inject::Exception => "exception",
        }
    }

    /// Parses a command-line name (exact, lower case).
    pub fn from_name(name: &str) -> Option<Inject> {
        Self::ALL.into_iter().find(|inject| inject.as_str() == name)
    }
}

impl fmt::Display for Inject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a plain decimal `u64` (ASCII digits only, at least one).
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u64, |acc, byte| {
        let digit = char::from(byte).to_digit(10)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Parses a decimal `u32` and checks it lies in `min..=max`.
pub(crate) fn parse_u32_in(text: &str, min: u32, max: u32) -> Option<u32> {
    let value = u32::try_from(parse_decimal(text)?).ok()?;
    (min..=max).contains(&value).then_some(value)
}

/// Parses a byte size: decimal digits with an optional binary suffix `K`,
/// `M`, `G` or `T` (either case), e.g. `4096K`, `64M`, `1G`, `65536`.
/// Returns `None` on overflow or malformed input.
pub fn parse_size(text: &str) -> Option<u64> {
    let last = text.chars().next_back()?;
    let shift = match last.to_ascii_uppercase() {
        'K' => 10,
        'M' => 20,
        'G' => 30,
        'T' => 40,
        _ => 0,
    };
    let digits = if shift == 0 {
        text
    } else {
        text.strip_suffix(last)?
    };
    parse_decimal(digits)?.checked_mul(1u64 << shift)
}
