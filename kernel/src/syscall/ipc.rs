//! IPC system calls: endpoints and notifications, Send, Recv, Call, Reply,
//! ReplyRecv and their non-blocking forms, signals, cancel, IPC buffers.
//!
//! The semantics live in `crate::ipc`; these handlers decode the
//! capabilities and run the operation with the object layer and the
//! scheduler locked, once each. If the caller was queued, the same lock
//! also picks the thread to run next (`Scheduler::park_current`); the
//! caller switches to it once the locks are released and sleeps until
//! whoever completes its wait has written the results into its registers.

use super::{locked, locked_sched, lookup, Caller, Results};
use crate::ipc::{self, Outcome};
use crate::object::cap_cache::EndpointCap;
use crate::object::endpoint::{Endpoint, Notification};
use crate::object::{memory, Kernel, Object, KERNEL};
use crate::sched::ipc as wait;
use crate::sched::{self, Scheduler, Switch};
use crate::usercopy::USlice;
use bulkhead_abi::ipc::MAX_BUFFER_BYTES;
use bulkhead_abi::{CapRef, Error, ObjectType, Rights};

/// Pages charged for an endpoint or a notification.
const IPC_OBJECT_PAGES: u64 = 1;

fn create(caller: &mut Caller, object: fn() -> Object) -> Result<Results, Error> {
    locked(|k| {
        let q = super::memory::quota(k, caller, 0)?;
        memory::charge(k, q, IPC_OBJECT_PAGES)?;
        let r = k.insert(object(), Some((q, IPC_OBJECT_PAGES)));
        k.add_ref(q);
        super::memory::grant_new(k, caller, r)
    })
}

/// `EndpointCreate(quota)` → an endpoint.
pub fn endpoint_create(caller: &mut Caller) -> Result<Results, Error> {
    create(caller, || Object::Endpoint(Endpoint::default()))
}

/// `NotificationCreate(quota)` → a notification.
pub fn notification_create(caller: &mut Caller) -> Result<Results, Error> {
    create(caller, || Object::Notification(Notification::default()))
}

/// Blocks if the operation queued the caller, then returns what the
/// completed wait left in the caller's registers.
fn finish(caller: &Caller, outcome: Outcome, done: Results) -> Result<Results, Error> {
    match outcome {
        Outcome::Done => Ok(done),
        Outcome::Block => {
            wait::wait_for_completion();
            caller.completed()
        }
    }
}

/// What an IPC operation run under the locks leaves to do: its outcome
/// and, if it blocked, the switch away already decided.
type Parked = (Outcome, Result<Option<Switch>, ()>);

/// Decides, under the lock that blocked the caller, where to switch.
#[inline(always)]
fn park(s: &mut Scheduler, outcome: Outcome) -> Parked {
    match outcome {
        Outcome::Done => (outcome, Ok(None)),
        Outcome::Block => (outcome, s.park_current()),
    }
}

/// [`finish`] for an operation whose switch away is already decided.
///
/// A blocked caller has nothing left to do once woken: its completer
/// writes the status and results into its saved registers, which is what
/// `dispatch` would write back. So, as a thread leaving through the IPC
/// fast path does, it leaves its kernel stack behind and will resume
/// straight into user mode from its `TrapFrame` (`Switch::abandon`); its
/// wake-up costs no return through the handlers. Not when the first
/// switch is not decided yet. (Its return address is always one SYSRET
/// takes: a saved user RIP is canonical, `bulkhead_abi::USER_END`.)
#[inline(always)]
fn finish_parked(caller: &Caller, parked: Parked, done: Results) -> Result<Results, Error> {
    match parked {
        (Outcome::Done, _) => Ok(done),
        (Outcome::Block, Ok(Some(switch))) => {
            crate::mm::heap::ensure_headroom();
            switch.abandon()
        }
        (Outcome::Block, first) => {
            wait::wait_parked(first);
            caller.completed()
        }
    }
}

