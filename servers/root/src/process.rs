//! Starting a child program with capabilities only.
//!
//! [`launch`] gives the child its own memory quota (split from the root
//! quota), a new address space and capability table paid from that quota,
//! loads the module's ELF image (mapped read-only into the root server
//! for reading, see [`crate::loader`]), maps a stack, fills the table in
//! the order of `child_slots` (own table, own space, own thread, memory,
//! console, exit ports), writes a start info page holding those handles
//! and the test filter, maps an empty report page after it, and starts the
//! thread with `rdi` pointing at the start info page. The child can reach
//! nothing it was not given.

use bulkhead_rt::abi::root_info::ModuleInfo;
use bulkhead_rt::abi::{root_slots, CapRef, Error, Rights, PAGE_SIZE};
use bulkhead_rt::boot::root_cap;
use bulkhead_rt::child::{
    child_slots, StartInfo, TestReport, CONFIG_ADDR, EXTRA_CAPS, MAX_CONFIG_LEN, REPORT_ADDR,
    REPORT_SIZE, START_INFO_ADDR,
};
use bulkhead_rt::mem::ReadOnlyMapping;
use bulkhead_rt::sys::{self, ThreadStatus};
use bulkhead_rt::thread::DEFAULT_PRIORITY;

use crate::loader::{self, at, map_fresh, LoadError, Target};

/// Largest quota given to a child, in pages (32 MiB).
pub const CHILD_QUOTA_PAGES: u64 = 8192;
/// Smallest quota worth starting a child with.
pub const MIN_CHILD_QUOTA_PAGES: u64 = 256;
/// Where module images are mapped in the root server for reading.
pub const MODULE_WINDOW: u64 = 0x0000_2000_0000_0000;
/// Top of a child's stack (the stack grows down from here).
pub const STACK_TOP: u64 = 0x0000_7fff_0000_0000;
/// Stack size of a child's first thread, in pages (64 KiB).
pub const STACK_PAGES: u64 = 16;
/// Slots in a child's capability table.
pub const CHILD_TABLE_SLOTS: u32 = 256;

/// A started child program.
pub struct Child {
    pub thread: CapRef,
    pub table: CapRef,
    pub space: CapRef,
    /// The quota it was given (deleting it returns what is left of it).
    pub memory: CapRef,
    pub entry: u64,
    /// Its own handles of what it was given, in `child_slots` order.
    pub handles: [CapRef; child_slots::COUNT],
    /// Its handles of the extra capabilities (`StartInfo::extra`).
    pub extra: [CapRef; EXTRA_CAPS],
}

impl Child {
    /// Blocks until the child's first thread exits or faults.
    pub fn wait(&self) -> Result<ThreadStatus, Error> {
        match sys::thread_wait(self.thread)?.status() {
            ThreadStatus::Faulted { .. } => Ok(sys::thread_info(self.thread)?.status()),
            other => Ok(other),
        }
    }

    /// Deletes the root server's capabilities to the child (its thread,
    /// table, space and quota), which ends it if it still runs and returns
    /// its memory. The child's own copies of them (the `child_slots`) are
    /// revoked first: its table holds a capability to itself, a cycle that
    /// would otherwise keep everything alive.
    pub fn release(self) {
        for cap in [self.thread, self.table, self.space, self.memory] {
            let _ = sys::cap_revoke(cap);
            let _ = sys::cap_delete(cap);
        }
    }

    /// The test counts the child left in its report page, if any.
    pub fn report(&self) -> Option<TestReport> {
        let mut bytes = [0u8; REPORT_SIZE];
        sys::space_read(self.space, REPORT_ADDR, &mut bytes).ok()?;
        TestReport::decode(&bytes)
    }
}

