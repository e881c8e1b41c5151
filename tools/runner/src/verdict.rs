//! The pure judge: from a guest transcript and how the emulator ended, decide
//! whether the run passed, and why not.
//!
//! [`judge`] takes the guest's serial lines, an [`End`] (exit status, an end
//! without a usable status, or a host timeout) and [`Options`], and returns a
//! [`Verdict`]. A run passes only if QEMU exited with status 33 (the guest wrote
//! 0x10 to the `isa-debug-exit` port), no test failed, no panic was printed, the
//! summary is present with 0 failed, and its passed count matches the `ok`
//! lines. With `--require-pcid` the banner must also say `PCID yes` and
//! `INVPCID yes`. With `--expect-failure` the verdict inverts: it passes only if the run
//! failed for exactly the expected [`Kind`] of reason.

use crate::protocol::{scan, PcidBanner, Summary, Transcript};
use std::fmt;
use std::str::FromStr;

/// QEMU's exit status when the guest writes the success value 0x10.
pub const SUCCESS_STATUS: i32 = (0x10 << 1) | 1;
/// QEMU's exit status when the guest writes the failure value 0x11.
pub const FAILURE_STATUS: i32 = (0x11 << 1) | 1;

/// How the emulator run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The emulator exited with this status (for Bochs: derived from the
    /// kernel's `bulkhead: exit code` line the same way QEMU derives it).
    Exited { status: i32 },
    /// The emulator ended without a usable status (killed by a signal, or Bochs
    /// ended without the exit-code line).
    NoStatus { detail: String },
    /// The host killed the emulator after this many seconds.
    TimedOut { secs: u64 },
}

/// The kinds of failure `--expect-failure` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    FailedTest,
    Panic,
    TripleFault,
    Timeout,
    MissingSummary,
    Exception,
    NoPcid,
}

impl Kind {
    /// All kinds, in the order the usage text lists them.
    pub const ALL: [Kind; 7] = [
        Kind::FailedTest,
        Kind::Panic,
        Kind::TripleFault,
        Kind::Timeout,
        Kind::MissingSummary,
        Kind::Exception,
        Kind::NoPcid,
    ];

