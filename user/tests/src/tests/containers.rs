//! Containers: a member thread's `syscall`s become Calls on the
//! container's endpoint (number and six arguments, the member's badge),
//! the reply becomes its `rax` and every other register survives; a
//! member cannot reach the kernel's own calls; the calls of members that
//! ended stay counted; a server that dies stops its caller; a cancelled call returns `-EINTR`; fault reports wait for a
//! busy handler, or signal a notification; bad requests are refused.
//!
//! The member threads here run Rust closures in this program's space and
//! speak through `bulkhead_rt::linux`. They end by sending a Linux `exit`
//! whose argument is their verdict; the test's server thread reads it, and
//! the test stops the member with `ContainerStop`.

use alloc::string::String;
use core::time::Duration;

use bulkhead_rt::abi::container::Mode;
use bulkhead_rt::abi::ipc::MessageInfo;
use bulkhead_rt::abi::{CapRef, Error, Rights, Syscall};
use bulkhead_rt::linux;
use bulkhead_rt::sys::ipc::{self, Message};
use bulkhead_rt::sys::{self, ThreadStatus};
use bulkhead_rt::thread::{spawn, spawn_prepared, JoinHandle};
use bulkhead_rt::{check, check_eq, check_err, check_ok, Test};

use crate::fixture::{
    faulting_thread, memory, own_space, own_thread_spec, wait_end, DATA_ADDR, PRIORITY,
};
use bulkhead_rt::thread::ThreadSpec;

pub const TESTS: &[Test] = &[
    Test {
        name: "containers::forwarded_call_carries_number_arguments_and_badge",
        run: forwarded_call_carries_number_arguments_and_badge,
    },
    Test {
        name: "containers::ended_members_syscalls_stay_counted",
        run: ended_members_syscalls_stay_counted,
    },
    Test {
        name: "containers::members_cannot_make_native_calls",
        run: members_cannot_make_native_calls,
    },
    Test {
        name: "containers::server_death_stops_the_member",
        run: server_death_stops_the_member,
    },
    Test {
        name: "containers::cancelled_call_returns_eintr",
        run: cancelled_call_returns_eintr,
    },
    Test {
        name: "containers::fault_reports_wait_for_a_busy_handler",
        run: fault_reports_wait_for_a_busy_handler,
    },
    Test {
        name: "containers::fault_handler_can_be_a_notification",
        run: fault_handler_can_be_a_notification,
    },
    Test {
        name: "containers::bad_requests_are_refused",
        run: bad_requests_are_refused,
    },
    Test {
        name: "containers::a_server_reaches_only_spaces_it_holds",
        run: a_server_reaches_only_spaces_it_holds,
    },
];

const GETPID: u64 = 39;
const EXIT: u64 = 60;
const BADGE: u64 = 0x77;

/// An endpoint and an ipc-mode container forwarding to it.
fn container() -> Result<(CapRef, CapRef), String> {
    let ep = check_ok!(ipc::endpoint_create(memory()));
    let c = check_ok!(sys::container_create(memory(), ep, Mode::Ipc));
    Ok((ep, c))
}

/// Starts `body` as a member of `c` with [`BADGE`].
fn member(c: CapRef, body: impl FnOnce() -> i32 + Send + 'static) -> Result<JoinHandle, String> {
    Ok(check_ok!(spawn_prepared(
        &own_thread_spec(),
        move |thread| sys::container_add_thread(c, thread, BADGE),
        body
    )))
}

/// The member's last call: a Linux exit carrying its verdict.
fn exit_with_verdict(verdict: i64) -> i32 {
    linux::syscall(EXIT, [verdict as u64, 0, 0, 0, 0, 0]);
    // Never replied to: the test stops this thread.
    loop {
        core::hint::spin_loop();
    }
}

/// Receives the member's exit call on `ep` (after `first` was received)
/// and returns its verdict, or -1 if a message was not an exit.
fn verdict_of(ep: CapRef) -> i32 {
    match ipc::recv(ep, MessageInfo::default()) {
        Ok(r) if r.message.mrs[0] == EXIT && r.badge == BADGE => r.message.mrs[1] as i32,
        _ => -1,
    }
}

