//! Serving one Linux syscall of an in-kernel container member.
//!
//! `syscall::dispatch` calls [`serve`] with the member's saved registers
//! (interrupts off, as for every syscall). The number and the six argument
//! registers go to `bulkhead_linux::handle`, inside the container's arena,
//! and the result goes into `rax`:
//!
//! ```text
//!  frame.rax, rdi rsi rdx r10 r8 r9 --> handle(container, process, backend)
//!        Return(v) --> frame.rax = v; a requested sleep is taken now
//!        Exit(s)   --> the member is ended in the personality, and the
//!                      launcher is told: the frame becomes the Call
//!                      (EVENT_EXITED, s), forwarded like an ipc syscall;
//!                      the launcher ends the thread and never replies
//! ```
//!
//! [`kernel_service`] is how the backend leaves the personality for
//! shared kernel state: the shared heap instead of the arena.

use super::backend::KernelBackend;
use super::{end_member, MemberLink};
use crate::arch::x86_64::trap_entry::TrapFrame;
use crate::mm::arena::ArenaScope;
use crate::sched;
use bulkhead_abi::container::EVENT_EXITED;
use bulkhead_linux::Outcome;

/// `ENOSYS`, for a member whose process record is gone.
const ENOSYS: i64 = 38;

/// Runs `f` as a kernel service: on the shared heap (not the arena).
#[inline]
pub fn kernel_service<R>(f: impl FnOnce() -> R) -> R {
    let _shared = ArenaScope::enter(core::ptr::null());
    f()
}

/// Serves the current member's syscall (its frame at `frame`).
pub fn serve(frame: &mut TrapFrame, link: MemberLink) {
    let nr = frame.rax;
    let args = [
        frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
    ];
    let me = sched::current();
    let (outcome, sleep) = {
        let _arena = ArenaScope::enter(link.arena);
        // SAFETY: the state outlives every member (see the module docs of
        // `personality`), and one kernel thread runs at a time.
        let s = unsafe { &mut *link.state };
        s.stats.syscalls += 1;
        let Some(member) = s.members.get_mut(link.slot).and_then(Option::as_mut) else {
            frame.rax = (-ENOSYS) as u64;
            return;
        };
        let mut backend = KernelBackend {
            name: &s.name,
            thread: me,
            console: &mut member.console,
            random: &mut s.random,
            sleep_ns: None,
        };
        let outcome =
            bulkhead_linux::handle(&mut s.linux, &mut member.process, &mut backend, nr, args);
        let sleep = backend.sleep_ns;
        if let Outcome::Exit(_) = outcome {
            end_member(s, link.slot);
        }
        (outcome, sleep)
    };
    match outcome {
        Outcome::Return(value) => {
            frame.rax = value as u64;
            if let Some(ns) = sleep {
                crate::syscall::thread::sleep_at_least(ns);
            }
        }
        Outcome::Exit(status) => {
            frame.rax = EVENT_EXITED;
            frame.rdi = status as u64;
            crate::container_call::forward(frame);
        }
    }
}
