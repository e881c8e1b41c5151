//! Threads in the program's own address space running Rust closures.
//!
//! [`spawn`] boxes the closure, gives the new thread a heap-allocated stack
//! and starts it at [`thread_main`] with the box's address as its argument
//! (`rdi`); `thread_main` unboxes and runs the closure and exits with its
//! result. The stack top is 16-byte aligned minus 8, as if a `call` had
//! pushed a return address. [`JoinHandle::join`] waits for the thread and
//! frees the stack; dropping a handle without joining leaks the stack on
//! purpose, because the thread may still be running on it.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use bulkhead_abi::{CapRef, Error};

use crate::start::exit_code;
use crate::sys::{self, ThreadStatus};

/// Priority the runtime uses for threads it creates (and the root server
/// for programs it starts), so tests run threads at one shared priority.
/// The kernel's priorities run from 0 (idle) to 31; 16 is the root
/// server's own.
pub const DEFAULT_PRIORITY: u64 = 16;
/// Stack size of a spawned thread.
pub const STACK_SIZE: usize = 64 * 1024;

/// Where a new thread lives and who pays for it.
#[derive(Clone, Copy, Debug)]
pub struct ThreadSpec {
    /// Quota that pays for the thread object.
    pub memory: CapRef,
    /// Address space to run in: must be our own (the closure lives here).
    pub space: CapRef,
    /// Capability table the thread uses.
    pub table: CapRef,
    pub priority: u64,
}

type Body = Box<dyn FnOnce() -> i32 + Send + 'static>;

/// A started thread; [`join`](JoinHandle::join) waits for it.
pub struct JoinHandle {
    thread: CapRef,
    stack: Option<Vec<u64>>,
}

/// The initial `rsp` for a stack at `base` of `size` bytes.
pub fn stack_top(base: u64, size: u64) -> u64 {
    ((base + size) & !15) - 8
}

/// Starts a thread running `body`; its return value is the exit code.
pub fn spawn<F>(spec: &ThreadSpec, body: F) -> Result<JoinHandle, Error>
where
    F: FnOnce() -> i32 + Send + 'static,
{
    spawn_prepared(spec, |_| Ok(()), body)
}

/// Like [`spawn`], running `prepare` on the new thread's capability before
/// it starts (to make it a container member, say).
pub fn spawn_prepared<F>(
    spec: &ThreadSpec,
    prepare: impl FnOnce(CapRef) -> Result<(), Error>,
    body: F,
) -> Result<JoinHandle, Error>
where
    F: FnOnce() -> i32 + Send + 'static,
{
    let stack = vec![0u64; STACK_SIZE / 8];
    let top = stack_top(stack.as_ptr() as u64, STACK_SIZE as u64);
    let boxed: Box<Body> = Box::new(Box::new(body));
    let argument = Box::into_raw(boxed) as u64;
    match create_and_start(spec, top, argument, prepare) {
        Ok(thread) => Ok(JoinHandle {
            thread,
            stack: Some(stack),
        }),
        Err(error) => {
            // SAFETY: the thread never started, so the box made above by
            // `Box::into_raw` is still ours alone.
            drop(unsafe { Box::from_raw(argument as *mut Body) });
            Err(error)
        }
    }
}

fn create_and_start(
    spec: &ThreadSpec,
    stack_top: u64,
    argument: u64,
    prepare: impl FnOnce(CapRef) -> Result<(), Error>,
) -> Result<CapRef, Error> {
    let thread = sys::thread_create(spec.memory, spec.space, spec.table, spec.priority)?;
    let entry = thread_main as extern "C" fn(u64) -> ! as usize as u64;
    let started = sys::thread_set_entry(thread, entry, stack_top, argument)
        .and_then(|()| prepare(thread))
        .and_then(|()| sys::thread_start(thread));
    if let Err(error) = started {
        let _ = sys::cap_delete(thread);
        return Err(error);
    }
    Ok(thread)
}

/// Entry point of spawned threads: runs the boxed closure and exits.
extern "C" fn thread_main(argument: u64) -> ! {
    // SAFETY: `argument` is the pointer `spawn` made with `Box::into_raw`
    // and handed to this thread alone, which takes it back exactly once.
    let body = unsafe { Box::from_raw(argument as *mut Body) };
    sys::thread_exit(exit_code(body()))
}

impl JoinHandle {
    /// The thread capability (to suspend, resume or inspect it).
    pub fn cap(&self) -> CapRef {
        self.thread
    }

    /// Waits until the thread exits or faults, then frees its stack and
    /// deletes the thread capability.
    pub fn join(mut self) -> Result<ThreadStatus, Error> {
        let waited = sys::thread_wait(self.thread)?;
        let status = match waited.status() {
            ThreadStatus::Faulted { .. } => sys::thread_info(self.thread)?.status(),
            other => other,
        };
        // The thread has ended: nothing runs on the stack any more.
        drop(self.stack.take());
        let _ = sys::cap_delete(self.thread);
        Ok(status)
    }
}

impl Drop for JoinHandle {
    fn drop(&mut self) {
        if let Some(stack) = self.stack.take() {
            // Not joined: the thread may still use its stack.
            core::mem::forget(stack);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_top_is_call_aligned() {
        for base in [0x1000u64, 0x1008, 0x1234] {
            let top = stack_top(base, 0x1000);
            assert_eq!((top + 8) % 16, 0);
            assert!(top < base + 0x1000 && top >= base + 0x1000 - 24);
        }
    }
}