    /// The command-line spelling.
    pub fn name(self) -> &'static str {
        match self {
            Kind::FailedTest => "failed-test",
            Kind::Panic => "panic",
            Kind::TripleFault => "triple-fault",
            Kind::Timeout => "timeout",
            Kind::MissingSummary => "missing-summary",
            Kind::Exception => "exception",
            Kind::NoPcid => "no-pcid",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown failure reason '{s}' (one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// Options that change how a run is judged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Invert the verdict: the run must fail for exactly this reason.
    pub expect: Option<Kind>,
    /// Fail unless the banner says `PCID yes` and `INVPCID yes`.
    pub require_pcid: bool,
}

/// Why a run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A `KERNEL PANIC` line.
    Panic { line: String },
    /// A CPU exception report followed by a panic.
    Exception { exception: String, panic: String },
    /// The host killed the emulator.
    Timeout {
        secs: u64,
        last_line: Option<String>,
    },
    /// QEMU exited with status 0: a triple fault or guest reset under `-no-reboot`.
    TripleFault { summary: bool },
    /// The emulator ended without a usable status.
    NoStatus { detail: String },
    /// An exit status that is neither success (33) nor failure (35) nor 0.
    BadStatus { status: i32 },
    /// Tests printed `FAILED` or the summary counts failures.
    FailedTests {
        names: Vec<String>,
        summary_failed: Option<u64>,
    },
    /// No summary line.
    MissingSummary,
    /// The summary's passed count differs from the number of `ok` lines.
    CountMismatch { passed: u64, ok_lines: usize },
    /// The guest exited with the failure value though nothing else went wrong.
    GuestExitValue,
    /// `--require-pcid`, but the banner said otherwise (or was missing).
    NoPcid { banner: Option<PcidBanner> },
}

impl Failure {
    /// The `--expect-failure` kind this failure counts as, if any.
    pub fn kind(&self) -> Option<Kind> {
        match self {
            Failure::Panic { .. } => Some(Kind::Panic),
            Failure::Exception { .. } => Some(Kind::Exception),
            Failure::Timeout { .. } => Some(Kind::Timeout),
            Failure::TripleFault { .. } | Failure::NoStatus { .. } => Some(Kind::TripleFault),
            Failure::FailedTests { .. } | Failure::GuestExitValue => Some(Kind::FailedTest),
            Failure::MissingSummary => Some(Kind::MissingSummary),
            Failure::NoPcid { .. } => Some(Kind::NoPcid),
            Failure::BadStatus { .. } | Failure::CountMismatch { .. } => None,
        }
    }
}

fn fmt_failed_tests(
    f: &mut fmt::Formatter<'_>,
    names: &[String],
    summary_failed: Option<u64>,
) -> fmt::Result {
    match summary_failed {
        Some(n) if n > 0 && names.is_empty() => write!(f, "summary says {n} failed"),
        Some(n) if n > 0 => write!(f, "summary says {n} failed ({})", names.join(", ")),
        _ => {
            let plural = if names.len() == 1 { "test" } else { "tests" };
            write!(f, "{} {plural} FAILED: {}", names.len(), names.join(", "))?;
            match summary_failed {
                Some(_) => write!(f, " (but the summary says 0 failed)"),
                None => write!(f, " (summary missing)"),
            }
        }
    }
}

fn fmt_bad_status(f: &mut fmt::Formatter<'_>, status: i32) -> fmt::Result {
    write!(f, "unexpected exit status {status}")?;
    if status & 1 == 1 && status > 0 {
        write!(f, " (guest exit value {:#x}", status >> 1)?;
        if status == 1 {
            write!(f, ", or QEMU itself failed")?;
        }
        write!(f, "; success is {SUCCESS_STATUS})")?;
    }
    Ok(())
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Panic { line } => write!(f, "kernel panic: {line}"),
            Failure::Exception { exception, panic } => {
                write!(f, "CPU exception: {exception}; then kernel panic: {panic}")
            }
            Failure::Timeout { secs, last_line } => {
                let last = last_line.as_deref().unwrap_or("<no output>");
                write!(f, "timed out after {secs} s (last line: {last})")
            }
            Failure::TripleFault { summary: false } => {
                write!(f, "triple fault or reset (QEMU exit status 0, no summary)")
            }
            Failure::TripleFault { summary: true } => {
                write!(f, "triple fault or reset after the summary (QEMU exit status 0)")
            }
            Failure::NoStatus { detail } => write!(f, "abnormal end: {detail}"),
            Failure::BadStatus { status } => fmt_bad_status(f, *status),
            Failure::FailedTests { names, summary_failed } => {
                fmt_failed_tests(f, names, *summary_failed)
            }
            Failure::MissingSummary => write!(f, "summary missing"),
            Failure::CountMismatch { passed, ok_lines } => {
                write!(f, "summary {passed} passed does not match {ok_lines} 'ok' lines")
            }
            Failure::GuestExitValue => write!(
                f,
                "guest exited with the failure value (status {FAILURE_STATUS}) though no test failed"
            ),
            Failure::NoPcid { banner: Some(banner) } => write!(
                f,
                "PCID and INVPCID required, but the banner says '{banner}'"
            ),
            Failure::NoPcid { banner: None } => write!(
                f,
                "PCID and INVPCID required, but no 'cpu: PCID .. INVPCID ..' banner line"
            ),
        }
    }
}

/// The judgement of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every test passed and the guest exited with the success value.
    Pass { summary: Summary },
    /// The run failed.
    Fail(Failure),
    /// The run failed exactly as `--expect-failure` asked.
    ExpectedFailure(Failure),
    /// `--expect-failure` was given but the run passed or failed differently.
    Unexpected {
        expected: Kind,
        outcome: Result<Summary, Failure>,
    },
}

impl Verdict {
    /// Whether the runner should exit 0.
    pub fn is_pass(&self) -> bool {
        matches!(self, Verdict::Pass { .. } | Verdict::ExpectedFailure(_))
    }

    /// The runner's exit code: 0 on PASS, 1 on FAIL.
    pub fn exit_code(&self) -> i32 {
        if self.is_pass() {
            0
        } else {
            1
        }
    }
}

