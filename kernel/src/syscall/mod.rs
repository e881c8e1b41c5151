//! Native system calls: decoding, dispatch, and the one shape every handler
//! has.
//!
//! `syscall_entry` saves the caller's registers in a `TrapFrame` and calls
//! [`dispatch`], which decodes the number and calls a handler of the form
//! `fn(&mut Caller) -> Result<Results, Error>`. A handler first checks
//! everything (capabilities, rights, ranges) without side effects, then
//! performs the operation; the exceptions are the copying calls
//! (`ConsoleWrite`, `SpaceRead`, `SpaceWrite`), which work a chunk at a
//! time and can fail part-way on a user page that is not mapped. `Ok(results)` puts 0 in `rax` and the results in
//! `rdi, rsi, rdx`; `Err(e)` puts the error code in `rax`. Nothing a user
//! passes can make a handler panic: bad input is an error code, and user
//! pointers are only touched through `usercopy`.
//!
//! Handlers live next to the objects they work on: `cap.rs` (capability
//! operations), `memory.rs` (quotas, frames, address spaces, tables),
//! `thread.rs`, `device.rs` (console, I/O ports).

mod cap;
mod container;
mod device;
mod ipc;
mod memory;
pub mod thread;

use crate::arch::x86_64::trap_entry::TrapFrame;
use crate::object::{Kernel, ObjRef, ThreadContext, KERNEL};
use crate::sched::{self, ThreadId};
use bulkhead_abi::{CapRef, Error, ObjectType, Rights, Syscall};

/// Up to three result registers.
pub type Results = [u64; 3];

/// The calling thread and its saved registers.
///
/// The registers are held by pointer and read in short borrows, because a
/// blocking call's registers are written by the thread that completes its
/// wait while the call is parked.
pub struct Caller {
    frame: *mut TrapFrame,
    pub thread: ThreadId,
}

impl Caller {
    fn frame(&self) -> TrapFrame {
        // SAFETY: the frame is the calling thread's own, at the top of its
        // kernel stack; the copy is taken while no one else writes it.
        unsafe { *self.frame }
    }

    /// Argument `i` (0..6): rdi, rsi, rdx, r10, r8, r9.
    pub fn arg(&self, i: usize) -> u64 {
        let f = self.frame();
        [f.rdi, f.rsi, f.rdx, f.r10, f.r8, f.r9]
            .get(i)
            .copied()
            .unwrap_or(0)
    }

    /// The results a completed IPC wait left in the caller's registers.
    pub fn completed(&self) -> Result<Results, Error> {
        let f = self.frame();
        match f.rax {
            0 => Ok([f.rdi, f.rsi, f.rdx]),
            code => Err(Error::from_code(code).unwrap_or(Error::BadState)),
        }
    }

    /// Argument `i` as a `Rights` value (unknown bits are an error).
    pub fn rights_arg(&self, i: usize) -> Result<Rights, Error> {
        let bits = u32::try_from(self.arg(i)).map_err(|_| Error::InvalidArgument)?;
        Rights::from_bits(bits).ok_or(Error::InvalidArgument)
    }

    /// The thread named by capability argument 0, which needs `rights`.
    pub fn thread_arg(&self, rights: Rights) -> Result<ThreadId, Error> {
        locked(|k| {
            let (r, _, _) = lookup(k, self, self.cap_arg(0), ObjectType::Thread, rights)?;
            match k.get(r) {
                Some(crate::object::Object::Thread(id)) => Ok(*id),
                _ => Err(Error::WrongType),
            }
        })
    }

    /// Argument `i` as a capability handle.
    pub fn cap_arg(&self, i: usize) -> CapRef {
        CapRef(self.arg(i))
    }

    /// The caller's syscall context (table, space).
    pub fn context(&self, k: &Kernel) -> Result<ThreadContext, Error> {
        k.threads.get(&self.thread).copied().ok_or(Error::BadState)
    }
}

