//! Containers: how a member thread's Linux syscalls reach its personality.
//!
//! A container groups the threads of Linux programs with the placement of
//! the code that serves their system calls (its [`Mode`]). A member thread
//! cannot make native Bulkhead calls: every `syscall` instruction it
//! executes is a Linux system call. In `ipc` mode the kernel turns it into
//! a Call on the container's syscall endpoint, sent with the badge given
//! when the thread joined (so the server knows which app called):
//!
//! ```text
//!  app registers at `syscall`          message the server receives
//!   rax  Linux syscall number     ->    MR0
//!   rdi rsi rdx r10 r8 r9         ->    MR1..MR6
//!                                       (7 words, badge = the member's)
//!  app rax after `syscall`        <-    MR0 of the server's reply
//! ```
//!
//! Every other register of the app is preserved, as Linux preserves it
//! (`rcx` and `r11` excepted, which `syscall` itself clobbers). If the
//! call cannot complete because the server is gone, the kernel stops the
//! thread and says so on the console; if it is cancelled or times out, the
//! app sees `-EINTR`.

/// Where a container's syscalls are served.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// By a user-mode server in its own address space, over IPC.
    Ipc = 0,
    /// By the personality linked into the kernel, on the full kernel page
    /// table.
    Direct = 1,
    /// In the kernel under System Call Isolation; mappings faulted in
    /// during a syscall are dropped at its exit.
    Sci = 2,
    /// Like `Sci`, but the faulted-in mappings are kept per container.
    SciSticky = 3,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 4] = [Mode::Ipc, Mode::Direct, Mode::Sci, Mode::SciSticky];

    /// Decodes a mode from a register.
    pub fn from_u64(value: u64) -> Option<Mode> {
        Self::ALL.into_iter().find(|m| *m as u64 == value)
    }

    /// The manifest's name for the mode.
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Ipc => "ipc",
            Mode::Direct => "direct",
            Mode::Sci => "sci",
            Mode::SciSticky => "sci-sticky",
        }
    }
}

/// Message words of a forwarded syscall: the number and six arguments.
pub const SYSCALL_WORDS: u64 = 7;

/// `EINTR`: what an app sees when its forwarded call was cancelled or
/// timed out.
pub const EINTR: i64 = 4;

/// A syscall number no Linux uses, which a test build's syscall server
/// treats as "crash now" (for the fault-isolation tests).
pub const TEST_CRASH_SERVER: u64 = 0x4b_7e57;

/// Likewise "stop answering": the server spins forever without replying
/// (for the supervisor's never-replying-server test).
pub const TEST_HANG_SERVER: u64 = 0x4b_7e58;

/// The badge a supervisor's own calls to a syscall server carry (the
/// unbadged endpoint capability). Apps' badges are never 0.
pub const SUPERVISOR_BADGE: u64 = 0;

/// A supervisor's call asking a syscall server whether it still answers
/// (MR0); the server replies at once with MR0 = 0.
pub const PING: u64 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_decode_to_themselves() {
        for m in Mode::ALL {
            assert_eq!(Mode::from_u64(m as u64), Some(m));
        }
        assert_eq!(Mode::from_u64(4), None);
    }
}
