//! Switching threads: the scheduler's [`Switch`] (decided under the lock,
//! made once every lock is released), the IPC fast path's
//! [`Scheduler::fast_switch`], and the CPU state both install
//! ([`switch_cpu_state`]: FPU, FS and GS bases, kernel stack top, page
//! table).
//!
//! A thread that left its kernel stack behind (the IPC fast path, or a
//! slow-path wait that `Switch::abandon`ed its stack) has `saved_rsp ==`
//! [`RESUME_FROM_FRAME`]: it resumes straight into user mode from its
//! `TrapFrame`. Another fast path does that directly; the scheduler
//! prepares its stack to run `return_to_user` (or, for a container member,
//! `resume_forwarded`) only when it actually switches stacks to it, and
//! a slow-path wait that abandons its own stack for a native thread goes
//! to `return_to_user` on the next frame with no stack switch at all.

use super::{
    Scheduler, State, Thread, ThreadId, CURRENT, CURRENT_LINUX, NEED_RESCHED, SLICE_TICKS,
};
use crate::arch::x86_64::syscall_entry::return_to_user;
use crate::arch::x86_64::trap_entry::TrapFrame;
use crate::arch::x86_64::{context, gdt, percpu};
use core::sync::atomic::Ordering;

/// A switch of kernel stacks that [`Scheduler::pick_next`] prepared (the
/// next thread's CPU state is already installed) and that must be made
/// once every lock is released.
#[must_use]
pub(crate) struct Switch {
    save: *mut u64,
    next: Resume,
}

/// How the next thread of a [`Switch`] resumes, in one word: a saved
/// kernel stack pointer (8-aligned, so its low bits are clear), or the
/// address of its `TrapFrame` (the top of its kernel stack) with
/// [`Resume::FROM_FRAME`] set, and [`Resume::MEMBER`] too for a container
/// member. A thread resumes from its frame when it left through the IPC
/// fast path or abandoned its stack ([`RESUME_FROM_FRAME`]); its stack is
/// prepared for that only if a stack switch is made, and
/// [`Switch::abandon`] to a native thread goes straight to
/// `return_to_user` instead.
#[derive(Clone, Copy)]
struct Resume(u64);

impl Resume {
    /// Resumes from the frame at the address in the other bits.
    const FROM_FRAME: u64 = 1;
    /// ... through `container_call::resume_forwarded` (a member's
    /// forwarded call), not `return_to_user`.
    const MEMBER: u64 = 2;

    /// The native thread's frame to return to user mode from, if that is
    /// how it resumes.
    fn native_frame(self) -> Option<u64> {
        (self.0 & (Self::FROM_FRAME | Self::MEMBER) == Self::FROM_FRAME)
            .then_some(self.0 & !Self::FROM_FRAME)
    }

    /// The stack pointer to switch to, preparing the stack if needed.
    fn stack_pointer(self) -> u64 {
        if self.0 & Self::FROM_FRAME == 0 {
            return self.0;
        }
        let frame = self.0 & !(Self::FROM_FRAME | Self::MEMBER);
        let entry = if self.0 & Self::MEMBER != 0 {
            crate::container_call::resume_forwarded as *const () as u64
        } else {
            return_to_user as *const () as u64
        };
        // SAFETY: the next thread is a user thread (only those resume from
        // their frame) that is not running; the words below its TrapFrame
        // belong to the syscall it abandoned, which nothing returns into.
        unsafe { context::prepare_resume(frame, entry) }
    }
}

impl Switch {
    /// Switches to the next thread's kernel stack; returns when the
    /// current thread is resumed.
    pub(crate) fn make(self) {
        let next_rsp = self.next.stack_pointer();
        // SAFETY: `save` points into the previous thread's boxed record,
        // which lives until that thread ends and is released (never while
        // it is parked here); `next_rsp` was saved by `switch_stacks` or
        // prepared by `prepare_stack` or `prepare_resume`.
        unsafe { context::switch_stacks(self.save, next_rsp) };
    }

