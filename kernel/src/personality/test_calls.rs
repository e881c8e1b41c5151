//! Test and demo builds only (the `exploit-demos` feature: `make test` and
//! `make run`, never `make bench`): deliberate bugs in the kernel's syscall
//! code, for the exploit demonstrations (`user/linux/src/exploit.c`,
//! `docs/sci.md`). They run inside the personality's part of the syscall,
//! so under SCI on the restricted page table, exactly where a real bug in
//! the personality would run:
//!
//! ```text
//!  JUMP(addr)     calls addr, as a corrupted return address or function
//!                 pointer would           direct: the code runs
//!                                         sci: a mid-function fetch -> stopped
//!  PEEK(addr)     reads 8 bytes at addr, a stray pointer
//!                                         direct: reads anything
//!                                         sci: another container's data -> stopped
//!  SYMBOL(name)   a kernel symbol's address (a kallsyms leak)
//!  PEER_DATA      the address of another in-kernel container's state
//! ```
//!
//! The `ipc` syscall server has the same JUMP and PEEK bugs
//! (`servers/linux`), where they reach only the server's own memory.

use super::backend::KernelBackend;
use bulkhead_abi::container::test_calls::{JUMP, PEEK, PEER_DATA, SYMBOL};
use bulkhead_linux::Backend;
use spin::Mutex;

const ENOENT: i64 = 2;
const EINVAL: i64 = 22;
const EFAULT: i64 = 14;

/// The arenas of live in-kernel containers (start addresses).
static ARENAS: Mutex<alloc::vec::Vec<u64>> = Mutex::new(alloc::vec::Vec::new());

/// Notes a new container's arena.
pub fn register(arena: u64) {
    ARENAS.lock().push(arena);
}

/// Forgets a destroyed container's arena.
pub fn unregister(arena: u64) {
    ARENAS.lock().retain(|&a| a != arena);
}

/// Serves a test call of the container whose arena starts at `own`;
/// `None` for any other number.
pub fn serve(nr: u64, args: [u64; 6], own: u64, backend: &mut KernelBackend) -> Option<i64> {
    match nr {
        JUMP => Some(jump(args[0])),
        PEEK => Some(peek(args[0])),
        SYMBOL => Some(symbol(args[0], args[1], backend)),
        PEER_DATA => Some(super::serve::kernel_service(|| {
            let arenas = ARENAS.lock();
            arenas
                .iter()
                .copied()
                .find(|&a| a != own)
                .map_or(-ENOENT, |a| a as i64)
        })),
        _ => None,
    }
}

/// The control-flow bug: calls whatever address the app gave.
#[inline(never)]
fn jump(addr: u64) -> i64 {
    if addr == 0 {
        return -EINVAL;
    }
    // SAFETY: none; this is the deliberate bug being demonstrated (test
    // and demo builds only). A bad address faults, which stops the thread.
    let target: extern "C" fn() -> u64 = unsafe { core::mem::transmute(addr as usize) };
    target() as i64
}

/// The stray-pointer bug: reads 8 bytes wherever the app said.
#[inline(never)]
fn peek(addr: u64) -> i64 {
    if addr == 0 || !addr.is_multiple_of(8) {
        return -EINVAL;
    }
    // SAFETY: none; the deliberate bug (test and demo builds only). An unmapped
    // address faults, which stops the thread.
    unsafe { core::ptr::read_volatile(addr as *const u64) as i64 }
}

/// A kernel symbol's address, by name (at most 128 bytes).
fn symbol(name: u64, len: u64, backend: &mut KernelBackend) -> i64 {
    let mut buf = [0u8; 128];
    let Some(bytes) = usize::try_from(len).ok().and_then(|n| buf.get_mut(..n)) else {
        return -EINVAL;
    };
    if backend.read_user(name, bytes).is_err() {
        return -EFAULT;
    }
    let Ok(name) = core::str::from_utf8(bytes) else {
        return -EINVAL;
    };
    super::serve::kernel_service(|| crate::symbols::address_of(name)).map_or(-ENOENT, |a| a as i64)
}
