//! Parsing of the kernel's serial protocol, one line at a time.
//!
//! The kernel prints `test NAME ... ok` or `test NAME ... FAILED` per test
//! (optionally behind a `[container] ` or `container: ` prefix), a final
//! `N passed, N failed[, N skipped]` summary, `KERNEL PANIC` on a panic (after
//! an `EXCEPTION ...` report when a CPU exception caused it), a banner line
//! `cpu: PCID yes INVPCID no SMEP yes ...` naming the CPU features in use, and
//! a last `bulkhead: exit code 0x10` line (the one Bochs runs are judged by).
//! [`scan`] folds a whole transcript into a [`Transcript`]; nothing here
//! touches processes or files.

use std::fmt;

/// The outcome a test line reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `... ok`
    Ok,
    /// `... FAILED`
    Failed,
}

/// One parsed `test NAME ... RESULT` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestLine<'a> {
    pub name: &'a str,
    pub outcome: Outcome,
}

/// The final `N passed, N failed[, N skipped]` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub passed: u64,
    pub failed: u64,
    pub skipped: Option<u64>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed", self.passed, self.failed)?;
        if let Some(skipped) = self.skipped {
            write!(f, ", {skipped} skipped")?;
        }
        Ok(())
    }
}

/// What the banner's `cpu:` line says about PCID and INVPCID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcidBanner {
    /// `PCID yes`: CPUID has PCID and the kernel turned CR4.PCIDE on.
    pub pcid: bool,
    /// `INVPCID yes`.
    pub invpcid: bool,
}

impl PcidBanner {
    /// Both are in use.
    pub fn both(self) -> bool {
        self.pcid && self.invpcid
    }
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

impl fmt::Display for PcidBanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PCID {} INVPCID {}",
            yes_no(self.pcid),
            yes_no(self.invpcid)
        )
    }
}

/// Marker of a kernel panic line.
pub const PANIC_MARKER: &str = "KERNEL PANIC";
/// Marker of a CPU exception report line.
pub const EXCEPTION_MARKER: &str = "EXCEPTION";
/// Marker of the exit-code line the kernel prints before shutting Bochs down.
pub const EXIT_CODE_MARKER: &str = "bulkhead: exit code ";

/// Everything the verdict needs to know about a transcript.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    /// Names of tests that printed `ok`.
    pub ok: Vec<String>,
    /// Names of tests that printed `FAILED`.
    pub failed: Vec<String>,
    /// The last summary line, if any.
    pub summary: Option<Summary>,
    /// The first line containing `KERNEL PANIC`.
    pub panic: Option<String>,
    /// The `EXCEPTION` line that led to the panic, if one did.
    pub exception: Option<String>,
    /// The last non-empty line.
    pub last_line: Option<String>,
    /// The last banner line naming PCID and INVPCID, if any.
    pub pcid: Option<PcidBanner>,
}

/// Removes one `[something] ` or `something: ` prefix, if there is one.
fn strip_one_prefix(line: &str) -> Option<&str> {
    if line.starts_with('[') {
        line.split_once("] ").map(|(_, rest)| rest)
    } else {
        line.split_once(": ").map(|(_, rest)| rest)
    }
}

/// Tries `parse` on the line and then on the line with prefixes removed.
fn parse_prefixed<'a, T>(line: &'a str, parse: impl Fn(&'a str) -> Option<T>) -> Option<T> {
    let mut candidate = line.trim();
    loop {
        if let Some(parsed) = parse(candidate) {
            return Some(parsed);
        }
        candidate = strip_one_prefix(candidate)?.trim_start();
    }
}

fn parse_bare_test_line(line: &str) -> Option<TestLine<'_>> {
    let rest = line.strip_prefix("test ")?;
    let (name, result) = rest.rsplit_once(" ... ")?;
    let name = name.trim();
    let word = result.split_whitespace().next()?;
    let outcome = match word {
        "ok" => Outcome::Ok,
        "FAILED" => Outcome::Failed,
        _ => return None,
    };
    (!name.is_empty()).then_some(TestLine { name, outcome })
}