    /// Switches to the next thread for good, leaving the current one to
    /// resume straight into user mode from its `TrapFrame`, exactly as a
    /// thread that left through the IPC fast path does (its `saved_rsp`
    /// becomes [`RESUME_FROM_FRAME`]). For a blocked system call whose
    /// results its completer will write into that frame and which has
    /// nothing left to do once woken. The caller must hold no lock and own
    /// nothing on this stack that needs dropping.
    ///
    /// If the next thread is a native thread that itself resumes from its
    /// frame, no stack switch is needed at all: this goes straight to
    /// `return_to_user` on that frame, as a fast path would.
    #[inline(always)]
    pub(crate) fn abandon(self) -> ! {
        // SAFETY: the previous thread's record is its own (boxed, alive
        // while it is blocked), and nothing runs it until it is made
        // ready, which happens under the scheduler lock, after this write.
        unsafe { *self.save = RESUME_FROM_FRAME };
        if let Some(frame) = self.next.native_frame() {
            // SAFETY: `frame` tops the next thread's kernel stack, the
            // current one since `switch_bookkeeping` (the per-CPU stack top
            // and the TSS say so); it holds a ring-3 context that its
            // completer has filled in. Our own stack below our TrapFrame is
            // abandoned.
            unsafe { return_to_user(frame as *mut TrapFrame) }
        }
        let mut scratch = 0u64;
        // SAFETY: as in `make`. Our stack below the TrapFrame is
        // abandoned: the switch saves into `scratch`, which nothing reads.
        unsafe { context::switch_stacks(&mut scratch, self.next.stack_pointer()) };
        unreachable!("an abandoned kernel stack was resumed");
    }
}

impl Scheduler {
    /// The scheduling decision of [`schedule`]: puts the current thread
    /// back in its queue if it is `Ready`, takes the best ready thread and,
    /// if it is another one, installs its CPU state and returns the stack
    /// switch still to make.
    pub(crate) fn pick_next(&mut self) -> Option<Switch> {
        self.pick_next_inline()
    }

    /// [`Scheduler::pick_next`], inline: for [`Scheduler::park_current`],
    /// on every blocking IPC call.
    #[inline(always)]
    fn pick_next_inline(&mut self) -> Option<Switch> {
        NEED_RESCHED.store(false, Ordering::Relaxed);
        let prev = self.current();
        // SAFETY: the running thread's boxed record (`current_record`),
        // never freed while it is current; this read ends here.
        let prev_ready = unsafe { (*self.current_record).state == State::Ready };
        if prev_ready && prev != self.idle {
            self.enqueue(prev);
        }
        let next = self.dequeue_highest().unwrap_or(self.idle);
        if next == prev {
            return None;
        }
        let (save, next) = switch_bookkeeping(self, prev, next);
        Some(Switch { save, next })
    }

    /// [`schedule`] for a current thread that has just blocked, decided
    /// under the lock the caller already holds: `Err(())` if killed threads
    /// wait to be freed, which only `schedule` itself does (then call it).
    #[inline(always)]
    pub(crate) fn park_current(&mut self) -> Result<Option<Switch>, ()> {
        if self.reap.is_empty() {
            Ok(self.pick_next_inline())
        } else {
            Err(())
        }
    }
}

/// Saves the previous thread's FPU and FS state, installs the next
/// thread's (stack, FPU, FS base, page table), and returns where to save
/// the previous stack pointer and which to load.
#[inline(always)]
fn switch_bookkeeping(s: &mut Scheduler, prev: ThreadId, next: ThreadId) -> (*mut u64, Resume) {
    // `prev` is the running thread, whose record is `current_record`
    // (never freed while it is current).
    debug_assert_eq!(s.thread_ptr(prev), Some(s.current_record));
    let next_ptr = s.thread_ptr(next).expect("queued threads exist");
    // SAFETY: both point into boxed records of the table, which no other
    // reference reaches while the scheduler is borrowed here; `prev` and
    // `next` differ (the callers switch only between different threads).
    let (p, n) = unsafe { (&mut *s.current_record, &mut *next_ptr) };
    switch_cpu_state(p, n);
    let save = &mut p.saved_rsp as *mut u64;
    set_current(s, n, SLICE_TICKS);
    let next = if n.saved_rsp == RESUME_FROM_FRAME {
        // It left through the IPC fast path or abandoned its stack.
        let member = if n.linux.is_some() { Resume::MEMBER } else { 0 };
        let frame = n.frame_ptr() as u64;
        debug_assert_eq!(frame % 8, 0, "a TrapFrame is 8-aligned");
        Resume(frame | Resume::FROM_FRAME | member)
    } else {
        Resume(n.saved_rsp)
    };
    (save, next)
}

/// `saved_rsp` of a thread that left through the IPC fast path (or
/// abandoned its stack): it resumes by returning to user mode from its
/// `TrapFrame`, and its kernel stack is prepared for that (by
/// [`Switch::make`]) only if the scheduler, not another fast path, is the
/// one to resume it and switches stacks to do so.
pub(super) const RESUME_FROM_FRAME: u64 = 0;

