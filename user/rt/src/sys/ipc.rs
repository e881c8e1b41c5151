//! IPC: endpoints, notifications, Send/Recv/Call/Reply/ReplyRecv.
//!
//! An IPC call passes the message in registers (see `bulkhead_abi::ipc`):
//! rdi the endpoint (back: the badge), rsi the [`MessageInfo`], and the
//! eight message registers in rdx r10 r8 r9 r12 r13 r14 r15, which come
//! back changed when a message is delivered. [`ipc_raw`] is the stub that
//! moves a [`Message`] in and out of those registers; it and the calls
//! built on it are `#[inline]`, so a caller that ignores part of the
//! result (most do) pays no stores for it. [`reply_word_recv`], the
//! syscall server's one-word reply, has a stub of its own that loads only
//! MR0.

use bulkhead_abi::ipc::{MessageInfo, MAX_WORDS};
use bulkhead_abi::{CapRef, Error, Syscall};

/// A message: info word and message registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub info: MessageInfo,
    pub mrs: [u64; MAX_WORDS],
}

impl Message {
    /// A message of the given words (at most 8).
    pub fn words(words: &[u64]) -> Message {
        let mut mrs = [0; MAX_WORDS];
        let n = words.len().min(MAX_WORDS);
        mrs[..n].copy_from_slice(&words[..n]);
        Message {
            info: MessageInfo::new(n as u64),
            mrs,
        }
    }
}

/// A received message and the badge of the capability it was sent with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Received {
    pub badge: u64,
    pub message: Message,
}

/// Makes IPC call `call` on `cap` with `message`; returns the badge and the
/// message left in the registers.
#[inline]
pub fn ipc_raw(call: Syscall, cap: CapRef, message: &Message) -> Result<Received, Error> {
    let [mut m0, mut m1, mut m2, mut m3, mut m4, mut m5, mut m6, mut m7] = message.mrs;
    let (status, badge, info): (u64, u64, u64);
    // SAFETY: the kernel reads and writes only these registers (rcx and
    // r11 are taken by SYSCALL); no memory is passed.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") call as u64 => status,
            inlateout("rdi") cap.0 => badge,
            inlateout("rsi") message.info.0 => info,
            inlateout("rdx") m0, inlateout("r10") m1, inlateout("r8") m2, inlateout("r9") m3,
            inlateout("r12") m4, inlateout("r13") m5, inlateout("r14") m6, inlateout("r15") m7,
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    received(status, badge, info, [m0, m1, m2, m3, m4, m5, m6, m7])
}

/// The outcome of an IPC call from the registers it left.
#[inline]
fn received(status: u64, badge: u64, info: u64, mrs: [u64; MAX_WORDS]) -> Result<Received, Error> {
    if status != 0 {
        return Err(Error::from_code(status).unwrap_or(Error::InvalidArgument));
    }
    Ok(Received {
        badge,
        message: Message {
            info: MessageInfo(info),
            mrs,
        },
    })
}

/// Blocks until a receiver takes `message`.
#[inline]
pub fn send(endpoint: CapRef, message: &Message) -> Result<(), Error> {
    ipc_raw(Syscall::Send, endpoint, message).map(drop)
}

/// Sends only if a receiver is waiting (`WouldBlock` otherwise).
#[inline]
pub fn send_nonblocking(endpoint: CapRef, message: &Message) -> Result<(), Error> {
    ipc_raw(Syscall::SendNonBlocking, endpoint, message).map(drop)
}

/// Sends `message` and waits for the reply.
#[inline]
pub fn call(endpoint: CapRef, message: &Message) -> Result<Message, Error> {
    ipc_raw(Syscall::Call, endpoint, message).map(|r| r.message)
}

/// Waits for a message (`info` only carries an optional timeout).
#[inline]
pub fn recv(endpoint: CapRef, info: MessageInfo) -> Result<Received, Error> {
    let message = Message {
        info,
        mrs: [0; MAX_WORDS],
    };
    ipc_raw(Syscall::Recv, endpoint, &message)
}

/// Takes a waiting message, or fails with `WouldBlock`.
#[inline]
pub fn recv_nonblocking(endpoint: CapRef) -> Result<Received, Error> {
    ipc_raw(Syscall::RecvNonBlocking, endpoint, &Message::default())
}

/// Replies to the last Call received.
#[inline]
pub fn reply(message: &Message) -> Result<(), Error> {
    ipc_raw(Syscall::Reply, CapRef::NULL, message).map(drop)
}

/// Replies, then waits for the next message on `endpoint`.
#[inline]
pub fn reply_recv(endpoint: CapRef, message: &Message) -> Result<Received, Error> {
    ipc_raw(Syscall::ReplyRecv, endpoint, message)
}

/// Replies with the one word `value`, then waits for the next message on
/// `endpoint`: [`reply_recv`] for the most common reply (a syscall
/// server's result), which sets only MR0. The other message registers go
/// to the kernel as they are; it reads no word past a message's length,
/// and the receiver gets those registers cleared.
#[inline]
pub fn reply_word_recv(endpoint: CapRef, value: u64) -> Result<Received, Error> {
    let [m0, m1, m2, m3, m4, m5, m6, m7]: [u64; MAX_WORDS];
    let (status, badge, info): (u64, u64, u64);
    // SAFETY: as in `ipc_raw`; r10 r8 r9 r12..r15 carry no input, only the
    // received words come back in them.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") Syscall::ReplyRecv as u64 => status,
            inlateout("rdi") endpoint.0 => badge,
            inlateout("rsi") MessageInfo::new(1).0 => info,
            inlateout("rdx") value => m0,
            lateout("r10") m1, lateout("r8") m2, lateout("r9") m3,
            lateout("r12") m4, lateout("r13") m5, lateout("r14") m6, lateout("r15") m7,
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    received(status, badge, info, [m0, m1, m2, m3, m4, m5, m6, m7])
}

