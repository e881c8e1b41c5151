//! Synchronous IPC: the slow path, which defines the semantics.
//!
//! A message is the sender's message registers (MR0..MR7, see
//! `bulkhead_abi::ipc`), optionally one capability and bytes from its IPC
//! buffer. Delivery happens when a sender meets a receiver on an endpoint:
//!
//! ```text
//!  Send/Call  --> receiver waiting?  yes: deliver now; Send returns,
//!                                         Call waits for the reply
//!                                    no:  queue on the endpoint and block
//!  Recv       --> sender waiting?    yes: take its message; a Call's sender
//!                                         becomes our reply target
//!                                    no:  queue and block
//!  Reply      --> the reply target still waiting? deliver; else nothing
//! ```
//!
//! A Call gives the receiver a one-time right to reply, held implicitly in
//! the receiver's thread (`ipc.reply_to`) and used up by its next Reply.
//! The receiver learns the badge of the capability the sender used. All of
//! this runs with the object layer and the scheduler locked, each once per
//! system call (`&mut Kernel`, `&mut Scheduler`); a thread that must block
//! queues itself, and its syscall blocks after the locks are released.
//! Whoever completes a wait writes the results into the waiter's saved
//! registers, so a message is copied once, from the sender's registers to
//! the receiver's ([`deliver`]: word by word when it is only register
//! words, else through a [`Message`] built by [`prepare`]). Each
//! operation reaches the two thread records once, by pointer: the running
//! thread's through `Scheduler::current_ptr`, the partner's from its
//! queue entry or reply right.

use crate::arch::x86_64::trap_entry::TrapFrame;
use crate::object::endpoint::{pop_live, pop_live_in, Endpoint, Notification, MAX_PENDING_FAULTS};
use crate::object::{space, Kernel, ObjRef, Object};
use crate::sched::ipc as wait;
use crate::sched::thread::{IpcWait, Thread};
use crate::sched::{Scheduler, ThreadId};
use bulkhead_abi::container::SYSCALL_WORDS;
use bulkhead_abi::ipc::{MessageInfo, MAX_BUFFER_BYTES, MAX_WORDS};
use bulkhead_abi::{CapRef, Error, Rights, PAGE_SIZE};

/// What an IPC operation left to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Finished; results are in the caller's registers (or none are due).
    Done,
    /// The caller is queued and must block until its wait completes.
    Block,
}

/// A message in flight.
#[derive(Clone, Copy, Debug)]
pub struct Message {
    pub info: MessageInfo,
    pub mrs: [u64; MAX_WORDS],
}

/// The message held in a thread's registers.
#[inline(always)]
pub fn message_in(frame: &TrapFrame) -> Message {
    Message {
        info: MessageInfo(frame.rsi),
        mrs: [
            frame.rdx, frame.r10, frame.r8, frame.r9, frame.r12, frame.r13, frame.r14, frame.r15,
        ],
    }
}

/// The message thread `t` is sending: its message registers, or for a
/// container member its Linux syscall (`crate::container_call`); `None`
/// for a kernel thread, which has no registers to send.
#[inline(always)]
fn sent_by(t: &mut Thread) -> Option<Message> {
    if !t.user {
        return None;
    }
    let linux = t.linux.is_some();
    let frame = t.user_frame();
    Some(if linux {
        crate::container_call::linux_message(frame)
    } else {
        message_in(frame)
    })
}

/// The message-info word of [`sent_by`], read alone.
#[inline(always)]
fn sent_info(t: &mut Thread) -> Option<MessageInfo> {
    if !t.user {
        return None;
    }
    Some(if t.linux.is_some() {
        MessageInfo::new(SYSCALL_WORDS)
    } else {
        MessageInfo(t.user_frame().rsi)
    })
}

/// Writes a delivered message into a thread's registers.
#[inline(always)]
pub fn write_message(frame: &mut TrapFrame, badge: u64, m: &Message) {
    frame.rax = 0;
    frame.rdi = badge;
    frame.rsi = m.info.0;
    let [a, b, c, d, e, f, g, h] = m.mrs;
    (frame.rdx, frame.r10, frame.r8, frame.r9) = (a, b, c, d);
    (frame.r12, frame.r13, frame.r14, frame.r15) = (e, f, g, h);
}

