//! `bulkhead-bench`: the user-land benchmarks that `make bench` runs.
//!
//! The root server starts it instead of the test suite when the ISO has a
//! boot module named `bench`, and ends the emulator run with success only if
//! it exits with 0. It runs every entry of [`benches::ALL`] in order and
//! prints one `bench: NAME VALUE UNIT (NOTE)` line each (the format of
//! `bulkhead_measure`, read by `bulkhead-runner bench`). The kernel has
//! already printed the `bench-env:` lines and its own figures.
//!
//! The unit follows the accelerator CPUID reports: under QEMU's TCG the
//! runner adds `-icount shift=0,sleep=off`, so RDTSC counts executed
//! instructions; elsewhere it counts cycles.
//!
//! Its start option string may narrow the run: `only=NAME,NAME` runs just
//! those benchmarks, and `prefix=TEXT` puts TEXT before every name (the
//! root server's scaling benchmark runs `only=ipc.call_reply.cross_as.r4
//! prefix=scaling.n100.` with 100 containers alive).
//!
//! Exit codes: 0 every benchmark ran, 1 one failed (the others still ran),
//! 2 the program could not start or `only` names no benchmark.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

mod benches;
mod ipc;

use bulkhead_measure::{tsc, Accelerator, Config, Line, Measurer, Unit};
use bulkhead_rt::boot::start_child;
use bulkhead_rt::{cmdline, println};

bulkhead_rt::entry!(main);

/// Pages the heap starts with (it grows on demand); the samples of one
/// benchmark need 2 pages.
const HEAP_INITIAL_PAGES: u64 = 16;

/// What every benchmark function gets.
pub struct Context {
    /// Times an operation: median after a warm-up, counter overhead
    /// subtracted.
    pub measurer: Measurer<fn() -> u64>,
}

fn main(argument: u64) -> i32 {
    let Some(start) = start_child(argument, "bulkhead-bench", HEAP_INITIAL_PAGES) else {
        return 2;
    };
    let options = start.filter().unwrap_or("");
    let only = cmdline::value(options, "only");
    let prefix = cmdline::value(options, "prefix").unwrap_or("");
    let selected = |name: &str| only.is_none_or(|list| list.split(',').any(|n| n == name));
    if !benches::ALL.iter().any(|b| selected(b.name)) {
        println!(
            "bulkhead-bench: no benchmark is called {}",
            only.unwrap_or("")
        );
        return 2;
    }
    let unit = Unit::for_accelerator(Accelerator::detect());
    let context = Context {
        measurer: Measurer::new(tsc as fn() -> u64, Config::DEFAULT),
    };
    let mut failed = 0;
    for bench in benches::ALL.iter().filter(|b| selected(b.name)) {
        let name = alloc::format!("{prefix}{}", bench.name);
        match (bench.run)(&context) {
            Ok(value) => {
                let note = match bench.unit {
                    Some(_) => alloc::format!("({})", bench.what),
                    None => {
                        alloc::format!("({}; user mode; {})", bench.what, context.measurer.method())
                    }
                };
                let line = Line {
                    name: &name,
                    value,
                    unit: bench.unit.unwrap_or(unit),
                    note: &note,
                };
                println!("{line}");
            }
            Err(error) => {
                println!("bulkhead-bench: {name} failed: {error}");
                failed += 1;
            }
        }
    }
    if failed == 0 {
        0
    } else {
        1
    }
}
