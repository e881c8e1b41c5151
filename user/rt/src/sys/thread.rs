//! Thread calls: create, set the entry registers, start, suspend, resume,
//! exit, wait, priority, state and the FS base. [`ThreadInfo`] decodes the
//! state triple the kernel reports into exited-with-code or faulted-with-
//! vector-and-address.

use bulkhead_abi::{CapRef, Error, Syscall, ThreadState};

use crate::syscall;

/// How a thread stands, as `ThreadInfo` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadStatus {
    /// Not exited or faulted; the state says which.
    Alive(ThreadState),
    /// Ended with `thread_exit(code)`.
    Exited(u64),
    /// Stopped by exception `vector` (14 = page fault) at `address` (CR2
    /// for page faults).
    Faulted { vector: u64, address: u64 },
    /// A state code this runtime does not know.
    Unknown(u64),
}

/// The raw `ThreadInfo` results and their decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadInfo {
    pub state: Option<ThreadState>,
    /// Exit code or fault vector.
    pub code: u64,
    /// Fault address (faulted threads only).
    pub fault_address: u64,
}

impl ThreadInfo {
    /// Decodes the three result registers.
    pub fn from_results([state, code, fault_address]: [u64; 3]) -> Self {
        ThreadInfo {
            state: ThreadState::from_u64(state),
            code,
            fault_address,
        }
    }

    /// The decoded status.
    pub fn status(&self) -> ThreadStatus {
        match self.state {
            Some(ThreadState::Exited) => ThreadStatus::Exited(self.code),
            Some(ThreadState::Faulted) => ThreadStatus::Faulted {
                vector: self.code,
                address: self.fault_address,
            },
            Some(other) => ThreadStatus::Alive(other),
            None => ThreadStatus::Unknown(self.code),
        }
    }
}

/// A new, inactive thread in `space` using capability table `table`,
/// paid from `memory`.
pub fn thread_create(
    memory: CapRef,
    space: CapRef,
    table: CapRef,
    priority: u64,
) -> Result<CapRef, Error> {
    let args = (memory.0, space.0, table.0, priority);
    // SAFETY: no pointer arguments.
    let [thread, _, _] =
        unsafe { syscall::syscall4(Syscall::ThreadCreate, args.0, args.1, args.2, args.3) }?;
    Ok(CapRef(thread))
}

/// Sets where `thread` starts: `rip`, `rsp`, and `argument` in `rdi`.
pub fn thread_set_entry(thread: CapRef, rip: u64, rsp: u64, argument: u64) -> Result<(), Error> {
    // SAFETY: the addresses are used by the new thread in its own space;
    // this call dereferences nothing.
    unsafe { syscall::syscall4(Syscall::ThreadSetEntry, thread.0, rip, rsp, argument) }.map(drop)
}

/// Makes an inactive thread runnable.
pub fn thread_start(thread: CapRef) -> Result<(), Error> {
    // SAFETY: no pointer arguments.
    unsafe { syscall::syscall1(Syscall::ThreadStart, thread.0) }.map(drop)
}

/// Suspends `thread`.
pub fn thread_suspend(thread: CapRef) -> Result<(), Error> {
    // SAFETY: no pointer arguments.
    unsafe { syscall::syscall1(Syscall::ThreadSuspend, thread.0) }.map(drop)
}

/// Resumes a suspended `thread`.
pub fn thread_resume(thread: CapRef) -> Result<(), Error> {
    // SAFETY: no pointer arguments.
    unsafe { syscall::syscall1(Syscall::ThreadResume, thread.0) }.map(drop)
}

/// Ends the calling thread with `code`.
pub fn thread_exit(code: u64) -> ! {
    // SAFETY: no pointer arguments; the call does not return on success.
    let _ = unsafe { syscall::syscall1(Syscall::ThreadExit, code) };
    // The kernel refused to end the thread: nothing sensible is left to do.
    loop {
        let _ = super::yield_now();
    }
}

/// Blocks until `thread` exits or faults; returns its state.
pub fn thread_wait(thread: CapRef) -> Result<ThreadInfo, Error> {
    // SAFETY: no pointer arguments.
    let [state, code, _] = unsafe { syscall::syscall1(Syscall::ThreadWait, thread.0) }?;
    Ok(ThreadInfo::from_results([state, code, 0]))
}

/// Sets `thread`'s scheduling priority.
pub fn thread_set_priority(thread: CapRef, priority: u64) -> Result<(), Error> {
    // SAFETY: no pointer arguments.
    unsafe { syscall::syscall2(Syscall::ThreadSetPriority, thread.0, priority) }.map(drop)
}

/// State, exit code or fault vector, and fault address of `thread`.
pub fn thread_info(thread: CapRef) -> Result<ThreadInfo, Error> {
    // SAFETY: no pointer arguments.
    let results = unsafe { syscall::syscall1(Syscall::ThreadInfo, thread.0) }?;
    Ok(ThreadInfo::from_results(results))
}

/// Sets `thread`'s FS segment base (thread-local storage).
pub fn thread_set_fs_base(thread: CapRef, base: u64) -> Result<(), Error> {
    // SAFETY: the base is used by `thread`'s own FS-relative accesses; this
    // call dereferences nothing.
    unsafe { syscall::syscall2(Syscall::ThreadSetFsBase, thread.0, base) }.map(drop)
}

/// Sets `thread`'s user GS base.
pub fn thread_set_gs_base(thread: CapRef, base: u64) -> Result<(), Error> {
    // SAFETY: as for `thread_set_fs_base`.
    unsafe { syscall::syscall2(Syscall::ThreadSetGsBase, thread.0, base) }.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faulted_state_carries_vector_and_address() {
        let info = ThreadInfo::from_results([ThreadState::Faulted as u64, 14, 0x5000]);
        assert_eq!(
            info.status(),
            ThreadStatus::Faulted {
                vector: 14,
                address: 0x5000
            }
        );
    }

    #[test]
    fn exited_and_unknown_states_decode() {
        let exited = ThreadInfo::from_results([ThreadState::Exited as u64, 3, 0]);
        assert_eq!(exited.status(), ThreadStatus::Exited(3));
        let odd = ThreadInfo::from_results([99, 7, 0]);
        assert_eq!(odd.status(), ThreadStatus::Unknown(7));
    }
}