/// Stops the member, joins it and releases the container. (The member
/// may already have been stopped by the kernel: the server thread ended
/// holding its exit call, which makes its server gone.)
fn finish(c: CapRef, ep: CapRef, member: JoinHandle) -> Result<(), String> {
    check!(check_ok!(sys::container_stop(c)) <= 1);
    check_eq!(check_ok!(member.join()), ThreadStatus::Exited(u64::MAX));
    check_eq!(check_ok!(sys::container_info(c)).members, 0);
    check_ok!(sys::cap_delete(c));
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

/// The server sees the Linux number in MR0, the six arguments in MR1..MR6
/// and the member's badge; its MR0 comes back in `rax`, and the member's
/// argument and r12..r15 registers are unchanged.
fn forwarded_call_carries_number_arguments_and_badge() -> Result<(), String> {
    let (ep, c) = container()?;
    let server = check_ok!(spawn(&own_thread_spec(), move || {
        let Ok(r) = ipc::recv(ep, MessageInfo::default()) else {
            return -1;
        };
        let expected = [GETPID, 1, 2, 3, 4, 5, 6, 0];
        if r.badge != BADGE || r.message.info.words() != 7 || r.message.mrs != expected {
            return -2;
        }
        if ipc::reply(&Message::words(&[1234])).is_err() {
            return -3;
        }
        verdict_of(ep)
    }));
    check_ok!(sys::sleep(Duration::from_millis(10)));
    let m = member(c, || {
        let verdict = match linux::syscall_keeping_registers(GETPID, [1, 2, 3, 4, 5, 6]) {
            Ok(1234) => 0,
            Ok(_) => 1,
            Err(_register) => 2,
        };
        exit_with_verdict(verdict)
    })?;
    check_eq!(check_ok!(server.join()), ThreadStatus::Exited(0));
    let info = check_ok!(sys::container_info(c));
    check_eq!(
        (info.mode, info.members, info.syscalls),
        (Some(Mode::Ipc), 1, 2)
    );
    finish(c, ep, m)
}

/// `ContainerInfo` counts the forwarded syscalls of the container's
/// whole life, members that ended included (the console's `stats` reads
/// it after the programs are gone): 2 getpids and an exit, then 1 getpid
/// and an exit from a second member.
fn ended_members_syscalls_stay_counted() -> Result<(), String> {
    let (ep, c) = container()?;
    for (getpids, total) in [(2u64, 3u64), (1, 5)] {
        let server = check_ok!(spawn(&own_thread_spec(), move || {
            for _ in 0..getpids {
                match ipc::recv(ep, MessageInfo::default()) {
                    Ok(r) if r.message.mrs[0] == GETPID => {}
                    _ => return -1,
                }
                if ipc::reply(&Message::words(&[7])).is_err() {
                    return -2;
                }
            }
            verdict_of(ep)
        }));
        check_ok!(sys::sleep(Duration::from_millis(10)));
        let m = member(c, move || {
            for _ in 0..getpids {
                linux::syscall(GETPID, [0; 6]);
            }
            exit_with_verdict(0)
        })?;
        check_eq!(check_ok!(server.join()), ThreadStatus::Exited(0));
        check!(check_ok!(sys::container_stop(c)) <= 1);
        check_eq!(check_ok!(m.join()), ThreadStatus::Exited(u64::MAX));
        let info = check_ok!(sys::container_info(c));
        check_eq!((info.members, info.syscalls), (0, total));
    }
    check_ok!(sys::cap_delete(c));
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

/// A member's `syscall` with a native call number (Null, KernelCheck)
/// arrives at the server like any other Linux number.
fn members_cannot_make_native_calls() -> Result<(), String> {
    let (ep, c) = container()?;
    let server = check_ok!(spawn(&own_thread_spec(), move || {
        for expected in [Syscall::Null as u64, Syscall::KernelCheck as u64] {
            match ipc::recv(ep, MessageInfo::default()) {
                Ok(r) if r.message.mrs[0] == expected => {}
                _ => return -1,
            }
            if ipc::reply(&Message::words(&[expected + 100])).is_err() {
                return -2;
            }
        }
        verdict_of(ep)
    }));
    check_ok!(sys::sleep(Duration::from_millis(10)));
    let m = member(c, || {
        let null = linux::syscall(Syscall::Null as u64, [0; 6]);
        let check = linux::syscall(Syscall::KernelCheck as u64, [0; 6]);
        exit_with_verdict(if (null, check) == (100, 211) { 0 } else { 1 })
    })?;
    check_eq!(check_ok!(server.join()), ThreadStatus::Exited(0));
    finish(c, ep, m)
}

/// A server that takes a call and dies without replying: the kernel stops
/// the member (it cannot go on without its syscall server).
fn server_death_stops_the_member() -> Result<(), String> {
    let (ep, c) = container()?;
    let server = check_ok!(spawn(&own_thread_spec(), move || {
        match ipc::recv(ep, MessageInfo::default()) {
            Ok(r) if r.message.mrs[0] == GETPID => 0,
            _ => -1,
        }
    }));
    check_ok!(sys::sleep(Duration::from_millis(10)));
    let m = member(c, || exit_with_verdict(linux::syscall(GETPID, [0; 6])))?;
    check_eq!(check_ok!(server.join()), ThreadStatus::Exited(0));
    check_eq!(check_ok!(wait_end(m.cap())), ThreadStatus::Exited(u64::MAX));
    check_eq!(check_ok!(sys::container_info(c)).members, 0);
    check_eq!(check_ok!(sys::container_stop(c)), 0);
    check_ok!(m.join());
    check_ok!(sys::cap_delete(c));
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

/// A forwarded call cancelled while the server holds it returns -EINTR.
fn cancelled_call_returns_eintr() -> Result<(), String> {
    let (ep, c) = container()?;
    let server = check_ok!(spawn(&own_thread_spec(), move || {
        match ipc::recv(ep, MessageInfo::default()) {
            Ok(r) if r.message.mrs[0] == GETPID => verdict_of(ep),
            _ => -1,
        }
    }));
    check_ok!(sys::sleep(Duration::from_millis(10)));
    let m = member(c, || exit_with_verdict(linux::syscall(GETPID, [0; 6])))?;
    check_ok!(sys::sleep(Duration::from_millis(20)));
    check_eq!(check_ok!(ipc::ipc_cancel(m.cap())), true);
    check_eq!(check_ok!(server.join()), ThreadStatus::Exited(-4i64 as u64));
    finish(c, ep, m)
}

/// A fault reported while nobody receives on the handler endpoint waits
/// there; the next receive gets it, with the handler capability's badge.
fn fault_reports_wait_for_a_busy_handler() -> Result<(), String> {
    let ep = check_ok!(ipc::endpoint_create(memory()));
    let badged = check_ok!(sys::cap_mint(ep, None, Rights::ALL, 0xfb));
    let (_sandbox, thread) = check_ok!(faulting_thread(badged));
    check!(matches!(
        check_ok!(wait_end(thread)),
        ThreadStatus::Faulted { vector: 14, .. }
    ));
    let r = check_ok!(ipc::recv_nonblocking(ep));
    check_eq!(
        (r.badge, r.message.mrs[0], r.message.mrs[1]),
        (0xfb, 14, DATA_ADDR)
    );
    check_err!(ipc::recv_nonblocking(ep), Error::WouldBlock);
    check_ok!(sys::cap_delete(thread));
    check_ok!(sys::cap_delete(badged));
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

/// With a notification as fault handler, a fault sets the capability's
/// badge bits.
fn fault_handler_can_be_a_notification() -> Result<(), String> {
    let note = check_ok!(ipc::notification_create(memory()));
    let badged = check_ok!(sys::cap_mint(note, None, Rights::ALL, 0b100));
    let (_sandbox, thread) = check_ok!(faulting_thread(badged));
    check_eq!(check_ok!(ipc::wait(note, 1000)), 0b100);
    check!(matches!(
        check_ok!(wait_end(thread)),
        ThreadStatus::Faulted { vector: 14, .. }
    ));
    check_ok!(sys::cap_delete(thread));
    check_ok!(sys::cap_delete(badged));
    check_ok!(sys::cap_delete(note));
    Ok(())
}

/// Unknown or unbuilt modes, wrong object types, missing rights and a
/// second join are errors that change nothing.
fn bad_requests_are_refused() -> Result<(), String> {
    let ep = check_ok!(ipc::endpoint_create(memory()));
    let note = check_ok!(ipc::notification_create(memory()));
    check_err!(
        sys::container_create(memory(), ep, Mode::Direct),
        Error::InvalidArgument
    );
    check_err!(
        sys::container_create(memory(), note, Mode::Ipc),
        Error::WrongType
    );
    check_err!(sys::container_create(ep, ep, Mode::Ipc), Error::WrongType);
    let c = check_ok!(sys::container_create(memory(), ep, Mode::Ipc));
    let read_only = check_ok!(sys::cap_copy(c, None, Rights::READ));
    let thread = check_ok!(spawn(&own_thread_spec(), || 0));
    check_err!(
        sys::container_add_thread(ep, thread.cap(), 1),
        Error::WrongType
    );
    check_err!(
        sys::container_add_thread(read_only, thread.cap(), 1),
        Error::NoRights
    );
    check_err!(sys::container_stop(read_only), Error::NoRights);
    check_eq!(check_ok!(sys::container_info(read_only)).members, 0);
    check_eq!(check_ok!(thread.join()), ThreadStatus::Exited(0));
    let spinner = check_ok!(spawn_prepared(
        &own_thread_spec(),
        move |t| sys::container_add_thread(c, t, 1),
        || loop {
            core::hint::spin_loop();
        }
    ));
    check_err!(
        sys::container_add_thread(c, spinner.cap(), 2),
        Error::BadState
    );
    check_eq!(check_ok!(sys::container_stop(c)), 1);
    check_ok!(spinner.join());
    check_ok!(sys::cap_delete(read_only));
    check_ok!(sys::cap_delete(c));
    check_ok!(sys::cap_delete(note));
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

/// A thread whose capability table lacks an address space cannot read,
/// write or map it through the handle its creator uses: like a syscall
/// server, it reaches only the spaces it was given.
fn a_server_reaches_only_spaces_it_holds() -> Result<(), String> {
    const ADDR: u64 = 0x10000;
    let victim = check_ok!(sys::space_create(memory()));
    let frames = check_ok!(sys::frames_alloc(memory(), 1));
    check_ok!(sys::space_map(
        victim,
        frames,
        0,
        1,
        ADDR,
        Rights::READ | Rights::WRITE
    ));
    check_ok!(sys::space_write(victim, ADDR, b"secret"));
    let table = check_ok!(sys::table_create(memory(), 8));
    let spec = ThreadSpec {
        memory: memory(),
        space: own_space(),
        table,
        priority: PRIORITY,
    };
    let server = check_ok!(spawn(&spec, move || {
        let mut buf = [0u8; 6];
        let read = sys::space_read(victim, ADDR, &mut buf);
        let write = sys::space_write(victim, ADDR, b"xxxxxx");
        let unmap = sys::space_unmap(victim, ADDR, 1);
        let refused = |r: Result<(), Error>| matches!(r, Err(Error::InvalidCap | Error::StaleCap));
        i32::from(!(refused(read) && refused(write) && refused(unmap)))
    }));
    check_eq!(check_ok!(server.join()), ThreadStatus::Exited(0));
    let mut buf = [0u8; 6];
    check_ok!(sys::space_read(victim, ADDR, &mut buf));
    check_eq!(&buf, b"secret");
    for cap in [table, frames, victim] {
        check_ok!(sys::cap_delete(cap));
    }
    Ok(())
}