/// What a child is started with beyond the `child_slots` convention.
#[derive(Clone, Copy, Debug, Default)]
pub struct Launch<'a> {
    /// The test filter or option string in the start info.
    pub filter: Option<&'a str>,
    /// Its quota in pages (default: [`child_quota_pages`]).
    pub quota_pages: Option<u64>,
    /// Root capabilities copied into the child's table after the
    /// `child_slots` ones; the child finds its handles in `StartInfo::extra`.
    pub extra: [Option<(CapRef, Rights)>; EXTRA_CAPS],
    /// Configuration text mapped read-only at `CONFIG_ADDR`.
    pub config: &'a [u8],
    /// Its thread's priority (default: `DEFAULT_PRIORITY`).
    pub priority: Option<u64>,
    /// Slots of its capability table (default: [`CHILD_TABLE_SLOTS`]).
    pub table_slots: Option<u32>,
}

/// Starts `module` as a child process (see the module docs).
pub fn launch(module: &ModuleInfo, filter: Option<&str>) -> Result<Child, LoadError> {
    launch_with(
        module,
        &Launch {
            filter,
            ..Launch::default()
        },
    )
}

/// Starts `module` as a child process with `options`. On failure every
/// capability made for the child is deleted again, so its quota returns.
pub fn launch_with(module: &ModuleInfo, options: &Launch) -> Result<Child, LoadError> {
    let pages = match options.quota_pages {
        Some(pages) => pages,
        None => child_quota_pages()?,
    };
    let memory =
        sys::memory_split(root_cap(root_slots::MEMORY), pages).map_err(at("split quota"))?;
    let mut made = alloc::vec![memory];
    let result = sys::space_create(memory)
        .map_err(at("create space"))
        .and_then(|space| {
            made.push(space);
            build(module, options, &Target { memory, space }, &mut made)
        });
    if result.is_err() {
        for cap in made.into_iter().rev() {
            let _ = sys::cap_delete(cap);
        }
    }
    result
}

/// Loads, fills and starts the child in `target`, recording in `made`
/// every capability it creates in our table.
fn build(
    module: &ModuleInfo,
    options: &Launch,
    target: &Target,
    made: &mut alloc::vec::Vec<CapRef>,
) -> Result<Child, LoadError> {
    let entry = load_module(module, target)?;
    map_stack(target)?;
    let priority = options.priority.unwrap_or(DEFAULT_PRIORITY);
    let slots = options.table_slots.unwrap_or(CHILD_TABLE_SLOTS);
    let table = fill_table(target, priority, slots, made)?;
    let mut info = StartInfo::new(table.child_view, options.filter);
    info.extra = give_extra(table.table, &options.extra)?;
    info.config_len = write_config(target, options.config)?;
    write_start_info(target, &info)?;
    map_report_page(target)?;
    sys::thread_set_entry(table.thread, entry, STACK_TOP, START_INFO_ADDR)
        .map_err(at("set entry"))?;
    sys::thread_start(table.thread).map_err(at("start thread"))?;
    Ok(Child {
        thread: table.thread,
        table: table.table,
        space: target.space,
        memory: target.memory,
        entry,
        handles: table.child_view,
        extra: info.extra,
    })
}

/// Copies the extra capabilities into the child's table.
fn give_extra(
    table: CapRef,
    extra: &[Option<(CapRef, Rights)>; EXTRA_CAPS],
) -> Result<[CapRef; EXTRA_CAPS], LoadError> {
    let mut handles = [CapRef::NULL; EXTRA_CAPS];
    for (handle, cap) in handles.iter_mut().zip(extra) {
        if let Some((cap, rights)) = cap {
            *handle = sys::cap_copy(*cap, Some(table), *rights).map_err(at("give extra cap"))?;
        }
    }
    Ok(handles)
}

/// Maps `config` read-only at [`CONFIG_ADDR`]; returns its length.
fn write_config(target: &Target, config: &[u8]) -> Result<u64, LoadError> {
    if config.is_empty() {
        return Ok(0);
    }
    let len = config.len() as u64;
    if len > MAX_CONFIG_LEN {
        return Err(LoadError::Sys {
            step: "size config",
            error: Error::InvalidArgument,
        });
    }
    let pages = len.div_ceil(PAGE_SIZE);
    let rw = Rights::READ | Rights::WRITE;
    map_fresh(target, CONFIG_ADDR, pages, rw, "map config")?;
    sys::space_write(target.space, CONFIG_ADDR, config).map_err(at("write config"))?;
    sys::space_protect(target.space, CONFIG_ADDR, pages, Rights::READ)
        .map_err(at("protect config"))?;
    Ok(len)
}

