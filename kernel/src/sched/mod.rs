//! Threads and scheduling: preemptive, priority round-robin, one CPU.
//!
//! Every thread has its own kernel stack; a thread that blocks in the
//! kernel simply calls [`schedule`] and continues where it left off when it
//! is woken. Ready threads wait in one FIFO queue per priority (32 levels,
//! a bitmap finds the highest non-empty one). The highest-priority ready
//! thread runs; equal priorities share the CPU in time slices of
//! [`SLICE_TICKS`] timer ticks. A blocked thread is in no queue and costs
//! no CPU; when nothing is ready the idle thread halts the CPU until the
//! next interrupt.
//!
//! Invariants: kernel code runs with interrupts off (SYSCALL masks IF, and
//! interrupt gates clear it), so kernel code is never preempted; the timer
//! only preempts ring 3 and the idle thread, at [`preempt_point`]. The
//! scheduler lock is never held across a stack switch. `current` is always
//! the thread whose stack the CPU is on.

pub mod ipc;
mod switch;
pub mod thread;

use crate::arch::x86_64::{context, gdt, percpu};
use crate::mm::stack;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use spin::mutex::SpinMutex;
pub(crate) use switch::Switch;
pub use thread::{Ending, State, Thread, ThreadId, MAX_PRIORITY};
use x86_64::instructions::interrupts;

/// Timer ticks a thread may run before an equal-priority one gets a turn.
pub const SLICE_TICKS: u32 = 2;

/// Why a thread could not be created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpawnError {
    /// No frames for the kernel stack or no heap for the thread.
    OutOfMemory,
}

pub(crate) struct Scheduler {
    threads: Vec<Option<Box<Thread>>>,
    ready: [crate::ring::Ring<ThreadId>; MAX_PRIORITY as usize + 1],
    ready_bitmap: u32,
    /// The record of the running thread, whose id is [`CURRENT`] (boxed,
    /// so it stays put; a thread's record is freed only when it is not the
    /// current one): the IPC fast path and `make_ready` reach it without
    /// indexing `threads`.
    current_record: *mut Thread,
    idle: ThreadId,
    /// (wake-up tick, thread, IPC token for an IPC timeout), unordered;
    /// short in practice.
    sleepers: Vec<(u64, ThreadId, Option<u64>)>,
    /// Killed threads to free once another thread runs.
    reap: Vec<ThreadId>,
}

// SAFETY: `current_record` points into one of the scheduler's own boxed
// records and is used only through the scheduler, under its lock; the
// rest of the scheduler is `Send` anyway.
unsafe impl Send for Scheduler {}

static SCHED: SpinMutex<Option<Scheduler>> = SpinMutex::new(None);
static NEED_RESCHED: AtomicBool = AtomicBool::new(false);
/// The running thread: the scheduler's only record of its id
/// (`Scheduler::current`), readable without the scheduler lock too. It is
/// written only with the scheduler borrowed and interrupts off, where the
/// running thread changes (`switch::set_current`).
static CURRENT: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);
/// What the running thread's syscalls are (read by `syscall_entry`, which
/// tries the right IPC fast path, or none): [`LINUX_NONE`] (native calls),
/// [`LINUX_FORWARDED`] (an `ipc` container member) or [`LINUX_IN_KERNEL`]
/// (a `direct` or `sci` member).
pub(crate) static CURRENT_LINUX: core::sync::atomic::AtomicU8 =
    core::sync::atomic::AtomicU8::new(LINUX_NONE);
/// `CURRENT_LINUX`: a native thread.
pub const LINUX_NONE: u8 = 0;
/// `CURRENT_LINUX`: Linux calls forwarded to a syscall server.
pub const LINUX_FORWARDED: u8 = 1;
/// `CURRENT_LINUX`: Linux calls served in the kernel. Its top bit is set
/// so that `syscall_entry` tells it from [`LINUX_FORWARDED`] by the sign
/// flag its first compare already left.
pub const LINUX_IN_KERNEL: u8 = 0x80;
static NEXT_SERIAL: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

