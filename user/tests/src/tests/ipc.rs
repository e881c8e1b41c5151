//! Synchronous IPC and notifications: Call/Reply round trips with 0 to 8
//! words, badges, capability grants, IPC buffers, non-blocking variants,
//! dead partners, timeouts, cancellation, endpoint deletion, and the error
//! cases (wrong rights, malformed message info).
//!
//! The server side runs in a second thread of this address space; both
//! threads use this program's capability table.

use alloc::string::String;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

use bulkhead_rt::abi::ipc::MessageInfo;
use bulkhead_rt::abi::{CapRef, Error, Rights};
use bulkhead_rt::sys::ipc::{self, IpcBuffer, Message};
use bulkhead_rt::sys::{self, ThreadStatus};
use bulkhead_rt::thread::{spawn, JoinHandle};
use bulkhead_rt::{check, check_eq, check_err, check_ok, Test};

use crate::fixture::{memory, own_thread_spec};

pub const TESTS: &[Test] = &[
    Test {
        name: "ipc::call_reply_round_trip",
        run: call_reply_round_trip,
    },
    Test {
        name: "ipc::answered_timeouts_leave_nothing_behind",
        run: answered_timeouts_leave_nothing_behind,
    },
    Test {
        name: "ipc::all_eight_words_both_ways",
        run: all_eight_words_both_ways,
    },
    Test {
        name: "ipc::badges_tell_clients_apart",
        run: badges_tell_clients_apart,
    },
    Test {
        name: "ipc::send_then_recv_queues",
        run: send_then_recv_queues,
    },
    Test {
        name: "ipc::nonblocking_without_partner",
        run: nonblocking_without_partner,
    },
    Test {
        name: "ipc::rights_are_enforced",
        run: rights_are_enforced,
    },
    Test {
        name: "ipc::malformed_info_refused",
        run: malformed_info_refused,
    },
    Test {
        name: "ipc::grant_passes_a_capability",
        run: grant_passes_a_capability,
    },
    Test {
        name: "ipc::grant_needs_the_right",
        run: grant_needs_the_right,
    },
    Test {
        name: "ipc::buffer_carries_long_messages",
        run: buffer_carries_long_messages,
    },
    Test {
        name: "ipc::server_death_fails_the_caller",
        run: server_death_fails_the_caller,
    },
    Test {
        name: "ipc::reply_to_gone_caller_is_harmless",
        run: reply_to_gone_caller_is_harmless,
    },
    Test {
        name: "ipc::endpoint_deletion_wakes_waiters",
        run: endpoint_deletion_wakes_waiters,
    },
    Test {
        name: "ipc::cancel_ends_a_blocked_recv",
        run: cancel_ends_a_blocked_recv,
    },
    Test {
        name: "ipc::notification_bits",
        run: notification_bits,
    },
    Test {
        name: "ipc::ping_pong_leaves_room_for_others",
        run: ping_pong_leaves_room_for_others,
    },
    Test {
        name: "ipc::fast_and_slow_paths_agree",
        run: fast_and_slow_paths_agree,
    },
    Test {
        name: "ipc::cross_space_round_trips_agree",
        run: cross_space_round_trips_agree,
    },
    Test {
        name: "ipc::faults_reach_the_fault_handler",
        run: faults_reach_the_fault_handler,
    },
    Test {
        name: "ipc::self_check_clean_and_nothing_leaks",
        run: self_check_clean_and_nothing_leaks,
    },
];

fn endpoint() -> Result<CapRef, String> {
    Ok(check_ok!(ipc::endpoint_create(memory())))
}

