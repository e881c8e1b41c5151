//! The benchmarks, one function each. To add one, write a function taking
//! the [`Context`] that sets up what it needs and returns
//! `context.measurer.median(|| one_operation())`, and list it in [`ALL`]
//! with a dotted name and a few words on which path it measures.

use bulkhead_rt::abi::Error;
use bulkhead_rt::sys;

use crate::Context;

/// One benchmark.
pub struct Bench {
    /// Dotted name, no spaces: the `NAME` of its `bench:` line.
    pub name: &'static str,
    /// The path it measures, for the line's note.
    pub what: &'static str,
    /// Returns the figure (median, counter overhead subtracted).
    pub run: fn(&Context) -> Result<u64, Error>,
}

/// Every benchmark, in the order they run and print.
pub const ALL: &[Bench] = &[Bench {
    name: "syscall.null.native",
    what: "sys::null: SYSCALL, dispatch of call 0, SYSRET",
    run: syscall_null_native,
}];

/// A native system call that does nothing: the kernel entry and exit path.
fn syscall_null_native(context: &Context) -> Result<u64, Error> {
    context.measurer.median(sys::null)
}