fn next_serial() -> u64 {
    NEXT_SERIAL.fetch_add(1, Ordering::Relaxed)
}

/// [`with_sched`] for a system call's handler, which runs with interrupts
/// off already (SYSCALL masks IF) and only after [`init`] (system calls
/// come only from user threads, which exist only after it): no interrupt
/// flag to save and restore, no check that the scheduler exists.
#[inline(always)]
pub(crate) fn with_sched_in_syscall<R>(f: impl FnOnce(&mut Scheduler) -> R) -> R {
    debug_assert!(!interrupts::are_enabled());
    let mut guard = SCHED.lock();
    f(running(&mut guard))
}

/// Locks the scheduler for a system call's handler (see
/// [`with_sched_in_syscall`]): with [`running`], for a handler that keeps
/// it locked across several steps.
#[inline(always)]
pub(crate) fn lock_in_syscall() -> spin::mutex::SpinMutexGuard<'static, Option<Scheduler>> {
    debug_assert!(!interrupts::are_enabled());
    SCHED.lock()
}

/// The scheduler behind a locked guard, in a system call (see
/// [`with_sched_in_syscall`]).
#[inline(always)]
pub(crate) fn running(guard: &mut Option<Scheduler>) -> &mut Scheduler {
    // SAFETY: `init` stores the scheduler before any other thread exists
    // and nothing ever takes it out again; system calls come only from
    // user threads, created after `init`.
    unsafe { guard.as_mut().unwrap_unchecked() }
}

/// Runs `f` on the scheduler with interrupts off.
pub(crate) fn with_sched<R>(f: impl FnOnce(&mut Scheduler) -> R) -> R {
    interrupts::without_interrupts(|| {
        let mut guard = SCHED.lock();
        f(guard.as_mut().expect("sched::init ran"))
    })
}

impl Scheduler {
    pub(crate) fn thread(&mut self, id: ThreadId) -> Option<&mut Thread> {
        self.threads.get_mut(id as usize)?.as_deref_mut()
    }

    fn enqueue(&mut self, id: ThreadId) {
        let Some(priority) = self.thread(id).map(|t| t.priority) else {
            return;
        };
        self.enqueue_at(id, priority);
    }

    /// Queues `id`, whose priority is `priority`, last in its ready queue.
    #[inline(always)]
    fn enqueue_at(&mut self, id: ThreadId, priority: u8) {
        self.ready[usize::from(priority)].push_back(id);
        self.ready_bitmap |= 1 << priority;
    }

    fn dequeue_highest(&mut self) -> Option<ThreadId> {
        while self.ready_bitmap != 0 {
            let priority = 31 - self.ready_bitmap.leading_zeros() as usize;
            match self.ready[priority].pop_front() {
                Some(id) => {
                    if self.ready[priority].is_empty() {
                        self.ready_bitmap &= !(1 << priority);
                    }
                    return Some(id);
                }
                None => self.ready_bitmap &= !(1 << priority),
            }
        }
        None
    }

    fn remove_from_queue(&mut self, id: ThreadId) {
        for (priority, queue) in self.ready.iter_mut().enumerate() {
            queue.retain(|t| t != id);
            if queue.is_empty() {
                self.ready_bitmap &= !(1 << priority);
            }
        }
    }

    fn highest_ready_priority(&self) -> Option<u8> {
        (self.ready_bitmap != 0).then(|| 31 - self.ready_bitmap.leading_zeros() as u8)
    }

    fn insert(&mut self, thread: Thread) -> ThreadId {
        let slot = self.threads.iter().position(Option::is_none);
        let id = slot.unwrap_or(self.threads.len()) as ThreadId;
        let mut thread = Box::new(thread);
        thread.id = id;
        match slot {
            Some(i) => self.threads[i] = Some(thread),
            None => self.threads.push(Some(thread)),
        }
        id
    }

