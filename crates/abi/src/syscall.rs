//! Native syscall numbers (in `rax`). Part of the ABI: never renumber, only
//! append. `docs/syscalls.md` gives each call's arguments, results and
//! errors; the comments here are the short form (`a0..a5` are the argument
//! registers, `r0..r2` the result registers).

/// A native system call.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syscall {
    /// Does nothing; for measuring the entry and exit path.
    Null = 0,
    /// Gives up the rest of the time slice.
    Yield = 1,
    /// Blocks for at least a0 nanoseconds.
    Sleep = 2,

    /// a0 cap → r0 type, r1 rights, r2 badge.
    CapInfo = 10,
    /// a0 cap, a1 destination table cap (or NULL = own), a2 rights mask →
    /// r0 new cap in the destination table.
    CapCopy = 11,
    /// As `CapCopy` plus a3 badge (source must be unbadged).
    CapMint = 12,
    /// a0 cap: empties its slot; copies derived from it survive.
    CapDelete = 13,
    /// a0 cap: deletes every capability derived from it, in any table →
    /// r0 how many were deleted.
    CapRevoke = 14,

    /// a0 memory cap, a1 pages → r0 a new memory cap holding that many
    /// pages of the quota.
    MemorySplit = 20,
    /// a0 memory cap → r0 pages in the quota, r1 pages used.
    MemoryInfo = 21,
    /// a0 memory cap, a1 pages → r0 a Frames cap of zeroed pages.
    FramesAlloc = 22,

    /// a0 memory cap → r0 a new, empty address space.
    SpaceCreate = 30,
    /// a0 space, a1 frames, a2 first page within the frames, a3 page
    /// count, a4 user address, a5 rights (READ|WRITE|EXECUTE).
    SpaceMap = 31,
    /// a0 space, a1 user address, a2 page count.
    SpaceUnmap = 32,
    /// a0 space, a1 user address, a2 page count, a3 new rights.
    SpaceProtect = 33,
    /// a0 space, a1 its user address, a2 own buffer, a3 length: read
    /// another address space's memory (needs READ) → r0 bytes copied.
    SpaceRead = 34,
    /// As `SpaceRead`, writing (needs WRITE).
    SpaceWrite = 35,

    /// a0 memory cap, a1 slots → r0 a new capability table.
    TableCreate = 40,

    /// a0 memory cap, a1 space, a2 table, a3 priority → r0 a new thread.
    ThreadCreate = 50,
    /// a0 thread, a1 rip, a2 rsp, a3 argument (arrives in rdi).
    ThreadSetEntry = 51,
    /// a0 thread: makes an inactive thread runnable.
    ThreadStart = 52,
    /// a0 thread.
    ThreadSuspend = 53,
    /// a0 thread.
    ThreadResume = 54,
    /// a0 exit code: ends the calling thread.
    ThreadExit = 55,
    /// a0 thread: blocks until it exits or faults → r0 state, r1 exit
    /// code (u64::MAX if it was killed) or fault vector, r2 fault address.
    ThreadWait = 56,
    /// a0 thread, a1 priority.
    ThreadSetPriority = 57,
    /// a0 thread → r0 state, r1 exit code or fault vector, r2 fault address.
    ThreadInfo = 58,
    /// a0 thread, a1 FS base.
    ThreadSetFsBase = 59,

    /// a0 console, a1 buffer, a2 length → r0 bytes written.
    ConsoleWrite = 60,
    /// a0 console, a1 buffer, a2 length → r0 bytes read (0 if none waiting).
    ConsoleRead = 61,

    /// a0 port cap, a1 port, a2 width (1, 2, 4) → r0 value.
    PortRead = 70,
    /// a0 port cap, a1 port, a2 width, a3 value.
    PortWrite = 71,

    /// a0 thread, a1 GS base (the user's; the kernel keeps its own GS).
    ThreadSetGsBase = 80,
    /// a0 thread, a1 buffer address, a2 length: the thread's IPC buffer,
    /// used for the long part of messages (0, 0 removes it).
    ThreadSetIpcBuffer = 81,
    /// a0 thread: a blocked Send/Recv/Call/Wait of that thread returns
    /// `Cancelled`.
    IpcCancel = 82,
    /// a0 thread, a1 endpoint (or NULL): where the thread's faults are
    /// reported, as a message MR0..MR3 = vector, address, RIP, thread id.
    ThreadSetFaultHandler = 83,

    /// a0 memory cap → r0 a new endpoint.
    EndpointCreate = 90,
    /// a0 memory cap → r0 a new notification.
    NotificationCreate = 91,
    /// IPC calls use the register layout in [`crate::ipc`]: a0 (rdi)
    /// endpoint, rsi message info, MR0..MR7 in rdx r10 r8 r9 r12 r13 r14 r15.
    /// Send: blocks until a receiver takes the message.
    Send = 92,
    /// Receive: blocks until a message arrives → rdi badge, rsi info, MRs.
    Recv = 93,
    /// Send, then wait for the reply (one-time reply right to the receiver).
    Call = 94,
    /// Reply to the thread whose Call this thread received last.
    Reply = 95,
    /// Reply, then Recv on the endpoint.
    ReplyRecv = 96,
    /// Send without blocking: `WouldBlock` if no receiver is waiting.
    SendNonBlocking = 97,
    /// Receive without blocking: `WouldBlock` if no sender is waiting.
    RecvNonBlocking = 98,
    /// a0 notification, a1 bits: sets the bits (wakes a waiter).
    Signal = 99,
    /// a0 notification → r0 bits: blocks until some bit is set, clears them.
    Wait = 100,
    /// a0 notification → r0 bits: like Wait without blocking (0 if none).
    Poll = 101,

    /// → r0 CR3 writes since boot, r1 of which flushed the TLB, r2 calls
    /// that took the IPC fast path. Counters for tests and benchmarks.
    KernelCounters = 110,
    /// Checks the kernel's invariants (capability derivation tree, every
    /// capability naming a live object with enough references) → r0
    /// problems found (each printed on the console), r1 frames in use, r2
    /// live kernel objects. For fuzzing and leak checks.
    KernelCheck = 111,
    /// → r0 nanoseconds since boot (monotonic, from the TSC), r1 the TSC
    /// frequency in Hz.
    ClockRead = 112,
    /// → r0 frames the kernel holds on behalf of the objects that exist
    /// (user page tables, thread stacks, the in-kernel containers' arenas:
    /// every frame in use that neither a Frames object owns nor r2
    /// counts), r1 bytes allocated on the kernel's shared heap, r2 frames
    /// the kernel keeps once it has grown into them (its heap's and its own
    /// page tables'). For the scaling benchmark's kernel memory per
    /// container and for leak checks, which must not count r2's growth.
    KernelMemory = 113,
    /// a0 memory cap, a1 endpoint (WRITE), a2 mode ([`crate::container::Mode`]),
    /// and for the in-kernel modes a3 a pointer to a
    /// [`crate::container::KernelSetup`] → r0 a new container. In `ipc`
    /// mode its members' Linux syscalls become Calls on the endpoint; in
    /// the others the kernel serves them from a file tree built from the
    /// setup's archive, in kernel memory charged to a0
    /// ([`crate::container::kernel_data_pages`]), and only process ends go
    /// to the endpoint.
    ContainerCreate = 120,
    /// a0 container (WRITE), a1 thread (WRITE), a2 badge, a3 (in-kernel
    /// modes) pointer to a [`crate::container::ProcessImage`]: from now on
    /// every `syscall` the thread makes is a Linux call (see
    /// [`crate::container`]).
    ContainerAddThread = 121,
    /// a0 container (WRITE): stops every member thread for good → r0 how
    /// many were stopped. For a supervisor whose syscall server died.
    ContainerStop = 122,
    /// a0 container → r0 mode, r1 live member threads, r2 Linux syscalls its
    /// members made (ended ones included).
    ContainerInfo = 123,
}

