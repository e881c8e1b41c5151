//! Kernel command-line parsing for Bulkhead.
//!
//! The command line is a `&str` of words separated by ASCII whitespace. Each
//! word is either `key=value` or a bare `flag`. A first word that starts with
//! `/` is the kernel image path (GRUB and Limine sometimes pass it) and is
//! exposed as [`Options::image_path`]. Every known option is described by one
//! entry of the static [`OPTIONS`] table, which the kernel prints for `help`.
//!
//! Invariants and design:
//! - [`parse`] never fails and never panics: every problem becomes a
//!   [`Diagnostic`] and the affected option keeps its previous value (its
//!   default unless an earlier valid word set it).
//! - A repeated option is applied again (the last valid one wins) and reported
//!   as [`Problem::Duplicate`].
//! - Nothing allocates: the parsed [`Options`] borrow from the input line, and
//!   [`Diagnostics`] is a fixed-capacity array that counts what did not fit.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

mod diag;
mod table;
mod value;

pub use diag::{Diagnostic, Diagnostics, Problem, MAX_DIAGNOSTICS};
pub use table::{OptionInfo, OPTIONS};
pub use value::{parse_size, Inject, LogLevel};

use table::Key;

/// Lowest allowed `timer_hz`.
pub const TIMER_HZ_MIN: u32 = 1;
/// Highest allowed `timer_hz`.
pub const TIMER_HZ_MAX: u32 = 10_000;
/// Default `timer_hz`.
pub const TIMER_HZ_DEFAULT: u32 = 100;
/// Highest allowed `mem.punch`.
pub const MEM_PUNCH_MAX: u32 = 4096;
/// Largest (and default) `pcid.limit`.
pub const PCID_LIMIT_MAX: u32 = 4095;

/// The typed result of parsing a command line; borrows from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options<'a> {
    /// The kernel image path, when the first word starts with `/`.
    pub image_path: Option<&'a str>,
    /// `loglevel=`: most verbose log level printed.
    pub loglevel: LogLevel,
    /// `timer_hz=`: periodic timer frequency, in `1..=10000`.
    pub timer_hz: u32,
    /// `test=`: run only in-kernel tests whose name contains this substring.
    pub test_filter: Option<&'a str>,
    /// `test.inject=`: make the test run fail in this way (harness self-test).
    pub test_inject: Inject,
    /// `mem.punch=`: number of one-page holes to punch into usable memory.
    pub mem_punch: u32,
    /// `mem.limit=`: ignore usable memory at or above this many bytes.
    pub mem_limit: Option<u64>,
    /// `pcid.limit=`: most PCIDs handed out, in `1..=4095`.
    pub pcid_limit: u32,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            image_path: None,
            loglevel: LogLevel::Info,
            timer_hz: TIMER_HZ_DEFAULT,
            test_filter: None,
            test_inject: Inject::None,
            mem_punch: 0,
            mem_limit: None,
            pcid_limit: PCID_LIMIT_MAX,
        }
    }
}

impl<'a> Options<'a> {
    /// Whether the in-kernel test called `name` is selected by `test=`.
    pub fn test_selected(&self, name: &str) -> bool {
        self.test_filter.is_none_or(|filter| name.contains(filter))
    }

    /// Applies one `key=value` whose key is known; returns the problem, if any.
    fn apply(&mut self, key: Key, value: &'a str) -> Option<Problem> {
        let bad = |expected| Some(Problem::BadValue { expected });
        match key {
            Key::LogLevel => match LogLevel::from_name(value) {
                Some(level) => self.loglevel = level,
                None => return bad(LogLevel::EXPECTED),
            },
            Key::TimerHz => match value::parse_u32_in(value, TIMER_HZ_MIN, TIMER_HZ_MAX) {
                Some(hz) => self.timer_hz = hz,
                None => return bad("an integer in 1..=10000"),
            },
            Key::Test => self.test_filter = Some(value),
            Key::TestInject => match Inject::from_name(value) {
                Some(inject) => self.test_inject = inject,
                None => return bad(Inject::EXPECTED),
            },
            Key::MemPunch => match value::parse_u32_in(value, 0, MEM_PUNCH_MAX) {
                Some(n) => self.mem_punch = n,
                None => return bad("an integer in 0..=4096"),
            },
            Key::MemLimit => match parse_size(value) {
                Some(bytes) if bytes > 0 => self.mem_limit = Some(bytes),
                _ => return bad("a nonzero size such as 64M, 1G, 4096K or plain bytes"),
            },
            Key::PcidLimit => match value::parse_u32_in(value, 1, PCID_LIMIT_MAX) {
                Some(n) => self.pcid_limit = n,
                None => return bad("an integer in 1..=4095"),
            },
        }
        None
    }
}

/// Parses a kernel command line. Never fails: problems are reported in the
/// returned [`Diagnostics`] and the options they concern keep their values.
pub fn parse(line: &str) -> (Options<'_>, Diagnostics<'_>) {
    let mut options = Options::default();
    let mut diagnostics = Diagnostics::new();
    let mut seen = 0u32;
    for (index, word) in line.split_ascii_whitespace().enumerate() {
        if index == 0 && word.starts_with('/') {
            options.image_path = Some(word);
            continue;
        }
        if let Some(problem) = parse_word(&mut options, &mut seen, word) {
            diagnostics.push(Diagnostic { word, problem });
        }
    }
    (options, diagnostics)
}

/// Prefixes of options meant for user space (the root server reads the
/// whole command line from its root info page); the kernel accepts them
/// without checking.
pub const USER_SPACE_PREFIXES: [&str; 2] = ["root.", "user."];

/// True for `root.*` and `user.*` options.
pub fn is_user_space_option(name: &str) -> bool {
    USER_SPACE_PREFIXES
        .iter()
        .any(|p| name.starts_with(p) && name.len() > p.len())
}

/// Handles one word; `seen` is a bit set of the keys already set validly.
fn parse_word<'a>(options: &mut Options<'a>, seen: &mut u32, word: &'a str) -> Option<Problem> {
    let (name, value) = match word.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (word, None),
    };
    if is_user_space_option(name) {
        return None;
    }
    let Some(key) = Key::from_name(name) else {
        return Some(Problem::UnknownOption);
    };
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Some(Problem::MissingValue);
    };
    if let Some(problem) = options.apply(key, value) {
        return Some(problem);
    }
    let bit = 1u32 << (key as u32);
    let duplicate = *seen & bit != 0;
    *seen |= bit;
    duplicate.then_some(Problem::Duplicate)
}

#[cfg(test)]
mod tests;
