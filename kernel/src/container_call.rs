//! Forwarding a container member's Linux syscall to its syscall server.
//!
//! A thread that joined a container (`ContainerAddThread`) makes Linux
//! system calls, not Bulkhead ones. `syscall::dispatch` hands them here,
//! and [`forward`] turns each into an IPC Call on the container's syscall
//! endpoint, so the call travels exactly like any other Call: through the
//! fast path when the server is waiting, else through the slow path, which
//! defines the semantics.
//!
//! The IPC layout needs the registers the app's arguments sit in, so the
//! app's registers are parked in the thread's [`LinuxLink`] while the call
//! is in flight, and the frame is rewritten as a 7-word Call:
//!
//! ```text
//!  app frame at entry             frame during the call        app frame at exit
//!   rax  = Linux number            rsi = MessageInfo(7 words)   rax = server's MR0
//!   rdi rsi rdx r10 r8 r9  ->      MR0..MR6 = number, args ->   rdi..r9, r12..r15
//!   r12..r15                       (saved in the LinuxLink)      restored
//! ```
//!
//! [`finish`] undoes the rewrite once the reply (or an error) has been
//! written into the frame. It runs exactly once per call, wherever the
//! call completes:
//! - in [`forward`], when the thread blocked on the slow path and woke;
//! - in [`resume_forwarded`], when it blocked on the fast path (its kernel
//!   stack was then prepared to resume there, see `Scheduler::fast_switch`)
//!   and is scheduled normally;
//! - in the server's ReplyRecv fast path, which returns to the app
//!   straight from the server (`ipc_fast::try_reply_recv`).
//!
//! A call that fails because the server is gone stops the thread with a
//! report; a cancelled or timed-out call returns `-EINTR` to the app.

use crate::arch::x86_64::syscall_entry::return_to_user;
use crate::arch::x86_64::trap_entry::TrapFrame;
use crate::ipc::{self, Outcome};
use crate::object::KERNEL;
use crate::sched::thread::LinuxLink;
use crate::sched::{self, ipc as wait, Ending, ThreadId};
use bulkhead_abi::container::{EINTR, SYSCALL_WORDS};
use bulkhead_abi::ipc::MessageInfo;
use bulkhead_abi::Error;

/// The app registers a forwarded call borrows, in [`LinuxLink::saved`] order.
fn app_registers(f: &TrapFrame) -> [u64; 10] {
    [
        f.rdi, f.rsi, f.rdx, f.r10, f.r8, f.r9, f.r12, f.r13, f.r14, f.r15,
    ]
}

fn restore_app_registers(f: &mut TrapFrame, saved: &[u64; 10]) {
    let [rdi, rsi, rdx, r10, r8, r9, r12, r13, r14, r15] = *saved;
    (f.rdi, f.rsi, f.rdx, f.r10, f.r8, f.r9) = (rdi, rsi, rdx, r10, r8, r9);
    (f.r12, f.r13, f.r14, f.r15) = (r12, r13, r14, r15);
}

/// Saves the app's registers in its link and rewrites `f` as the Call
/// message: MR0 = number, MR1..MR6 = arguments.
fn to_call(f: &mut TrapFrame, link: &mut LinuxLink) {
    link.saved = app_registers(f);
    link.calls += 1;
    let (number, [a0, a1, a2, a3, a4, a5]) = (f.rax, [f.rdi, f.rsi, f.rdx, f.r10, f.r8, f.r9]);
    f.rsi = MessageInfo::new(SYSCALL_WORDS).0;
    (f.rdx, f.r10, f.r8, f.r9) = (number, a0, a1, a2);
    (f.r12, f.r13, f.r14, f.r15) = (a3, a4, a5, 0);
}

/// Turns a completed Call in `f` back into the app's registers with the
/// result in `rax`. `Err` means the call could not complete (the server is
/// gone); the registers are restored either way.
pub fn finish(f: &mut TrapFrame, link: &LinuxLink) -> Result<(), Error> {
    let (status, value) = (f.rax, f.rdx);
    restore_app_registers(f, &link.saved);
    match Error::from_code(status) {
        None if status == 0 => {
            f.rax = value;
            Ok(())
        }
        Some(Error::Cancelled | Error::TimedOut) => {
            f.rax = (-EINTR) as u64;
            Ok(())
        }
        Some(e) => Err(e),
        None => Err(Error::BadState),
    }
}

/// Serves the current thread's Linux syscall (its frame at `frame`).
pub fn forward(frame: *mut TrapFrame) {
    let me = sched::current();
    let Some(link) = sched::with_thread(me, |t| {
        // SAFETY: our own frame, not otherwise borrowed during this call.
        let f = unsafe { &mut *frame };
        t.linux.as_mut().map(|link| {
            to_call(f, link);
            *link
        })
    })
    .flatten() else {
        return;
    };
    crate::ipc_fast::try_call_endpoint(frame, me, link.endpoint, link.badge);
    let outcome = ipc::send(
        &mut KERNEL.lock(),
        me,
        link.endpoint,
        link.badge,
        false,
        true,
        true,
    );
    match outcome {
        Ok(Outcome::Block) => wait::wait_for_completion(),
        Ok(Outcome::Done) => {}
        // SAFETY: our own frame; the failed send wrote nothing into it.
        Err(e) => unsafe { (*frame).rax = e as u64 },
    }
    finish_current(frame, me);
}

/// Finishes the current thread's forwarded call in `frame`, or stops the
/// thread if its server is gone.
fn finish_current(frame: *mut TrapFrame, me: ThreadId) {
    let result = sched::with_thread(me, |t| {
        let link = t.linux?;
        // SAFETY: our own frame; whoever completed the call is done with it.
        Some(finish(unsafe { &mut *frame }, &link))
    })
    .flatten();
    if let Some(Err(e)) = result {
        crate::println!("container: thread {me}: its syscall server is gone ({e}); thread stopped");
        sched::end_current(Ending::Killed);
    }
}

/// Where a container member whose call blocked on the fast path resumes
/// when it is next scheduled: finish the call, then return to user mode.
///
/// # Safety
/// Entered only through a stack prepared by `Scheduler::fast_switch`, with
/// `frame` the thread's own user frame.
pub unsafe extern "C" fn resume_forwarded(frame: *mut TrapFrame) -> ! {
    finish_current(frame, sched::current());
    // SAFETY: `frame` tops this thread's kernel stack and now holds the
    // app's registers with the result.
    unsafe { return_to_user(frame) }
}
