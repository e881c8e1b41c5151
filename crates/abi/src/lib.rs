//! The Bulkhead ABI: everything kernel and user code must agree on, in one
//! small `no_std` crate that both link (as Hubris does with its `abi`
//! crate). User stubs name syscall numbers, errors and rights from here,
//! never as literals.
//!
//! # Register convention
//!
//! A native call is the `syscall` instruction with the number in `rax` and
//! up to six arguments in `rdi, rsi, rdx, r10, r8, r9` (`rcx` and `r11` are
//! taken by the instruction itself). On return `rax` holds 0 for success or
//! an [`Error`] code, and up to three results come back in `rdi, rsi, rdx`.
//! Every other register is preserved. See `docs/syscalls.md` for each call.
//!
//! # Capabilities
//!
//! A capability is named by a [`CapRef`]: a slot index in the caller's
//! capability table plus that slot's generation, so a handle kept after its
//! slot was emptied is rejected ([`Error::StaleCap`]), even if the slot
//! holds a new capability by now.

#![no_std]
#![forbid(unsafe_code)]

pub mod container;
mod error;
pub mod ipc;
pub mod root_info;
mod syscall;

pub use error::Error;
pub use syscall::Syscall;

/// Argument registers, in order: `rdi, rsi, rdx, r10, r8, r9`.
pub const MAX_ARGS: usize = 6;
/// Result registers, in order: `rdi, rsi, rdx`.
pub const MAX_RESULTS: usize = 3;

/// A capability handle: slot index (low 32 bits) and generation (high 32).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CapRef(pub u64);

impl CapRef {
    /// Never names a capability.
    pub const NULL: CapRef = CapRef(u64::MAX);

    /// The handle for slot `index` at `generation`.
    pub const fn new(index: u32, generation: u32) -> Self {
        CapRef(((generation as u64) << 32) | index as u64)
    }

    /// The slot index.
    pub const fn index(self) -> u32 {
        self.0 as u32
    }

    /// The slot generation.
    pub const fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// Whether this is [`CapRef::NULL`].
    pub const fn is_null(self) -> bool {
        self.0 == Self::NULL.0
    }
}

bitflags::bitflags! {
    /// What a capability allows. Copies and mints can only drop rights.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Rights: u32 {
        /// Read the object: map memory readable, read another address
        /// space, read console input, read an I/O port.
        const READ = 1 << 0;
        /// Modify the object: map memory writable, write another address
        /// space, write to the console or an I/O port, configure a thread.
        const WRITE = 1 << 1;
        /// Map memory executable.
        const EXECUTE = 1 << 2;
        /// Pass the capability to another process (copy into another
        /// table, or send over IPC).
        const GRANT = 1 << 3;
        /// Copy or mint the capability at all.
        const COPY = 1 << 4;
        /// Every right.
        const ALL = Self::READ.bits() | Self::WRITE.bits() | Self::EXECUTE.bits()
            | Self::GRANT.bits() | Self::COPY.bits();
    }
}

impl Rights {
    /// The rights of a mapping that is readable, and writable and/or
    /// executable as asked (a page table cannot say "not readable").
    pub fn for_mapping(write: bool, exec: bool) -> Rights {
        let mut rights = Rights::READ;
        rights.set(Rights::WRITE, write);
        rights.set(Rights::EXECUTE, exec);
        rights
    }
}

/// The kinds of kernel object a capability can name.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectType {
    /// A memory quota: pages that objects may be created from.
    Memory = 1,
    /// Physical pages that can be mapped into address spaces.
    Frames = 2,
    /// A page table: the user half of an address space.
    AddressSpace = 3,
    /// A capability table.
    CapTable = 4,
    /// A thread.
    Thread = 5,
    /// The serial console.
    Console = 6,
    /// A range of x86 I/O ports.
    IoPort = 7,
    /// A synchronous IPC endpoint.
    Endpoint = 8,
    /// Asynchronous signal bits.
    Notification = 9,
    /// A container: the threads whose Linux syscalls one personality serves.
    Container = 10,
}