impl Syscall {
    /// Every call, for decoding and for the documentation check.
    pub const ALL: [Syscall; 56] = [
        Syscall::Null,
        Syscall::Yield,
        Syscall::Sleep,
        Syscall::CapInfo,
        Syscall::CapCopy,
        Syscall::CapMint,
        Syscall::CapDelete,
        Syscall::CapRevoke,
        Syscall::MemorySplit,
        Syscall::MemoryInfo,
        Syscall::FramesAlloc,
        Syscall::SpaceCreate,
        Syscall::SpaceMap,
        Syscall::SpaceUnmap,
        Syscall::SpaceProtect,
        Syscall::SpaceRead,
        Syscall::SpaceWrite,
        Syscall::TableCreate,
        Syscall::ThreadCreate,
        Syscall::ThreadSetEntry,
        Syscall::ThreadStart,
        Syscall::ThreadSuspend,
        Syscall::ThreadResume,
        Syscall::ThreadExit,
        Syscall::ThreadWait,
        Syscall::ThreadSetPriority,
        Syscall::ThreadInfo,
        Syscall::ThreadSetFsBase,
        Syscall::ConsoleWrite,
        Syscall::ConsoleRead,
        Syscall::PortRead,
        Syscall::PortWrite,
        Syscall::ThreadSetGsBase,
        Syscall::ThreadSetIpcBuffer,
        Syscall::IpcCancel,
        Syscall::ThreadSetFaultHandler,
        Syscall::EndpointCreate,
        Syscall::NotificationCreate,
        Syscall::Send,
        Syscall::Recv,
        Syscall::Call,
        Syscall::Reply,
        Syscall::ReplyRecv,
        Syscall::SendNonBlocking,
        Syscall::RecvNonBlocking,
        Syscall::Signal,
        Syscall::Wait,
        Syscall::Poll,
        Syscall::KernelCounters,
        Syscall::KernelCheck,
        Syscall::ClockRead,
        Syscall::KernelMemory,
        Syscall::ContainerCreate,
        Syscall::ContainerAddThread,
        Syscall::ContainerStop,
        Syscall::ContainerInfo,
    ];

    /// Decodes `rax` in constant time (this is on every system call's path).
    pub fn from_number(number: u64) -> Option<Syscall> {
        usize::try_from(number)
            .ok()
            .and_then(|n| DECODE.get(n))
            .copied()
            .flatten()
    }
}

/// One past the highest syscall number.
const DECODE_LEN: usize = Syscall::ContainerInfo as usize + 1;

/// `DECODE[n]` is the call numbered `n`, built from [`Syscall::ALL`].
const DECODE: [Option<Syscall>; DECODE_LEN] = {
    let mut table = [None; DECODE_LEN];
    let mut i = 0;
    while i < Syscall::ALL.len() {
        table[Syscall::ALL[i] as usize] = Some(Syscall::ALL[i]);
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_decode_to_themselves() {
        for (i, s) in Syscall::ALL.iter().enumerate() {
            assert_eq!(Syscall::from_number(*s as u64), Some(*s));
            assert!(!Syscall::ALL[..i].contains(s), "{s:?} listed twice");
        }
        assert_eq!(Syscall::from_number(9999), None);
    }
}
