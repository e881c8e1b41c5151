//! The kernel's endpoint-capability cache (`kernel/src/object/cap_cache.rs`)
//! must never let a capability outlive its deletion: each test makes a
//! few calls through one handle (so the kernel remembers its lookup, on
//! the fast path and on the forced slow path), changes what the handle
//! names, and checks that the next call sees the change exactly as if
//! nothing had been remembered.
//!
//! The echo servers (`bulkhead_rt::echo`, in a second address space) use
//! this program's capability table, so the client and the server look up
//! the same slots.

use alloc::string::String;

use bulkhead_rt::abi::ipc::MessageInfo;
use bulkhead_rt::abi::{CapRef, Error, Rights};
use bulkhead_rt::echo;
use bulkhead_rt::sys;
use bulkhead_rt::sys::ipc::{self, Message};
use bulkhead_rt::{check_eq, check_err, check_ok, Test};

use crate::fixture::memory;

pub const TESTS: &[Test] = &[
    Test {
        name: "ipc_cache::deleted_cap_fails_on_the_next_call",
        run: deleted_cap_fails_on_the_next_call,
    },
    Test {
        name: "ipc_cache::revoked_cap_fails_on_the_next_call",
        run: revoked_cap_fails_on_the_next_call,
    },
    Test {
        name: "ipc_cache::reused_slot_is_not_confused",
        run: reused_slot_is_not_confused,
    },
    Test {
        name: "ipc_cache::server_loses_its_receive_cap",
        run: server_loses_its_receive_cap,
    },
];

/// Three words, on the fast path or forced onto the slow one.
fn message(slow: bool) -> Message {
    let mut m = Message::words(&[5, 6, 7]);
    if slow {
        m.info = m.info.with_slow_path();
    }
    m
}

/// A few calls through `cap` (each path remembers its lookup), all echoed.
fn warm(cap: CapRef, slow: bool) -> Result<(), String> {
    for _ in 0..3 {
        let reply = check_ok!(ipc::call(cap, &message(slow)));
        check_eq!(reply.mrs[..3], [5, 6, 7]);
    }
    Ok(())
}

/// Deleting a copy that was just used: the next Call through it fails
/// with `StaleCap` on both paths; the server keeps serving.
fn deleted_cap_fails_on_the_next_call() -> Result<(), String> {
    let server = check_ok!(echo::start(true, false));
    for slow in [false, true] {
        let copy = check_ok!(sys::cap_copy(server.endpoint, None, Rights::ALL));
        warm(copy, slow)?;
        check_ok!(sys::cap_delete(copy));
        check_err!(ipc::call(copy, &message(slow)), Error::StaleCap);
        check_err!(ipc::call(copy, &message(!slow)), Error::StaleCap);
    }
    warm(server.endpoint, false)
}

/// Revoking the capability a used copy derives from: the copy is gone,
/// so the next Call through it fails; the revoked capability itself still
/// works.
fn revoked_cap_fails_on_the_next_call() -> Result<(), String> {
    let server = check_ok!(echo::start(true, false));
    for slow in [false, true] {
        let parent = check_ok!(sys::cap_copy(server.endpoint, None, Rights::ALL));
        let child = check_ok!(sys::cap_copy(parent, None, Rights::ALL));
        warm(child, slow)?;
        check_ok!(sys::cap_revoke(parent));
        check_err!(ipc::call(child, &message(slow)), Error::StaleCap);
        check_err!(ipc::call(child, &message(!slow)), Error::StaleCap);
        warm(parent, slow)?;
        check_ok!(sys::cap_delete(parent));
    }
    Ok(())
}

/// A used slot emptied and filled again: the old handle is stale, and the
/// new one names what the slot holds now, with its own rights: a receive-
/// only copy of the same endpoint (`NoRights`), a notification
/// (`WrongType`), or another endpoint that nobody serves (the Call times
/// out instead of reaching the first server).
fn reused_slot_is_not_confused() -> Result<(), String> {
    let server = check_ok!(echo::start(true, false));
    for slow in [false, true] {
        let copy = check_ok!(sys::cap_copy(server.endpoint, None, Rights::ALL));
        warm(copy, slow)?;
        check_ok!(sys::cap_delete(copy));
        // The lowest free slot is the one just emptied.
        let recv_only = check_ok!(sys::cap_copy(server.endpoint, None, Rights::READ));
        check_eq!(recv_only.index(), copy.index());
        check_err!(ipc::call(recv_only, &message(slow)), Error::NoRights);
        check_err!(ipc::call(copy, &message(slow)), Error::StaleCap);
        check_ok!(sys::cap_delete(recv_only));

        let note = check_ok!(ipc::notification_create(memory()));
        check_eq!(note.index(), copy.index());
        check_err!(ipc::call(note, &message(slow)), Error::WrongType);
        check_ok!(sys::cap_delete(note));

        let other = check_ok!(ipc::endpoint_create(memory()));
        check_eq!(other.index(), copy.index());
        let mut waiting = message(slow);
        waiting.info = waiting.info.with_timeout_ms(20);
        check_err!(ipc::call(other, &waiting), Error::TimedOut);
        check_ok!(sys::cap_delete(other));
    }
    warm(server.endpoint, false)
}

/// The server's side: its ReplyRecv handle is deleted while it waits (a
/// client copy keeps the endpoint alive). The next request still reaches
/// it, but its ReplyRecv must then fail (`StaleCap`, before replying)
/// instead of replying through the remembered lookup: the echo server
/// exits, so the client learns `PartnerGone` rather than getting its
/// words back, and a further call finds nobody (`TimedOut`).
fn server_loses_its_receive_cap() -> Result<(), String> {
    let server = check_ok!(echo::start(true, false));
    let client = check_ok!(sys::cap_copy(server.endpoint, None, Rights::ALL));
    warm(client, false)?;
    check_ok!(sys::cap_delete(server.endpoint));
    let mut m = message(false);
    m.info = MessageInfo::new(3).with_timeout_ms(50);
    check_err!(ipc::call(client, &m), Error::PartnerGone);
    check_err!(ipc::call(client, &m), Error::TimedOut);
    check_ok!(sys::cap_delete(client));
    Ok(())
}