impl ObjectType {
    /// Decodes a type from a result register.
    pub fn from_u64(value: u64) -> Option<Self> {
        use ObjectType::*;
        [
            Memory,
            Frames,
            AddressSpace,
            CapTable,
            Thread,
            Console,
            IoPort,
            Endpoint,
            Notification,
            Container,
        ]
        .into_iter()
        .find(|t| *t as u64 == value)
    }
}

/// User address-space layout: the lowest and one-past-highest user addresses.
pub const USER_START: u64 = 0x1000;
/// One past the highest user address: the canonical lower half without
/// its last page, which is never user memory (as in Linux). A `syscall`
/// instruction in that page would return to the non-canonical
/// `0x0000_8000_0000_0000`, which SYSRET must not be given; with the page
/// unmappable, every return address a `syscall` leaves is canonical, and
/// so is every saved user RIP (entry points are checked against this
/// bound too).
pub const USER_END: u64 = 0x0000_7fff_ffff_f000;
/// Size of a page.
pub const PAGE_SIZE: u64 = 4096;

/// Thread states reported by `ThreadInfo`.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadState {
    /// Created, not started.
    Inactive = 0,
    /// Runnable or running.
    Running = 1,
    /// Blocked in the kernel (sleep, wait).
    Blocked = 2,
    /// Suspended by a capability holder.
    Suspended = 3,
    /// Exited with a code (`u64::MAX` if its last capability was deleted
    /// while it ran).
    Exited = 4,
    /// Stopped by a fault.
    Faulted = 5,
}

impl ThreadState {
    /// Decodes a state from a result register.
    pub fn from_u64(value: u64) -> Option<Self> {
        use ThreadState::*;
        [Inactive, Running, Blocked, Suspended, Exited, Faulted]
            .into_iter()
            .find(|s| *s as u64 == value)
    }
}

/// Well-known slots of the root server's capability table, filled by the
/// kernel at boot.
pub mod root_slots {
    /// The root server's own capability table.
    pub const SELF_TABLE: u32 = 0;
    /// The root server's own address space.
    pub const SELF_SPACE: u32 = 1;
    /// The root server's own thread.
    pub const SELF_THREAD: u32 = 2;
    /// A memory quota holding all remaining memory.
    pub const MEMORY: u32 = 3;
    /// The console.
    pub const CONSOLE: u32 = 4;
    /// I/O ports 0xf4..0xf8: QEMU's `isa-debug-exit`.
    pub const EXIT_PORTS: u32 = 5;
    /// I/O port 0x8900: Bochs' shutdown port.
    pub const BOCHS_PORT: u32 = 6;
    /// First boot module: Frames with READ, COPY and GRANT (never WRITE or
    /// EXECUTE); the modules follow in order.
    pub const FIRST_MODULE: u32 = 8;
}

#[cfg(test)]
mod tests {
    use super::Rights;

    #[test]
    fn a_mapping_is_always_readable() {
        assert_eq!(Rights::for_mapping(false, false), Rights::READ);
        assert_eq!(
            Rights::for_mapping(true, false),
            Rights::READ | Rights::WRITE
        );
        assert_eq!(
            Rights::for_mapping(false, true),
            Rights::READ | Rights::EXECUTE
        );
    }

    use super::*;

    #[test]
    fn capref_packs_index_and_generation() {
        let r = CapRef::new(7, 3);
        assert_eq!((r.index(), r.generation()), (7, 3));
        assert_eq!(CapRef::new(u32::MAX, u32::MAX), CapRef::NULL);
        assert!(CapRef::NULL.is_null() && !r.is_null());
    }

    #[test]
    fn object_types_round_trip() {
        for v in 0..10 {
            if let Some(t) = ObjectType::from_u64(v) {
                assert_eq!(t as u64, v);
            }
        }
        assert_eq!(ObjectType::from_u64(0), None);
    }

    #[test]
    fn rights_all_is_union() {
        assert!(Rights::ALL.contains(Rights::READ | Rights::GRANT | Rights::COPY));
        assert_eq!(Rights::from_bits(1 << 31), None);
    }
}
