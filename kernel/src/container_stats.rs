//! `STATS`: what a container's syscalls cost and can reach, for the
//! benchmarks (`bulkhead_abi::container::SyscallStats`).
//!
//! The kernel answers it for a member of any container, before the call
//! would be forwarded or served, so every mode reports the same way. The
//! attack surface is counted in 4 KiB pages of what the syscall code can
//! touch while it runs:
//!
//! ```text
//!  direct      every page the kernel half maps (image, heap, stacks and
//!              the window onto all of RAM)
//!  sci         the restricted table's pages: the base set plus what the
//!              syscalls faulted in (and kept, in sci-sticky)
//!  ipc         the syscall server's own pages, plus the kernel pages of
//!              the IPC fast path it goes through (its functions' pages)
//! ```

use crate::arch::x86_64::trap_entry::TrapFrame;
use crate::object::{ObjRef, Object, KERNEL};
use crate::personality::MemberLink;
use crate::sched::thread::LinuxLink;
use crate::usercopy::{copy_to_user, USlice};
use bulkhead_abi::container::{Mode, SyscallStats};
use bulkhead_abi::PAGE_SIZE;
use spin::Once;

/// `EFAULT`, for a bad pointer.
const EFAULT: i64 = 14;

/// Serves `STATS` for the current thread (a member with `link`).
pub fn serve(frame: &mut TrapFrame, link: LinuxLink) {
    let (cr3_writes, flushing) = crate::mm::pcid::counters();
    let mut stats = SyscallStats {
        cr3_writes,
        flushing_cr3_writes: flushing,
        ..SyscallStats::default()
    };
    match link.kernel {
        Some(member) => in_kernel(&mut stats, member),
        None => {
            stats.mode = Mode::Ipc as u64;
            stats.syscalls = link.calls;
            stats.surface_pages = server_pages(link.endpoint) + ipc_path_pages();
        }
    }
    let bytes = as_bytes(&stats);
    frame.rax =
        match USlice::new(frame.rdi, bytes.len() as u64).and_then(|dst| copy_to_user(dst, bytes)) {
            Ok(()) => 0,
            Err(_) => (-EFAULT) as u64,
        };
}

fn as_bytes(stats: &SyscallStats) -> &[u8] {
    // SAFETY: `SyscallStats` is `repr(C)` plain data (u64 fields only).
    unsafe {
        core::slice::from_raw_parts(
            (stats as *const SyscallStats).cast::<u8>(),
            core::mem::size_of::<SyscallStats>(),
        )
    }
}

fn in_kernel(stats: &mut SyscallStats, member: MemberLink) {
    // SAFETY: the state outlives the member (see `personality`).
    stats.syscalls = unsafe { (*member.state).stats.syscalls };
    match member.sci {
        Some((iso, _)) => {
            // SAFETY: as for the state.
            let iso = unsafe { &*iso };
            let s = iso.stats;
            stats.mode = if iso.sticky() {
                Mode::SciSticky
            } else {
                Mode::Sci
            } as u64;
            stats.page_faults = s.faults;
            stats.pages_mapped = s.pages_mapped;
            stats.traps = s.traps;
            stats.surface_sum = s.surface_pages;
            stats.surface_pages = iso.mapped_pages() as u64;
        }
        None => {
            stats.mode = Mode::Direct as u64;
            stats.surface_pages = kernel_pages();
        }
    }
}

/// Pages the kernel half maps (counted once: it changes little).
fn kernel_pages() -> u64 {
    static PAGES: Once<u64> = Once::new();
    *PAGES.call_once(|| {
        let mut pages = 0;
        crate::mm::paging::for_each_kernel_mapping(|_, size, _| pages += size / PAGE_SIZE);
        pages
    })
}

/// Pages of the kernel functions on the IPC fast path (the syscall entry
/// and exit, and `ipc_fast`), from the symbol table.
fn ipc_path_pages() -> u64 {
    static PAGES: Once<u64> = Once::new();
    *PAGES.call_once(|| {
        let Some(table) = crate::symbols::table() else {
            return 0;
        };
        let mut pages = alloc::collections::BTreeSet::new();
        for s in table.iter() {
            let name = alloc::format!("{}", s.demangled());
            let on_path = name.starts_with("bulkhead_kernel::ipc_fast::")
                || name.starts_with("bulkhead_kernel::arch::x86_64::syscall_entry::")
                || name == "syscall_entry";
            if on_path {
                let mut page = s.start & !(PAGE_SIZE - 1);
                while page < s.end() {
                    pages.insert(page);
                    page += PAGE_SIZE;
                }
            }
        }
        pages.len() as u64
    })
}

/// Pages mapped in the space of the thread waiting to receive on the
/// container's endpoint (its syscall server), 0 if none waits.
fn server_pages(endpoint: ObjRef) -> u64 {
    let k = KERNEL.lock();
    let Some(Object::Endpoint(ep)) = k.get(endpoint) else {
        return 0;
    };
    let Some(server) = ep.receivers.front().map(|w| w.thread) else {
        return 0;
    };
    let Some(space) = k.threads.get(&server).map(|c| c.space) else {
        return 0;
    };
    match k.get(space) {
        Some(Object::Space(s)) => s.mapped_pages(),
        _ => 0,
    }
}
