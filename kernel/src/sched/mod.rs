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
pub mod thread;

use crate::arch::x86_64::trap_entry::TrapFrame;
use crate::arch::x86_64::{context, gdt, percpu};
use crate::mm::stack;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Mutex;
pub use thread::{Ending, State, Thread, ThreadId, MAX_PRIORITY};
use x86_64::instructions::interrupts;
use x86_64::registers::model_specific::{FsBase, KernelGsBase, Msr};
use x86_64::VirtAddr;

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
    ready: [VecDeque<ThreadId>; MAX_PRIORITY as usize + 1],
    ready_bitmap: u32,
    current: ThreadId,
    /// The record of `current` (boxed, so it stays put; a thread's record
    /// is freed only when it is not the current one): the IPC fast path
    /// and `make_ready` reach it without indexing `threads`.
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

static SCHED: Mutex<Option<Scheduler>> = Mutex::new(None);
static NEED_RESCHED: AtomicBool = AtomicBool::new(false);
/// The running thread, readable without the scheduler lock (it is written
/// only with the lock held and interrupts off, where `current` changes).
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
            queue.retain(|&t| t != id);
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
        if let Some(t) = self.thread(id) {
            if t.suspended_from_blocked {
                // Suspended while it waited: the wait is over, but it stays
                // stopped until resumed.
                t.suspended_from_blocked = false;
                t.state = State::Suspended;
                return;
            }
            t.state = State::Ready;
            let priority = t.priority;
            let outranks = priority > current_priority;
            self.enqueue_at(id, priority);
            if outranks {
                NEED_RESCHED.store(true, Ordering::Relaxed);
            }
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
    };
    let mut sched = Scheduler {
        threads: Vec::new(),
        ready: core::array::from_fn(|_| VecDeque::new()),
        ready_bitmap: 0,
        current: 0,
        current_record: core::ptr::null_mut(),
        idle: 0,
        sleepers: Vec::new(),
        reap: Vec::new(),
    };
    let boot_top = boot.kstack.top;
    sched.current = sched.insert(boot);
    sched.current_record = sched
        .thread_ptr(sched.current)
        .expect("the boot thread was just inserted");
    CURRENT.store(sched.current, Ordering::Relaxed);
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
        let current = s.current;
        let Some(t) = s.thread(id) else { return false };
        t.linux = link;
        t.linux_kind = thread::LinuxLink::kind(&link);
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
        if live && id != s.current {
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

/// A switch of kernel stacks that [`Scheduler::pick_next`] prepared (the
/// next thread's CPU state is already installed) and that must be made
/// once every lock is released.
#[must_use]
pub(crate) struct Switch {
    save: *mut u64,
    next_rsp: u64,
}

impl Switch {
    /// Switches to the next thread's kernel stack; returns when the
    /// current thread is resumed.
    pub(crate) fn make(self) {
        // SAFETY: `save` points into the previous thread's boxed record,
        // which lives until that thread ends and is released (never while
        // it is parked here); `next_rsp` was saved by `switch_stacks` or
        // prepared by `prepare_stack`.
        unsafe { context::switch_stacks(self.save, self.next_rsp) };
    }

    /// Switches to the next thread for good, leaving the current one to
    /// resume straight into user mode from its `TrapFrame`, exactly as a
    /// thread that left through the IPC fast path does (its `saved_rsp`
    /// becomes [`RESUME_FROM_FRAME`]). For a blocked system call whose
    /// results its completer will write into that frame and which has
    /// nothing left to do once woken. The caller must hold no lock and own
    /// nothing on this stack that needs dropping.
    pub(crate) fn abandon(self) -> ! {
        let mut scratch = 0u64;
        // SAFETY: as in `make`; the previous thread's record is its own
        // (boxed, alive while it is blocked), and nothing runs it until
        // it is made ready, which happens under the scheduler lock, after
        // this write. Its stack below the TrapFrame is abandoned: the
        // switch saves into `scratch`, which nothing reads.
        unsafe {
            *self.save = RESUME_FROM_FRAME;
            context::switch_stacks(&mut scratch, self.next_rsp);
        }
        unreachable!("an abandoned kernel stack was resumed");
    }
}

impl Scheduler {
    /// The scheduling decision of [`schedule`]: puts the current thread
    /// back in its queue if it is `Ready`, takes the best ready thread and,
    /// if it is another one, installs its CPU state and returns the stack
    /// switch still to make.
    pub(crate) fn pick_next(&mut self) -> Option<Switch> {
        NEED_RESCHED.store(false, Ordering::Relaxed);
        let prev = self.current;
        let prev_ready = self.thread(prev).is_some_and(|t| t.state == State::Ready);
        if prev_ready && prev != self.idle {
            self.enqueue(prev);
        }
        let next = self.dequeue_highest().unwrap_or(self.idle);
        if next == prev {
            return None;
        }
        let (save, next_rsp) = switch_bookkeeping(self, prev, next);
        Some(Switch { save, next_rsp })
    }

    /// [`schedule`] for a current thread that has just blocked, decided
    /// under the lock the caller already holds: `Err(())` if killed threads
    /// wait to be freed, which only `schedule` itself does (then call it).
    pub(crate) fn park_current(&mut self) -> Result<Option<Switch>, ()> {
        if self.reap.is_empty() {
            Ok(self.pick_next())
        } else {
            Err(())
        }
    }
}

/// Saves the previous thread's FPU and FS state, installs the next
/// thread's (stack, FPU, FS base, page table), and returns where to save
/// the previous stack pointer and which to load.
fn switch_bookkeeping(s: &mut Scheduler, prev: ThreadId, next: ThreadId) -> (*mut u64, u64) {
    let prev_ptr = s.thread_ptr(prev);
    let next_ptr = s.thread_ptr(next).expect("queued threads exist");
    // SAFETY: both point into boxed records of the table, which no other
    // reference reaches while the scheduler is borrowed here; `prev` and
    // `next` differ (the callers switch only between different threads).
    let n = unsafe { &mut *next_ptr };
    let save = match prev_ptr {
        Some(p) => {
            // SAFETY: as above.
            let p = unsafe { &mut *p };
            switch_cpu_state(p, n);
            &mut p.saved_rsp as *mut u64
        }
        None => {
            // The previous thread is gone: nothing to save, and the bases
            // in the CPU are unknown, so write the next thread's.
            // SAFETY: the area holds `next`'s saved (or initial) state.
            unsafe { context::fpu_restore(n.fpu.as_ptr()) };
            FsBase::write(VirtAddr::new_truncate(n.fs_base));
            KernelGsBase::write(VirtAddr::new_truncate(n.gs_base));
            load_thread_context(n);
            core::ptr::null_mut()
        }
    };
    set_current(s, n);
    if n.saved_rsp == RESUME_FROM_FRAME {
        // It left through the IPC fast path: prepare its stack now.
        let entry = if n.linux.is_some() {
            crate::container_call::resume_forwarded as *const () as u64
        } else {
            crate::arch::x86_64::syscall_entry::return_to_user as *const () as u64
        };
        // SAFETY: `n` is a user thread (only those leave through the fast
        // path) that is not running; the words below its TrapFrame belong
        // to the syscall it abandoned, which nothing returns into.
        n.saved_rsp = unsafe { context::prepare_resume(n.frame_ptr() as u64, entry) };
    }
    (save, n.saved_rsp)
}

/// `saved_rsp` of a thread that left through the IPC fast path: it resumes
/// by returning to user mode from its `TrapFrame`, and its kernel stack is
/// prepared for that (by `switch_bookkeeping`) only if the scheduler, not
/// another fast path, is the one to resume it.
const RESUME_FROM_FRAME: u64 = 0;

/// Makes `n` the running thread in the scheduler's records.
#[inline(always)]
fn set_current(s: &mut Scheduler, n: &mut Thread) {
    s.current = n.id;
    s.current_record = n;
    CURRENT.store(n.id, Ordering::Relaxed);
    CURRENT_LINUX.store(n.linux_kind, Ordering::Relaxed);
    n.slice_left = SLICE_TICKS;
}

/// Model-specific registers of the FS base and of the user's GS base
/// (swapped out to `KERNEL_GS_BASE` while in the kernel).
const MSR_FS_BASE: u32 = 0xc000_0100;
const MSR_KERNEL_GS_BASE: u32 = 0xc000_0102;

/// Moves the CPU from `p`'s user context to `n`'s: FPU state, FS and user
/// GS bases, kernel stack top (per-CPU area and TSS) and page table.
///
/// The bases are read back from the CPU only when the thread's recorded
/// base is not 0. User code can change them only by loading a segment
/// selector, which in 64-bit mode sets the base to 0 (or, for a null
/// selector on AMD, leaves it alone); `ThreadSetFsBase`/`GsBase` update the
/// record. So a recorded 0 is still the CPU's value, and the common case
/// (no thread-local storage) costs no MSR access at all.
#[inline(always)]
fn switch_cpu_state(p: &mut Thread, n: &mut Thread) {
    // SAFETY: `p`'s state is in the CPU and its area is its own; `n`'s
    // area holds its saved (or initial) state.
    unsafe { context::fpu_switch(p.fpu.as_ptr(), n.fpu.as_ptr()) };
    if (p.fs_base | n.fs_base | p.gs_base | n.gs_base) != 0 {
        switch_bases(p, n);
    }
    load_thread_context(n);
}

/// The FS and user GS base part of [`switch_cpu_state`], for threads that
/// have one set: saves `p`'s (if it has one) and writes `n`'s if it differs.
#[inline(never)]
fn switch_bases(p: &mut Thread, n: &Thread) {
    let mut fs = Msr::new(MSR_FS_BASE);
    let mut gs = Msr::new(MSR_KERNEL_GS_BASE);
    if p.fs_base != 0 {
        // SAFETY: reading the FS base MSR has no side effect.
        p.fs_base = unsafe { fs.read() };
    }
    if n.fs_base != p.fs_base {
        // SAFETY: a canonical user address (checked where it was set) or 0.
        unsafe { fs.write(n.fs_base) };
    }
    if p.gs_base != 0 {
        // SAFETY: as for the FS base.
        p.gs_base = unsafe { gs.read() };
    }
    if n.gs_base != p.gs_base {
        // SAFETY: as for the FS base; the kernel's own GS base is untouched.
        unsafe { gs.write(n.gs_base) };
    }
}

/// Installs `n`'s kernel stack top (for SYSCALL entry and for interrupts
/// from ring 3) and its page table.
#[inline(always)]
fn load_thread_context(n: &Thread) {
    percpu::set_kernel_stack_top(n.kstack.top);
    gdt::set_kernel_stack(n.kstack.top);
    crate::mm::pcid::load(n.cr3);
}

/// Locks the scheduler if it is free (interrupts must already be off).
#[inline(always)]
pub(crate) fn try_lock() -> Option<spin::MutexGuard<'static, Option<Scheduler>>> {
    SCHED.try_lock()
}

