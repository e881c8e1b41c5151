//! End-to-end tests of `bulkhead-runner test` against a fake QEMU: a shell
//! script (named by `BULKHEAD_QEMU`) that records its arguments, prints
//! scripted guest lines, and exits with a chosen status or hangs. They show the
//! harness turns every kind of failure red and exits 0 only on a real pass.

#![forbid(unsafe_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A temp dir with a dummy ISO and a fake QEMU script.
struct Fake {
    dir: PathBuf,
}

impl Fake {
    /// `body` is the shell script after the line that records the arguments.
    fn new(body: &str) -> Fake {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let name = format!("bulkhead-runner-test-{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("bulkhead.iso"), b"not really an iso").unwrap();
        let script = format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n{body}\n",
            dir.join("args.txt").display()
        );
        let qemu = dir.join("qemu");
        fs::write(&qemu, script).unwrap();
        fs::set_permissions(&qemu, fs::Permissions::from_mode(0o755)).unwrap();
        Fake { dir }
    }

    fn command(&self, extra: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bulkhead-runner"));
        command
            .env("BULKHEAD_QEMU", self.dir.join("qemu"))
            .arg("test")
            .arg("--iso")
            .arg(self.dir.join("bulkhead.iso"))
            .args(["--timeout", "2"])
            .args(extra);
        command
    }

    fn run(&self, extra: &[&str]) -> (i32, String) {
        let Output { status, stdout, .. } = self.command(extra).output().unwrap();
        (
            status.code().unwrap_or(-1),
            String::from_utf8(stdout).unwrap(),
        )
    }

