//! Reading what a program's creator left for it at start: the root info
//! page (root server) or the start info page (children). Both are mapped
//! read-only by whoever started us and never written again; the start
//! argument must equal the agreed address, so a program started without a
//! page gets `None` instead of touching memory that is not there. Each is
//! copied out once, so no reference into the page is kept. A child keeps
//! its start info in a global ([`init_child`]) so any code can name its
//! capabilities with [`child_cap`].

use bulkhead_abi::root_info::{RootInfo, ROOT_INFO_ADDR, ROOT_INFO_MAGIC};
use bulkhead_abi::CapRef;

use spin::Once;

use crate::child::{StartInfo, START_INFO_ADDR, START_INFO_SIZE};

static CHILD_START: Once<StartInfo> = Once::new();

/// Reads the start info page (see [`start_info`]) and keeps it for
/// [`child_cap`] and [`child_filter`].
pub fn init_child(argument: u64) -> Option<&'static StartInfo> {
    let info = start_info(argument)?;
    Some(CHILD_START.call_once(|| info))
}

/// The usual start of a child program: reads the start info page, sets up
/// the console, and starts a heap of `heap_pages` pages (growing on
/// demand) paid from the child's quota. On failure it says why, naming
/// `program`, and returns `None` (the program should then exit with 2).
pub fn start_child(argument: u64, program: &str, heap_pages: u64) -> Option<&'static StartInfo> {
    let start = init_child(argument);
    crate::init_console(child_cap(crate::child_slots::CONSOLE));
    let Some(start) = start else {
        crate::println!("{program}: no start info page at {argument:#x}");
        return None;
    };
    let memory = child_cap(crate::child_slots::MEMORY);
    let space = child_cap(crate::child_slots::SELF_SPACE);
    if let Err(error) = crate::heap::init(memory, space, crate::heap::DEFAULT_HEAP_BASE, heap_pages)
    {
        crate::println!("{program}: cannot start the heap: {error}");
        return None;
    }
    Some(start)
}

/// This child's capability in `slot` of [`crate::child_slots`]: from the
/// start info page if [`init_child`] read one, else the slot at
/// generation 0 (where a fresh table puts it).
pub fn child_cap(slot: u32) -> CapRef {
    match CHILD_START.get() {
        Some(info) => info.cap(slot),
        None => CapRef::new(slot, 0),
    }
}

/// The test filter the start info page carried.
pub fn child_filter() -> Option<&'static str> {
    CHILD_START.get()?.filter()
}

/// The root server's capability in `slot` of `bulkhead_abi::root_slots`
/// (the kernel fills them at generation 0).
pub fn root_cap(slot: u32) -> CapRef {
    CapRef::new(slot, 0)
}

/// The root info page, when `argument` is its address and it is valid.
pub fn root_info(argument: u64) -> Option<RootInfo> {
    if argument != ROOT_INFO_ADDR {
        return None;
    }
    // SAFETY: the kernel maps a readable page holding a `RootInfo` at
    // `ROOT_INFO_ADDR` before starting the root server and never changes
    // it; `RootInfo` is plain integers and byte arrays, valid for any bits.
    let info = unsafe { core::ptr::read_volatile(ROOT_INFO_ADDR as *const RootInfo) };
    (info.magic == ROOT_INFO_MAGIC).then_some(info)
}

/// The start info page, when `argument` is its address and it is valid.
pub fn start_info(argument: u64) -> Option<StartInfo> {
    if argument != START_INFO_ADDR {
        return None;
    }
    let mut bytes = [0u8; START_INFO_SIZE];
    let page = START_INFO_ADDR as *const u8;
    for (i, byte) in bytes.iter_mut().enumerate() {
        // SAFETY: by the child convention the loader maps a readable start
        // info page of at least START_INFO_SIZE bytes at START_INFO_ADDR.
        *byte = unsafe { page.add(i).read_volatile() };
    }
    StartInfo::decode(&bytes)
}
