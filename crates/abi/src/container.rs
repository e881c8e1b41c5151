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

    /// True for the placements inside the kernel (`direct`, `sci`,
    /// `sci-sticky`), whose syscalls never reach the endpoint.
    pub const fn in_kernel(self) -> bool {
        !matches!(self, Mode::Ipc)
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

/// A Linux number no Linux uses: in the in-kernel modes (`direct`, `sci`,
/// `sci-sticky`) the kernel serves every syscall itself except the end of
/// a process, which it tells the container's launcher (the same syscall
/// server program) as a Call on the endpoint from the app, MR0 =
/// `EVENT_EXITED`, MR1 = the exit status as a parent sees it. The
/// launcher ends the app and never replies.
pub const EVENT_EXITED: u64 = 0x4b_e717;

/// A Linux number no Linux uses, served by the kernel itself for a member
/// of a container of any mode (not forwarded): a0 = a pointer to a
/// [`SyscallStats`], which the kernel fills; returns 0 (or `-EFAULT`).
/// For the benchmarks' per-syscall figures.
pub const STATS: u64 = 0x4b_57a7;

/// What [`STATS`] reports. Counters only grow; take two and subtract.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallStats {
    /// The container's mode ([`Mode`] as a number).
    pub mode: u64,
    /// Linux syscalls served so far: the container's (in-kernel modes) or
    /// the calling thread's (`ipc`).
    pub syscalls: u64,
    /// Page faults on the restricted page tables (SCI modes).
    pub page_faults: u64,
    /// Pages those faults mapped (SCI modes).
    pub pages_mapped: u64,
    /// CR3 writes since boot, system-wide.
    pub cr3_writes: u64,
    /// Of those, the ones that flushed the TLB.
    pub flushing_cr3_writes: u64,
    /// Interrupts and exceptions taken during isolated syscalls (SCI).
    pub traps: u64,
    /// Kernel pages mapped while syscalls ran, summed over the syscalls
    /// (SCI modes; divide by the syscalls for the average).
    pub surface_sum: u64,
    /// The attack surface now, in pages: what the syscall code can reach.
    /// `direct`: every kernel page; SCI: the restricted table's pages;
    /// `ipc`: the syscall server's pages plus the kernel's IPC path.
    pub surface_pages: u64,
}

/// Test and demo builds only (the kernel's `exploit-demos` feature, in
/// `make test` and `make run`): numbers no Linux uses, served by every
/// placement's host before the personality, for the exploit
/// demonstrations (see `docs/sci.md`).
pub mod test_calls {
    /// a0 = an address: the syscall code calls it, the way a corrupted
    /// return address or function pointer would. Returns what it returned.
    pub const JUMP: u64 = 0x4b_7e59;
    /// a0, a1 = a symbol name (pointer, length) → that kernel symbol's
    /// address, or `-ENOENT` (always in `ipc` mode: the server has no
    /// kernel symbols to leak).
    pub const SYMBOL: u64 = 0x4b_7e5a;
    /// a0 = an address: the syscall code reads 8 bytes there (a stray
    /// pointer) → the value.
    pub const PEEK: u64 = 0x4b_7e5b;
    /// → the address of another container's kernel data (its personality
    /// state), or `-ENOENT` when there is no other in-kernel container.
    pub const PEER_DATA: u64 = 0x4b_7e5c;
    /// The kernel function whose middle is the demonstrations' gadget.
    pub const GADGET_SYMBOL: &str = "sci_demo_gadget";
    /// Where the gadget starts, from the function's first instruction.
    pub const GADGET_OFFSET: u64 = 0x10;
    /// What the gadget returns when it runs (ASCII "gadget!!").
    pub const GADGET_MAGIC: u64 = 0x2121_7465_6764_6167;
}

/// Longest container name the kernel keeps (manifest names are 1 to 15
/// characters, and a per-mode copy adds up to 11: `-sci-sticky`).
pub const MAX_NAME: usize = 32;

/// What an in-kernel container (`direct`, `sci`, `sci-sticky`) is made
/// with (`ContainerCreate`'s a3): its name, for the console prefix of its
/// apps' output, and the cpio archive its file tree is filled from.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelSetup {
    /// A Frames capability (READ) holding the archive, or null for none.
    pub archive: crate::CapRef,
    /// Bytes of archive.
    pub archive_len: u64,
    pub name_len: u64,
    pub name: [u8; MAX_NAME],
}

impl Default for KernelSetup {
    fn default() -> Self {
        KernelSetup {
            archive: crate::CapRef::NULL,
            archive_len: 0,
            name_len: 0,
            name: [0; MAX_NAME],
        }
    }
}

/// Pages of kernel memory an in-kernel container of `mode` is charged for
/// an archive of `archive_len` bytes: its personality's arena (twice the
/// file tree, since a growing file's buffer is copied when it doubles;
/// half a megabyte for files to grow; a quarter for open files and
/// processes), and under SCI its restricted page tables
/// ([`SCI_TABLE_PAGES`]).
pub const fn kernel_data_pages(archive_len: u64, mode: Mode) -> u64 {
    let bytes = 2 * archive_len + (768 << 10);
    let arena = bytes.div_ceil(crate::PAGE_SIZE);
    match mode {
        Mode::Sci | Mode::SciSticky => arena + SCI_TABLE_PAGES,
        _ => arena,
    }
}

/// Page-table frames a `sci` container's restricted tables may use: the
/// kernel-half tables and one PML4 per member thread.
pub const SCI_TABLE_PAGES: u64 = 96;

/// Most mappings a [`ProcessImage`] lists (ELF segments and the stack).
pub const MAX_IMAGE_MAPPINGS: usize = 16;

/// One mapped range of a freshly loaded program: Linux `PROT_*` bits.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageMapping {
    pub addr: u64,
    pub len: u64,
    pub prot: u64,
}

/// What the kernel's personality must know about a program the launcher
/// loaded into an app's address space, for an in-kernel container
/// (`ContainerAddThread`'s a3): its program break and its mappings.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessImage {
    pub brk_start: u64,
    /// Entries of `mappings` in use.
    pub count: u64,
    pub mappings: [ImageMapping; MAX_IMAGE_MAPPINGS],
}

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
