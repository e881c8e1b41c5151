//! Diagnostics collected while parsing the command line.
//!
//! [`Diagnostics`] is a fixed-capacity list (no allocation): the first
//! [`MAX_DIAGNOSTICS`] problems are kept in order, and any further ones are
//! only counted, so a hostile or garbled command line cannot exhaust memory.
//! Invariant: `len <= MAX_DIAGNOSTICS`, and `entries[..len]` are the kept ones.

use core::fmt;

use crate::table::{info_for, write_known_names};

/// How many diagnostics are kept; further ones are counted in
/// [`Diagnostics::dropped`].
pub const MAX_DIAGNOSTICS: usize = 16;

/// What is wrong with one command-line word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The option name is not in the table of known options.
    UnknownOption,
    /// The value is not accepted; `expected` describes what is.
    BadValue { expected: &'static str },
    /// A known option was given without a value (`loglevel` or `loglevel=`).
    MissingValue,
    /// The option was given more than once; the last valid value wins.
    Duplicate,
}

/// One problem found in one word of the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Diagnostic<'a> {
    /// The whole offending word, as written.
    pub word: &'a str,
    /// What is wrong with it.
    pub problem: Problem,
}

impl fmt::Display for Diagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.word;
        match self.problem {
            Problem::UnknownOption => {
                write!(f, "unknown kernel command-line option '{word}' (known: ")?;
                write_known_names(f)?;
                f.write_str(")")
            }
            Problem::BadValue { expected } => write!(
                f,
                "bad value in kernel command-line option '{word}': expected {expected}; option ignored"
            ),
            Problem::MissingValue => {
                let name = word.split('=').next().unwrap_or(word);
                write!(f, "kernel command-line option '{word}' needs a value")?;
                match info_for(name) {
                    Some(info) => write!(f, ": {}={}", info.name, info.syntax),
                    None => Ok(()),
                }
            }
            Problem::Duplicate => write!(
                f,
                "kernel command-line option '{word}' repeats an earlier one; the last one wins"
            ),
        }
    }
}

/// The diagnostics of one [`crate::parse`] call, in command-line order.
#[derive(Clone, Copy, Debug)]
pub struct Diagnostics<'a> {
    entries: [Diagnostic<'a>; MAX_DIAGNOSTICS],
    len: usize,
    dropped: usize,
}

impl<'a> Diagnostics<'a> {
    pub(crate) fn new() -> Self {
        let filler = Diagnostic {
            word: "",
            problem: Problem::UnknownOption,
        };
        Diagnostics {
            entries: [filler; MAX_DIAGNOSTICS],
            len: 0,
            dropped: 0,
        }
    }

    /// Records a diagnostic, or counts it as dropped when full.
    pub(crate) fn push(&mut self, diagnostic: Diagnostic<'a>) {
        match self.entries.get_mut(self.len) {
            Some(slot) => {
                *slot = diagnostic;
                self.len += 1;
            }
            None => self.dropped = self.dropped.saturating_add(1),
        }
    }

    /// The kept diagnostics.
    pub fn as_slice(&self) -> &[Diagnostic<'a>] {
        self.entries.get(..self.len).unwrap_or(&[])
    }

    /// Iterates over the kept diagnostics.
    pub fn iter(&self) -> core::slice::Iter<'_, Diagnostic<'a>> {
        self.as_slice().iter()
    }

    /// Number of kept diagnostics (at most [`MAX_DIAGNOSTICS`]).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the command line had no problems at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.dropped == 0
    }

    /// Number of diagnostics that did not fit and were only counted.
    pub fn dropped(&self) -> usize {
        self.dropped
    }
}

impl<'a, 'b> IntoIterator for &'b Diagnostics<'a> {
    type Item = &'b Diagnostic<'a>;
    type IntoIter = core::slice::Iter<'b, Diagnostic<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Display for Diagnostics<'_> {
    /// One diagnostic per line, then a line counting dropped ones, if any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in self {
            writeln!(f, "{diagnostic}")?;
        }
        if self.dropped > 0 {
            writeln!(
                f,
                "... and {} more kernel command-line problems not shown",
                self.dropped
            )?;
        }
        Ok(())
    }
}
