//! Unit tests of the judge: one per verdict reason, plus `--expect-failure`.

use super::*;

const OK: End = End::Exited {
    status: SUCCESS_STATUS,
};
const FAILED: End = End::Exited {
    status: FAILURE_STATUS,
};

fn plain(lines: &[&str], end: &End) -> Verdict {
    judge(lines, end, &Options::default())
}

fn expecting(kind: Kind, lines: &[&str], end: &End) -> Verdict {
    judge(
        lines,
        end,
        &Options {
            expect: Some(kind),
            ..Options::default()
        },
    )
}

fn requiring_pcid(expect: Option<Kind>, lines: &[&str], end: &End) -> Verdict {
    judge(
        lines,
        end,
        &Options {
            expect,
            require_pcid: true,
        },
    )
}

const CLEAN: &[&str] = &[
    "bulkhead: booting",
    "test a ... ok",
    "test b ... ok",
    "2 passed, 0 failed",
];

#[test]
fn clean_pass() {
    let v = plain(CLEAN, &OK);
    assert!(v.is_pass());
    assert_eq!(v.exit_code(), 0);
    assert_eq!(v.to_string(), "PASS: 2 passed, 0 failed");
}

#[test]
fn skipped_suffix_passes() {
    let lines = ["test a ... ok", "1 passed, 0 failed, 3 skipped"];
    assert_eq!(
        plain(&lines, &OK).to_string(),
        "PASS: 1 passed, 0 failed, 3 skipped"
    );
}

#[test]
fn prefixed_test_lines_count() {
    let lines = [
        "[kernel] test a ... ok",
        "web: test b ... ok",
        "test c ... ok",
        "3 passed, 0 failed",
    ];
    assert!(plain(&lines, &OK).is_pass());
}

#[test]
fn failed_test_line() {
    let lines = [
        "test a ... ok",
        "[c1] test b ... FAILED",
        "1 passed, 1 failed",
    ];
    let v = plain(&lines, &FAILED);
    assert_eq!(v.exit_code(), 1);
    assert_eq!(v.to_string(), "FAIL: summary says 1 failed (b)");
    assert_eq!(
        v,
        Verdict::Fail(Failure::FailedTests {
            names: vec!["b".into()],
            summary_failed: Some(1)
        })
    );
}

#[test]
fn summary_with_failures_and_no_failed_lines() {
    let lines = ["test a ... ok", "1 passed, 2 failed"];
    assert_eq!(
        plain(&lines, &FAILED).to_string(),
        "FAIL: summary says 2 failed"
    );
}

#[test]
fn failed_line_with_clean_summary_still_fails() {
    let lines = ["test a ... FAILED", "0 passed, 0 failed"];
    let v = plain(&lines, &OK);
    assert!(!v.is_pass());
    assert!(v.to_string().contains("1 test FAILED: a"));
}

#[test]
fn panic() {
    let lines = ["test a ... ok", "KERNEL PANIC at kernel/src/mm.rs:12: oops"];
    let v = plain(&lines, &FAILED);
    assert_eq!(
        v.to_string(),
        "FAIL: kernel panic: KERNEL PANIC at kernel/src/mm.rs:12: oops"
    );
}

#[test]
fn panic_wins_over_timeout_and_status() {
    let lines = ["KERNEL PANIC: x", "1 passed, 0 failed"];
    for end in [OK, End::TimedOut { secs: 5 }, End::Exited { status: 0 }] {
        assert_eq!(
            plain(&lines, &end).to_string(),
            "FAIL: kernel panic: KERNEL PANIC: x"
        );
    }
}

#[test]
fn exception_then_panic() {
    let lines = [
        "test a ... ok",
        "EXCEPTION #PF at 0xdead",
        "KERNEL PANIC: fault",
    ];
    let v = plain(&lines, &FAILED);
    assert_eq!(
        v,
        Verdict::Fail(Failure::Exception {
            exception: "EXCEPTION #PF at 0xdead".into(),
            panic: "KERNEL PANIC: fault".into()
        })
    );
    assert!(v
        .to_string()
        .starts_with("FAIL: CPU exception: EXCEPTION #PF"));
}

#[test]
fn triple_fault_without_summary() {
    let v = plain(&["test a ... ok"], &End::Exited { status: 0 });
    assert_eq!(
        v.to_string(),
        "FAIL: triple fault or reset (QEMU exit status 0, no summary)"
    );
}

#[test]
fn reset_after_summary_is_still_a_failure() {
    let v = plain(CLEAN, &End::Exited { status: 0 });
    assert_eq!(v, Verdict::Fail(Failure::TripleFault { summary: true }));
}

#[test]
fn other_statuses_fail() {
    for status in [1, 2, 3, 34, 255] {
        let v = plain(CLEAN, &End::Exited { status });
        assert_eq!(v, Verdict::Fail(Failure::BadStatus { status }));
    }
    let v = plain(CLEAN, &End::Exited { status: 1 });
    assert!(v.to_string().contains("or QEMU itself failed"));
    let v = plain(
        CLEAN,
        &End::NoStatus {
            detail: "killed by signal 9".into(),
        },
    );
    assert_eq!(v.to_string(), "FAIL: abnormal end: killed by signal 9");
}

