//! Starting the root server: the one user program the kernel starts itself.
//!
//! The kernel finds the boot module named `root`, loads its ELF into a new
//! address space (each PT_LOAD segment into fresh frames, mapped with the
//! segment's rights; W^X holds because a writable and executable segment is
//! refused), gives it a stack, a read-only [`RootInfo`] page, and a
//! capability table holding, in the fixed `root_slots`:
//!
//! ```text
//!  0 its own table   1 its own space   2 its own thread   3 all free memory
//!  4 the console     5 ports 0xf4..0xf8 (isa-debug-exit)  6 port 0x8900 (Bochs)
//!  8.. every boot module, read-only
//! ```
//!
//! Everything after that is the root server's business: it starts further
//! programs from the modules using only those capabilities.

use crate::boot::BootInfo;
use crate::object::frames::Frames;
use crate::object::memory::Memory;
use crate::object::{space, Kernel, ObjRef, Object, ThreadContext, KERNEL};
use crate::sched::{self, ThreadId};
use bulkhead_abi::root_info::{
    RootInfo, MAX_ROOT_MODULES, MODULE_NAME_LEN, ROOT_INFO_ADDR, ROOT_INFO_MAGIC,
};
use bulkhead_abi::{root_slots, Error, Rights, PAGE_SIZE};
use bulkhead_elf::ElfFile;

/// Root server stack: 64 KiB ending here.
const STACK_TOP: u64 = 0x0000_7fff_e000_0000;
const STACK_PAGES: u64 = 16;
/// Pages the kernel keeps back from the root quota for its own needs
/// (kernel stacks and heap-backed bookkeeping of early objects).
const KERNEL_RESERVE_PAGES: u64 = 1024;
const ROOT_PRIORITY: u8 = 16;
/// Slots of the root server's table: one per 64 pages of free memory
/// (a container holds about six root capabilities and needs far more
/// than 64 pages), between these bounds. 2 GiB gives room for a thousand
/// containers; a small machine does not spend a large contiguous block of
/// its heap on slots it cannot use.
const ROOT_TABLE_SLOTS: (u32, u32) = (1024, 8192);
const PAGES_PER_ROOT_SLOT: u64 = 64;

/// The root table's size for `pages` of free memory.
fn root_table_slots(pages: u64) -> u32 {
    let (least, most) = ROOT_TABLE_SLOTS;
    u32::try_from(pages / PAGES_PER_ROOT_SLOT).map_or(most, |n| n.clamp(least, most))
}

/// Why the root server could not be started.
#[derive(Debug)]
pub enum StartError {
    NoModule,
    BadElf(bulkhead_elf::ElfError),
    WriteAndExecuteSegment,
    /// The entry point is not a user address.
    EntryOutsideUserSpace(u64),
    Kernel(Error),
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StartError::NoModule => f.write_str("no boot module named 'root'"),
            StartError::BadElf(e) => write!(f, "the root module is not a usable ELF: {e}"),
            StartError::WriteAndExecuteSegment => {
                f.write_str("the root ELF has a writable and executable segment")
            }
            StartError::EntryOutsideUserSpace(entry) => {
                write!(
                    f,
                    "the root ELF's entry point {entry:#x} is not in user space"
                )
            }
            StartError::Kernel(e) => write!(f, "{e}"),
        }
    }
}

impl From<Error> for StartError {
    fn from(e: Error) -> Self {
        StartError::Kernel(e)
    }
}

/// Test-run results to hand to the root server.
#[derive(Clone, Copy, Debug, Default)]
pub struct TestRun {
    pub passed: u64,
    pub failed: u64,
}

