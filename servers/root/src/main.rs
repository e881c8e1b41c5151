//! The Bulkhead root server: the first user program.
//!
//! The kernel starts it with the root info page at `rdi` and the boot
//! capabilities in `root_slots`. It sets up its console and a heap paid
//! from a slice of its memory quota, prints a banner naming the boot
//! modules, optionally runs its own checks (`root.selftest=1`), starts the
//! `usertests` module as a child process holding only the capabilities it
//! is given (see [`process`]), waits for it and reports how it ended.
//!
//! When the boot modules include `bench` (the ISO `make bench` boots), it
//! runs that module instead of `usertests` and of its own checks, then the
//! containers of the `manifest` module if there is one (the container
//! benchmarks, one container at a time), and ends the emulator run:
//! success only if all of them exited as expected.
//! With `root.scaling=1,10,100,1000` on the command line it runs the
//! scaling benchmark instead (see [`scaling`]).
//! A `fuzz` module (the ISO `scripts/fuzz.sh` boots) is run the same way,
//! with the command line's `user.fuzz.*` options passed on in its start
//! info (see [`fuzz_options`]), followed by the manifest's containers (the
//! Linux-syscall fuzzer); the root server then prints one test line for
//! the fuzz run, the containers' lines and the `N passed, N failed`
//! summary the runner judges.
//!
//! After the user-land tests it starts the containers of the `manifest`
//! module, if there is one, and supervises their syscall servers (see
//! [`containers`]); each program with an `expect` line is one more test.
//!
//! Outside test runs it then keeps those containers and runs the
//! interactive console on the serial port (see [`console`]; off with
//! `root.console=0`, scripted with `root.script=`), which ends the
//! emulator run on `exit`.
//!
//! In a test run (the kernel's test build sets `RootInfo::test_run`, or
//! `user.exit=1` is on the command line) it then prints one combined
//! summary — the kernel's in-kernel tests, its own checks and the child's
//! report page — and ends the emulator run with the verdict (QEMU exit
//! status 33 for success, 35 for failure; Bochs is shut down).
//!
//! All unsafe code lives in `bulkhead-rt`.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

mod console;
mod containers;
mod loader;
mod process;
mod scaling;
mod selftest;
mod show;
mod supervise;

use alloc::string::String;
use alloc::vec::Vec;

use bulkhead_rt::abi::root_info::{ModuleInfo, RootInfo};
use bulkhead_rt::abi::{root_slots, Error};
use bulkhead_rt::boot::{root_cap, root_info};
use bulkhead_rt::child::TestReport;
use bulkhead_rt::report::Tally;
use bulkhead_rt::sys::ThreadStatus;
use bulkhead_rt::{cmdline, heap, println, sys};

bulkhead_rt::entry!(main);

/// Pages of the root quota set aside for the root server's own heap.
const ROOT_HEAP_QUOTA_PAGES: u64 = 1024;
/// Pages mapped when the heap starts (it grows on demand).
const ROOT_HEAP_INITIAL_PAGES: u64 = 64;
/// The boot module holding the user-land test suite.
const USERTESTS_MODULE: &str = "usertests";
/// The boot module holding the benchmarks; run instead of the tests.
const BENCH_MODULE: &str = "bench";
/// The boot module holding the syscall fuzzer; run instead of the tests.
const FUZZ_MODULE: &str = "fuzz";
/// Command-line options passed on to the fuzzer (with `user.` removed).
const FUZZ_OPTION_PREFIX: &str = "user.fuzz.";

