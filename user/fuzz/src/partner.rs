//! The partner: a second thread of the fuzzer that serves one endpoint, so
//! the fuzzer's `Send`s and `Call`s (and the faults of sandbox threads
//! whose fault handler is that endpoint) reach a real receiver, on the fast
//! path and the slow one.
//!
//! It loops on `ReplyRecv` with a 20 ms timeout, replying with random
//! words, buffer lengths and flags (now and then a malformed reply) and,
//! with `CAP`, a sanitized MR7. One time in ten it sends instead, and one
//! in ten it calls, on the same endpoint and with the same timeout, so the
//! fuzzer's receives have a sender and its replies a caller. A call that fails at once makes it sleep a
//! tick, so it can never spin. It checks what it receives with the same
//! oracle as the fuzzer and counts it in [`STATS`]. It runs at the
//! fuzzer's priority and never exits; the run ends when the fuzzer's main
//! thread does.

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use bulkhead_rt::abi::ipc::MessageInfo;
use bulkhead_rt::abi::{CapRef, Error, Syscall};
use bulkhead_rt::thread::{self, ThreadSpec};
use bulkhead_rt::{println, sys};

use crate::arena::{self, Use};
use crate::oracle;
use crate::raw;
use crate::rng::Rng;

/// What the partner saw.
pub struct PartnerStats {
    /// Messages received (the fuzzer's, fault reports, replies).
    pub received: AtomicU64,
    /// Sends the fuzzer took.
    pub sent: AtomicU64,
    /// Of those, with a capability.
    pub with_cap: AtomicU64,
    /// Receives that timed out.
    pub timeouts: AtomicU64,
    /// Calls that failed otherwise.
    pub errors: AtomicU64,
    /// Impossible outcomes (findings).
    pub findings: AtomicU64,
}

/// The partner's counters.
pub static STATS: PartnerStats = PartnerStats {
    received: AtomicU64::new(0),
    sent: AtomicU64::new(0),
    with_cap: AtomicU64::new(0),
    timeouts: AtomicU64::new(0),
    errors: AtomicU64::new(0),
    findings: AtomicU64::new(0),
};

/// Timeout of the partner's receive, in milliseconds.
const RECEIVE_TIMEOUT_MS: u64 = 20;

/// Starts the partner on `endpoint`; returns its thread capability. It
/// waits until the protected set is complete before its first call.
pub fn start(spec: &ThreadSpec, endpoint: CapRef, seed: u64) -> Result<CapRef, Error> {
    let handle = thread::spawn(spec, move || serve(endpoint.0, seed))?;
    let cap = handle.cap();
    // Never joined: the partner runs until the program ends.
    drop(handle);
    Ok(cap)
}

fn serve(endpoint: u64, seed: u64) -> i32 {
    while !arena::ready() {
        let _ = sys::sleep(Duration::from_millis(1));
    }
    let mut rng = Rng::new(seed, 2);
    loop {
        let words = if rng.chance(97) {
            rng.below(9)
        } else {
            9 + rng.below(7)
        };
        let mut info = words | (RECEIVE_TIMEOUT_MS << 32);
        if rng.chance(20) {
            info |= MessageInfo::CAP;
        }
        if rng.chance(30) {
            info |= MessageInfo::FORCE_SLOW;
        }
        if rng.chance(30) {
            info |= rng.below(0x1_0000) << 8;
        }
        let mut mrs = [0u64; 8];
        for mr in &mut mrs {
            *mr = rng.next();
        }
        // MR7 may name a capability to transfer: the endpoint itself or a
        // small slot of the shared table, never a protected one.
        let mr7 = if rng.chance(50) {
            endpoint
        } else {
            CapRef::new(rng.below(64) as u32, rng.below(3) as u32).0
        };
        mrs[7] = arena::sanitize(mr7, Use::CopySource);
        // Mostly serve; now and then send or call the same endpoint, so
        // the fuzzer's receives find a sender (and its replies a caller).
        let call = match rng.below(10) {
            0 => Syscall::Send,
            1 => Syscall::Call,
            _ => Syscall::ReplyRecv,
        };
        let got = raw::ipc(call as u64, endpoint, info, mrs);
        let sent = raw::IpcRaw {
            status: call as u64,
            badge: endpoint,
            info,
            mrs,
        };
        if let Some(problem) = oracle::judge_ipc(call, &sent, &got) {
            STATS.findings.fetch_add(1, Ordering::Relaxed);
            println!(
                "fuzz: FINDING (partner) {call:?}({endpoint:#x}, {info:#x}) -> status {} info {:#x} badge {:#x}: {problem}",
                got.status, got.info, got.badge
            );
        }
        match got.status {
            0 if call == Syscall::Send => {
                STATS.sent.fetch_add(1, Ordering::Relaxed);
            }
            0 => {
                STATS.received.fetch_add(1, Ordering::Relaxed);
                if got.info & MessageInfo::CAP != 0 {
                    STATS.with_cap.fetch_add(1, Ordering::Relaxed);
                    arena::note_received(got.mrs[7]);
                }
            }
            s if s == Error::TimedOut as u64 => {
                STATS.timeouts.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                STATS.errors.fetch_add(1, Ordering::Relaxed);
                let _ = sys::sleep(Duration::from_millis(10));
            }
        }
    }
}
