//! The text of test reports, kept apart from printing so it is unit-tested
//! on the host: which tests a filter selects, the per-test line, the
//! indented failure reason and the summary line. The format is the one the
//! in-kernel suite prints and `tools/runner` parses:
//!
//! ```text
//! test caps::rights_enforced ... ok
//! test space::fault_stops_one_thread ... FAILED
//!     check failed: info.code == 14 at user/tests/src/tests/space.rs:88
//! 11 passed, 1 failed
//! ```

use alloc::format;
use alloc::string::String;

/// Indentation of failure reasons.
pub const REASON_INDENT: &str = "    ";

/// Whether a test named `name` runs under `filter` (a substring; none or
/// empty selects everything).
pub fn selected(name: &str, filter: Option<&str>) -> bool {
    match filter {
        None => true,
        Some(pattern) => name.contains(pattern),
    }
}

/// `test NAME ... ok` or `test NAME ... FAILED`.
pub fn result_line(name: &str, passed: bool) -> String {
    let verdict = if passed { "ok" } else { "FAILED" };
    format!("test {name} ... {verdict}")
}

/// The failure reason, each line indented; an empty reason gets a note.
pub fn reason_text(reason: &str) -> String {
    let reason = if reason.trim().is_empty() {
        "(no reason given)"
    } else {
        reason
    };
    let mut text = String::new();
    for line in reason.lines() {
        text.push_str(REASON_INDENT);
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// Counts of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Tally {
    /// Records one result.
    pub fn record(&mut self, passed: bool) {
        if passed {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
    }

    /// `N passed, N failed`, plus `, N skipped` when a filter left some out.
    pub fn summary_line(&self) -> String {
        let mut line = format!("{} passed, {} failed", self.passed, self.failed);
        if self.skipped > 0 {
            line.push_str(&format!(", {} skipped", self.skipped));
        }
        line
    }

    /// True when nothing failed.
    pub fn all_passed(&self) -> bool {
        self.failed == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_is_a_substring_and_empty_selects_all() {
        assert!(selected("caps::stale", None));
        assert!(selected("caps::stale", Some("")));
        assert!(selected("caps::stale", Some("stale")));
        assert!(!selected("caps::stale", Some("space")));
    }

    #[test]
    fn result_lines_match_the_runner_protocol() {
        assert_eq!(result_line("a::b", true), "test a::b ... ok");
        assert_eq!(result_line("a::b", false), "test a::b ... FAILED");
    }

    #[test]
    fn reasons_are_indented_per_line() {
        assert_eq!(reason_text("one\ntwo"), "    one\n    two\n");
        assert_eq!(reason_text(""), "    (no reason given)\n");
    }

    #[test]
    fn summary_mentions_skipped_only_when_some_were() {
        let mut tally = Tally::default();
        tally.record(true);
        tally.record(false);
        assert_eq!(tally.summary_line(), "1 passed, 1 failed");
        tally.skipped = 3;
        assert_eq!(tally.summary_line(), "1 passed, 1 failed, 3 skipped");
        assert!(!tally.all_passed());
    }
}