impl Scheduler {
    /// The running thread.
    #[inline(always)]
    pub(crate) fn current(&self) -> ThreadId {
        self.current
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

    /// Hands the CPU from the current thread `p` (which the caller has
    /// blocked) straight to `n` (which the caller has made ready and whose
    /// registers hold what it must return to user mode with), with no
    /// run-queue operation: the IPC fast path. `p` will later resume by
    /// returning to user mode from its saved registers: another fast path
    /// does that directly, and for the scheduler its `saved_rsp` says
    /// [`RESUME_FROM_FRAME`]. The caller must not return into its own
    /// kernel frames afterwards. Returns `n`'s register frame, to pass to
    /// `return_to_user_fast` once every lock is released.
    #[inline(always)]
    pub(crate) fn fast_switch(&mut self, p: &mut Thread, n: &mut Thread) -> *mut TrapFrame {
        switch_cpu_state(p, n);
        set_current(self, n);
        p.saved_rsp = RESUME_FROM_FRAME;
        n.frame_ptr()
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
        let me = s.current;
        s.sleepers.push((wake, me, None));
        if let Some(t) = s.thread(me) {
            t.state = State::Blocked;
        }
    });
    schedule();
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
    let current = s.current;
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
        let me = s.current;
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
            let me = s.current;
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
        let me = s.current;
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
        let ready = t.state == State::Ready && id != s.current;
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
        if !ended || id == s.current {
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
        let current = id == s.current;
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
        let current = s.current;
        let (now, later): (Vec<_>, Vec<_>) = s.reap.iter().partition(|&&t| t != current);
        s.reap = later;
        now
    });
    for id in ready {
        release(id);
    }
}