fn fmt_unexpected(
    f: &mut fmt::Formatter<'_>,
    expected: Kind,
    outcome: &Result<Summary, Failure>,
) -> fmt::Result {
    write!(f, "FAIL: expected failure '{expected}' but ")?;
    match outcome {
        Ok(summary) => write!(f, "the run passed: {summary}"),
        Err(failure) => match failure.kind() {
            Some(kind) => write!(f, "it failed with '{kind}': {failure}"),
            None => write!(f, "it failed otherwise: {failure}"),
        },
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Pass { summary } => write!(f, "PASS: {summary}"),
            Verdict::Fail(failure) => write!(f, "FAIL: {failure}"),
            Verdict::ExpectedFailure(failure) => {
                let kind = failure.kind().map_or("?", Kind::name);
                write!(f, "PASS: failed as expected ({kind}: {failure})")
            }
            Verdict::Unexpected { expected, outcome } => fmt_unexpected(f, *expected, outcome),
        }
    }
}

/// Failures that come from how the emulator ended, checked before the tests.
fn end_failure(t: &Transcript, end: &End) -> Option<Failure> {
    match end {
        End::TimedOut { secs } => Some(Failure::Timeout {
            secs: *secs,
            last_line: t.last_line.clone(),
        }),
        End::NoStatus { detail } => Some(Failure::NoStatus {
            detail: detail.clone(),
        }),
        End::Exited { status: 0 } => Some(Failure::TripleFault {
            summary: t.summary.is_some(),
        }),
        End::Exited { status } if *status != SUCCESS_STATUS && *status != FAILURE_STATUS => {
            Some(Failure::BadStatus { status: *status })
        }
        End::Exited { .. } => None,
    }
}

/// Failures visible in the transcript's test lines and summary.
fn test_failure(t: &Transcript) -> Result<Summary, Failure> {
    let summary_failed = t.summary.map(|s| s.failed);
    if !t.failed.is_empty() || summary_failed.is_some_and(|n| n > 0) {
        return Err(Failure::FailedTests {
            names: t.failed.clone(),
            summary_failed,
        });
    }
    let summary = t.summary.ok_or(Failure::MissingSummary)?;
    if usize::try_from(summary.passed).ok() != Some(t.ok.len()) {
        return Err(Failure::CountMismatch {
            passed: summary.passed,
            ok_lines: t.ok.len(),
        });
    }
    Ok(summary)
}

/// Judges the run without regard to `--expect-failure`. A missing PCID
/// (under `--require-pcid`) is reported only when nothing else went wrong.
fn outcome(t: &Transcript, end: &End, require_pcid: bool) -> Result<Summary, Failure> {
    if let Some(panic) = &t.panic {
        return Err(match &t.exception {
            Some(exception) => Failure::Exception {
                exception: exception.clone(),
                panic: panic.clone(),
            },
            None => Failure::Panic {
                line: panic.clone(),
            },
        });
    }
    if let Some(failure) = end_failure(t, end) {
        return Err(failure);
    }
    let summary = test_failure(t)?;
    if require_pcid && !t.pcid.is_some_and(PcidBanner::both) {
        return Err(Failure::NoPcid { banner: t.pcid });
    }
    match end {
        End::Exited { status } if *status == SUCCESS_STATUS => Ok(summary),
        _ => Err(Failure::GuestExitValue),
    }
}

/// Judges a run from the guest's lines, how the emulator ended, and options.
pub fn judge<S: AsRef<str>>(lines: &[S], end: &End, options: &Options) -> Verdict {
    let outcome = outcome(&scan(lines), end, options.require_pcid);
    match (options.expect, outcome) {
        (None, Ok(summary)) => Verdict::Pass { summary },
        (None, Err(failure)) => Verdict::Fail(failure),
        (Some(expected), Err(failure)) if failure.kind() == Some(expected) => {
            Verdict::ExpectedFailure(failure)
        }
        (Some(expected), outcome) => Verdict::Unexpected { expected, outcome },
    }
}

#[cfg(test)]
mod tests;