/// The endpoint named by capability argument 0, which needs `rights`
/// (`WRITE` to send, `READ` to receive): through the running thread's
/// remembered lookup for that right (`crate::object::cap_cache`), or in
/// full, which also finds the error.
#[inline(always)]
fn endpoint_arg(
    k: &mut Kernel,
    s: &mut Scheduler,
    caller: &Caller,
    rights: Rights,
) -> Result<EndpointCap, Error> {
    let handle = caller.cap_arg(0);
    // SAFETY: the running thread's boxed record (the caller's), reached by
    // nothing else while the scheduler is locked; the borrow ends here.
    let own = unsafe { &mut *s.current_ptr() };
    let cache = if rights == Rights::WRITE {
        &mut own.send_cap
    } else {
        &mut own.recv_cap
    };
    match k.cached_endpoint_cap(cache, own.cap_table, handle, rights) {
        Some(found) => Ok(found),
        None => endpoint_lookup(k, caller, handle, rights),
    }
}

/// [`endpoint_arg`] in full, which also finds the error.
#[cold]
#[inline(never)]
fn endpoint_lookup(
    k: &mut Kernel,
    caller: &Caller,
    handle: CapRef,
    rights: Rights,
) -> Result<EndpointCap, Error> {
    let (object, rights, badge) = lookup(k, caller, handle, ObjectType::Endpoint, rights)?;
    match k.get_mut(object) {
        Some(Object::Endpoint(ep)) => Ok(EndpointCap {
            object,
            endpoint: ep,
            rights,
            badge,
        }),
        _ => Err(Error::WrongType),
    }
}

/// Send, SendNonBlocking and Call. Both layers are locked once, the
/// operation and, if it blocked the caller, the decision where to switch
/// ([`park`]) run under them, and the switch is made once they are
/// released ([`finish_parked`]).
#[inline(never)]
fn send_or_call(caller: &mut Caller, call: bool, block: bool) -> Result<Results, Error> {
    let me = caller.thread;
    let parked = {
        let mut k = KERNEL.lock();
        let mut guard = sched::lock_in_syscall();
        let s = sched::running(&mut guard);
        let ep = endpoint_arg(&mut k, s, caller, Rights::WRITE)?;
        let grant = ep.rights.contains(Rights::GRANT);
        // SAFETY: the endpoint was just looked up with the object layer
        // locked, which it stays until the operation is over.
        let outcome =
            unsafe { ipc::send_on(&mut k, s, me, ep.endpoint, ep.badge, grant, call, block)? };
        park(s, outcome)
    };
    finish_parked(caller, parked, [0; 3])
}

/// `Send(endpoint, info, MRs)`.
pub fn send(caller: &mut Caller) -> Result<Results, Error> {
    send_or_call(caller, false, true)
}

/// `SendNonBlocking(endpoint, info, MRs)`.
pub fn send_nonblocking(caller: &mut Caller) -> Result<Results, Error> {
    send_or_call(caller, false, false)
}

/// `Call(endpoint, info, MRs)` → the reply.
pub fn call(caller: &mut Caller) -> Result<Results, Error> {
    send_or_call(caller, true, true)
}

/// Receive on the endpoint of argument 0, replying first if `reply_first`
/// (ReplyRecv), with both layers locked once, as [`send_or_call`]. The
/// endpoint is looked up once: a reply cannot change the caller's
/// capabilities (a capability it carries goes to the client, and nothing
/// is removed) nor create or destroy an object.
#[inline(never)]
fn receive(caller: &mut Caller, block: bool, reply_first: bool) -> Result<Results, Error> {
    let me = caller.thread;
    let parked = {
        let mut k = KERNEL.lock();
        let mut guard = sched::lock_in_syscall();
        let s = sched::running(&mut guard);
        let ep = endpoint_arg(&mut k, s, caller, Rights::READ)?;
        if reply_first {
            ipc::reply(&mut k, s, me)?;
        }
        // SAFETY: the endpoint was looked up with the object layer locked,
        // which it stays until the operation is over, and the reply
        // created and destroyed no object.
        let outcome = unsafe { ipc::recv_on(&mut k, s, me, ep.endpoint, block)? };
        park(s, outcome)
    };
    match parked.0 {
        Outcome::Done => caller.completed(),
        Outcome::Block => finish_parked(caller, parked, [0; 3]),
    }
}

