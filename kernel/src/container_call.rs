//! Forwarding a container member's Linux syscall to its syscall server.
//!
//! A thread that joined a container (`ContainerAddThread`) makes Linux
//! system calls, not Bulkhead ones. `syscall::dispatch` hands them to
//! [`forward`], which sends each as an IPC Call on the container's syscall
//! endpoint, so the call travels exactly like any other Call: through the
//! fast path (`ipc_fast::try_linux_call`, which `syscall_entry` tries
//! before `dispatch`) when the server is waiting, else through the slow
//! path here, which defines the semantics.
//!
//! The app's registers are never rewritten. The message is read straight
//! from them, and the reply writes only `rax`:
//!
//! ```text
//!  app registers at `syscall`           message the server receives
//!   rax                           ->     MR0 (the Linux number)
//!   rdi rsi rdx r10 r8 r9         ->     MR1..MR6        (7 words, the member's badge)
//!  app rax after `syscall`        <-     MR0 of the reply (everything else untouched)
//! ```
//!
//! Every completion of a member's call goes through
//! [`complete_forwarded`] (the scheduler's `complete_in` calls it for
//! member threads): the completion's IPC registers are written into a
//! scratch frame and only the result is taken from it. A cancelled or
//! timed-out call gives `-EINTR`; any other failure means the server is
//! gone, which marks the link, and the thread stops with a report when it
//! next runs ([`stop_if_server_gone`]), wherever it resumes: at the end of
//! [`forward`] after a slow-path wait, or in [`resume_forwarded`] after
//! blocking on the fast path.

use crate::arch::x86_64::syscall_entry::return_to_user;
use crate::arch::x86_64::trap_entry::TrapFrame;
use crate::ipc::{self, Message, Outcome};
use crate::object::KERNEL;
use crate::sched::thread::Thread;
use crate::sched::{self, ipc as wait, Ending, ThreadId};
use bulkhead_abi::container::{EINTR, STATS, SYSCALL_WORDS};
use bulkhead_abi::ipc::{MessageInfo, MAX_WORDS};
use bulkhead_abi::Error;

/// `EIO`: what a member sees in `rax` from a call whose server is gone
/// (it is stopped before it can act on it).
const EIO: i64 = 5;

/// The message a member's syscall sends: MR0 = number, MR1..MR6 = the six
/// argument registers.
pub fn linux_message(f: &TrapFrame) -> Message {
    let mut mrs = [0; MAX_WORDS];
    mrs[..SYSCALL_WORDS as usize].copy_from_slice(&[f.rax, f.rdi, f.rsi, f.rdx, f.r10, f.r8, f.r9]);
    Message {
        info: MessageInfo::new(SYSCALL_WORDS),
        mrs,
    }
}

/// Ends a member's wait: `fill` writes the completion in the IPC layout
/// (status in `rax`, reply MR0 in `rdx`) into a scratch frame, and the
/// member gets only the result in `rax`.
pub fn complete_forwarded(t: &mut Thread, fill: impl FnOnce(&mut TrapFrame)) {
    let mut scratch = *t.user_frame();
    fill(&mut scratch);
    let result = match (scratch.rax, Error::from_code(scratch.rax)) {
        (0, _) => scratch.rdx,
        (_, Some(Error::Cancelled | Error::TimedOut)) => (-EINTR) as u64,
        _ => {
            if let Some(link) = t.linux.as_mut() {
                link.server_gone = true;
            }
            (-EIO) as u64
        }
    };
    t.user_frame().rax = result;
}

/// Serves the current thread's Linux syscall (its frame at `frame`): in
/// the kernel for an in-kernel container's member (`crate::personality`),
/// else by forwarding it.
pub fn serve_linux(frame: *mut TrapFrame) {
    let Some(link) = sched::with_thread(sched::current(), |t| t.linux).flatten() else {
        return;
    };
    // SAFETY: our own frame, at the top of our kernel stack.
    let f = unsafe { &mut *frame };
    match link.kernel {
        _ if f.rax == STATS => crate::container_stats::serve(f, link),
        Some(member) => crate::personality::serve::serve(f, member),
        None => forward(frame),
    }
}

/// Forwards the current thread's Linux syscall (its frame at `frame`) to
/// its container's endpoint.
pub fn forward(frame: *mut TrapFrame) {
    let me = sched::current();
    let link = sched::with_thread(me, |t| {
        let link = t.linux.as_mut()?;
        link.calls += 1;
        Some((link.endpoint, link.badge))
    })
    .flatten();
    let Some((endpoint, badge)) = link else {
        return;
    };
    let outcome = {
        let mut k = KERNEL.lock();
        sched::with_sched(|s| ipc::send(&mut k, s, me, endpoint, badge, false, true, true))
    };
    match outcome {
        Ok(Outcome::Block) => wait::wait_for_completion(),
        Ok(Outcome::Done) => {}
        // SAFETY: our own frame; the failed send wrote nothing into it.
        Err(_) => unsafe { (*frame).rax = (-EIO) as u64 },
    }
    stop_if_server_gone(me);
}

/// Stops the current thread, with a report, if its last call found the
/// server gone.
fn stop_if_server_gone(me: ThreadId) {
    let gone = sched::with_thread(me, |t| t.linux.is_some_and(|l| l.server_gone));
    if gone == Some(true) {
        crate::println!("container: thread {me}: its syscall server is gone; thread stopped");
        sched::end_current(Ending::Killed);
    }
}

/// Where a container member whose call blocked on the fast path resumes
/// when it is next scheduled (not through the server's fast path): its
/// result is already in `rax`.
///
/// # Safety
/// Entered only through a stack prepared by `Scheduler::fast_switch`, with
/// `frame` the thread's own user frame.
pub unsafe extern "C" fn resume_forwarded(frame: *mut TrapFrame) -> ! {
    stop_if_server_gone(sched::current());
    // SAFETY: `frame` tops this thread's kernel stack and holds the app's
    // registers with the result.
    unsafe { return_to_user(frame) }
}
