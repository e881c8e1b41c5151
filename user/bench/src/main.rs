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
//! Exit codes: 0 every benchmark ran, 1 one failed (the others still ran),
//! 2 the program could not start.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

mod benches;
mod ipc;

use bulkhead_measure::{tsc, Accelerator, Config, Line, Measurer, Unit};
use bulkhead_rt::boot::start_child;
use bulkhead_rt::println;

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
    if start_child(argument, "bulkhead-bench", HEAP_INITIAL_PAGES).is_none() {
        return 2;
    }
    let unit = Unit::for_accelerator(Accelerator::detect());
    let context = Context {
        measurer: Measurer::new(tsc as fn() -> u64, Config::DEFAULT),
    };
    let mut failed = 0;
    for bench in benches::ALL {
        match (bench.run)(&context) {
            Ok(value) => {
                let note = match bench.unit {
                    Some(_) => alloc::format!("({})", bench.what),
                    None => {
                        alloc::format!("({}; user mode; {})", bench.what, context.measurer.method())
                    }
                };
                let line = Line {
                    name: bench.name,
                    value,
                    unit: bench.unit.unwrap_or(unit),
                    note: &note,
                };
                println!("{line}");
            }
            Err(error) => {
                println!("bulkhead-bench: {} failed: {error}", bench.name);
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
