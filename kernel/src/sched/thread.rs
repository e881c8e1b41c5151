//! The thread control block.
//!
//! A thread owns a kernel stack (its user registers live in the
//! `TrapFrame` at the top of it while it is in the kernel or not running),
//! a saved kernel stack pointer (valid while it is not running), and an FPU
//! save area. It runs either in the kernel only (kernel threads: idle, and
//! tests) or in an address space in ring 3 (user threads).

use crate::arch::x86_64::context;
use crate::arch::x86_64::trap_entry::TrapFrame;
use crate::mm::stack::KernelStack;
use crate::object::cap_cache::EndpointCache;
use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use alloc::vec::Vec;
use bulkhead_abi::ThreadState;
use bulkhead_captable::TableId;

/// `Thread::cap_table` of a thread with no syscall context (a kernel
/// thread, or a user thread whose context is gone): an index no table
/// ever has, so every lookup in it fails.
pub const NO_TABLE: TableId = TableId::new(u32::MAX, 0);

/// Index of a thread in the scheduler's table.
pub type ThreadId = u32;

/// Priorities: 0 (lowest, idle) to `MAX_PRIORITY`.
pub const MAX_PRIORITY: u8 = 31;

/// Why a thread stopped for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// It called exit with this code.
    Exited(u64),
    /// A CPU exception in ring 3: vector and faulting address (CR2 for #PF).
    Faulted { vector: u8, address: u64, rip: u64 },
    /// Its last capability was deleted while it still ran.
    Killed,
}

/// What the thread is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Created, not yet started.
    Inactive,
    /// In a run queue, or running.
    Ready,
    /// Waiting in the kernel (sleep, thread wait, ...).
    Blocked,
    /// Stopped by a capability holder; resumes where it was.
    Suspended,
    /// Done; only waiters and the capability keep it.
    Ended(Ending),
}

impl State {
    /// The ABI view of the state.
    pub fn abi(self) -> ThreadState {
        match self {
            State::Inactive => ThreadState::Inactive,
            State::Ready => ThreadState::Running,
            State::Blocked => ThreadState::Blocked,
            State::Suspended => ThreadState::Suspended,
            State::Ended(Ending::Exited(_) | Ending::Killed) => ThreadState::Exited,
            State::Ended(Ending::Faulted { .. }) => ThreadState::Faulted,
        }
    }
}

/// A 64-byte aligned FPU save area.
pub struct FpuArea {
    ptr: *mut u8,
    layout: Layout,
}

// SAFETY: the area is owned by one thread and only touched by the
// scheduler with the scheduler lock held.
unsafe impl Send for FpuArea {}

impl FpuArea {
    /// An area in the initial FPU state, or `None` if the heap is exhausted.
    pub fn new() -> Option<Self> {
        let layout = Layout::from_size_align(context::fpu_area_size(), 64).ok()?;
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        if ptr.is_null() {
            return None;
        }
        // SAFETY: fresh, aligned, large enough.
        unsafe { context::fpu_init_area(ptr) };
        Some(Self { ptr, layout })
    }

    /// The area's address.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }
}

impl Drop for FpuArea {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr, self.layout) }
    }
}

/// What a thread blocked in IPC waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpcWait {
    /// Queued on an endpoint to send (`call`: then to wait for the reply).
    Send { call: bool },
    /// Queued on an endpoint to receive.
    Recv,
    /// The same with a timeout. The timeout's entry in the sleepers list
    /// is taken off only by the slow path, so the IPC fast path leaves
    /// timed waits alone (it would leave the entry behind, and every later
    /// completion would scan it). A variant of its own rather than a
    /// field: the whole `Option<IpcWait>` then stays one byte, which the
    /// fast path's guards compare at once.
    RecvTimed,
    /// Its Call was received; waiting for the reply.
    Reply,
    /// The same with a timeout (see `RecvTimed`).
    ReplyTimed,
    /// Waiting on a notification.
    Notification,
}

impl IpcWait {
    /// `Recv`, or `RecvTimed` for a wait with a timeout.
    pub fn recv(timed: bool) -> IpcWait {
        if timed {
            IpcWait::RecvTimed
        } else {
            IpcWait::Recv
        }
    }

    /// `Reply`, or `ReplyTimed` for a wait with a timeout.
    pub fn reply(timed: bool) -> IpcWait {
        if timed {
            IpcWait::ReplyTimed
        } else {
            IpcWait::Reply
        }
    }

    /// Waiting for a reply, with or without a timeout.
    pub fn is_reply(self) -> bool {
        matches!(self, IpcWait::Reply | IpcWait::ReplyTimed)
    }
}