    /// Makes `id` ready and asks for a reschedule if it outranks the
    /// running thread.
    #[inline]
    pub(crate) fn make_ready(&mut self, id: ThreadId) {
        // SAFETY: the running thread's boxed record, never freed while it
        // is current; this read ends here.
        let current_priority = unsafe { (*self.current_record).priority };
        if let Some(t) = self.thread_ptr(id) {
            // SAFETY: a boxed record of the table, which nothing else
            // reaches while the scheduler is borrowed here.
            self.ready_up(unsafe { &mut *t }, current_priority);
        }
    }

    /// Makes `t`, a record of this scheduler's table other than the
    /// running thread's, which the caller reached by pointer, ready: for
    /// the end of an IPC wait (`ipc::end_wait`), once per slow-path
    /// message.
    #[inline(always)]
    pub(crate) fn make_ready_thread(&mut self, t: &mut Thread) {
        debug_assert_ne!(t.id, self.current());
        // SAFETY: the running thread's boxed record, never freed while it
        // is current, and not `t`; this read ends here.
        let current_priority = unsafe { (*self.current_record).priority };
        self.ready_up(t, current_priority);
    }

    /// [`Scheduler::make_ready`] of record `t`, the running thread being
    /// of priority `current_priority`.
    #[inline(always)]
    fn ready_up(&mut self, t: &mut Thread, current_priority: u8) {
        if t.suspended_from_blocked {
            // Suspended while it waited: the wait is over, but it stays
            // stopped until resumed.
            t.suspended_from_blocked = false;
            t.state = State::Suspended;
            return;
        }
        t.state = State::Ready;
        let priority = t.priority;
        self.enqueue_at(t.id, priority);
        if priority > current_priority {
            NEED_RESCHED.store(true, Ordering::Relaxed);
        }
    }
}

/// Builds a thread record with a fresh kernel stack.
fn new_thread(
    name: &'static str,
    priority: u8,
    cr3: u64,
    user: bool,
) -> Result<Thread, SpawnError> {
    let kstack = stack::alloc().map_err(|_| SpawnError::OutOfMemory)?;
    let Some(fpu) = thread::FpuArea::new() else {
        // SAFETY: the stack was just allocated and is unused.
        unsafe { stack::free(kstack) };
        return Err(SpawnError::OutOfMemory);
    };
    Ok(Thread {
        id: 0,
        serial: next_serial(),
        ipc: thread::IpcState::default(),
        name,
        state: State::Inactive,
        priority: priority.min(MAX_PRIORITY),
        kstack,
        saved_rsp: 0,
        fpu,
        cr3,
        user,
        fs_base: 0,
        gs_base: 0,
        slice_left: SLICE_TICKS,
        waiters: Vec::new(),
        suspended_from_blocked: false,
        linux: None,
        linux_kind: LINUX_NONE,
        cap_table: thread::NO_TABLE,
        send_cap: crate::object::cap_cache::EndpointCache::EMPTY,
        recv_cap: crate::object::cap_cache::EndpointCache::EMPTY,
    })
}

fn kernel_cr3() -> u64 {
    crate::mm::paging::kernel_pml4()
}