/// Parses a test result line, with or without a prefix.
pub fn parse_test_line(line: &str) -> Option<TestLine<'_>> {
    parse_prefixed(line, parse_bare_test_line)
}

fn parse_count(part: &str, word: &str) -> Option<u64> {
    let (number, rest) = part.trim().split_once(' ')?;
    (rest.trim() == word).then_some(())?;
    number.parse().ok()
}

fn parse_bare_summary(line: &str) -> Option<Summary> {
    let parts: Vec<&str> = line.split(',').collect();
    if parts.len() != 2 && parts.len() != 3 {
        return None;
    }
    let skipped = match parts.get(2) {
        Some(part) => Some(parse_count(part, "skipped")?),
        None => None,
    };
    Some(Summary {
        passed: parse_count(parts[0], "passed")?,
        failed: parse_count(parts[1], "failed")?,
        skipped,
    })
}

/// Parses a summary line, with or without a prefix.
pub fn parse_summary(line: &str) -> Option<Summary> {
    parse_prefixed(line, parse_bare_summary)
}

/// Parses a summary line that has no prefix: the root server's combined
/// `N passed, N failed` that ends a run, not a suite's own
/// (`bulkhead-usertests: ...`) printed on the way.
pub fn parse_final_summary(line: &str) -> Option<Summary> {
    parse_bare_summary(line.trim())
}

/// Parses the value of a `bulkhead: exit code V` line (hex with `0x`, or decimal).
pub fn parse_exit_code(line: &str) -> Option<u32> {
    let (_, value) = line.split_once(EXIT_CODE_MARKER)?;
    let value = value.split_whitespace().next()?;
    match value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => value.parse().ok(),
    }
}

/// Parses the banner's `cpu: NAME yes|no NAME yes|no ...` line; `None` unless
/// it names both PCID and INVPCID.
pub fn parse_pcid_banner(line: &str) -> Option<PcidBanner> {
    let rest = line.trim().strip_prefix("cpu: ")?;
    let words: Vec<&str> = rest.split_whitespace().collect();
    let flag = |name: &str| {
        let pair = words.chunks(2).find(|pair| pair[0] == name)?;
        match pair.get(1) {
            Some(&"yes") => Some(true),
            Some(&"no") => Some(false),
            _ => None,
        }
    };
    Some(PcidBanner {
        pcid: flag("PCID")?,
        invpcid: flag("INVPCID")?,
    })
}