/// [`write_message`] of a message of register words only, straight from
/// the sender's registers `src`: status 0, the badge, the info word
/// reduced to the word count (at most 8), the words sent and zero in the
/// other message registers. One jump on the count, then one load and
/// store per word sent and one store per word cleared.
#[inline(always)]
fn write_words(src: &TrapFrame, dst: &mut TrapFrame, words: u64, badge: u64) {
    dst.rax = 0;
    dst.rdi = badge;
    dst.rsi = words.min(MAX_WORDS as u64);
    // MR0..MR7 live in rdx r10 r8 r9 r12 r13 r14 r15.
    macro_rules! mrs {
        ($($sent:ident)* ; $($cleared:ident)*) => {{
            $(dst.$sent = src.$sent;)*
            $(dst.$cleared = 0;)*
        }};
    }
    match words {
        0 => mrs!(; rdx r10 r8 r9 r12 r13 r14 r15),
        1 => mrs!(rdx ; r10 r8 r9 r12 r13 r14 r15),
        2 => mrs!(rdx r10 ; r8 r9 r12 r13 r14 r15),
        3 => mrs!(rdx r10 r8 ; r9 r12 r13 r14 r15),
        4 => mrs!(rdx r10 r8 r9 ; r12 r13 r14 r15),
        5 => mrs!(rdx r10 r8 r9 r12 ; r13 r14 r15),
        6 => mrs!(rdx r10 r8 r9 r12 r13 ; r14 r15),
        7 => mrs!(rdx r10 r8 r9 r12 r13 r14 ; r15),
        _ => mrs!(rdx r10 r8 r9 r12 r13 r14 r15 ;),
    }
}

/// Checks a message-info word from user space.
pub fn check_info(info: MessageInfo) -> Result<(), Error> {
    let words = if info.has_cap() {
        MAX_WORDS as u64 - 1
    } else {
        MAX_WORDS as u64
    };
    if info.words() > words || info.bytes() > MAX_BUFFER_BYTES {
        return Err(Error::InvalidArgument);
    }
    Ok(())
}

/// Timer ticks for a timeout of `ms` milliseconds (None: wait forever).
pub fn timeout_ticks(ms: u32) -> Option<u64> {
    const MS_PER_SECOND: u64 = 1000;
    (ms != 0).then(|| {
        (u64::from(ms) * u64::from(crate::time::timer_hz().max(1))).div_ceil(MS_PER_SECOND)
    })
}

/// Builds the message `from` sends (`sent`: registers, capability, buffer
/// bytes) as `to` will receive it. A capability or buffer part that cannot
/// be transferred is dropped (its flag or byte count cleared), as in seL4:
/// the register words always arrive.
fn prepare(
    k: &mut Kernel,
    sent: Option<Message>,
    from: &Thread,
    grant: bool,
    to: &Thread,
) -> Message {
    let Some(sent) = sent else {
        return Message {
            info: MessageInfo::new(0),
            mrs: [0; MAX_WORDS],
        };
    };
    let words = sent.info.words().min(MAX_WORDS as u64) as usize;
    let mut mrs = sent.mrs;
    for (i, mr) in mrs.iter_mut().enumerate() {
        if i >= words {
            *mr = 0;
        }
    }
    let mut info = MessageInfo::new(words as u64);
    if sent.info.has_cap() && grant {
        if let Some(handle) = transfer_cap(k, from.id, to.id, CapRef(sent.mrs[MAX_WORDS - 1])) {
            mrs[MAX_WORDS - 1] = handle.0;
            info = info.with_cap();
        }
    }
    let bytes = match sent.info.bytes() {
        0 => 0,
        bytes => copy_buffer(k, from, to, bytes).unwrap_or(0),
    };
    Message {
        info: info.with_bytes(bytes),
        mrs,
    }
}

/// Copies capability `cap` of `from`'s table into `to`'s table.
fn transfer_cap(k: &mut Kernel, from: ThreadId, to: ThreadId, cap: CapRef) -> Option<CapRef> {
    let (src, dst) = (k.threads.get(&from)?.table, k.threads.get(&to)?.table);
    let new = k.caps.copy(src, cap, dst, Rights::ALL).ok()?;
    let object = k.caps.lookup(dst, new).ok()?.object;
    k.add_ref(object);
    Some(new)
}

