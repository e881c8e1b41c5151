//! An IPC echo server, in this address space or in a second one that
//! holds a copy of the program image ([`crate::image::clone_into`]): used
//! by the test suite (fast and slow paths must agree, within and across
//! address spaces) and by the benchmarks (round-trip cost).
//!
//! The server thread runs [`echo_server`], which needs no heap and no
//! console: only its stack, the endpoint (through the shared capability
//! table) and IPC calls. It echoes each message back with the same words.

use bulkhead_abi::ipc::MessageInfo;
use bulkhead_abi::{CapRef, Error, Rights, PAGE_SIZE};

use crate::boot::child_cap;
use crate::sys::ipc;
use crate::{child_slots, image, sys};

/// Where the server's stack sits in the second address space.
const SERVER_STACK: u64 = 0x0000_6000_0000_0000;
const SERVER_STACK_PAGES: u64 = 4;
/// Pages for the server's address space: image copy, stack, page tables.
const SERVER_QUOTA_PAGES: u64 = 2048;
const SERVER_PRIORITY: u64 = 16;

/// Echoes every message back (words unchanged), forever. With `slow` set
/// in the low bit of its argument it replies on the slow path too.
extern "C" fn echo_server(argument: u64) -> ! {
    let endpoint = CapRef(argument >> 1);
    let slow = argument & 1 == 1;
    let mut got = ipc::recv(endpoint, MessageInfo::default());
    loop {
        let Ok(received) = got else {
            sys::thread_exit(1)
        };
        let mut reply = received.message;
        reply.info = MessageInfo::new(received.message.info.words());
        if slow {
            reply.info = reply.info.with_slow_path();
        }
        got = ipc::reply_recv(endpoint, &reply);
    }
}

/// A running echo server and the capabilities to tear it down.
pub struct Server {
    pub endpoint: CapRef,
    thread: CapRef,
    owned: [Option<CapRef>; 3],
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = sys::thread_suspend(self.thread);
        for cap in [Some(self.thread), Some(self.endpoint)]
            .into_iter()
            .chain(self.owned)
            .flatten()
        {
            let _ = sys::cap_delete(cap);
        }
    }
}

/// Starts an echo server in a new address space (`separate`) or in ours.
pub fn start(separate: bool, slow: bool) -> Result<Server, Error> {
    let memory = child_cap(child_slots::MEMORY);
    let table = child_cap(child_slots::SELF_TABLE);
    let endpoint = ipc::endpoint_create(memory)?;
    let (space, quota) = if separate {
        let quota = sys::memory_split(memory, SERVER_QUOTA_PAGES)?;
        let space = sys::space_create(quota)?;
        image::clone_into(space, quota)?;
        (space, Some(quota))
    } else {
        (child_cap(child_slots::SELF_SPACE), None)
    };
    let stack = sys::frames_alloc(quota.unwrap_or(memory), SERVER_STACK_PAGES)?;
    let stack_base = if separate {
        SERVER_STACK
    } else {
        SERVER_STACK + (1 << 30)
    };
    sys::space_map(
        space,
        stack,
        0,
        SERVER_STACK_PAGES,
        stack_base,
        Rights::READ | Rights::WRITE,
    )?;
    let top = stack_base + SERVER_STACK_PAGES * PAGE_SIZE - 8;
    let thread = sys::thread_create(quota.unwrap_or(memory), space, table, SERVER_PRIORITY)?;
    let argument = (endpoint.0 << 1) | u64::from(slow);
    sys::thread_set_entry(thread, echo_server as *const () as u64, top, argument)?;
    sys::thread_start(thread)?;
    // Let the server reach its first Recv, so every measured call finds it
    // waiting.
    sys::yield_now()?;
    Ok(Server {
        endpoint,
        thread,
        owned: [Some(stack), separate.then_some(space), quota],
    })
}