/// Makes the running boot code thread 0 ("boot", on `boot_stack`) and
/// creates the idle thread.
pub fn init(boot_stack: stack::KernelStack) {
    let fpu = thread::FpuArea::new().expect("heap for the boot thread's FPU area");
    let boot = Thread {
        id: 0,
        serial: next_serial(),
        ipc: thread::IpcState::default(),
        name: "boot",
        state: State::Ready,
        priority: MAX_PRIORITY / 2,
        kstack: boot_stack,
        saved_rsp: 0,
        fpu,
        cr3: kernel_cr3(),
        user: false,
        fs_base: 0,
        gs_base: 0,
        slice_left: SLICE_TICKS,
        waiters: Vec::new(),
        suspended_from_blocked: false,
        linux: None,
        linux_kind: LINUX_NONE,
        cap_table: thread::NO_TABLE,
        send_cap: crate::object::cap_cache::EndpointCache::EMPTY,
        recv_cap: crate::object::cap_cache::EndpointCache::EMPTY,
    };
    let mut sched = Scheduler {
        threads: Vec::new(),
        ready: core::array::from_fn(|_| crate::ring::Ring::new()),
        ready_bitmap: 0,
        current_record: core::ptr::null_mut(),
        idle: 0,
        sleepers: Vec::new(),
        reap: Vec::new(),
    };
    let boot_top = boot.kstack.top;
    let boot_id = sched.insert(boot);
    sched.current_record = sched
        .thread_ptr(boot_id)
        .expect("the boot thread was just inserted");
    CURRENT.store(boot_id, Ordering::Relaxed);
    percpu::set_kernel_stack_top(boot_top);
    gdt::set_kernel_stack(boot_top);
    *SCHED.lock() = Some(sched);
    let idle = spawn_kernel("idle", idle_loop, 0, 0).expect("memory for the idle thread");
    with_sched(|s| {
        s.remove_from_queue(idle);
        s.idle = idle;
    });
}

extern "C" fn idle_loop(_: u64) -> ! {
    loop {
        interrupts::enable_and_hlt();
        interrupts::disable();
        if with_sched(|s| s.ready_bitmap != 0) {
            schedule();
        }
    }
}

/// Creates and starts a kernel thread running `entry(arg)`.
pub fn spawn_kernel(
    name: &'static str,
    entry: extern "C" fn(u64) -> !,
    arg: u64,
    priority: u8,
) -> Result<ThreadId, SpawnError> {
    let mut t = new_thread(name, priority, kernel_cr3(), false)?;
    // SAFETY: the new stack is unused and writable.
    t.saved_rsp = unsafe { context::prepare_stack(t.kstack.top, entry as *const () as u64, arg) };
    Ok(with_sched(|s| {
        let id = s.insert(t);
        s.make_ready(id);
        id
    }))
}

/// Creates an inactive user thread on page table `cr3` that will start at
/// `rip` with stack `rsp` and `rdi = arg`. Start it with [`start`].
pub fn create_user(name: &'static str, cr3: u64, priority: u8) -> Result<ThreadId, SpawnError> {
    let mut t = new_thread(name, priority, cr3, true)?;
    let frame_addr =
        t.kstack.top - core::mem::size_of::<crate::arch::x86_64::trap_entry::TrapFrame>() as u64;
    let frame = t.user_frame();
    *frame = crate::arch::x86_64::trap_entry::TrapFrame {
        cs: u64::from(gdt::USER_CODE.0),
        ss: u64::from(gdt::USER_DATA.0),
        rflags: USER_RFLAGS,
        ..Default::default()
    };
    let entry = crate::arch::x86_64::syscall_entry::return_to_user as *const () as u64;
    // SAFETY: the stack below the frame is unused and writable.
    t.saved_rsp = unsafe { context::prepare_stack(frame_addr, entry, frame_addr) };
    Ok(with_sched(|s| s.insert(t)))
}

/// RFLAGS for user code: interrupts on (bit 1 is always set).
pub const USER_RFLAGS: u64 = 0x202;

/// Runs `f` on thread `id`, if it exists.
pub fn with_thread<R>(id: ThreadId, f: impl FnOnce(&mut Thread) -> R) -> Option<R> {
    with_sched(|s| s.thread(id).map(f))
}

/// The running thread.
pub fn current() -> ThreadId {
    CURRENT.load(Ordering::Relaxed)
}

/// What the running thread's syscalls are: one of the `LINUX_*` values
/// (read on every syscall, so kept beside [`CURRENT`]).
pub fn current_linux() -> u8 {
    CURRENT_LINUX.load(Ordering::Relaxed)
}