/// Makes `n` the running thread in the scheduler's records, with `slice`
/// ticks left in its time slice.
#[inline(always)]
fn set_current(s: &mut Scheduler, n: &mut Thread, slice: u32) {
    s.current_record = n;
    CURRENT.store(n.id, Ordering::Relaxed);
    CURRENT_LINUX.store(n.linux_kind, Ordering::Relaxed);
    n.slice_left = slice;
}

/// Model-specific registers of the FS base and of the user's GS base
/// (swapped out to `KERNEL_GS_BASE` while in the kernel).
const MSR_FS_BASE: u32 = 0xc000_0100;
const MSR_KERNEL_GS_BASE: u32 = 0xc000_0102;

/// Moves the CPU from `p`'s user context to `n`'s: FPU state, FS and user
/// GS bases, kernel stack top (per-CPU area and TSS) and page table.
///
/// The bases are never read back from the CPU, as in Linux without
/// FSGSBASE (`save_base_legacy` in arch/x86/kernel/process_64.c: "we just
/// assume that whatever value is already saved is correct"). The kernel's
/// record (`ThreadSetFsBase`/`GsBase`) is the thread's base. User code can
/// change a base only by loading a segment selector, which in 64-bit mode
/// sets it to 0 (or, for a null selector on AMD, leaves it alone); such a
/// change does not survive a switch. Whenever either thread has a base,
/// the next thread's is written, so a thread never runs with another's
/// base; when neither has one, the CPU's is 0 already. The common case
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
/// have one set (a container member and its syscall server take this on
/// every forwarded call): each base is written if either thread has one.
/// (For GS the MSR is `KERNEL_GS_BASE`, where the user's base sits while
/// in the kernel; the kernel's own GS base is untouched.)
#[inline(always)]
fn switch_bases(p: &Thread, n: &Thread) {
    // The fields are read again here, not kept from the test in
    // `switch_cpu_state`: keeping four values live across the FPU switch
    // costs the common case (no base at all) registers and spills.
    // SAFETY: plain reads of fields of two live records.
    let [prev_fs, prev_gs, next_fs, next_gs] = unsafe {
        [&p.fs_base, &p.gs_base, &n.fs_base, &n.gs_base].map(|f| core::ptr::read_volatile(f))
    };
    if (prev_fs | next_fs) != 0 {
        write_base(MSR_FS_BASE, next_fs);
    }
    if (prev_gs | next_gs) != 0 {
        write_base(MSR_KERNEL_GS_BASE, next_gs);
    }
}

/// Writes the user base `value` into the base MSR `msr`.
#[inline(always)]
fn write_base(msr: u32, value: u64) {
    // SAFETY: a canonical user address (checked where it was set) or 0,
    // for the user's own base.
    unsafe {
        core::arch::asm!(
            "wrmsr",
            in("ecx") msr,
            in("eax") value as u32,
            in("edx") (value >> 32) as u32,
            // No kernel memory access depends on the user's bases.
            options(nomem, nostack, preserves_flags),
        )
    };
}

/// Installs `n`'s kernel stack top (for SYSCALL entry and for interrupts
/// from ring 3) and its page table.
#[inline(always)]
fn load_thread_context(n: &Thread) {
    percpu::set_kernel_stack_top(n.kstack.top);
    gdt::set_kernel_stack(n.kstack.top);
    crate::mm::pcid::load(n.cr3);
}

impl Scheduler {
    /// Hands the CPU from the current thread `p` (which the caller has
    /// blocked) straight to `n` (which the caller has made ready), with no
    /// run-queue operation: the IPC fast path. `p` will later resume by
    /// returning to user mode from its saved registers: another fast path
    /// does that directly, and for the scheduler its `saved_rsp` says
    /// [`RESUME_FROM_FRAME`]. The caller must not return into its own
    /// kernel frames afterwards. Returns `n`'s register frame, for one of
    /// the exits of `arch::x86_64::ipc_exit`.
    ///
    /// `n` continues `p`'s time slice rather than starting a fresh one: a
    /// hand-over is not a scheduling decision, and two threads that call
    /// each other over and over must still use up a slice, or threads of
    /// their priority that are ready would never run (the test
    /// `ipc::ping_pong_leaves_room_for_others`).
    #[inline(always)]
    pub(crate) fn fast_switch(&mut self, p: &mut Thread, n: &mut Thread) -> *mut TrapFrame {
        switch_cpu_state(p, n);
        set_current(self, n, p.slice_left);
        p.saved_rsp = RESUME_FROM_FRAME;
        n.frame_ptr()
    }
}