fn main(argument: u64) -> i32 {
    bulkhead_rt::init_console(root_cap(root_slots::CONSOLE));
    let Some(info) = root_info(argument) else {
        println!("root: no valid root info page at {argument:#x}");
        return 1;
    };
    if let Err(error) = start_heap() {
        println!("root: cannot start the heap: {error}");
        return 1;
    }
    println!("{}", banner(&info));
    if let Some(module) = info.modules().iter().find(|m| m.name() == BENCH_MODULE) {
        if cmdline::value(info.cmdline(), scaling::OPTION).is_some() {
            scaling::run(module, &info);
        }
        run_bench(module, &info);
    }
    if let Some(module) = info.modules().iter().find(|m| m.name() == FUZZ_MODULE) {
        run_fuzz(module, &info);
    }
    let cmdline = info.cmdline();
    let selftest = if cmdline::flag(cmdline, "root.selftest") {
        selftest::run()
    } else {
        Tally::default()
    };
    let usertests = run_usertests(&info);
    let test_run = info.test_run != 0 || cmdline::flag(cmdline, "user.exit");
    let console = !test_run && console::enabled(cmdline);
    let (containers, fleet) = if console {
        containers::run_kept(&info)
    } else {
        (containers::run(&info, test_run, false), None)
    };
    let mut total = combined(&info, &selftest, &usertests);
    total.passed += containers.passed;
    total.failed += containers.failed;
    if test_run {
        let scaling = scaling::check(&info);
        total.passed += scaling.passed;
        total.failed += scaling.failed;
    }
    println!("root: combined results of the kernel, root and user-land suites:");
    println!("{}", total.summary_line());
    if console {
        console::run(cmdline, fleet, total);
    }
    let success = total.all_passed();
    if test_run {
        end_run(success);
    }
    if success {
        0
    } else {
        1
    }
}

/// Splits the heap's quota off the root quota and maps the first pages.
fn start_heap() -> Result<(), Error> {
    let memory = root_cap(root_slots::MEMORY);
    let heap_quota = sys::memory_split(memory, ROOT_HEAP_QUOTA_PAGES)?;
    let space = root_cap(root_slots::SELF_SPACE);
    heap::init(
        heap_quota,
        space,
        heap::DEFAULT_HEAP_BASE,
        ROOT_HEAP_INITIAL_PAGES,
    )
}

/// `bulkhead-root: 30000 pages of memory; modules: usertests (81920 bytes)`.
fn banner(info: &RootInfo) -> String {
    let modules: Vec<String> = info
        .modules()
        .iter()
        .map(|module| alloc::format!("{} ({} bytes)", module.name(), module.size))
        .collect();
    let list = if modules.is_empty() {
        String::from("none")
    } else {
        modules.join(", ")
    };
    alloc::format!(
        "bulkhead-root: {} pages of memory; modules: {}",
        info.memory_pages,
        list
    )
}

/// Runs the benchmarks module (see the crate docs) and ends the run.
fn run_bench(module: &ModuleInfo, info: &RootInfo) -> ! {
    let native = match process::launch(module, None) {
        Ok(child) => {
            println!("root: started {BENCH_MODULE} (entry {:#x})", child.entry);
            let ended = report_end(BENCH_MODULE, child.wait());
            child.release();
            ended
        }
        Err(failure) => {
            println!("root: cannot start {BENCH_MODULE}: {failure}");
            false
        }
    };
    // The container benchmarks, when the ISO has a manifest: one container
    // at a time, since the CR3-write counts they report are system-wide.
    let success = native && containers::run(info, false, true).all_passed();
    end_run(success)
}

/// Ends the emulator run with the verdict (QEMU's debug-exit port, or
/// Bochs' shutdown port).
pub fn end_run(success: bool) -> ! {
    let debug_exit = root_cap(root_slots::EXIT_PORTS);
    bulkhead_rt::exit_emulator(debug_exit, root_cap(root_slots::BOCHS_PORT), success)
}

/// The `user.fuzz.*` words of the command line, without `user.`, for the
/// fuzzer's start info (`fuzz.seed=1 fuzz.count=20000`). The start info
/// carries at most `FILTER_LEN` bytes: words that do not fit are dropped,
/// and said so.
fn fuzz_options(cmdline: &str) -> String {
    let mut options = String::new();
    for word in cmdline.split_ascii_whitespace() {
        let Some(option) = word.strip_prefix("user.") else {
            continue;
        };
        if !word.starts_with(FUZZ_OPTION_PREFIX) {
            continue;
        }
        if options.len() + 1 + option.len() > bulkhead_rt::child::FILTER_LEN {
            println!("root: fuzz option '{word}' does not fit in the start info: dropped");
            continue;
        }
        if !options.is_empty() {
            options.push(' ');
        }
        options.push_str(option);
    }
    options
}

