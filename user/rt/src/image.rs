//! The program's own loaded image, and copying it into another address
//! space.
//!
//! A native program is linked at a fixed address (`user/user.ld`) with one
//! page-aligned segment per permission set; the linker script marks the
//! boundaries (`__image_start`, `__text_end`, `__rodata_end`,
//! `__image_end`). [`clone_into`] maps fresh frames at the same addresses
//! in another address space and fills them with this image (data and bss
//! as they are now), so a thread started there can run any function of the
//! program that needs no heap and no capability it was not given: this is
//! how a benchmark puts an IPC server in a second address space.

use bulkhead_abi::{CapRef, Error, Rights, PAGE_SIZE};

use crate::sys;

extern "C" {
    static __image_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
    static __image_end: u8;
}

/// The image's segments: (start, end, rights), page-aligned.
pub fn segments() -> [(u64, u64, Rights); 3] {
    let start = core::ptr::addr_of!(__image_start) as u64;
    let text_end = core::ptr::addr_of!(__text_end) as u64;
    let rodata_end = core::ptr::addr_of!(__rodata_end) as u64;
    let end = core::ptr::addr_of!(__image_end) as u64;
    [
        (start, text_end, Rights::READ | Rights::EXECUTE),
        (text_end, rodata_end, Rights::READ),
        (rodata_end, end, Rights::READ | Rights::WRITE),
    ]
}

/// The bytes of `[start, end)` of the loaded image.
fn bytes(start: u64, end: u64) -> &'static [u8] {
    // SAFETY: the range is part of this program's own image, mapped
    // readable (every segment has READ) for the program's whole life.
    unsafe { core::slice::from_raw_parts(start as *const u8, (end - start) as usize) }
}

/// Copies this program's image into `space` at the same addresses, in
/// frames paid from `memory`, with each segment's rights.
pub fn clone_into(space: CapRef, memory: CapRef) -> Result<(), Error> {
    for (start, end, rights) in segments() {
        let pages = (end - start) / PAGE_SIZE;
        if pages == 0 {
            continue;
        }
        let frames = sys::frames_alloc(memory, pages)?;
        sys::space_map(space, frames, 0, pages, start, Rights::READ | Rights::WRITE)?;
        sys::space_write(space, start, bytes(start, end))?;
        if rights != Rights::READ | Rights::WRITE {
            sys::space_protect(space, start, pages, rights)?;
        }
        // The mappings keep the frames; the capability is not needed, and
        // keeping it would keep the frames after the space is gone.
        sys::cap_delete(frames)?;
    }
    Ok(())
}
