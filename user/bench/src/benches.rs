//! The benchmarks, one function each. To add one, write a function taking
//! the [`Context`] that sets up what it needs and returns
//! `context.measurer.median(|| one_operation())`, and list it in [`ALL`]
//! with a dotted name and a few words on which path it measures.

use bulkhead_rt::abi::Error;
use bulkhead_rt::sys;

use bulkhead_measure::Unit;

use crate::{ipc, Context};

/// One benchmark.
pub struct Bench {
    /// Dotted name, no spaces: the `NAME` of its `bench:` line.
    pub name: &'static str,
    /// The path it measures, for the line's note.
    pub what: &'static str,
    /// Returns the figure (median, counter overhead subtracted).
    pub run: fn(&Context) -> Result<u64, Error>,
    /// The unit when it is not the counter's (an event count).
    pub unit: Option<Unit>,
}

/// Every benchmark, in the order they run and print.
pub const ALL: &[Bench] = &[
    Bench {
        name: "syscall.null.native",
        what: "sys::null: SYSCALL, dispatch of call 0, SYSRET",
        run: syscall_null_native,
        unit: None,
    },
    Bench {
        name: "ipc.call_reply.cross_as.r0",
        what: "Call + ReplyRecv round trip, server in another address space, 0 words, user stubs included",
        run: ipc::cross_as_r0,
        unit: None,
    },
    Bench {
        name: "ipc.call_reply.cross_as.r4",
        what: "the same with 4 words",
        run: ipc::cross_as_r4,
        unit: None,
    },
    Bench {
        name: "ipc.call_reply.cross_as.r8",
        what: "the same with 8 words",
        run: ipc::cross_as_r8,
        unit: None,
    },
    Bench {
        name: "ipc.call_reply.same_as.r4",
        what: "Call + ReplyRecv between two threads of one address space, 4 words",
        run: ipc::same_as_r4,
        unit: None,
    },
    Bench {
        name: "ipc.call_reply.slowpath.r4",
        what: "cross-address-space round trip, 4 words, both directions forced onto the slow path",
        run: ipc::slowpath_r4,
        unit: None,
    },
    Bench {
        name: "ipc.cross_as.cr3_writes_per_round_trip",
        what: "kernel-counted CR3 writes over 1000 cross-address-space round trips, divided",
        run: ipc::cr3_writes_per_round_trip,
        unit: Some(Unit::Writes),
    },
];

/// A native system call that does nothing: the kernel entry and exit path.
fn syscall_null_native(context: &Context) -> Result<u64, Error> {
    context.measurer.median(sys::null)
}