/// `Recv(endpoint)` → badge, info, MRs.
pub fn recv(caller: &mut Caller) -> Result<Results, Error> {
    receive(caller, true, false)
}

/// `RecvNonBlocking(endpoint)`.
pub fn recv_nonblocking(caller: &mut Caller) -> Result<Results, Error> {
    receive(caller, false, false)
}

/// `Reply(info, MRs)`.
pub fn reply(caller: &mut Caller) -> Result<Results, Error> {
    let me = caller.thread;
    locked_sched(|k, s| ipc::reply(k, s, me))?;
    Ok([0; 3])
}

/// `ReplyRecv(endpoint, info, MRs)`: reply, then receive.
pub fn reply_recv(caller: &mut Caller) -> Result<Results, Error> {
    receive(caller, true, true)
}

fn notification(caller: &Caller, rights: Rights) -> Result<crate::object::ObjRef, Error> {
    locked(|k| {
        Ok(lookup(
            k,
            caller,
            caller.cap_arg(0),
            ObjectType::Notification,
            rights,
        )?
        .0)
    })
}

/// `Signal(notification, bits)`.
pub fn signal(caller: &mut Caller) -> Result<Results, Error> {
    let n = notification(caller, Rights::WRITE)?;
    locked(|k| ipc::signal(k, n, caller.arg(1)))?;
    Ok([0; 3])
}

fn take_bits(caller: &mut Caller, block: bool) -> Result<Results, Error> {
    let n = notification(caller, Rights::READ)?;
    let timeout_ms = u32::try_from(caller.arg(1)).map_err(|_| Error::InvalidArgument)?;
    let (outcome, bits) = locked(|k| ipc::wait_bits(k, n, block, timeout_ms))?;
    finish(caller, outcome, [bits, 0, 0])
}

/// `Wait(notification, timeout ms)` → bits.
pub fn wait_bits(caller: &mut Caller) -> Result<Results, Error> {
    take_bits(caller, true)
}

/// `Poll(notification)` → bits (0 if none).
pub fn poll(caller: &mut Caller) -> Result<Results, Error> {
    take_bits(caller, false)
}

/// `IpcCancel(thread)` → 1 if a blocked IPC was cancelled, else 0.
pub fn cancel(caller: &mut Caller) -> Result<Results, Error> {
    let id = caller.thread_arg(Rights::WRITE)?;
    Ok([u64::from(wait::cancel(id)), 0, 0])
}

/// `ThreadSetIpcBuffer(thread, address, length)`.
pub fn set_ipc_buffer(caller: &mut Caller) -> Result<Results, Error> {
    let (addr, len) = (caller.arg(1), caller.arg(2));
    if len > MAX_BUFFER_BYTES {
        return Err(Error::InvalidArgument);
    }
    USlice::<u8>::new(addr, len)?;
    let id = caller.thread_arg(Rights::WRITE)?;
    wait::set_buffer(id, (addr, len));
    Ok([0; 3])
}

/// `ThreadSetFaultHandler(thread, endpoint | notification | NULL)`: where
/// the thread's faults are reported (the capability needs WRITE).
pub fn set_fault_handler(caller: &mut Caller) -> Result<Results, Error> {
    let id = caller.thread_arg(Rights::WRITE)?;
    locked(|k| {
        let handler = match caller.cap_arg(1) {
            r if r.is_null() => None,
            r => {
                let (handler, _, badge) = lookup(k, caller, r, ObjectType::Endpoint, Rights::WRITE)
                    .or_else(|_| lookup(k, caller, r, ObjectType::Notification, Rights::WRITE))?;
                Some((handler, badge))
            }
        };
        let context = k.threads.get_mut(&id).ok_or(Error::BadState)?;
        let old = core::mem::replace(&mut context.fault_handler, handler);
        if let Some((ep, _)) = handler {
            k.add_ref(ep);
        }
        if let Some((ep, _)) = old {
            k.release(ep);
        }
        Ok([0; 3])
    })
}
