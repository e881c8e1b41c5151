//! Shared test setup: this program's capabilities, scratch quotas, and
//! sandboxes — fresh address spaces holding a few bytes of hand-assembled
//! machine code, so a test can make a thread do something forbidden
//! (write a read-only page, execute data) in a space of its own and watch
//! it fault while the test thread carries on.

use alloc::vec::Vec;

use bulkhead_rt::abi::{CapRef, Error, Rights, Syscall, PAGE_SIZE};
use bulkhead_rt::boot::child_cap;
use bulkhead_rt::child_slots;
use bulkhead_rt::sys::{self, ThreadStatus};
use bulkhead_rt::thread::{ThreadSpec, DEFAULT_PRIORITY};

/// The priority of the test thread and every thread the tests start.
pub const PRIORITY: u64 = DEFAULT_PRIORITY;
/// Exception vector of a page fault.
pub const PAGE_FAULT: u64 = 14;
/// Exit code of sandbox code that got past an access that should fault.
pub const SURVIVED: u32 = 77;

pub fn own_table() -> CapRef {
    child_cap(child_slots::SELF_TABLE)
}

pub fn own_space() -> CapRef {
    child_cap(child_slots::SELF_SPACE)
}

pub fn own_thread() -> CapRef {
    child_cap(child_slots::SELF_THREAD)
}

pub fn memory() -> CapRef {
    child_cap(child_slots::MEMORY)
}

pub fn console() -> CapRef {
    child_cap(child_slots::CONSOLE)
}

pub fn exit_ports() -> CapRef {
    child_cap(child_slots::EXIT_PORTS)
}

/// Threads in our own space and table, at the test priority.
pub fn own_thread_spec() -> ThreadSpec {
    ThreadSpec {
        memory: memory(),
        space: own_space(),
        table: own_table(),
        priority: PRIORITY,
    }
}

/// A quota split from ours, deleted (best effort) on drop.
pub struct Quota(pub CapRef);

impl Quota {
    pub fn new(pages: u64) -> Result<Quota, Error> {
        sys::memory_split(memory(), pages).map(Quota)
    }
}

impl Drop for Quota {
    fn drop(&mut self) {
        let _ = sys::cap_delete(self.0);
    }
}

/// Waits for `thread` to end; faults come with their address.
pub fn wait_end(thread: CapRef) -> Result<ThreadStatus, Error> {
    match sys::thread_wait(thread)?.status() {
        ThreadStatus::Faulted { .. } => Ok(sys::thread_info(thread)?.status()),
        other => Ok(other),
    }
}

/// `mov eax, ThreadExit; mov edi, code; syscall; jmp $`.
pub fn exit_with(code: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.push(0xb8);
    bytes.extend_from_slice(&(Syscall::ThreadExit as u32).to_le_bytes());
    bytes.push(0xbf);
    bytes.extend_from_slice(&code.to_le_bytes());
    bytes.extend_from_slice(&[0x0f, 0x05, 0xeb, 0xfe]);
    bytes
}

/// Where sandbox pieces live in the sandbox space.
pub const CODE_ADDR: u64 = 0x0100_0000;
pub const DATA_ADDR: u64 = 0x0200_0000;
pub const STACK_ADDR: u64 = 0x0300_0000;
/// Entry points in the sandbox code page.
pub const LOAD_ENTRY: u64 = CODE_ADDR;
pub const STORE_ENTRY: u64 = CODE_ADDR + 32;
pub const EXIT_ENTRY: u64 = CODE_ADDR + 64;
/// Quota of a sandbox, in pages.
const SANDBOX_PAGES: u64 = 64;

