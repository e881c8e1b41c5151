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
use crate::arch::x86_64::percpu;
use crate::arch::x86_64::trap_entry::TrapFrame;
use crate::mm::arena::ArenaScope;
use crate::sched::{self, ThreadId};
use bulkhead_abi::container::EVENT_EXITED;
use bulkhead_linux::Outcome;

/// `ENOSYS`, for a member whose process record is gone.
const ENOSYS: i64 = 38;

/// Runs `f` as a kernel service: on the shared heap (not the arena), with
/// interrupts off, and on the full kernel page table if the syscall is
/// isolated.
#[inline]
pub fn kernel_service<R>(f: impl FnOnce() -> R) -> R {
    let _shared = ArenaScope::enter(core::ptr::null());
    let in_personality = percpu::in_personality();
    percpu::set_in_personality(0);
    let result = crate::sci::with_full_table(f);
    percpu::set_in_personality(in_personality);
    result
}

/// One syscall's inputs and results, on the member's kernel stack (mapped
/// in the restricted table too).
struct Body {
    link: MemberLink,
    me: ThreadId,
    nr: u64,
    args: [u64; 6],
    outcome: Outcome,
    sleep: Option<u64>,
}

/// The personality's part of a syscall: what runs on the restricted table
/// under SCI, with interrupts on.
extern "C" fn run_body(arg: *mut u8) {
    // SAFETY: `serve` passes its own `Body`, alive for this call.
    let body = unsafe { &mut *arg.cast::<Body>() };
    let link = body.link;
    let _arena = ArenaScope::enter(link.arena);
    // SAFETY: the state outlives every member (see the module docs of
    // `personality`), and one kernel thread runs at a time.
    let s = unsafe { &mut *link.state };
    s.stats.syscalls += 1;
    let Some(member) = s.members.get_mut(link.slot).and_then(Option::as_mut) else {
        body.outcome = Outcome::Return(-ENOSYS);
        return;
    };
    let mut backend = KernelBackend {
        name: &s.name,
        thread: body.me,
        console: &mut member.console,
        random: &mut s.random,
        sleep_ns: None,
    };
    #[cfg(feature = "exploit-demos")]
    if let Some(value) =
        super::test_calls::serve(body.nr, body.args, link.arena as u64, &mut backend)
    {
        body.outcome = Outcome::Return(value);
        return;
    }
    body.outcome = bulkhead_linux::handle(
        &mut s.linux,
        &mut member.process,
        &mut backend,
        body.nr,
        body.args,
    );
    body.sleep = backend.sleep_ns;
    if let Outcome::Exit(_) = body.outcome {
        end_member(s, link.slot);
    }
}

/// Serves the current member's syscall (its frame at `frame`).
pub fn serve(frame: &mut TrapFrame, link: MemberLink) {
    let mut body = Body {
        link,
        me: sched::current(),
        nr: frame.rax,
        args: [
            frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
        ],
        outcome: Outcome::Return(-ENOSYS),
        sleep: None,
    };
    percpu::set_in_personality(1);
    let arg = (&raw mut body).cast::<u8>();
    match link.sci {
        Some((iso, member)) => {
            // SAFETY: the container keeps its isolation alive while it has
            // members; one kernel thread at a time uses it.
            let iso = unsafe { &mut *iso };
            let (restricted, full) = iso.enter(member);
            // SAFETY: the member's restricted table maps the base set (the
            // entry section, this thread's kernel stack, the per-CPU area)
            // as the full one does; `full` is the table loaded now.
            unsafe { crate::arch::x86_64::sci_entry::sci_call(arg, run_body, restricted, full) };
            iso.exit();
        }
        None => {
            x86_64::instructions::interrupts::enable();
            run_body(arg);
            x86_64::instructions::interrupts::disable();
        }
    }
    percpu::set_in_personality(0);
    match body.outcome {
        Outcome::Return(value) => {
            frame.rax = value as u64;
            if let Some(ns) = body.sleep {
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