    fn args(&self) -> String {
        fs::read_to_string(self.dir.join("args.txt")).unwrap()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A script printing `lines` and exiting with `status`.
fn guest(lines: &[&str], status: i32) -> Fake {
    let quoted: Vec<String> = lines.iter().map(|l| format!("'{l}'")).collect();
    Fake::new(&format!(
        "printf '%s\\r\\n' {}\nexit {status}",
        quoted.join(" ")
    ))
}

fn verdict_line(stdout: &str) -> &str {
    stdout
        .lines()
        .rfind(|l| l.starts_with("runner: "))
        .unwrap_or("")
}

const CLEAN: &[&str] = &[
    "bulkhead: boot",
    "test a ... ok",
    "[c1] test b ... ok",
    "2 passed, 0 failed",
];

#[test]
fn pass_streams_lines_and_exits_zero() {
    let fake = guest(CLEAN, 33);
    let (code, out) = fake.run(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("bulkhead: boot\ntest a ... ok\n"), "{out}");
    assert_eq!(verdict_line(&out), "runner: PASS: 2 passed, 0 failed");
    let args = fake.args();
    assert!(args.contains("-device\nisa-debug-exit,iobase=0xf4,iosize=0x04\n"));
    assert!(args.contains("-no-reboot\n") && args.contains("-accel\ntcg\n"));
    assert!(args.contains("bulkhead.iso\n-boot\nd\n"));
}

#[test]
fn extra_arguments_and_log_file() {
    let fake = guest(CLEAN, 33);
    let log = fake.dir.join("serial.log");
    let log_arg = log.to_str().unwrap();
    let (code, _) = fake.run(&["--icount", "--log", log_arg, "--", "-smp", "2"]);
    assert_eq!(code, 0);
    assert!(fake
        .args()
        .ends_with("-icount\nshift=0,sleep=off\n-smp\n2\n"));
    let logged = fs::read_to_string(&log).unwrap();
    assert!(logged.starts_with("bulkhead: boot\n"));
    assert!(logged.ends_with("runner: PASS: 2 passed, 0 failed\n"));
}

#[test]
fn failed_test_is_red() {
    let fake = guest(
        &["test a ... ok", "test b ... FAILED", "1 passed, 1 failed"],
        35,
    );
    let (code, out) = fake.run(&[]);
    assert_eq!(code, 1);
    assert_eq!(
        verdict_line(&out),
        "runner: FAIL: summary says 1 failed (b)"
    );
}

#[test]
fn panic_is_red() {
    let fake = guest(&["test a ... ok", "KERNEL PANIC at mm.rs:3: boom"], 35);
    let (code, out) = fake.run(&[]);
    assert_eq!(code, 1);
    assert_eq!(
        verdict_line(&out),
        "runner: FAIL: kernel panic: KERNEL PANIC at mm.rs:3: boom"
    );
}

#[test]
fn triple_fault_is_red() {
    let fake = guest(&["bulkhead: boot", "test a ... ok"], 0);
    let (code, out) = fake.run(&[]);
    assert_eq!(code, 1);
    assert_eq!(
        verdict_line(&out),
        "runner: FAIL: triple fault or reset (QEMU exit status 0, no summary)"
    );
}

#[test]
fn timeout_is_red_and_kills_qemu() {
    let fake = Fake::new("echo 'bulkhead: boot'\necho 'waiting forever'\nexec sleep 60");
    let start = Instant::now();
    let (code, out) = fake.run(&[]);
    assert!(start.elapsed() < Duration::from_secs(20));
    assert_eq!(code, 1);
    assert_eq!(
        verdict_line(&out),
        "runner: FAIL: timed out after 2 s (last line: waiting forever)"
    );
}

#[test]
fn expected_failure_passes_only_for_its_reason() {
    let fake = guest(&["EXCEPTION #PF at 0x0", "KERNEL PANIC: fault"], 35);
    let (code, out) = fake.run(&["--expect-failure", "exception"]);
    assert_eq!(code, 0, "{out}");
    assert!(verdict_line(&out).starts_with("runner: PASS: failed as expected (exception: "));
    let (code, out) = fake.run(&["--expect-failure", "panic"]);
    assert_eq!(code, 1);
    assert!(verdict_line(&out).contains("expected failure 'panic' but it failed with"));
    let clean = guest(CLEAN, 33);
    let (code, _) = clean.run(&["--expect-failure", "timeout"]);
    assert_eq!(code, 1);
}

#[test]
fn missing_qemu_exits_two() {
    let fake = guest(CLEAN, 33);
    let empty = fake.dir.join("empty");
    fs::create_dir(&empty).unwrap();
    let output = fake
        .command(&[])
        .env_remove("BULKHEAD_QEMU")
        .env("PATH", &empty)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim_end(),
        "runner: qemu-system-x86_64 not found: install it with \
         'sudo apt-get install qemu-system-x86' (or run 'make deps')"
    );
}

#[test]
fn usage_errors_exit_two() {
    let fake = guest(CLEAN, 33);
    let (code, _) = fake.run(&["--accel", "hvf"]);
    assert_eq!(code, 2);
}

/// A fake Bochs: finds COM1's file in the bochsrc and writes `lines` to it.
fn bochs_run(lines: &[&str], extra: &[&str]) -> (i32, String) {
    let printed: Vec<String> = lines.iter().map(|l| format!("'{l}'")).collect();
    let body = format!(
        "serial=$(sed -n 's/^com1:.*dev=\"\\(.*\\)\"$/\\1/p' \"$3\")\n\
         printf '%s\\n' {} > \"$serial\"\nexit 0",
        printed.join(" ")
    );
    let fake = Fake::new(&body);
    let output = Command::new(env!("CARGO_BIN_EXE_bulkhead-runner"))
        .env("BULKHEAD_BOCHS", fake.dir.join("qemu"))
        .arg("bochs")
        .arg("--iso")
        .arg(fake.dir.join("bulkhead.iso"))
        .args(["--timeout", "5"])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    (output.status.code().unwrap_or(-1), stdout)
}

#[test]
fn bochs_uses_the_exit_code_line() {
    let mut lines = CLEAN.to_vec();
    lines.push("bulkhead: exit code 0x10");
    let (code, out) = bochs_run(&lines, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(verdict_line(&out), "runner: PASS: 2 passed, 0 failed");
    let (code, out) = bochs_run(CLEAN, &["--expect-failure", "triple-fault"]);
    assert_eq!(code, 0, "{out}");
    assert!(verdict_line(&out).contains("without a 'bulkhead: exit code' line"));
}

#[test]
fn bochs_failure_is_red() {
    let lines = [
        "test a ... FAILED",
        "0 passed, 1 failed",
        "bulkhead: exit code 0x11",
    ];
    let (code, out) = bochs_run(&lines, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        verdict_line(&out),
        "runner: FAIL: summary says 1 failed (a)"
    );
    let kept = out
        .lines()
        .find_map(|l| l.strip_prefix("runner: bochs files kept in "));
    let _ = fs::remove_dir_all(kept.expect("kept dir reported"));
}

#[test]
fn bochs_require_pcid_reads_the_banner() {
    let with = |banner: &'static str| {
        let mut lines = vec![banner];
        lines.extend_from_slice(CLEAN);
        lines.push("bulkhead: exit code 0x10");
        lines
    };
    let yes = with("cpu: PCID yes INVPCID yes SMEP yes SMAP no UMIP no NX yes XSAVE yes");
    let (code, out) = bochs_run(&yes, &["--require-pcid"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(verdict_line(&out), "runner: PASS: 2 passed, 0 failed");
    let no = with("cpu: PCID no INVPCID no SMEP yes SMAP no UMIP no NX yes XSAVE yes");
    let (code, out) = bochs_run(&no, &["--require-pcid"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        verdict_line(&out),
        "runner: FAIL: PCID and INVPCID required, but the banner says 'PCID no INVPCID no'"
    );
    let kept = out
        .lines()
        .find_map(|l| l.strip_prefix("runner: bochs files kept in "));
    let _ = fs::remove_dir_all(kept.expect("kept dir reported"));
}

#[test]
fn qemu_require_pcid_fails_without_the_banner() {
    let fake = guest(CLEAN, 33);
    let (code, out) = fake.run(&["--require-pcid"]);
    assert_eq!(code, 1, "{out}");
    assert!(verdict_line(&out).contains("no 'cpu: PCID .. INVPCID ..' banner line"));
    let (code, out) = fake.run(&["--require-pcid", "--expect-failure", "no-pcid"]);
    assert_eq!(code, 0, "{out}");
}