/// Looks up capability `r` in the caller's table, requiring `rights` and an
/// object of type `kind`; returns the object reference and the
/// capability's rights and badge.
///
/// The common case is a few checks, inlined into every handler (so `kind`
/// and `rights` are constants there); anything else goes to
/// [`lookup_full`], which repeats the lookup step by step and finds the
/// right error.
#[inline(always)]
pub fn lookup(
    k: &Kernel,
    caller: &Caller,
    r: CapRef,
    kind: ObjectType,
    rights: Rights,
) -> Result<(ObjRef, Rights, u64), Error> {
    if let Some(table) = k.threads.get(&caller.thread).map(|c| c.table) {
        if let Some(cap) = k.caps.get(table, r) {
            let kind_ok = k.get(cap.object).is_some_and(|o| o.kind() == kind);
            if kind_ok && cap.rights.contains(rights) {
                return Ok((cap.object, cap.rights, cap.badge));
            }
        }
    }
    lookup_full(k, caller, r, kind, rights)
}

/// [`lookup`] step by step, for everything but the common case: the same
/// result, or the error that says which step failed.
#[cold]
#[inline(never)]
fn lookup_full(
    k: &Kernel,
    caller: &Caller,
    r: CapRef,
    kind: ObjectType,
    rights: Rights,
) -> Result<(ObjRef, Rights, u64), Error> {
    let ctx = caller.context(k)?;
    let cap = k
        .caps
        .lookup(ctx.table, r)
        .map_err(crate::object::cap_error)?;
    let object = k.get(cap.object).ok_or(Error::InvalidCap)?;
    if object.kind() != kind {
        return Err(Error::WrongType);
    }
    if !cap.rights.contains(rights) {
        return Err(Error::NoRights);
    }
    Ok((cap.object, cap.rights, cap.badge))
}

/// Runs `f` with the object layer locked.
pub fn locked<R>(f: impl FnOnce(&mut Kernel) -> R) -> R {
    f(&mut KERNEL.lock())
}

/// Runs `f` with the object layer and then the scheduler locked (the order
/// every path takes both in): IPC does all of a call's work under one
/// acquisition of each (`Reply` through this; Send, Call, Recv and
/// ReplyRecv take both in their own bodies, `syscall::ipc::send_or_call`
/// and `syscall::ipc::receive`, in the same order). For system call handlers only
/// (interrupts off, see `sched::with_sched_in_syscall`).
pub fn locked_sched<R>(f: impl FnOnce(&mut Kernel, &mut sched::Scheduler) -> R) -> R {
    locked(|k| sched::with_sched_in_syscall(|s| f(k, s)))
}

type Handler = fn(&mut Caller) -> Result<Results, Error>;