/// Folds a transcript into a [`Transcript`].
///
/// An `EXCEPTION` line counts as the cause of the panic only if no test result
/// line comes between them (a test that passed after a user fault report shows
/// the fault was handled).
pub fn scan<S: AsRef<str>>(lines: &[S]) -> Transcript {
    let mut transcript = Transcript::default();
    let mut pending_exception: Option<&str> = None;
    for line in lines.iter().map(AsRef::as_ref) {
        if !line.trim().is_empty() {
            transcript.last_line = Some(line.trim_end().to_string());
        }
        if transcript.panic.is_some() {
            continue;
        }
        if line.contains(PANIC_MARKER) {
            transcript.panic = Some(line.trim().to_string());
            transcript.exception = pending_exception.map(|l| l.trim().to_string());
        } else if let Some(test) = parse_test_line(line) {
            pending_exception = None;
            match test.outcome {
                Outcome::Ok => transcript.ok.push(test.name.to_string()),
                Outcome::Failed => transcript.failed.push(test.name.to_string()),
            }
        } else if let Some(summary) = parse_summary(line) {
            transcript.summary = Some(summary);
        } else if let Some(banner) = parse_pcid_banner(line) {
            transcript.pcid = Some(banner);
        } else if line.contains(EXCEPTION_MARKER) {
            pending_exception = Some(line);
        }
    }
    transcript
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_lines_with_and_without_prefix() {
        let ok = Some(TestLine {
            name: "frames::alloc",
            outcome: Outcome::Ok,
        });
        assert_eq!(parse_test_line("test frames::alloc ... ok"), ok);
        assert_eq!(parse_test_line("[c1] test frames::alloc ... ok"), ok);
        assert_eq!(parse_test_line("web: test frames::alloc ... ok\r"), ok);
        assert_eq!(parse_test_line("[c1] sh: test frames::alloc ... ok"), ok);
        let failed = parse_test_line("test x ... FAILED (assertion)").unwrap();
        assert_eq!(failed.outcome, Outcome::Failed);
        assert_eq!(parse_test_line("test x ... maybe"), None);
        assert_eq!(parse_test_line("testing x ... ok"), None);
        assert_eq!(parse_test_line("test  ... ok"), None);
    }

    #[test]
    fn summary_lines() {
        let s = parse_summary("12 passed, 0 failed").unwrap();
        assert_eq!((s.passed, s.failed, s.skipped), (12, 0, None));
        let s = parse_summary("[user] 3 passed, 1 failed, 2 skipped").unwrap();
        assert_eq!((s.passed, s.failed, s.skipped), (3, 1, Some(2)));
        assert_eq!(s.to_string(), "3 passed, 1 failed, 2 skipped");
        assert_eq!(parse_summary("3 passed"), None);
        assert_eq!(parse_summary("x passed, 0 failed"), None);
        assert_eq!(parse_summary("3 passed, 0 failed, 1 ignored"), None);
    }

    #[test]
    fn only_a_bare_summary_is_final() {
        assert!(parse_final_summary("144 passed, 0 failed").is_some());
        assert!(parse_final_summary("  3 passed, 1 failed, 2 skipped ").is_some());
        assert_eq!(
            parse_final_summary("bulkhead-usertests: 8 passed, 0 failed, 61 skipped"),
            None
        );
        assert_eq!(parse_final_summary("[user] 3 passed, 1 failed"), None);
    }

    #[test]
    fn exit_code_lines() {
        assert_eq!(parse_exit_code("bulkhead: exit code 0x10"), Some(0x10));
        assert_eq!(parse_exit_code("bulkhead: exit code 17"), Some(17));
        assert_eq!(parse_exit_code("bulkhead: exit code zz"), None);
        assert_eq!(parse_exit_code("exit code 0x10"), None);
    }

    #[test]
    fn pcid_banner_lines() {
        let line = "cpu: PCID yes INVPCID yes SMEP yes SMAP no UMIP no NX yes XSAVE yes";
        let banner = parse_pcid_banner(line).unwrap();
        assert!(banner.both());
        assert_eq!(banner.to_string(), "PCID yes INVPCID yes");
        let banner = parse_pcid_banner("cpu: PCID no INVPCID no SMEP yes").unwrap();
        assert_eq!((banner.pcid, banner.invpcid), (false, false));
        // INVPCID's name contains PCID's: each is read from its own word.
        let banner = parse_pcid_banner("cpu: INVPCID yes PCID no").unwrap();
        assert_eq!((banner.pcid, banner.invpcid), (false, true));
        // The log line listing features in use is not the banner.
        let log = "[   0.0] INFO  cpu: on: NX SMEP PCID INVPCID; absent: SMAP";
        assert_eq!(parse_pcid_banner(log), None);
        assert_eq!(parse_pcid_banner("cpu: SMEP yes NX yes"), None);
        assert_eq!(parse_pcid_banner("cpu: PCID maybe INVPCID yes"), None);
        let t = scan(&["cpu: PCID no INVPCID no", "cpu: PCID yes INVPCID yes"]);
        assert!(t.pcid.is_some_and(PcidBanner::both));
    }

    #[test]
    fn exception_is_forgotten_after_a_test_line() {
        let t = scan(&["EXCEPTION #PF in user", "test a ... ok", "KERNEL PANIC: x"]);
        assert_eq!(t.exception, None);
        let t = scan(&["test a ... ok", "EXCEPTION #GP", "KERNEL PANIC: x"]);
        assert_eq!(t.exception.as_deref(), Some("EXCEPTION #GP"));
        assert_eq!(t.panic.as_deref(), Some("KERNEL PANIC: x"));
    }
}