/// Loads and starts the root server; returns its thread.
pub fn start(boot: &BootInfo, test_run: Option<TestRun>) -> Result<ThreadId, StartError> {
    let module = boot.module("root").ok_or(StartError::NoModule)?;
    // SAFETY: module memory is reserved for the life of the kernel.
    let image = unsafe {
        core::slice::from_raw_parts(crate::mm::phys_to_virt(module.phys), module.len as usize)
    };
    let elf = ElfFile::parse(image).map_err(StartError::BadElf)?;
    let mut k = KERNEL.lock();
    let k = &mut *k;
    let free = crate::mm::frames::stats();
    let pages = (free.total_frames - free.used_frames).saturating_sub(KERNEL_RESERVE_PAGES);
    let quota = k.insert(
        Object::Memory(Memory {
            limit: pages,
            used: 0,
        }),
        None,
    );
    let space = space::create(k, Some(quota))?;
    let to = Target { space, quota };
    load_segments(k, &elf, to)?;
    let stack_bottom = STACK_TOP - STACK_PAGES * PAGE_SIZE;
    map_new(
        k,
        to,
        stack_bottom,
        STACK_PAGES,
        Rights::READ | Rights::WRITE,
        &[],
        0,
    )?;
    let mut info = root_info(boot, test_run);
    info.memory_pages = pages;
    // SAFETY: RootInfo is plain old data; viewing it as bytes is sound.
    let info_bytes = unsafe {
        core::slice::from_raw_parts(
            (&*info as *const RootInfo).cast::<u8>(),
            core::mem::size_of::<RootInfo>(),
        )
    };
    map_new(k, to, ROOT_INFO_ADDR, 1, Rights::READ, info_bytes, 0)?;
    let table = k
        .caps
        .create_table(root_table_slots(pages))
        .map_err(crate::object::cap_error)?;
    let table_obj = k.insert(Object::Table(table), None);
    let Some(Object::Space(s)) = k.get(space) else {
        return Err(StartError::Kernel(Error::WrongType));
    };
    let id =
        sched::create_user("root", s.space.cr3(), ROOT_PRIORITY).map_err(|_| Error::OutOfMemory)?;
    let thread = k.insert(Object::Thread(id), None);
    k.hold(thread, space);
    k.hold(thread, table_obj);
    k.threads.insert(
        id,
        ThreadContext {
            table,
            space,
            fault_handler: None,
        },
    );
    grant_slots(k, table, [table_obj, space, thread, quota])?;
    grant_modules(k, boot, table)?;
    let entry = elf.header().entry;
    // Every saved user RIP must be canonical (`bulkhead_abi::USER_END`).
    if !(bulkhead_abi::USER_START..bulkhead_abi::USER_END).contains(&entry) {
        return Err(StartError::EntryOutsideUserSpace(entry));
    }
    sched::with_thread(id, |t| {
        let f = t.user_frame();
        f.rip = entry;
        f.rsp = STACK_TOP;
        f.rdi = ROOT_INFO_ADDR;
    });
    sched::start(id).map_err(|_| Error::BadState)?;
    log::info!(
        "root: started the root server ({} bytes, entry {entry:#x}), {pages} pages of memory",
        module.len
    );
    Ok(id)
}

/// Loads every PT_LOAD segment of `elf` into fresh frames in the target.
fn load_segments(k: &mut Kernel, elf: &ElfFile, to: Target) -> Result<(), StartError> {
    for segment in elf.load_segments() {
        let segment = segment.map_err(StartError::BadElf)?;
        let range = segment.vaddr_range();
        let flags = segment.flags();
        let mut rights = Rights::READ;
        if flags.writable() {
            rights |= Rights::WRITE;
        }
        if flags.executable() {
            rights |= Rights::EXECUTE;
        }
        if rights.contains(Rights::WRITE | Rights::EXECUTE) {
            return Err(StartError::WriteAndExecuteSegment);
        }
        let first = range.start & !(PAGE_SIZE - 1);
        let pages = (range.end - first).div_ceil(PAGE_SIZE);
        let offset = range.start - first;
        map_new(k, to, first, pages, rights, segment.file_bytes(), offset)?;
    }
    Ok(())
}

/// Where new pages go: an address space and the quota that pays for them.
#[derive(Clone, Copy)]
struct Target {
    space: ObjRef,
    quota: ObjRef,
}