/// How many pages the child gets: [`CHILD_QUOTA_PAGES`] or three quarters
/// of what is left, whichever is smaller.
fn child_quota_pages() -> Result<u64, LoadError> {
    let info = sys::memory_info(root_cap(root_slots::MEMORY)).map_err(at("read quota"))?;
    let pages = CHILD_QUOTA_PAGES.min(info.free() / 4 * 3);
    if pages < MIN_CHILD_QUOTA_PAGES {
        return Err(LoadError::Sys {
            step: "size quota",
            error: Error::QuotaExhausted,
        });
    }
    Ok(pages)
}

/// Maps the module read-only into our space just long enough to load it.
fn load_module(module: &ModuleInfo, target: &Target) -> Result<u64, LoadError> {
    let frames = root_cap(module.slot);
    let own_space = root_cap(root_slots::SELF_SPACE);
    let size = usize::try_from(module.size).map_err(|_| LoadError::Sys {
        step: "module size",
        error: Error::InvalidArgument,
    })?;
    let image =
        ReadOnlyMapping::new(own_space, frames, MODULE_WINDOW, size).map_err(at("map module"))?;
    loader::load(image.bytes(), target)
}

/// Maps [`STACK_PAGES`] zeroed pages read-write just below [`STACK_TOP`].
fn map_stack(target: &Target) -> Result<(), LoadError> {
    let bottom = STACK_TOP - STACK_PAGES * PAGE_SIZE;
    let rights = Rights::READ | Rights::WRITE;
    map_fresh(target, bottom, STACK_PAGES, rights, "map stack")
}

/// The child's filled capability table.
struct FilledTable {
    /// The handles as the child sees them, in `child_slots` order.
    child_view: [CapRef; child_slots::COUNT],
    /// The root server's handles of the child's table and thread.
    table: CapRef,
    thread: CapRef,
}

/// Creates the child's table and thread and copies the child's
/// capabilities into the table in `child_slots` order.
fn fill_table(
    target: &Target,
    priority: u64,
    slots: u32,
    made: &mut alloc::vec::Vec<CapRef>,
) -> Result<FilledTable, LoadError> {
    let table = sys::table_create(target.memory, slots).map_err(at("create table"))?;
    made.push(table);
    let give = |cap: CapRef| sys::cap_copy(cap, Some(table), Rights::ALL);
    let own_table = give(table).map_err(at("give table"))?;
    let own_space = give(target.space).map_err(at("give space"))?;
    let thread = sys::thread_create(target.memory, target.space, table, priority)
        .map_err(at("create thread"))?;
    made.push(thread);
    let own_thread = give(thread).map_err(at("give thread"))?;
    let memory = give(target.memory).map_err(at("give memory"))?;
    let console = give(root_cap(root_slots::CONSOLE)).map_err(at("give console"))?;
    let exit_ports = give(root_cap(root_slots::EXIT_PORTS)).map_err(at("give exit ports"))?;
    Ok(FilledTable {
        child_view: [
            own_table, own_space, own_thread, memory, console, exit_ports,
        ],
        table,
        thread,
    })
}

/// Writes the start info page and maps it read-only at [`START_INFO_ADDR`].
fn write_start_info(target: &Target, info: &StartInfo) -> Result<(), LoadError> {
    let space = target.space;
    let rw = Rights::READ | Rights::WRITE;
    map_fresh(target, START_INFO_ADDR, 1, rw, "map start info")?;
    sys::space_write(space, START_INFO_ADDR, &info.encode()).map_err(at("write start info"))?;
    sys::space_protect(space, START_INFO_ADDR, 1, Rights::READ).map_err(at("protect start info"))
}

/// Maps a zeroed read-write page at [`REPORT_ADDR`] for the child's report.
fn map_report_page(target: &Target) -> Result<(), LoadError> {
    let rights = Rights::READ | Rights::WRITE;
    map_fresh(target, REPORT_ADDR, 1, rights, "map report page")
}