/// The sandbox code page: at [`LOAD_ENTRY`] read a byte at `rdi` and exit
/// 0; at [`STORE_ENTRY`] write 1 to `rdi` and exit [`SURVIVED`]; at
/// [`EXIT_ENTRY`] exit 0.
fn sandbox_code() -> Vec<u8> {
    let mut code = alloc::vec![0xcc; 96]; // int3 between the routines
    let load = [&[0x8a, 0x07][..], &exit_with(0)].concat(); // mov al, [rdi]
    let store = [&[0xc6, 0x07, 0x01][..], &exit_with(SURVIVED)].concat(); // mov byte [rdi], 1
    code[..load.len()].copy_from_slice(&load);
    code[32..32 + store.len()].copy_from_slice(&store);
    let exit = exit_with(0);
    code[64..64 + exit.len()].copy_from_slice(&exit);
    code
}

/// A fresh space with a code page (R+X), a data page holding an exit stub
/// (rights chosen by the test) and a stack page, paid from its own quota.
pub struct Sandbox {
    pub quota: Quota,
    pub space: CapRef,
    pub table: CapRef,
}

impl Sandbox {
    pub fn new(data_rights: Rights) -> Result<Sandbox, Error> {
        let quota = Quota::new(SANDBOX_PAGES)?;
        let space = sys::space_create(quota.0)?;
        let table = sys::table_create(quota.0, 8)?;
        let frames = sys::frames_alloc(quota.0, 3)?;
        let rw = Rights::READ | Rights::WRITE;
        fill_page(
            space,
            frames,
            0,
            CODE_ADDR,
            &sandbox_code(),
            Rights::READ | Rights::EXECUTE,
        )?;
        fill_page(
            space,
            frames,
            1,
            DATA_ADDR,
            &exit_with(SURVIVED),
            data_rights,
        )?;
        sys::space_map(space, frames, 2, 1, STACK_ADDR, rw)?;
        Ok(Sandbox {
            quota,
            space,
            table,
        })
    }

    /// Starts a thread at `entry` with `rdi = argument`.
    pub fn start(&self, entry: u64, argument: u64) -> Result<CapRef, Error> {
        let thread = sys::thread_create(self.quota.0, self.space, self.table, PRIORITY)?;
        sys::thread_set_entry(thread, entry, STACK_ADDR + PAGE_SIZE - 8, argument)?;
        sys::thread_start(thread)?;
        Ok(thread)
    }

    /// Runs a thread at `entry` to its end.
    pub fn run(&self, entry: u64, argument: u64) -> Result<ThreadStatus, Error> {
        let thread = self.start(entry, argument)?;
        let end = wait_end(thread);
        let _ = sys::cap_delete(thread);
        end
    }
}

/// Maps page `page` of `frames` at `address`, writes `bytes` into it while
/// it is writable (never executable), then gives it `rights`.
pub fn fill_page(
    space: CapRef,
    frames: CapRef,
    page: u64,
    address: u64,
    bytes: &[u8],
    rights: Rights,
) -> Result<(), Error> {
    let rw = Rights::READ | Rights::WRITE;
    sys::space_map(space, frames, page, 1, address, rw)?;
    sys::space_write(space, address, bytes)?;
    if rights != rw {
        sys::space_protect(space, address, 1, rights)?;
    }
    Ok(())
}

/// A page fault at `address`.
pub fn page_fault_at(address: u64) -> ThreadStatus {
    ThreadStatus::Faulted {
        vector: PAGE_FAULT,
        address,
    }
}

/// A started thread in a new read-only sandbox whose first instruction
/// stores to the read-only data page, so it faults at once; its faults go
/// to `handler` (an endpoint or a notification).
pub fn faulting_thread(handler: CapRef) -> Result<(Sandbox, CapRef), Error> {
    let sandbox = Sandbox::new(Rights::READ)?;
    let thread = sys::thread_create(sandbox.quota.0, sandbox.space, sandbox.table, PRIORITY)?;
    sys::thread_set_entry(thread, STORE_ENTRY, STACK_ADDR + PAGE_SIZE - 8, DATA_ADDR)?;
    bulkhead_rt::sys::ipc::set_fault_handler(thread, Some(handler))?;
    sys::thread_start(thread)?;
    Ok((sandbox, thread))
}