#[test]
fn timeout_reports_last_line() {
    let lines = ["test a ... ok", "spinning", ""];
    let v = plain(&lines, &End::TimedOut { secs: 120 });
    assert_eq!(
        v.to_string(),
        "FAIL: timed out after 120 s (last line: spinning)"
    );
    let v = plain(&[] as &[&str], &End::TimedOut { secs: 2 });
    assert_eq!(
        v.to_string(),
        "FAIL: timed out after 2 s (last line: <no output>)"
    );
}

#[test]
fn timeout_after_summary_fails() {
    let v = plain(CLEAN, &End::TimedOut { secs: 9 });
    assert_eq!(v.exit_code(), 1);
}

#[test]
fn missing_summary_with_success_status() {
    let v = plain(&["test a ... ok"], &OK);
    assert_eq!(v.to_string(), "FAIL: summary missing");
}

#[test]
fn mismatched_counts() {
    let lines = ["test a ... ok", "test b ... ok", "3 passed, 0 failed"];
    assert_eq!(
        plain(&lines, &OK).to_string(),
        "FAIL: summary 3 passed does not match 2 'ok' lines"
    );
}

#[test]
fn guest_reported_failure_without_failed_tests() {
    let v = plain(CLEAN, &FAILED);
    assert_eq!(v, Verdict::Fail(Failure::GuestExitValue));
}

#[test]
fn expect_failure_matches() {
    let cases: [(Kind, &[&str], End); 6] = [
        (
            Kind::FailedTest,
            &["test a ... FAILED", "0 passed, 1 failed"],
            FAILED,
        ),
        (Kind::Panic, &["KERNEL PANIC: x"], FAILED),
        (
            Kind::Exception,
            &["EXCEPTION #UD", "KERNEL PANIC: x"],
            FAILED,
        ),
        (Kind::TripleFault, &["booting"], End::Exited { status: 0 }),
        (Kind::Timeout, &["booting"], End::TimedOut { secs: 2 }),
        (Kind::MissingSummary, &["test a ... ok"], OK),
    ];
    for (kind, lines, end) in cases {
        let v = expecting(kind, lines, &end);
        assert!(v.is_pass(), "{kind}: {v}");
        assert!(v.to_string().starts_with("PASS: failed as expected ("));
        assert!(v.to_string().contains(kind.name()));
    }
}

#[test]
fn expect_failure_but_passed() {
    let v = expecting(Kind::Panic, CLEAN, &OK);
    assert_eq!(v.exit_code(), 1);
    assert_eq!(
        v.to_string(),
        "FAIL: expected failure 'panic' but the run passed: 2 passed, 0 failed"
    );
}

#[test]
fn expect_failure_but_failed_differently() {
    let v = expecting(Kind::Panic, &["EXCEPTION #GP", "KERNEL PANIC: y"], &FAILED);
    assert_eq!(v.exit_code(), 1);
    assert!(v
        .to_string()
        .starts_with("FAIL: expected failure 'panic' but it failed with 'exception'"));
    let v = expecting(Kind::Timeout, &["test a ... ok", "5 passed, 0 failed"], &OK);
    assert!(v.to_string().contains("failed otherwise: summary 5 passed"));
}

#[test]
fn kind_names_round_trip() {
    for kind in Kind::ALL {
        assert_eq!(kind.name().parse::<Kind>(), Ok(kind));
    }
    assert!("oops".parse::<Kind>().unwrap_err().contains("failed-test"));
}

#[test]
fn pcid_required_and_present() {
    let lines = [
        "cpu: PCID yes INVPCID yes SMEP yes SMAP no UMIP no NX yes XSAVE yes",
        "test a ... ok",
        "1 passed, 0 failed",
    ];
    assert!(requiring_pcid(None, &lines, &OK).is_pass());
}

#[test]
fn pcid_required_but_absent() {
    let lines = [
        "cpu: PCID no INVPCID no SMEP yes",
        "test a ... ok",
        "1 passed, 0 failed",
    ];
    let v = requiring_pcid(None, &lines, &OK);
    assert!(!v.is_pass());
    assert_eq!(
        v.to_string(),
        "FAIL: PCID and INVPCID required, but the banner says 'PCID no INVPCID no'"
    );
    let partial = [
        "cpu: PCID yes INVPCID no",
        "test a ... ok",
        "1 passed, 0 failed",
    ];
    assert!(!requiring_pcid(None, &partial, &OK).is_pass());
    assert!(requiring_pcid(Some(Kind::NoPcid), &lines, &OK).is_pass());
    // Without the switch the same run passes.
    assert!(plain(&lines, &OK).is_pass());
}

#[test]
fn pcid_banner_missing() {
    let v = requiring_pcid(None, CLEAN, &OK);
    assert!(v
        .to_string()
        .contains("no 'cpu: PCID .. INVPCID ..' banner line"));
    assert_eq!("no-pcid".parse::<Kind>().ok(), Some(Kind::NoPcid));
}

#[test]
fn other_failures_come_before_a_missing_pcid() {
    let lines = ["test a ... FAILED", "0 passed, 1 failed"];
    let v = requiring_pcid(None, &lines, &FAILED);
    assert!(matches!(v, Verdict::Fail(Failure::FailedTests { .. })));
}