/// Copies up to `bytes` from `from`'s IPC buffer into `to`'s, clipped to
/// both buffers; returns how many were copied.
fn copy_buffer(k: &Kernel, from: &Thread, to: &Thread, bytes: u64) -> Result<u64, Error> {
    if bytes == 0 {
        return Ok(0);
    }
    let ((src, src_len), (dst, dst_len)) = (from.ipc.buffer, to.ipc.buffer);
    let n = bytes.min(src_len).min(dst_len);
    let src_space = k.threads.get(&from.id).ok_or(Error::BadState)?.space;
    let dst_space = k.threads.get(&to.id).ok_or(Error::BadState)?.space;
    let mut done = 0;
    while done < n {
        let (s, d) = (src + done, dst + done);
        let chunk = (PAGE_SIZE - s % PAGE_SIZE)
            .min(PAGE_SIZE - d % PAGE_SIZE)
            .min(n - done);
        let (sp, dp) = (
            space::translate_for(k, src_space, s, false)?,
            space::translate_for(k, dst_space, d, true)?,
        );
        // SAFETY: both are mapped user frames reached through the window;
        // `chunk` stays within each page.
        unsafe {
            core::ptr::copy(
                crate::mm::phys_to_virt(sp),
                crate::mm::phys_to_virt(dp),
                chunk as usize,
            )
        };
        done += chunk;
    }
    Ok(n)
}

fn endpoint_mut(k: &mut Kernel, ep: ObjRef) -> Result<&mut Endpoint, Error> {
    match k.get_mut(ep) {
        Some(Object::Endpoint(e)) => Ok(e),
        Some(_) => Err(Error::WrongType),
        None => Err(Error::InvalidCap),
    }
}

/// Delivers the message `from` sends to `to`, whose wait has just been
/// found live: writes what `to` receives into its registers, with `badge`
/// (`grant`: the capability part may be transferred). The common case,
/// register words between two native user threads, is copied straight
/// from registers to registers; anything else builds the message first
/// ([`deliver_built`]). Either way the result is [`prepare`]'s, written
/// as the wait's completion writes it (`wait::fill_registers`).
#[inline(always)]
fn deliver(k: &mut Kernel, from: &mut Thread, to: &mut Thread, grant: bool, badge: u64) {
    let native = from.user && to.user && from.linux.is_none() && to.linux.is_none();
    if native {
        let src = from.user_frame();
        let info = MessageInfo(src.rsi);
        if !info.has_cap() && info.bytes() == 0 {
            write_words(src, to.user_frame(), info.words(), badge);
            return;
        }
    }
    deliver_built(k, from, to, grant, badge);
}

/// [`deliver`] through a built [`Message`]: a capability, buffer bytes,
/// or a container member or kernel thread on either side.
#[inline(never)]
fn deliver_built(k: &mut Kernel, from: &mut Thread, to: &mut Thread, grant: bool, badge: u64) {
    let sent = sent_by(from);
    let m = prepare(k, sent, from, grant, to);
    wait::fill_registers(to, |f| write_message(f, badge, &m));
}

/// Send or Call on endpoint `ep` with the badge and GRANT right of the
/// capability used. `me` is the running thread.
#[allow(clippy::too_many_arguments)]
pub fn send(
    k: &mut Kernel,
    s: &mut Scheduler,
    me: ThreadId,
    ep: ObjRef,
    badge: u64,
    grant: bool,
    call: bool,
    block: bool,
) -> Result<Outcome, Error> {
    let endpoint: *mut Endpoint = endpoint_mut(k, ep)?;
    // SAFETY: just looked up in `k`, which stays borrowed throughout.
    unsafe { send_on(k, s, me, endpoint, badge, grant, call, block) }
}