/// Makes thread `id` a container member (or not); its next `syscall` is
/// then forwarded.
pub fn set_linux(id: ThreadId, link: Option<thread::LinuxLink>) -> bool {
    with_sched(|s| {
        let current = s.current();
        let Some(t) = s.thread(id) else { return false };
        t.linux = link;
        t.linux_kind = thread::LinuxLink::kind(&link);
        // A member's send entry remembers its link's endpoint
        // (`Kernel::cached_link_endpoint`), a native thread's a capability.
        t.send_cap = crate::object::cap_cache::EndpointCache::EMPTY;
        t.recv_cap = crate::object::cap_cache::EndpointCache::EMPTY;
        if id == current {
            CURRENT_LINUX.store(thread::LinuxLink::kind(&link), Ordering::Relaxed);
        }
        true
    })
}

/// Stops thread `id` for good if it is still the thread with `serial` and
/// has not ended (it is never the caller). Returns true if it stopped it.
pub fn stop(id: ThreadId, serial: u64) -> bool {
    with_sched(|s| {
        let live = s
            .thread(id)
            .is_some_and(|t| t.serial == serial && !t.has_ended());
        if live && id != s.current() {
            end_thread(s, id, Ending::Killed);
            return true;
        }
        false
    })
}

/// Makes an inactive thread runnable.
pub fn start(id: ThreadId) -> Result<(), State> {
    with_sched(|s| {
        let state = s
            .thread(id)
            .map(|t| t.state)
            .ok_or(State::Ended(Ending::Exited(0)))?;
        if state != State::Inactive {
            return Err(state);
        }
        s.make_ready(id);
        Ok(())
    })
}

/// Switches to the best ready thread (which may be the current one).
/// The current thread must already be in the state it should have while
/// switched out: `Ready` threads go back to their queue.
pub fn schedule() {
    reap_killed();
    let switch = with_sched(Scheduler::pick_next);
    if let Some(switch) = switch {
        switch.make();
    }
}

/// True while the scheduler lock is held.
#[inline(always)]
pub(crate) fn is_locked() -> bool {
    SCHED.is_locked()
}

/// The scheduler, borrowed without taking its lock, for the IPC fast
/// path (`crate::ipc_fast`, which says why that is sound).
///
/// # Safety
/// Only on entry from user mode with interrupts off and the lock free
/// ([`is_locked`]), and the borrow must end before anything could take
/// the lock (the fast path leaves to user mode or returns to the slow path
/// first).
#[inline(always)]
pub(crate) unsafe fn borrow_unlocked() -> &'static mut Scheduler {
    // SAFETY: one CPU with interrupts off and the lock free: nothing else
    // reaches the scheduler while the caller's borrow lives.
    running(unsafe { &mut *SCHED.as_mut_ptr() })
}

impl Scheduler {
    /// The running thread.
    #[inline(always)]
    pub(crate) fn current(&self) -> ThreadId {
        // The scheduler's own record of it: `CURRENT` changes only where
        // the scheduler switches, with it borrowed.
        CURRENT.load(Ordering::Relaxed)
    }

    /// The running thread's record, which stays put (it is boxed, and not
    /// freed while it is current).
    #[inline(always)]
    pub(crate) fn current_ptr(&self) -> *mut Thread {
        self.current_record
    }

    /// A raw pointer to thread `id`'s record, which stays put (it is
    /// boxed) until the thread is released; the IPC fast path uses two of
    /// them at once.
    #[inline(always)]
    pub(crate) fn thread_ptr(&mut self, id: ThreadId) -> Option<*mut Thread> {
        let t: &mut Thread = self.threads.get_mut(id as usize)?.as_deref_mut()?;
        Some(t)
    }
}

/// Gives up the CPU to another ready thread of the same or higher priority.
pub fn yield_now() {
    schedule();
}