/// Allocates `pages` frames charged to the target's quota, copies `bytes`
/// into them starting `offset` bytes in, and maps them at `vaddr` with
/// `rights`.
fn map_new(
    k: &mut Kernel,
    to: Target,
    vaddr: u64,
    pages: u64,
    rights: Rights,
    bytes: &[u8],
    offset: u64,
) -> Result<(), Error> {
    let Target { space, quota } = to;
    crate::object::memory::charge(k, quota, pages)?;
    let frames =
        Frames::alloc(pages).inspect_err(|_| crate::object::memory::uncharge(k, quota, pages))?;
    let mut copied = 0;
    while copied < bytes.len() {
        let at = offset + copied as u64;
        let n = ((PAGE_SIZE - at % PAGE_SIZE) as usize).min(bytes.len() - copied);
        let Some(phys) = frames.page(at / PAGE_SIZE) else {
            break;
        };
        // SAFETY: a fresh frame of ours, reached through the window; `n`
        // bytes stay within its page.
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes[copied..].as_ptr(),
                crate::mm::phys_to_virt(phys + at % PAGE_SIZE),
                n,
            )
        };
        copied += n;
    }
    let f = k.insert(Object::Frames(frames), Some((quota, pages)));
    k.add_ref(quota);
    k.add_ref(f);
    let result = space::map(k, space, f, Rights::ALL, 0, pages, vaddr, rights);
    k.release(f);
    result
}

fn root_info(boot: &BootInfo, test_run: Option<TestRun>) -> alloc::boxed::Box<RootInfo> {
    let mut info = alloc::boxed::Box::new(RootInfo {
        magic: ROOT_INFO_MAGIC,
        memory_pages: 0,
        module_count: 0,
        modules: [bulkhead_abi::root_info::ModuleInfo {
            name: [0; MODULE_NAME_LEN],
            name_len: 0,
            slot: 0,
            size: 0,
        }; MAX_ROOT_MODULES],
        cmdline_len: 0,
        cmdline: [0; bulkhead_abi::root_info::CMDLINE_LEN],
        kernel_tests_passed: test_run.map_or(0, |t| t.passed),
        kernel_tests_failed: test_run.map_or(0, |t| t.failed),
        test_run: u64::from(test_run.is_some()),
    });
    for (i, module) in boot.modules().take(MAX_ROOT_MODULES).enumerate() {
        let m = &mut info.modules[i];
        let name = module.name.as_bytes();
        let n = name.len().min(MODULE_NAME_LEN);
        m.name[..n].copy_from_slice(&name[..n]);
        m.name_len = n as u32;
        m.slot = root_slots::FIRST_MODULE + i as u32;
        m.size = module.len;
        info.module_count += 1;
    }
    let line = boot.cmdline.as_bytes();
    let n = line.len().min(info.cmdline.len());
    info.cmdline[..n].copy_from_slice(&line[..n]);
    info.cmdline_len = n as u64;
    info
}

/// Fills the fixed slots: own table, space, thread, memory, console, ports.
fn grant_slots(
    k: &mut Kernel,
    table: bulkhead_captable::TableId,
    own: [ObjRef; 4],
) -> Result<(), Error> {
    let [table_obj, space, thread, quota] = own;
    let console = k.insert(Object::Console, None);
    let qemu_exit = k.insert(
        Object::IoPort {
            first: crate::exit::QEMU_EXIT_PORT,
            count: 4,
        },
        None,
    );
    let bochs = k.insert(
        Object::IoPort {
            first: crate::exit::BOCHS_SHUTDOWN_PORT,
            count: 1,
        },
        None,
    );
    for (slot, object) in [
        (root_slots::SELF_TABLE, table_obj),
        (root_slots::SELF_SPACE, space),
        (root_slots::SELF_THREAD, thread),
        (root_slots::MEMORY, quota),
        (root_slots::CONSOLE, console),
        (root_slots::EXIT_PORTS, qemu_exit),
        (root_slots::BOCHS_PORT, bochs),
    ] {
        let rights = Rights::ALL - Rights::EXECUTE;
        k.grant_root_at(table, slot, object, rights)?;
    }
    Ok(())
}

/// Puts each boot module in the root table as read-only Frames.
fn grant_modules(
    k: &mut Kernel,
    boot: &BootInfo,
    table: bulkhead_captable::TableId,
) -> Result<(), Error> {
    for (i, module) in boot.modules().take(MAX_ROOT_MODULES).enumerate() {
        let frames = Frames::borrowed(module.phys, module.len)?;
        let object = k.insert(Object::Frames(frames), None);
        let rights = Rights::READ | Rights::COPY | Rights::GRANT;
        k.grant_root_at(table, root_slots::FIRST_MODULE + i as u32, object, rights)?;
    }
    Ok(())
}