/// A server thread answering `count` calls with each word plus one.
fn echo_server(ep: CapRef, count: usize) -> Result<JoinHandle, String> {
    Ok(check_ok!(spawn(&own_thread_spec(), move || {
        let Ok(mut got) = ipc::recv(ep, MessageInfo::default()) else {
            return 1;
        };
        for i in 0..count {
            let mut reply = got.message;
            for w in reply.mrs.iter_mut().take(reply.info.words() as usize) {
                *w += 1;
            }
            reply.info = MessageInfo::new(reply.info.words());
            if i + 1 == count {
                return if ipc::reply(&reply).is_ok() { 0 } else { 2 };
            }
            match ipc::reply_recv(ep, &reply) {
                Ok(next) => got = next,
                Err(_) => return 3,
            }
        }
        0
    })))
}

fn call_reply_round_trip() -> Result<(), String> {
    let ep = endpoint()?;
    let server = echo_server(ep, 100)?;
    for i in 0..100u64 {
        let r = check_ok!(ipc::call(ep, &Message::words(&[i, 2 * i])));
        check_eq!((r.info.words(), r.mrs[0], r.mrs[1]), (2, i + 1, 2 * i + 1));
    }
    check_eq!(check_ok!(server.join()), ThreadStatus::Exited(0));
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

fn all_eight_words_both_ways() -> Result<(), String> {
    let ep = endpoint()?;
    let server = echo_server(ep, 9)?;
    for n in 0..=8u64 {
        let words: alloc::vec::Vec<u64> = (0..n).map(|w| 0x1000 * (n + 1) + w).collect();
        let r = check_ok!(ipc::call(ep, &Message::words(&words)));
        check_eq!(r.info.words(), n);
        for (w, got) in words.iter().zip(r.mrs.iter()) {
            check_eq!(*got, w + 1);
        }
    }
    check_eq!(check_ok!(server.join()), ThreadStatus::Exited(0));
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

fn badges_tell_clients_apart() -> Result<(), String> {
    let ep = endpoint()?;
    let a = check_ok!(sys::cap_mint(ep, None, Rights::ALL, 0xa));
    let b = check_ok!(sys::cap_mint(ep, None, Rights::ALL, 0xb));
    let server = check_ok!(spawn(&own_thread_spec(), move || {
        let mut badges = 0u64;
        let mut got = ipc::recv(ep, MessageInfo::default());
        for _ in 0..2 {
            let Ok(r) = got else { return 1 };
            badges = badges * 16 + r.badge;
            got = ipc::reply_recv(ep, &Message::words(&[r.badge]));
        }
        let _ = got;
        badges as i32
    }));
    check_eq!(check_ok!(ipc::call(a, &Message::words(&[]))).mrs[0], 0xa);
    check_eq!(check_ok!(ipc::call(b, &Message::words(&[]))).mrs[0], 0xb);
    // The server is left in Recv: cancel it so it returns.
    check_ok!(ipc::ipc_cancel(server.cap()));
    check_eq!(check_ok!(server.join()), ThreadStatus::Exited(0xab));
    for c in [a, b, ep] {
        check_ok!(sys::cap_delete(c));
    }
    Ok(())
}

fn send_then_recv_queues() -> Result<(), String> {
    let ep = endpoint()?;
    let sender = check_ok!(spawn(&own_thread_spec(), move || {
        match ipc::send(ep, &Message::words(&[7, 8, 9])) {
            Ok(()) => 0,
            Err(_) => 1,
        }
    }));
    check_ok!(sys::sleep(Duration::from_millis(20)));
    let r = check_ok!(ipc::recv(ep, MessageInfo::default()));
    check_eq!((r.message.info.words(), r.message.mrs[2]), (3, 9));
    check_eq!(check_ok!(sender.join()), ThreadStatus::Exited(0));
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

fn nonblocking_without_partner() -> Result<(), String> {
    let ep = endpoint()?;
    check_err!(
        ipc::send_nonblocking(ep, &Message::words(&[1])),
        Error::WouldBlock
    );
    check_err!(ipc::recv_nonblocking(ep), Error::WouldBlock);
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

fn rights_are_enforced() -> Result<(), String> {
    let ep = endpoint()?;
    let recv_only = check_ok!(sys::cap_copy(ep, None, Rights::READ));
    let send_only = check_ok!(sys::cap_copy(ep, None, Rights::WRITE));
    check_err!(
        ipc::send_nonblocking(recv_only, &Message::words(&[])),
        Error::NoRights
    );
    check_err!(ipc::call(recv_only, &Message::words(&[])), Error::NoRights);
    check_err!(ipc::recv_nonblocking(send_only), Error::NoRights);
    check_err!(ipc::call(memory(), &Message::words(&[])), Error::WrongType);
    check_err!(
        ipc::call(CapRef::NULL, &Message::words(&[])),
        Error::InvalidCap
    );
    for c in [recv_only, send_only, ep] {
        check_ok!(sys::cap_delete(c));
    }
    Ok(())
}

fn malformed_info_refused() -> Result<(), String> {
    let ep = endpoint()?;
    let nine = Message {
        info: MessageInfo::new(9),
        mrs: [0; 8],
    };
    check_err!(ipc::send_nonblocking(ep, &nine), Error::InvalidArgument);
    let eight_and_cap = Message {
        info: MessageInfo::new(8).with_cap(),
        mrs: [0; 8],
    };
    check_err!(
        ipc::send_nonblocking(ep, &eight_and_cap),
        Error::InvalidArgument
    );
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

/// A server that receives one call, answers with the capability handle it
/// got in MR7 and the type the kernel reports for it.
fn cap_inspecting_server(ep: CapRef) -> Result<JoinHandle, String> {
    Ok(check_ok!(spawn(&own_thread_spec(), move || {
        let Ok(r) = ipc::recv(ep, MessageInfo::default()) else {
            return 1;
        };
        let got = r.message;
        let kind = if got.info.has_cap() {
            sys::cap_info(CapRef(got.mrs[7])).map_or(0, |i| i.object_type.map_or(0, |t| t as u64))
        } else {
            0
        };
        let reply = Message::words(&[u64::from(got.info.has_cap()), got.mrs[7], kind]);
        if ipc::reply(&reply).is_ok() {
            0
        } else {
            2
        }
    })))
}

fn grant_passes_a_capability() -> Result<(), String> {
    let ep = endpoint()?;
    let frames = check_ok!(sys::frames_alloc(memory(), 1));
    let server = cap_inspecting_server(ep)?;
    let mut m = Message::words(&[]);
    m.info = MessageInfo::new(0).with_cap();
    m.mrs[7] = frames.0;
    let r = check_ok!(ipc::call(ep, &m));
    check_eq!(r.mrs[0], 1);
    check!(
        r.mrs[1] != frames.0,
        "the receiver got the sender's own handle"
    );
    check_eq!(r.mrs[2], bulkhead_rt::abi::ObjectType::Frames as u64);
    check_eq!(check_ok!(server.join()), ThreadStatus::Exited(0));
    check_ok!(sys::cap_delete(CapRef(r.mrs[1])));
    check_ok!(sys::cap_delete(frames));
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

fn grant_needs_the_right() -> Result<(), String> {
    let ep = endpoint()?;
    let no_grant = check_ok!(sys::cap_copy(ep, None, Rights::ALL - Rights::GRANT));
    let mut m = Message::words(&[]);
    m.info = MessageInfo::new(0).with_cap();
    m.mrs[7] = memory().0;
    check_err!(ipc::send_nonblocking(no_grant, &m), Error::NoRights);
    check_ok!(sys::cap_delete(no_grant));
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

fn buffer_carries_long_messages() -> Result<(), String> {
    let ep = endpoint()?;
    let theirs = IpcBuffer::new(256);
    let server = check_ok!(spawn(&own_thread_spec(), move || {
        let Ok(r) = ipc::recv(ep, MessageInfo::default()) else {
            return 2;
        };
        let bytes = r.message.info.bytes();
        let sum: u64 = theirs
            .read(bytes as usize)
            .iter()
            .map(|&b| u64::from(b))
            .sum();
        if ipc::reply(&Message::words(&[bytes, sum])).is_ok() {
            0
        } else {
            3
        }
    }));
    check_ok!(theirs.register(server.cap()));
    let mine = IpcBuffer::new(300);
    let pattern: alloc::vec::Vec<u8> = (0..300).map(|i| (i % 251) as u8).collect();
    mine.write(&pattern);
    let expected: u64 = pattern.iter().take(256).map(|&b| u64::from(b)).sum();
    check_ok!(mine.register(crate::fixture::own_thread()));
    let mut m = Message::words(&[]);
    m.info = MessageInfo::new(0).with_bytes(300);
    let r = check_ok!(ipc::call(ep, &m));
    // Clipped to the receiver's 256-byte buffer.
    check_eq!((r.mrs[0], r.mrs[1]), (256, expected));
    check_eq!(check_ok!(server.join()), ThreadStatus::Exited(0));
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

fn server_death_fails_the_caller() -> Result<(), String> {
    let ep = endpoint()?;
    let server = check_ok!(spawn(&own_thread_spec(), move || {
        // Take the call, then exit without replying.
        match ipc::recv(ep, MessageInfo::default()) {
            Ok(_) => 0,
            Err(_) => 1,
        }
    }));
    check_err!(ipc::call(ep, &Message::words(&[1])), Error::PartnerGone);
    check_eq!(check_ok!(server.join()), ThreadStatus::Exited(0));
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

fn reply_to_gone_caller_is_harmless() -> Result<(), String> {
    let ep = endpoint()?;
    let server = check_ok!(spawn(&own_thread_spec(), move || {
        let Ok(_) = ipc::recv(ep, MessageInfo::default()) else {
            return 1;
        };
        let _ = sys::sleep(Duration::from_millis(60));
        // The caller timed out meanwhile: the reply goes nowhere, no error.
        let Ok(next) = ipc::reply_recv(ep, &Message::words(&[5])) else {
            return 2;
        };
        if ipc::reply(&Message::words(&[next.message.mrs[0] + 1])).is_ok() {
            0
        } else {
            3
        }
    }));
    let mut slow = Message::words(&[1]);
    slow.info = slow.info.with_timeout_ms(20);
    check_err!(ipc::call(ep, &slow), Error::TimedOut);
    // The server keeps serving.
    let r = check_ok!(ipc::call(ep, &Message::words(&[41])));
    check_eq!(r.mrs[0], 42);
    check_eq!(check_ok!(server.join()), ThreadStatus::Exited(0));
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

fn endpoint_deletion_wakes_waiters() -> Result<(), String> {
    let ep = endpoint()?;
    let waiter = check_ok!(spawn(&own_thread_spec(), move || {
        match ipc::recv(ep, MessageInfo::default()) {
            Err(Error::PartnerGone) => 0,
            Err(_) => 1,
            Ok(_) => 2,
        }
    }));
    check_ok!(sys::sleep(Duration::from_millis(20)));
    check_ok!(sys::cap_delete(ep));
    check_eq!(check_ok!(waiter.join()), ThreadStatus::Exited(0));
    Ok(())
}

fn cancel_ends_a_blocked_recv() -> Result<(), String> {
    let ep = endpoint()?;
    let waiter = check_ok!(spawn(&own_thread_spec(), move || {
        match ipc::recv(ep, MessageInfo::default()) {
            Err(Error::Cancelled) => 0,
            _ => 1,
        }
    }));
    check_ok!(sys::sleep(Duration::from_millis(20)));
    check!(
        check_ok!(ipc::ipc_cancel(waiter.cap())),
        "nothing was cancelled"
    );
    check_eq!(check_ok!(waiter.join()), ThreadStatus::Exited(0));
    check!(
        !check_ok!(ipc::ipc_cancel(crate::fixture::own_thread())),
        "cancelled a running thread"
    );
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

fn notification_bits() -> Result<(), String> {
    let n = check_ok!(ipc::notification_create(memory()));
    check_eq!(check_ok!(ipc::poll(n)), 0);
    check_ok!(ipc::signal(n, 0b101));
    check_ok!(ipc::signal(n, 0b010));
    check_eq!(check_ok!(ipc::wait(n, 0)), 0b111);
    check_err!(ipc::wait(n, 20), Error::TimedOut);
    let waiter = check_ok!(spawn(&own_thread_spec(), move || {
        ipc::wait(n, 0).map_or(-1, |bits| bits as i32)
    }));
    check_ok!(sys::sleep(Duration::from_millis(20)));
    check_ok!(ipc::signal(n, 0x40));
    check_eq!(check_ok!(waiter.join()), ThreadStatus::Exited(0x40));
    check_ok!(sys::cap_delete(n));
    Ok(())
}

/// Calls and receives with a timeout that are answered in time take the
/// timeout off the kernel's list at once: the self-check finds no stale
/// timeout entry (the fast path would leave them behind, so it never
/// completes a timed wait), and the answers are right.
fn answered_timeouts_leave_nothing_behind() -> Result<(), String> {
    const CALLS: u64 = 20;
    let ep = endpoint()?;
    let server = echo_server(ep, CALLS as usize)?;
    check_ok!(sys::sleep(Duration::from_millis(10)));
    let before = check_ok!(ipc::kernel_counters());
    for i in 0..CALLS {
        let mut m = Message::words(&[i]);
        m.info = m.info.with_timeout_ms(5000);
        check_eq!(check_ok!(ipc::call(ep, &m)).mrs[0], i + 1);
    }
    let after = check_ok!(ipc::kernel_counters());
    check_eq!(check_ok!(server.join()), ThreadStatus::Exited(0));
    check_eq!(after.fast_path_calls - before.fast_path_calls, 0);
    // Checked now: a slow-path completion of this thread's next wait
    // would sweep its old entries away.
    check_eq!(check_ok!(ipc::kernel_check()).problems, 0);
    // A receiver waiting with a timeout, reached by a plain Call.
    let receiver = check_ok!(spawn(&own_thread_spec(), move || {
        match ipc::recv(ep, MessageInfo::default().with_timeout_ms(5000)) {
            Ok(got) if ipc::reply(&Message::words(&[got.message.mrs[0] * 2])).is_ok() => 0,
            _ => 1,
        }
    }));
    check_ok!(sys::sleep(Duration::from_millis(10)));
    check_eq!(check_ok!(ipc::call(ep, &Message::words(&[21]))).mrs[0], 42);
    check_eq!(check_ok!(receiver.join()), ThreadStatus::Exited(0));
    check_eq!(check_ok!(ipc::kernel_check()).problems, 0);
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

/// The same calls with and without the fast path give the same results;
/// simple calls between waiting partners take the fast path, and forced
/// ones never do.
fn fast_and_slow_paths_agree() -> Result<(), String> {
    let ep = endpoint()?;
    let server = echo_server(ep, 40)?;
    // Let the server block in Recv first so the partner is waiting.
    check_ok!(sys::sleep(Duration::from_millis(10)));
    let before = check_ok!(ipc::kernel_counters());
    let mut fast = alloc::vec::Vec::new();
    for i in 0..20u64 {
        fast.push(check_ok!(ipc::call(
            ep,
            &Message::words(&[i, i * 3, 7, 1, 2, 3, 4, 5])
        )));
    }
    let middle = check_ok!(ipc::kernel_counters());
    for (i, expected) in fast.iter().enumerate() {
        let i = i as u64;
        let mut m = Message::words(&[i, i * 3, 7, 1, 2, 3, 4, 5]);
        m.info = m.info.with_slow_path();
        let slow = check_ok!(ipc::call(ep, &m));
        check_eq!(slow, *expected);
    }
    let after = check_ok!(ipc::kernel_counters());
    check_eq!(check_ok!(server.join()), ThreadStatus::Exited(0));
    check_ok!(sys::cap_delete(ep));
    let fast_calls = middle.fast_path_calls - before.fast_path_calls;
    check!(
        fast_calls >= 20,
        "only {fast_calls} of 40 fast-path hand-overs in 20 simple calls"
    );
    // Forced-slow calls: the server's ReplyRecv may still go fast, the
    // client's Call never does.
    check!(
        after.fast_path_calls - middle.fast_path_calls <= 20,
        "forced slow calls took the fast path"
    );
    check_eq!(fast[5].mrs, [6, 16, 8, 2, 3, 4, 5, 6]);
    Ok(())
}

/// Two threads that call each other over and over on the fast path leave
/// room for a third thread of their priority: a hand-over continues the
/// caller's time slice instead of starting a fresh one
/// (`Scheduler::fast_switch`), so the pair uses it up and the third
/// thread, ready all along, gets its turn at a timer tick.
fn ping_pong_leaves_room_for_others() -> Result<(), String> {
    /// Set once the round trips begin.
    static STARTED: AtomicBool = AtomicBool::new(false);
    /// Set by the third thread when it runs after that.
    static RAN: AtomicBool = AtomicBool::new(false);
    /// A first word that ends the server.
    const STOP: u64 = u64::MAX;
    /// Round trips after which the third thread has clearly been starved
    /// (a time slice is two ticks; this is many seconds of round trips).
    const LIMIT: u64 = 2_000_000;
    STARTED.store(false, Ordering::Relaxed);
    RAN.store(false, Ordering::Relaxed);
    let ep = endpoint()?;
    let server = check_ok!(spawn(&own_thread_spec(), move || {
        let Ok(mut got) = ipc::recv(ep, MessageInfo::default()) else {
            return 1;
        };
        loop {
            let stop = got.message.mrs[0] == STOP;
            let reply = Message::words(&[got.message.mrs[0]]);
            if stop {
                return if ipc::reply(&reply).is_ok() { 0 } else { 2 };
            }
            match ipc::reply_recv(ep, &reply) {
                Ok(next) => got = next,
                Err(_) => return 3,
            }
        }
    }));
    // Let the server block in Recv, so that every call goes fast.
    check_ok!(sys::sleep(Duration::from_millis(10)));
    // If it gets the CPU before the round trips begin, it spins until our
    // next turn: only a turn during them counts.
    let other = check_ok!(spawn(&own_thread_spec(), || {
        while !STARTED.load(Ordering::Relaxed) {
            core::hint::spin_loop();
        }
        RAN.store(true, Ordering::Relaxed);
        0
    }));
    let before = check_ok!(ipc::kernel_counters());
    STARTED.store(true, Ordering::Relaxed);
    let mut round_trips = 0u64;
    while !RAN.load(Ordering::Relaxed) && round_trips < LIMIT {
        check_ok!(ipc::call(ep, &Message::words(&[round_trips])));
        round_trips += 1;
    }
    let after = check_ok!(ipc::kernel_counters());
    check_ok!(ipc::call(ep, &Message::words(&[STOP])));
    check_eq!(check_ok!(server.join()), ThreadStatus::Exited(0));
    check_eq!(check_ok!(other.join()), ThreadStatus::Exited(0));
    check_ok!(sys::cap_delete(ep));
    check!(
        RAN.load(Ordering::Relaxed),
        "a ready thread of the same priority did not run during {round_trips} round trips"
    );
    check!(
        after.fast_path_calls - before.fast_path_calls >= round_trips,
        "the round trips did not take the fast path"
    );
    Ok(())
}

/// Round trips with an echo server in a second address space (a copy of
/// this program's image): every word count from 0 to 8 (each an entry of
/// the fast exit's clearing chain, `arch::x86_64::ipc_exit`), fast and
/// forced-slow, give the same replies (words beyond the count arrive as
/// zero on both paths), and each round trip writes CR3 exactly twice.
fn cross_space_round_trips_agree() -> Result<(), String> {
    let fast_server = check_ok!(bulkhead_rt::echo::start(true, false));
    let slow_server = check_ok!(bulkhead_rt::echo::start(true, true));
    for words in 0usize..=8 {
        let data = [11u64, 22, 33, 44, 55, 66, 77, 88];
        let mut m = Message::words(&data[..words]);
        // Junk beyond the word count must not leak to the receiver.
        for (i, w) in m.mrs.iter_mut().enumerate().skip(words) {
            *w = 0xdead_0000 + i as u64;
        }
        let fast = check_ok!(ipc::call(fast_server.endpoint, &m));
        let mut forced = m;
        forced.info = forced.info.with_slow_path();
        let slow = check_ok!(ipc::call(slow_server.endpoint, &forced));
        check_eq!(fast, slow);
        check_eq!(fast.info.words(), words as u64);
        for (i, w) in fast.mrs.iter().enumerate() {
            let expected = if i < words { data[i] } else { 0 };
            check_eq!(*w, expected);
        }
    }
    let before = check_ok!(ipc::kernel_counters());
    for _ in 0..10 {
        check_ok!(ipc::call(fast_server.endpoint, &Message::words(&[1])));
    }
    let after = check_ok!(ipc::kernel_counters());
    check_eq!(after.cr3_writes - before.cr3_writes, 20);
    check!(
        after.fast_path_calls - before.fast_path_calls >= 20,
        "cross-space calls missed the fast path"
    );
    Ok(())
}

/// A thread with a fault handler: its page fault arrives at the handler's
/// endpoint as a message (vector, address, RIP), with the badge of the
/// capability the handler was registered with; the thread stays stopped.
fn faults_reach_the_fault_handler() -> Result<(), String> {
    use crate::fixture::DATA_ADDR;
    let ep = endpoint()?;
    let badged = check_ok!(sys::cap_mint(ep, None, Rights::ALL, 0xfa));
    let handler = check_ok!(spawn(&own_thread_spec(), move || {
        match ipc::recv(ep, MessageInfo::default()) {
            Ok(r) if r.badge == 0xfa => {
                r.message.mrs[0] as i32 * 1000 + (r.message.mrs[1] == DATA_ADDR) as i32
            }
            _ => -1,
        }
    }));
    check_ok!(sys::sleep(Duration::from_millis(10)));
    // The sandbox's data page is read-only: storing to it faults.
    let (_sandbox, thread) = check_ok!(crate::fixture::faulting_thread(badged));
    check_eq!(check_ok!(handler.join()), ThreadStatus::Exited(14001));
    let info = check_ok!(sys::thread_info(thread));
    check_eq!(
        info.status(),
        ThreadStatus::Faulted {
            vector: 14,
            address: DATA_ADDR
        }
    );
    check_ok!(sys::cap_delete(thread));
    check_ok!(sys::cap_delete(badged));
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

/// After creating and deleting a round of objects (a space with mappings,
/// threads, endpoints, a table with copies and a revoke), the kernel's
/// invariants hold and every frame and object is back.
fn self_check_clean_and_nothing_leaks() -> Result<(), String> {
    let before = check_ok!(ipc::kernel_check());
    check_eq!(before.problems, 0);
    {
        let server = check_ok!(bulkhead_rt::echo::start(true, false));
        check_ok!(ipc::call(server.endpoint, &Message::words(&[1, 2])));
        let ep = endpoint()?;
        let table = check_ok!(sys::table_create(memory(), 16));
        let copy = check_ok!(sys::cap_copy(ep, Some(table), Rights::ALL));
        let _ = copy;
        check_ok!(sys::cap_revoke(ep));
        check_ok!(sys::cap_delete(table));
        check_ok!(sys::cap_delete(ep));
        let middle = check_ok!(ipc::kernel_check());
        check_eq!(middle.problems, 0);
    }
    // Dropping the server deleted its thread, space, quota and endpoint.
    let after = check_ok!(ipc::kernel_check());
    check_eq!(after.problems, 0);
    check_eq!(after.live_objects, before.live_objects);
    check_eq!(after.frames_used, before.frames_used);
    Ok(())
}