/// Blocks the current thread until `ticks` timer ticks have passed.
pub fn sleep_ticks(ticks: u64) {
    let wake = crate::time::ticks() + ticks.max(1);
    with_sched(|s| {
        let me = s.current();
        s.sleepers.push((wake, me, None));
        if let Some(t) = s.thread(me) {
            t.state = State::Blocked;
        }
    });
    schedule();
}

/// For the kernel's self-check: timeout entries in the sleepers list that
/// no longer match their thread's wait (each printed). Every way a timed
/// wait ends removes its entry (completion, time-out, cancel, death), and
/// the IPC fast path never completes a timed wait, so there should be
/// none; stale ones would cost every later completion a longer scan.
pub fn stale_timeouts() -> u64 {
    with_sched(|s| {
        let timeouts: alloc::vec::Vec<(ThreadId, u64)> = s
            .sleepers
            .iter()
            .filter_map(|&(_, id, token)| Some((id, token?)))
            .collect();
        let stale: alloc::vec::Vec<(ThreadId, u64)> = timeouts
            .into_iter()
            .filter(|&(id, token)| s.thread(id).is_none_or(|t| t.ipc.token != token))
            .collect();
        for (id, token) in &stale {
            crate::println!("self-check: a stale timeout (thread {id:?}, token {token})");
        }
        stale.len() as u64
    })
}

/// Called by the timer interrupt: wakes sleepers whose time has come and
/// charges the running thread's time slice.
pub fn on_tick(now: u64) {
    let Some(mut guard) = SCHED.try_lock() else {
        return;
    };
    let Some(s) = guard.as_mut() else {
        return;
    };
    let due: Vec<(ThreadId, Option<u64>)> = s
        .sleepers
        .iter()
        .filter(|(at, _, _)| *at <= now)
        .map(|(_, t, token)| (*t, *token))
        .collect();
    s.sleepers.retain(|(at, _, _)| *at > now);
    for (id, token) in due {
        match token {
            Some(token) => ipc::time_out(s, id, token),
            None => {
                let sleeping = s
                    .thread(id)
                    .is_some_and(|t| t.state == State::Blocked && t.ipc.waiting.is_none());
                if sleeping {
                    s.make_ready(id);
                }
            }
        }
    }
    let current = s.current();
    let idle = s.idle;
    let top = s.highest_ready_priority();
    if let Some(t) = s.thread(current) {
        t.slice_left = t.slice_left.saturating_sub(1);
        let outranked = top.is_some_and(|p| p > t.priority);
        let slice_over = t.slice_left == 0 && top.is_some_and(|p| p >= t.priority);
        if current == idle && top.is_some() || outranked || slice_over {
            NEED_RESCHED.store(true, Ordering::Relaxed);
        }
    }
}

/// Called on the way out of an interrupt that arrived in ring 3 or in the
/// idle thread: switches threads if the timer asked for it.
pub fn preempt_point() {
    if NEED_RESCHED.load(Ordering::Relaxed) {
        schedule();
    }
}

/// Ends the current thread with `ending`, wakes its waiters, and switches
/// away for good.
pub fn end_current(ending: Ending) -> ! {
    with_sched(|s| {
        let me = s.current();
        end_thread(s, me, ending);
    });
    schedule();
    unreachable!("an ended thread was scheduled again");
}

/// Blocks until thread `id` has ended and returns how it ended, or `None`
/// if there is no such thread.
pub fn wait(id: ThreadId) -> Option<Ending> {
    loop {
        let ended = with_sched(|s| {
            let me = s.current();
            let t = s.thread(id)?;
            if let State::Ended(ending) = t.state {
                return Some(Some(ending));
            }
            t.waiters.push(me);
            if let Some(m) = s.thread(me) {
                m.state = State::Blocked;
            }
            Some(None)
        })?;
        match ended {
            Some(ending) => return Some(ending),
            None => schedule(),
        }
    }
}