/// Creates an endpoint from a memory quota.
pub fn endpoint_create(memory: CapRef) -> Result<CapRef, Error> {
    simple(Syscall::EndpointCreate, memory.0, 0).map(CapRef)
}

/// Creates a notification from a memory quota.
pub fn notification_create(memory: CapRef) -> Result<CapRef, Error> {
    simple(Syscall::NotificationCreate, memory.0, 0).map(CapRef)
}

/// Sets `bits` on a notification.
pub fn signal(notification: CapRef, bits: u64) -> Result<(), Error> {
    simple(Syscall::Signal, notification.0, bits).map(drop)
}

/// Waits until some bit is set (or `timeout_ms` passes; 0 = forever) and
/// takes the bits.
pub fn wait(notification: CapRef, timeout_ms: u32) -> Result<u64, Error> {
    simple(Syscall::Wait, notification.0, u64::from(timeout_ms))
}

/// Takes the pending bits without blocking (0 if none).
pub fn poll(notification: CapRef) -> Result<u64, Error> {
    simple(Syscall::Poll, notification.0, 0)
}

/// Cancels `thread`'s blocked IPC; true if there was one.
pub fn ipc_cancel(thread: CapRef) -> Result<bool, Error> {
    simple(Syscall::IpcCancel, thread.0, 0).map(|n| n != 0)
}

/// A thread's IPC buffer: memory the kernel copies the long part of
/// messages out of (when sending) and into (when receiving). It is leaked
/// on purpose: once registered, the kernel may write it at any delivery.
#[derive(Clone, Copy, Debug)]
pub struct IpcBuffer {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the buffer is only accessed with volatile byte copies, from any
// thread; the kernel is the only other writer.
unsafe impl Send for IpcBuffer {}
// SAFETY: as above.
unsafe impl Sync for IpcBuffer {}

impl IpcBuffer {
    /// A zeroed buffer of `len` bytes.
    pub fn new(len: usize) -> IpcBuffer {
        let slice: &'static mut [u8] =
            alloc::boxed::Box::leak(alloc::vec![0u8; len].into_boxed_slice());
        IpcBuffer {
            ptr: slice.as_mut_ptr(),
            len,
        }
    }

    /// Registers the buffer as `thread`'s IPC buffer.
    pub fn register(&self, thread: CapRef) -> Result<(), Error> {
        // SAFETY: the buffer lives forever and is only accessed volatilely;
        // the kernel checks the range.
        unsafe {
            crate::syscall::syscall3(
                Syscall::ThreadSetIpcBuffer,
                thread.0,
                self.ptr as u64,
                self.len as u64,
            )
        }
        .map(drop)
    }

    /// Copies `bytes` into the start of the buffer (clipped to its length).
    pub fn write(&self, bytes: &[u8]) {
        for (i, b) in bytes.iter().take(self.len).enumerate() {
            // SAFETY: `i < len`, inside the leaked allocation.
            unsafe { self.ptr.add(i).write_volatile(*b) };
        }
    }

    /// The first `n` bytes (clipped to its length).
    pub fn read(&self, n: usize) -> alloc::vec::Vec<u8> {
        (0..n.min(self.len))
            // SAFETY: `i < len`, inside the leaked allocation.
            .map(|i| unsafe { self.ptr.add(i).read_volatile() })
            .collect()
    }
}

/// Reports `thread`'s faults to `handler` (None: stop reporting). For an
/// endpoint, a fault arrives as a message MR0..MR3 = vector, address, RIP,
/// thread id, to a receiver already waiting on it; a notification is
/// signalled with its capability's badge as the bits (1 if unbadged).
pub fn set_fault_handler(thread: CapRef, handler: Option<CapRef>) -> Result<(), Error> {
    simple(
        Syscall::ThreadSetFaultHandler,
        thread.0,
        handler.unwrap_or(CapRef::NULL).0,
    )
    .map(drop)
}

/// Kernel counters: CR3 writes, of which flushing, and IPC fast-path hits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelCounters {
    pub cr3_writes: u64,
    pub cr3_flushes: u64,
    pub fast_path_calls: u64,
}

/// Reads the kernel's counters.
pub fn kernel_counters() -> Result<KernelCounters, Error> {
    // SAFETY: no arguments.
    let [cr3_writes, cr3_flushes, fast_path_calls] =
        unsafe { crate::syscall::syscall0(Syscall::KernelCounters) }?;
    Ok(KernelCounters {
        cr3_writes,
        cr3_flushes,
        fast_path_calls,
    })
}

/// What the kernel's self-check found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelCheck {
    /// Invariant violations (each printed on the console).
    pub problems: u64,
    pub frames_used: u64,
    pub live_objects: u64,
}

/// Runs the kernel's self-check.
pub fn kernel_check() -> Result<KernelCheck, Error> {
    // SAFETY: no arguments.
    let [problems, frames_used, live_objects] =
        unsafe { crate::syscall::syscall0(Syscall::KernelCheck) }?;
    Ok(KernelCheck {
        problems,
        frames_used,
        live_objects,
    })
}

fn simple(call: Syscall, a0: u64, a1: u64) -> Result<u64, Error> {
    // SAFETY: no pointer arguments.
    unsafe { crate::syscall::syscall2(call, a0, a1) }.map(|[r0, _, _]| r0)
}