/// [`send`] on the endpoint at `endpoint`, which the caller has already
/// looked up (`syscall::ipc`, through the capability cache).
///
/// # Safety
/// `endpoint` points at a live endpoint in `k`'s object arena, looked up
/// under the same lock of the object layer that `k` holds. (The
/// operation creates and destroys no object, so the arena stays put; the
/// endpoint is reached only while no other borrow of `k` is used.)
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn send_on(
    k: &mut Kernel,
    s: &mut Scheduler,
    me: ThreadId,
    endpoint: *mut Endpoint,
    badge: u64,
    grant: bool,
    call: bool,
    block: bool,
) -> Result<Outcome, Error> {
    debug_assert_eq!(me, s.current());
    // SAFETY: the running thread's boxed record, which stays put while it
    // is current; nothing else reaches it while the scheduler is locked
    // (the scheduler's own operations below take only other threads'
    // records, or read ours after its last use here).
    let own = unsafe { &mut *s.current_ptr() };
    let info = sent_info(own).ok_or(Error::BadState)?;
    check_info(info)?;
    if info.has_cap() && !grant {
        return Err(Error::NoRights);
    }
    let ticks = timeout_ticks(info.timeout_ms());
    // SAFETY: see the function's contract; this borrow ends with the pop.
    let receivers = unsafe { &mut (*endpoint).receivers };
    let Some((_, receiver)) = pop_live_in(receivers, s) else {
        if !block {
            return Err(Error::WouldBlock);
        }
        let w = wait::block_current_in(s, IpcWait::Send { call }, badge, grant, ticks);
        // SAFETY: as above.
        unsafe { (*endpoint).senders.push_back(w) };
        return Ok(Outcome::Block);
    };
    // SAFETY: a boxed record other than ours (`pop_live_in`), reached by
    // nothing else while the scheduler is locked.
    let t = unsafe { &mut *receiver };
    if call {
        t.ipc.reply_to = Some((me, own.serial));
    }
    deliver(k, own, t, grant, badge);
    wait::end_wait(s, t);
    if call {
        wait::block_current_in(s, IpcWait::reply(ticks.is_some()), 0, false, ticks);
        return Ok(Outcome::Block);
    }
    Ok(Outcome::Done)
}

/// Receive on the endpoint at `endpoint`. `me` is the running thread.
///
/// # Safety
/// As for [`send_on`].
#[inline(always)]
pub unsafe fn recv_on(
    k: &mut Kernel,
    s: &mut Scheduler,
    me: ThreadId,
    endpoint: *mut Endpoint,
    block: bool,
) -> Result<Outcome, Error> {
    debug_assert_eq!(me, s.current());
    // SAFETY: the running thread's boxed record, as in `send_on`.
    let own = unsafe { &mut *s.current_ptr() };
    // A native thread: a container member's calls never come here.
    debug_assert!(own.linux.is_none());
    if !own.user {
        return Err(Error::BadState);
    }
    let timeout = MessageInfo(own.user_frame().rsi).timeout_ms();
    // SAFETY: see the function's contract; this borrow ends with the pop
    // (and the push, which uses it again).
    let ep = unsafe { &mut *endpoint };
    if let Some((badge, words)) = ep.pending_faults.pop_front() {
        write_message(own.user_frame(), badge, &fault_message(words));
        return Ok(Outcome::Done);
    }
    let Some((w, sender)) = pop_live_in(&mut ep.senders, s) else {
        if !block {
            return Err(Error::WouldBlock);
        }
        let ticks = timeout_ticks(timeout);
        let w = wait::block_current_in(s, IpcWait::recv(ticks.is_some()), 0, false, ticks);
        ep.receivers.push_back(w);
        return Ok(Outcome::Block);
    };
    // SAFETY: a boxed record other than ours (`pop_live_in`), reached by
    // nothing else while the scheduler is locked.
    let t = unsafe { &mut *sender };
    let Some(IpcWait::Send { call }) = t.ipc.waiting else {
        return Err(Error::BadState);
    };
    let (badge, grant) = (t.ipc.badge, t.ipc.grant);
    deliver(k, t, own, grant, badge);
    if call {
        own.ipc.reply_to = Some((w.thread, wait::await_reply_rec(s, w, t)));
    } else {
        wait::fill_registers(t, |f| (f.rax, f.rdi, f.rsi, f.rdx) = (0, 0, 0, 0));
        wait::end_wait(s, t);
    }
    Ok(Outcome::Done)
}