/// Runs the fuzzer module, prints its verdict as one test line and the
/// summary (with the in-kernel tests of a test build), and ends the run.
fn run_fuzz(module: &ModuleInfo, info: &RootInfo) -> ! {
    let options = fuzz_options(info.cmdline());
    let success = match process::launch(module, Some(&options)) {
        Ok(child) => {
            println!(
                "root: started {FUZZ_MODULE} (entry {:#x}) with '{options}'",
                child.entry
            );
            report_end(FUZZ_MODULE, child.wait())
        }
        Err(failure) => {
            println!("root: cannot start {FUZZ_MODULE}: {failure}");
            false
        }
    };
    let mut total = Tally {
        passed: info.kernel_tests_passed as usize,
        failed: info.kernel_tests_failed as usize,
        skipped: 0,
    };
    total.record(success);
    println!("{}", bulkhead_rt::report::result_line("fuzz::run", success));
    // The Linux-syscall fuzzer in a container, when the ISO has one.
    let linux = containers::run(info, true, false);
    total.passed += linux.passed;
    total.failed += linux.failed;
    println!("{}", total.summary_line());
    end_run(total.all_passed())
}

/// How the test suite child went.
struct UserRun {
    /// It exited with code 0.
    succeeded: bool,
    /// The counts it left in its report page.
    report: Option<TestReport>,
}

/// Starts the test suite module and waits for it.
fn run_usertests(info: &RootInfo) -> UserRun {
    let failed = UserRun {
        succeeded: false,
        report: None,
    };
    let Some(module) = info.modules().iter().find(|m| m.name() == USERTESTS_MODULE) else {
        println!("root: no '{USERTESTS_MODULE}' module: nothing to run");
        return failed;
    };
    let filter = cmdline::value(info.cmdline(), "test");
    let child = match process::launch(module, filter) {
        Ok(child) => child,
        Err(failure) => {
            println!("root: cannot start {USERTESTS_MODULE}: {failure}");
            return failed;
        }
    };
    println!(
        "root: started {USERTESTS_MODULE} (entry {:#x})",
        child.entry
    );
    let run = UserRun {
        succeeded: report_end(USERTESTS_MODULE, child.wait()),
        report: child.report(),
    };
    // Its memory goes back to the root quota, for the containers.
    child.release();
    run
}

/// Prints how the child `name` ended; true for exit code 0.
pub fn report_end(name: &str, end: Result<ThreadStatus, Error>) -> bool {
    match end {
        Ok(ThreadStatus::Exited(code)) => {
            println!("root: {name} exited with code {}", code as i64);
            code == 0
        }
        Ok(ThreadStatus::Faulted { vector, address }) => {
            println!("root: {name} faulted: vector {vector} at {address:#x}");
            false
        }
        Ok(other) => {
            println!("root: {name} ended in state {other:?}");
            false
        }
        Err(error) => {
            println!("root: waiting for {name} failed: {error}");
            false
        }
    }
}

/// Kernel tests, root checks and user tests together. A child that did not
/// succeed without reporting a failure (it crashed, or never started)
/// counts as one more failure, so the verdict can never be a pass.
fn combined(info: &RootInfo, selftest: &Tally, usertests: &UserRun) -> Tally {
    let report = usertests.report.unwrap_or_default();
    let mut total = Tally {
        passed: (info.kernel_tests_passed + report.passed) as usize + selftest.passed,
        failed: (info.kernel_tests_failed + report.failed) as usize + selftest.failed,
        skipped: report.skipped as usize + selftest.skipped,
    };
    if !usertests.succeeded && report.failed == 0 {
        total.failed += 1;
    }
    total
}
