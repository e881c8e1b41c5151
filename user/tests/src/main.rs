//! `bulkhead-usertests`: the user-land test suite. Every test checks
//! kernel behaviour through system calls only (address spaces,
//! capabilities, bad pointers, quotas, threads), with the rt test
//! framework and the common report format.
//!
//! The root server starts it as a child holding only the capabilities of
//! the `child_slots` convention; the start argument points at the start
//! info page, which carries the exact handles and the `test=` filter from
//! the kernel command line. The program prints `N passed, N failed` and
//! exits with 0 when everything passed, 1 when something failed, and 2
//! when it could not even start. Before exiting it writes its counts to
//! the report page (`child::REPORT_ADDR`) for the root server's combined
//! summary.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

mod fixture;
mod tests;

use alloc::string::String;

use bulkhead_rt::boot::{child_cap, start_child};
use bulkhead_rt::child::{TestReport, REPORT_ADDR};
use bulkhead_rt::child_slots;
use bulkhead_rt::report::Tally;
use bulkhead_rt::{println, sys, testing};

bulkhead_rt::entry!(main);

/// Pages the heap starts with (it grows on demand).
const HEAP_INITIAL_PAGES: u64 = 64;

fn main(argument: u64) -> i32 {
    let Some(start) = start_child(argument, "usertests", HEAP_INITIAL_PAGES) else {
        return 2;
    };
    let own_thread = child_cap(child_slots::SELF_THREAD);
    if let Err(error) = sys::thread_set_priority(own_thread, fixture::PRIORITY) {
        println!("usertests: cannot set own priority: {error}");
    }
    let filter = start.filter();
    println!(
        "usertests: running{}",
        filter.map_or(String::new(), |f| alloc::format!(" tests matching '{f}'"))
    );
    let tally = testing::run_and_tally(&tests::all(), filter);
    leave_report(&tally);
    if tally.all_passed() {
        0
    } else {
        1
    }
}

/// Writes the counts to the report page the root server reads afterwards.
fn leave_report(tally: &Tally) {
    let report = TestReport {
        passed: tally.passed as u64,
        failed: tally.failed as u64,
        skipped: tally.skipped as u64,
    };
    let own_space = child_cap(child_slots::SELF_SPACE);
    if let Err(error) = sys::space_write(own_space, REPORT_ADDR, &report.encode()) {
        println!("usertests: cannot write the report page: {error}");
    }
}