/// Reply to the running thread's reply target, if it still waits; a
/// caller that died or gave up is silently skipped (the server keeps
/// serving).
#[inline(always)]
pub fn reply(k: &mut Kernel, s: &mut Scheduler, me: ThreadId) -> Result<(), Error> {
    debug_assert_eq!(me, s.current());
    // SAFETY: the running thread's boxed record, which stays put while it
    // is current; nothing else reaches it while the scheduler is locked
    // (the scheduler's own operations below take only other threads'
    // records, or read ours after its last use here).
    let own = unsafe { &mut *s.current_ptr() };
    let info = sent_info(own).ok_or(Error::BadState)?;
    check_info(info)?;
    let Some((client, serial)) = own.ipc.reply_to.take() else {
        return Ok(());
    };
    // The running thread waits for no reply: never its own target.
    let Some(c) = s.thread_ptr(client).filter(|_| client != me) else {
        return Ok(());
    };
    // SAFETY: a boxed record other than ours (checked just above),
    // reached by nothing else while the scheduler is locked.
    let c = unsafe { &mut *c };
    if c.serial != serial || !c.ipc.waiting.is_some_and(IpcWait::is_reply) {
        return Ok(());
    }
    deliver(k, own, c, true, 0);
    wait::end_wait(s, c);
    Ok(())
}

/// Reports a fault of user thread `thread` to its fault handler, if it has
/// one. An endpoint handler gets a message if a receiver is waiting there:
/// MR0..MR3 = vector, faulting address (CR2 for a page fault), RIP, thread
/// id; the badge is that of the capability the handler was set with.
/// Nobody waiting means nobody is told (the thread stays stopped, and
/// `ThreadInfo` still shows why). A notification handler is signalled
/// with the capability's badge as the bits (1 if unbadged), which is never
/// lost: a supervisor waiting for several things uses that.
pub fn report_fault(thread: ThreadId, vector: u8, address: u64, rip: u64) {
    let mut k = crate::object::KERNEL.lock();
    let Some((handler, badge)) = k.threads.get(&thread).and_then(|c| c.fault_handler) else {
        return;
    };
    if let Some(Object::Notification(_)) = k.get(handler) {
        let _ = signal(&mut k, handler, badge.max(1));
        return;
    }
    let Ok(ep) = endpoint_mut(&mut k, handler) else {
        return;
    };
    let words = [u64::from(vector), address, rip, u64::from(thread)];
    match pop_live(&mut ep.receivers) {
        Some(r) => {
            let m = fault_message(words);
            wait::complete(r, |f| write_message(f, badge, &m));
        }
        None => {
            if ep.pending_faults.len() >= MAX_PENDING_FAULTS {
                ep.pending_faults.pop_front();
            }
            ep.pending_faults.push_back((badge, words));
        }
    }
}

/// The message a fault report is delivered as.
fn fault_message(words: [u64; 4]) -> Message {
    let mut mrs = [0; MAX_WORDS];
    mrs[..words.len()].copy_from_slice(&words);
    Message {
        info: MessageInfo::new(words.len() as u64),
        mrs,
    }
}

fn notification_mut(k: &mut Kernel, n: ObjRef) -> Result<&mut Notification, Error> {
    match k.get_mut(n) {
        Some(Object::Notification(n)) => Ok(n),
        Some(_) => Err(Error::WrongType),
        None => Err(Error::InvalidCap),
    }
}

/// Sets `bits` on a notification, handing them to a waiter if there is one.
pub fn signal(k: &mut Kernel, n: ObjRef, bits: u64) -> Result<(), Error> {
    let note = notification_mut(k, n)?;
    note.bits |= bits;
    if note.bits != 0 {
        if let Some(w) = pop_live(&mut note.waiters) {
            let delivered = core::mem::take(&mut note.bits);
            wait::complete(w, |f| (f.rax, f.rdi, f.rsi, f.rdx) = (0, delivered, 0, 0));
        }
    }
    Ok(())
}

/// Takes the pending bits, or queues the current thread (if `block`).
pub fn wait_bits(
    k: &mut Kernel,
    n: ObjRef,
    block: bool,
    timeout_ms: u32,
) -> Result<(Outcome, u64), Error> {
    let note = notification_mut(k, n)?;
    let bits = core::mem::take(&mut note.bits);
    if bits != 0 || !block {
        return Ok((Outcome::Done, bits));
    }
    let w = wait::block_current(IpcWait::Notification, 0, false, timeout_ticks(timeout_ms));
    notification_mut(k, n)?.waiters.push_back(w);
    Ok((Outcome::Block, 0))
}