/// Stops a thread until [`resume`]. A blocked thread stays blocked and,
/// if it is woken before it is resumed, becomes suspended instead of
/// ready. Returns the state it had.
pub fn suspend(id: ThreadId) -> Option<State> {
    let me_suspended = with_sched(|s| {
        let me = s.current();
        let t = s.thread(id)?;
        let old = t.state;
        match old {
            State::Ready => {
                t.state = State::Suspended;
                s.remove_from_queue(id);
            }
            State::Blocked => t.suspended_from_blocked = true,
            _ => {}
        }
        Some((old, id == me))
    })?;
    if me_suspended.1 {
        schedule();
    }
    Some(me_suspended.0)
}

/// Lets a suspended thread run again.
pub fn resume(id: ThreadId) -> Option<State> {
    with_sched(|s| {
        let t = s.thread(id)?;
        let old = t.state;
        if t.suspended_from_blocked {
            // Suspended while blocked and not yet woken: simply un-suspend.
            t.suspended_from_blocked = false;
            return Some(State::Suspended);
        }
        if old == State::Suspended {
            s.make_ready(id);
        }
        Some(old)
    })
}

/// Changes a thread's priority (requeueing it if it is ready).
pub fn set_priority(id: ThreadId, priority: u8) -> Option<()> {
    with_sched(|s| {
        let t = s.thread(id)?;
        t.priority = priority.min(MAX_PRIORITY);
        let ready = t.state == State::Ready && id != s.current();
        if ready {
            s.remove_from_queue(id);
            s.enqueue(id);
        }
        Some(())
    })
}

/// Frees an ended thread's kernel stack and record. Returns false (and
/// does nothing) if the thread has not ended or is still running.
pub fn release(id: ThreadId) -> bool {
    let thread = with_sched(|s| {
        let ended = s.thread(id).is_some_and(|t| t.has_ended());
        if !ended || id == s.current() {
            return None;
        }
        s.sleepers.retain(|(_, t, _)| *t != id);
        s.threads.get_mut(id as usize)?.take()
    });
    match thread {
        Some(t) => {
            // SAFETY: the thread has ended and is not running, so nothing
            // runs on or points into its stack.
            unsafe { stack::free(t.kstack) };
            true
        }
        None => false,
    }
}

/// Marks `ending` on thread `id` (unless it already ended), takes it off
/// every queue and wakes its waiters.
fn end_thread(s: &mut Scheduler, id: ThreadId, ending: Ending) {
    let waiters = match s.thread(id) {
        Some(t) if !t.has_ended() => {
            t.state = State::Ended(ending);
            crate::personality::thread_ended(t);
            core::mem::take(&mut t.waiters)
        }
        _ => return,
    };
    s.remove_from_queue(id);
    s.sleepers.retain(|(_, t, _)| *t != id);
    for w in waiters {
        s.make_ready(w);
    }
    ipc::on_thread_end(s, id);
}

/// Stops thread `id` for good and frees it (its object is gone). If it is
/// the running thread, it is freed after the next switch, which happens on
/// the way out of the current syscall; meanwhile the kernel runs on the
/// kernel page table, since the thread's address space may be going too.
pub fn kill(id: ThreadId) {
    let is_current = with_sched(|s| {
        end_thread(s, id, Ending::Killed);
        let current = id == s.current();
        if current {
            s.reap.push(id);
            NEED_RESCHED.store(true, Ordering::Relaxed);
        }
        current
    });
    if is_current {
        crate::mm::pcid::load(crate::mm::paging::kernel_pml4());
        with_sched(|s| {
            if let Some(t) = s.thread(id) {
                t.cr3 = crate::mm::paging::kernel_pml4();
            }
        });
    } else {
        release(id);
    }
}

/// Frees killed threads that are no longer running.
fn reap_killed() {
    let ready: Vec<ThreadId> = with_sched(|s| {
        let current = s.current();
        let (now, later): (Vec<_>, Vec<_>) = s.reap.iter().partition(|&&t| t != current);
        s.reap = later;
        now
    });
    for id in ready {
        release(id);
    }
}
