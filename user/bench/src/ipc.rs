//! IPC round-trip benchmarks: Call + ReplyRecv between two threads, in one
//! address space or two, with 0, 4 and 8 message words, on the fast path
//! or forced onto the slow path, and the CR3 writes one round trip costs.
//!
//! The server is `bulkhead_rt::echo` (in a second address space it runs
//! from a copy of this program's image).

use bulkhead_rt::abi::Error;
use bulkhead_rt::echo;
use bulkhead_rt::sys::ipc::{self, Message};

use crate::Context;

fn round_trip(context: &Context, separate: bool, words: usize, slow: bool) -> Result<u64, Error> {
    let server = echo::start(separate, slow)?;
    let mut message = Message::words(&[1, 2, 3, 4, 5, 6, 7, 8][..words]);
    if slow {
        message.info = message.info.with_slow_path();
    }
    let endpoint = server.endpoint;
    context
        .measurer
        .median(|| ipc::call(endpoint, &message).map(drop))
}

/// `ipc.call_reply.cross_as.r0`.
pub fn cross_as_r0(context: &Context) -> Result<u64, Error> {
    round_trip(context, true, 0, false)
}

/// `ipc.call_reply.cross_as.r4`.
pub fn cross_as_r4(context: &Context) -> Result<u64, Error> {
    round_trip(context, true, 4, false)
}

/// `ipc.call_reply.cross_as.r8`.
pub fn cross_as_r8(context: &Context) -> Result<u64, Error> {
    round_trip(context, true, 8, false)
}

/// `ipc.call_reply.same_as.r4`.
pub fn same_as_r4(context: &Context) -> Result<u64, Error> {
    round_trip(context, false, 4, false)
}

/// `ipc.call_reply.slowpath.r4`: cross-address-space, both directions
/// forced onto the slow path.
pub fn slowpath_r4(context: &Context) -> Result<u64, Error> {
    round_trip(context, true, 4, true)
}

/// CR3 writes per cross-address-space round trip (counted by the kernel
/// over many round trips).
pub fn cr3_writes_per_round_trip(_: &Context) -> Result<u64, Error> {
    const ROUND_TRIPS: u64 = 1000;
    let server = echo::start(true, false)?;
    let message = Message::words(&[1, 2, 3, 4]);
    ipc::call(server.endpoint, &message)?;
    let before = ipc::kernel_counters()?;
    for _ in 0..ROUND_TRIPS {
        ipc::call(server.endpoint, &message)?;
    }
    let after = ipc::kernel_counters()?;
    Ok((after.cr3_writes - before.cr3_writes) / ROUND_TRIPS)
}
