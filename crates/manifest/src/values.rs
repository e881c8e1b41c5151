//! Parsing and checking the value of each directive.
//!
//! Each function takes the words after the directive and returns the value
//! or a reason, a sentence fragment that the caller prefixes with
//! `line N: `. The functions are pure and never panic: numbers are parsed
//! with checked arithmetic and user text quoted in a reason is shortened
//! (see [`quoted`]) so an error message stays a line long.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::{Expect, Mode};

/// Smallest and largest container memory quotas.
pub const MIN_MEMORY: u64 = 1 << 20;
pub const MAX_MEMORY: u64 = 4 << 30;
/// Largest thread limit.
pub const MAX_THREADS: u32 = 1024;
/// Fewest and most capability slots a syscall server's table may have.
pub const MIN_SLOTS: u32 = 16;
pub const MAX_SLOTS: u32 = 4096;
/// Longest container name, and longest boot-module name for `files`.
pub const MAX_NAME_LEN: usize = 15;
pub const MAX_MODULE_NAME_LEN: usize = 64;
/// Most arguments of a program, `argv[0]` (the path) included.
pub const MAX_ARGS: usize = 32;

/// `text` in single quotes, cut to 40 characters.
pub fn quoted(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("'{}...'", text.get(..cut).unwrap_or_default()),
        None => format!("'{text}'"),
    }
}

/// Exactly one argument for `directive`.
pub fn single<'a>(directive: &str, args: &'a [String]) -> Result<&'a str, String> {
    match args {
        [value] => Ok(value),
        [] => Err(format!("'{directive}' needs a value")),
        _ => Err(format!("'{directive}' takes exactly one value")),
    }
}

/// A container name: 1 to 15 characters of `[a-z0-9_-]`.
pub fn container_name(name: &str) -> Result<String, String> {
    let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    if name.is_empty() || name.len() > MAX_NAME_LEN || !name.chars().all(valid_char) {
        return Err(format!(
            "invalid container name {} (1 to {MAX_NAME_LEN} characters of a-z, 0-9, _ and -)",
            quoted(name)
        ));
    }
    Ok(name.to_string())
}

/// A mode name.
pub fn mode(name: &str) -> Result<Mode, String> {
    Mode::parse(name).ok_or_else(|| {
        format!(
            "unknown mode {} (expected ipc, direct, sci or sci-sticky)",
            quoted(name)
        )
    })
}

/// The modes of a `mode` line: one or more, each at most once.
pub fn modes(args: &[String]) -> Result<(Mode, Vec<Mode>), String> {
    let mut modes: Vec<Mode> = Vec::new();
    for name in args {
        let m = mode(name)?;
        if modes.contains(&m) {
            return Err(format!("mode {} listed twice", quoted(name)));
        }
        modes.push(m);
    }
    match modes.split_first() {
        Some((first, more)) => Ok((*first, more.to_vec())),
        None => Err("'mode' needs a value".to_string()),
    }
}

/// A byte count with an optional K, M or G suffix, within the quota range.
pub fn memory(text: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "bad memory size {} (a number with optional K, M or G suffix)",
            quoted(text)
        )
    };
    let (digits, shift) = match text.char_indices().last() {
        Some((at, 'K' | 'k')) => (text.get(..at), 10),
        Some((at, 'M' | 'm')) => (text.get(..at), 20),
        Some((at, 'G' | 'g')) => (text.get(..at), 30),
        _ => (Some(text), 0),
    };
    let bytes = digits
        .and_then(decimal)
        .and_then(|number| number.checked_mul(1 << shift))
        .ok_or_else(bad)?;
    if !(MIN_MEMORY..=MAX_MEMORY).contains(&bytes) {
        return Err(format!(
            "memory {} out of range (at least 1M, at most 4G)",
            quoted(text)
        ));
    }
    Ok(bytes)
}

/// A plain decimal number (digits only, no sign).
fn decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The name of a boot module: 1 to 64 characters of `[A-Za-z0-9._/-]`.
pub fn module_name(name: &str) -> Result<String, String> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-');
    if name.is_empty() || name.len() > MAX_MODULE_NAME_LEN || !name.chars().all(valid_char) {
        return Err(format!(
            "invalid module name {} (1 to {MAX_MODULE_NAME_LEN} characters of A-Z, a-z, 0-9, ., _, / and -)",
            quoted(name)
        ));
    }
    Ok(name.to_string())
}

/// A thread limit: 1 to [`MAX_THREADS`].
pub fn threads(text: &str) -> Result<u32, String> {
    match decimal(text).and_then(|n| u32::try_from(n).ok()) {
        Some(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(format!(
            "bad thread limit {} (a number from 1 to {MAX_THREADS})",
            quoted(text)
        )),
    }
}

/// `slots N`: capability slots of the container's syscall server.
pub fn slots(text: &str) -> Result<u32, String> {
    match decimal(text).and_then(|n| u32::try_from(n).ok()) {
        Some(n) if (MIN_SLOTS..=MAX_SLOTS).contains(&n) => Ok(n),
        _ => Err(format!(
            "bad slot count {} (a number from {MIN_SLOTS} to {MAX_SLOTS})",
            quoted(text)
        )),
    }
}

/// An environment entry `KEY=VALUE` with a non-empty key.
pub fn env(entry: &str) -> Result<String, String> {
    match entry.split_once('=') {
        Some((key, _)) if !key.is_empty() && !key.contains('\0') && !entry.contains('\0') => {
            Ok(entry.to_string())
        }
        _ => Err(format!(
            "invalid environment entry {} (expected KEY=VALUE)",
            quoted(entry)
        )),
    }
}

/// The argument vector of `run` or `spawn`: an absolute path first, at most
/// [`MAX_ARGS`] words, no NUL bytes.
pub fn program_args(directive: &str, args: &[String]) -> Result<Vec<String>, String> {
    let Some(path) = args.first() else {
        return Err(format!("'{directive}' needs a program path"));
    };
    if !path.starts_with('/') {
        return Err(format!(
            "program path {} must be absolute (start with /)",
            quoted(path)
        ));
    }
    if args.len() > MAX_ARGS {
        return Err(format!("too many arguments (at most {MAX_ARGS})"));
    }
    if args.iter().any(|arg| arg.contains('\0')) {
        return Err("arguments must not contain NUL".to_string());
    }
    Ok(args.to_vec())
}

/// `expect N` (exit status 0 to 255), `expect signal N` (1 to 64) or
/// `expect refused` (the program must not be started: a limit said no).
pub fn expect(args: &[String]) -> Result<Expect, String> {
    let (words, signal) = match args {
        [word] if word == "refused" => return Ok(Expect::Refused),
        [word, number] if word == "signal" => (number, true),
        [number] => (number, false),
        _ => return Err("'expect' takes a status, 'signal N' or 'refused'".to_string()),
    };
    let value = decimal(words).and_then(|n| i32::try_from(n).ok());
    match (value, signal) {
        (Some(n @ 0..=255), false) => Ok(Expect::Exit(n)),
        (Some(n @ 1..=64), true) => Ok(Expect::Signal(n)),
        (_, false) => Err(format!("bad exit status {} (0 to 255)", quoted(words))),
        (_, true) => Err(format!("bad signal number {} (1 to 64)", quoted(words))),
    }
}