fn handler(call: Syscall) -> Handler {
    match call {
        Syscall::Null => |_| Ok([0; 3]),
        Syscall::Yield => thread::yield_now,
        Syscall::Sleep => thread::sleep,
        Syscall::CapInfo => cap::info,
        Syscall::CapCopy => cap::copy,
        Syscall::CapMint => cap::mint,
        Syscall::CapDelete => cap::delete,
        Syscall::CapRevoke => cap::revoke,
        Syscall::MemorySplit => memory::split,
        Syscall::MemoryInfo => memory::info,
        Syscall::FramesAlloc => memory::frames_alloc,
        Syscall::SpaceCreate => memory::space_create,
        Syscall::SpaceMap => memory::space_map,
        Syscall::SpaceUnmap => memory::space_unmap,
        Syscall::SpaceProtect => memory::space_protect,
        Syscall::SpaceRead => memory::space_read,
        Syscall::SpaceWrite => memory::space_write,
        Syscall::TableCreate => memory::table_create,
        Syscall::ThreadCreate => thread::create,
        Syscall::ThreadSetEntry => thread::set_entry,
        Syscall::ThreadStart => thread::start,
        Syscall::ThreadSuspend => thread::suspend,
        Syscall::ThreadResume => thread::resume,
        Syscall::ThreadExit => thread::exit,
        Syscall::ThreadWait => thread::wait,
        Syscall::ThreadSetPriority => thread::set_priority,
        Syscall::ThreadInfo => thread::info,
        Syscall::ThreadSetFsBase => thread::set_fs_base,
        Syscall::ThreadSetGsBase => thread::set_gs_base,
        Syscall::ThreadSetIpcBuffer => ipc::set_ipc_buffer,
        Syscall::IpcCancel => ipc::cancel,
        Syscall::ThreadSetFaultHandler => ipc::set_fault_handler,
        Syscall::EndpointCreate => ipc::endpoint_create,
        Syscall::NotificationCreate => ipc::notification_create,
        Syscall::Send => ipc::send,
        Syscall::Recv => ipc::recv,
        Syscall::Call => ipc::call,
        Syscall::Reply => ipc::reply,
        Syscall::ReplyRecv => ipc::reply_recv,
        Syscall::SendNonBlocking => ipc::send_nonblocking,
        Syscall::RecvNonBlocking => ipc::recv_nonblocking,
        Syscall::Signal => ipc::signal,
        Syscall::Wait => ipc::wait_bits,
        Syscall::Poll => ipc::poll,
        Syscall::KernelCheck => |_| {
            let (problems, objects) = locked(|k| (k.self_check(), k.live_objects()));
            let problems = problems + sched::stale_timeouts();
            Ok([problems, crate::mm::frames::stats().used_frames, objects])
        },
        Syscall::KernelCounters => |_| {
            let (writes, flushes) = crate::mm::pcid::counters();
            Ok([writes, flushes, crate::ipc_fast::hits()])
        },
        Syscall::ClockRead => |_| Ok([crate::time::uptime_nanos(), crate::time::tsc_hz(), 0]),
        Syscall::KernelMemory => |_| {
            let user_frames = locked(|k| k.user_frames());
            let used = crate::mm::frames::stats().used_frames;
            let heap_used = crate::mm::heap::stats().0 as u64;
            let kept = crate::mm::heap::frames_owned() + crate::mm::paging::table_frames();
            Ok([used.saturating_sub(user_frames + kept), heap_used, kept])
        },
        Syscall::ConsoleWrite => device::console_write,
        Syscall::ConsoleRead => device::console_read,
        Syscall::PortRead => device::port_read,
        Syscall::PortWrite => device::port_write,
        Syscall::ContainerCreate => container::create,
        Syscall::ContainerAddThread => container::add_thread,
        Syscall::ContainerStop => container::stop,
        Syscall::ContainerInfo => container::info,
    }
}

/// Entered from `syscall_entry` with the caller's saved registers (Call
/// and ReplyRecv of a native thread come here only when the IPC fast path,
/// which `syscall_entry` tries first, did not apply).
pub extern "C" fn dispatch(frame: &mut TrapFrame) {
    let frame_ptr: *mut TrapFrame = frame;
    if sched::current_linux() != sched::LINUX_NONE {
        // A container member: a Linux call, forwarded to its server or
        // served in the kernel.
        crate::container_call::serve_linux(frame_ptr);
        crate::mm::heap::ensure_headroom();
        sched::preempt_point();
        return;
    }
    // SAFETY: our own frame; the read ends with this statement.
    let number = unsafe { (*frame_ptr).rax };
    let result = match Syscall::from_number(number) {
        Some(call) => handler(call)(&mut Caller {
            frame: frame_ptr,
            thread: sched::current(),
        }),
        None => Err(Error::NoSuchCall),
    };
    // SAFETY: the call is over; no one else writes this frame any more.
    let frame = unsafe { &mut *frame_ptr };
    match result {
        Ok([r0, r1, r2]) => {
            frame.rax = 0;
            frame.rdi = r0;
            frame.rsi = r1;
            frame.rdx = r2;
        }
        Err(e) => frame.rax = e as u64,
    }
    crate::mm::heap::ensure_headroom();
    sched::preempt_point();
}