/// A thread's IPC state.
#[derive(Clone, Copy, Debug, Default)]
pub struct IpcState {
    /// What it is blocked on, if anything.
    pub waiting: Option<IpcWait>,
    /// Changes whenever `waiting` does: queue entries carry the token they
    /// were made with, so an entry left behind by a timeout, a cancel or a
    /// death is recognised as stale and skipped.
    pub token: u64,
    /// Badge of the capability it sends with, while queued to send.
    pub badge: u64,
    /// Its endpoint capability allows passing capabilities (GRANT).
    pub grant: bool,
    /// The caller this thread must reply to (thread and its serial).
    pub reply_to: Option<(ThreadId, u64)>,
    /// Its IPC buffer: user address and length (0, 0 = none).
    pub buffer: (u64, u64),
}

/// A thread.
pub struct Thread {
    pub id: ThreadId,
    /// Never reused, unlike `id`: tells a thread from a later one in the
    /// same slot.
    pub serial: u64,
    pub ipc: IpcState,
    pub name: &'static str,
    pub state: State,
    pub priority: u8,
    pub kstack: KernelStack,
    /// Kernel stack pointer while switched out.
    pub saved_rsp: u64,
    pub fpu: FpuArea,
    /// Physical address of the PML4 to run on (the kernel's for kernel threads).
    pub cr3: u64,
    /// True if the thread runs user code (its stack top holds a `TrapFrame`).
    pub user: bool,
    pub fs_base: u64,
    /// The user's GS base (in `IA32_KERNEL_GS_BASE` while the thread runs,
    /// since the kernel's own GS base is live in the kernel).
    pub gs_base: u64,
    /// Ticks left in the current time slice.
    pub slice_left: u32,
    /// Threads blocked in `wait` on this one.
    pub waiters: Vec<ThreadId>,
    /// Set while suspended from a blocked state, so resume blocks again.
    pub suspended_from_blocked: bool,
    /// Set for a container member: its `syscall`s are Linux calls,
    /// forwarded as described in `crate::container_call`.
    pub linux: Option<LinuxLink>,
    /// `LinuxLink::kind(&linux)`, kept beside it (set together by
    /// `sched::set_linux`) so a switch copies one byte into
    /// `sched::CURRENT_LINUX`.
    pub linux_kind: u8,
    /// The thread's capability table: a copy of `ThreadContext::table`
    /// kept by `object::ThreadContexts` (insert sets it, remove resets it
    /// to [`NO_TABLE`]), so the IPC fast path finds it in the record it
    /// already holds instead of looking up the object layer's context.
    pub cap_table: TableId,
    /// The last endpoint capability this thread sent with (`WRITE`) and
    /// received on (`READ`), looked up in `cap_table`
    /// (`crate::object::cap_cache`).
    pub send_cap: EndpointCache,
    pub recv_cap: EndpointCache,
}

/// How a container member's Linux syscalls are forwarded.
#[derive(Clone, Copy, Debug)]
pub struct LinuxLink {
    /// The container's syscall endpoint (the container holds a reference,
    /// and the thread's object holds the container).
    pub endpoint: crate::object::ObjRef,
    /// The badge the server sees on this thread's calls.
    pub badge: u64,
    /// Set when a forwarded call ended because the server is gone; the
    /// thread stops when it next runs.
    pub server_gone: bool,
    /// Syscalls forwarded so far.
    pub calls: u64,
    /// For a member of an in-kernel container (`direct`, `sci`): where its
    /// personality state is; its syscalls are served in the kernel and
    /// only its exit goes to the endpoint.
    pub kernel: Option<crate::personality::MemberLink>,
}

impl LinuxLink {
    /// The value of `sched::CURRENT_LINUX` for a thread with this link.
    pub fn kind(link: &Option<LinuxLink>) -> u8 {
        match link {
            None => super::LINUX_NONE,
            Some(LinuxLink { kernel: None, .. }) => super::LINUX_FORWARDED,
            Some(_) => super::LINUX_IN_KERNEL,
        }
    }
}

impl Thread {
    /// Records the thread's capability table (`Thread::cap_table`) and
    /// forgets the endpoint lookups made in the previous one.
    pub fn set_cap_table(&mut self, table: TableId) {
        self.cap_table = table;
        self.send_cap = EndpointCache::EMPTY;
        self.recv_cap = EndpointCache::EMPTY;
    }

    /// The user register frame at the top of the kernel stack.
    #[inline(always)]
    pub fn user_frame(&mut self) -> &mut TrapFrame {
        let frame = self.frame_ptr();
        // SAFETY: user threads keep their TrapFrame at the top of their own
        // kernel stack; the `&mut self` borrow makes this access exclusive.
        unsafe { &mut *frame }
    }

    /// The address of the user register frame (no borrow taken).
    #[inline(always)]
    pub fn frame_ptr(&self) -> *mut TrapFrame {
        (self.kstack.top - core::mem::size_of::<TrapFrame>() as u64) as *mut TrapFrame
    }

    /// True once the thread exited or faulted.
    pub fn has_ended(&self) -> bool {
        matches!(self.state, State::Ended(_))
    }
}
