//! Memory calls: `mmap`, `munmap`, `mprotect`, `brk`, `madvise` and
//! `mremap`.
//!
//! The process's [`AddressSpace`](crate::address_space::AddressSpace)
//! records what is mapped; these calls edit it and tell the backend to do
//! the same, always the record and the backend together, so they never
//! disagree. Only the pieces the record says are mapped are passed to
//! `Backend::unmap`, so a huge `munmap` range costs nothing.
//!
//! `mmap` supports anonymous mappings (private, or shared treated as
//! private since processes never share memory here) and private file
//! mappings: pages are mapped writable, the file's bytes are copied in with
//! `write_user` (bytes past the end of the file stay zero) and the pages
//! are then set to the requested protection. Shared writable file mappings
//! are `ENODEV`: there is no page cache to write back through. Read-only
//! shared file mappings behave like private ones. `mremap` is not
//! supported and answers `ENOMEM`, which makes allocators fall back to
//! allocate-copy-free.

use super::{fd_arg, Call, SysResult};
use crate::address_space::{AreaKind, MMAP_MIN_ADDR, USER_END};
use crate::fd_table::Access;
use crate::fs::{DeviceKind, FileType, Ino};
use crate::user_memory::CHUNK;
use crate::{Errno, Prot, PAGE_SIZE};

const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_SHARED_VALIDATE: u64 = 0x03;
const MAP_TYPE: u64 = 0x0f;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;

fn is_page_aligned(value: u64) -> bool {
    value.is_multiple_of(PAGE_SIZE)
}

/// Rounds a length up to whole pages; `None` on overflow or zero.
fn page_length(len: u64) -> Option<u64> {
    if len == 0 {
        return None;
    }
    len.checked_next_multiple_of(PAGE_SIZE)
}

/// Checks that `[addr, addr+len)` lies inside user space.
fn user_range_end(addr: u64, len: u64) -> Option<u64> {
    addr.checked_add(len).filter(|end| *end <= USER_END)
}

/// Removes `[start, end)` from the record and the backend.
fn unmap_range(call: &mut Call, start: u64, end: u64, kind: Option<AreaKind>) {
    for (piece_start, piece_end) in call.process.memory.remove_range(start, end, kind) {
        let _ = call.backend.unmap(piece_start, piece_end - piece_start);
    }
}

/// What an `mmap` call maps.
enum Source {
    Anonymous,
    File { ino: Ino, offset: u64 },
}

/// Works out the source of a mapping from flags, fd and offset.
fn mapping_source(
    call: &mut Call,
    flags: u64,
    prot: Prot,
    fd: u64,
    offset: u64,
) -> Result<Source, Errno> {
    if flags & MAP_ANONYMOUS != 0 {
        return Ok(Source::Anonymous);
    }
    if !is_page_aligned(offset) || (offset as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let file = *call.process.files.get(fd_arg(fd))?;
    if !file.access.can_read() || file.access == Access::PathOnly {
        return Err(Errno::EACCES);
    }
    match call.container.fs.file_type(file.ino)? {
        FileType::Regular => {}
        FileType::CharDevice(DeviceKind::Zero) => return Ok(Source::Anonymous),
        _ => return Err(Errno::ENODEV),
    }
    let shared = flags & MAP_TYPE != MAP_PRIVATE;
    if shared && prot.write {
        return Err(Errno::ENODEV);
    }
    Ok(Source::File {
        ino: file.ino,
        offset,
    })
}

/// Picks the address: fixed, a usable hint, or first fit in the layout.
fn choose_address(call: &mut Call, hint: u64, len: u64, flags: u64) -> Result<u64, Errno> {
    let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
    if fixed {
        if !is_page_aligned(hint) {
            return Err(Errno::EINVAL);
        }
        let end = user_range_end(hint, len).ok_or(Errno::ENOMEM)?;
        if hint < MMAP_MIN_ADDR {
            return Err(Errno::EPERM);
        }
        if flags & MAP_FIXED_NOREPLACE != 0
            && flags & MAP_FIXED == 0
            && call.process.memory.overlaps(hint, end)
        {
            return Err(Errno::EEXIST);
        }
        unmap_range(call, hint, end, None);
        return Ok(hint);
    }
    let hint = hint - hint % PAGE_SIZE;
    if hint >= MMAP_MIN_ADDR {
        if let Some(end) = user_range_end(hint, len) {
            if !call.process.memory.overlaps(hint, end) {
                return Ok(hint);
            }
        }
    }
    let layout = call.process.layout;
    call.process
        .memory
        .find_free(len, layout.mmap_base, layout.mmap_end)
        .ok_or(Errno::ENOMEM)
}

pub fn mmap(
    call: &mut Call,
    addr: u64,
    len: u64,
    prot: u64,
    flags: u64,
    fd: u64,
    offset: u64,
) -> SysResult {
    let prot = Prot::from_linux(prot).ok_or(Errno::EINVAL)?;
    let map_type = flags & MAP_TYPE;
    if map_type != MAP_SHARED && map_type != MAP_PRIVATE && map_type != MAP_SHARED_VALIDATE {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_length(len).ok_or(Errno::ENOMEM)?;
    let source = mapping_source(call, flags, prot, fd, offset)?;
    let start = choose_address(call, addr, len, flags)?;
    let initial_prot = match source {
        Source::Anonymous => prot,
        Source::File { .. } => Prot::READ_WRITE,
    };
    call.backend.map(start, len, initial_prot)?;
    if let Source::File { ino, offset } = source {
        if let Err(error) = fill_from_file(call, start, len, ino, offset, prot) {
            let _ = call.backend.unmap(start, len);
            return Err(error);
        }
    }
    call.process
        .memory
        .insert(start, start + len, prot, AreaKind::Mapping);
    Ok(start as i64)
}

/// Copies a file's bytes into freshly mapped pages, then applies `prot`.
fn fill_from_file(
    call: &mut Call,
    start: u64,
    len: u64,
    ino: Ino,
    offset: u64,
    prot: Prot,
) -> Result<(), Errno> {
    let mut done: u64 = 0;
    while done < len {
        let want = (len - done).min(CHUNK as u64) as usize;
        let chunk = call
            .container
            .fs
            .read_at(ino, offset.saturating_add(done), want)?;
        if chunk.is_empty() {
            break;
        }
        call.backend.write_user(start + done, chunk)?;
        done += chunk.len() as u64;
    }
    if prot != Prot::READ_WRITE {
        call.backend.protect(start, len, prot)?;
    }
    Ok(())
}

/// Checks an `munmap`/`mprotect` range; returns its page-rounded end.
fn checked_range(addr: u64, len: u64) -> Result<u64, Errno> {
    if !is_page_aligned(addr) {
        return Err(Errno::EINVAL);
    }
    let len = len
        .checked_next_multiple_of(PAGE_SIZE)
        .ok_or(Errno::EINVAL)?;
    user_range_end(addr, len).ok_or(Errno::EINVAL)
}

pub fn munmap(call: &mut Call, addr: u64, len: u64) -> SysResult {
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let end = checked_range(addr, len)?;
    unmap_range(call, addr, end, None);
    Ok(0)
}

pub fn mprotect(call: &mut Call, addr: u64, len: u64, prot: u64) -> SysResult {
    let prot = Prot::from_linux(prot).ok_or(Errno::EINVAL)?;
    let end = checked_range(addr, len).map_err(|_| Errno::EINVAL)?;
    if end == addr {
        return Ok(0);
    }
    if !call.process.memory.covers(addr, end) {
        return Err(Errno::ENOMEM);
    }
    call.backend.protect(addr, end - addr, prot)?;
    call.process.memory.protect_range(addr, end, prot);
    Ok(0)
}

/// `brk(addr)`: returns the new break, or the old one when the request is
/// refused (below the heap start, into another mapping, out of memory).
pub fn brk(call: &mut Call, requested: u64) -> SysResult {
    let old = call.process.brk;
    let refuse = Ok(old.current as i64);
    if requested < old.heap_start || requested > USER_END {
        return refuse;
    }
    let Some(new_mapped_end) = requested.checked_next_multiple_of(PAGE_SIZE) else {
        return refuse;
    };
    if new_mapped_end > old.mapped_end {
        if call.process.memory.overlaps(old.mapped_end, new_mapped_end) {
            return refuse;
        }
        let grow = new_mapped_end - old.mapped_end;
        if call
            .backend
            .map(old.mapped_end, grow, Prot::READ_WRITE)
            .is_err()
        {
            return refuse;
        }
        call.process.memory.insert(
            old.mapped_end,
            new_mapped_end,
            Prot::READ_WRITE,
            AreaKind::Heap,
        );
    } else if new_mapped_end < old.mapped_end {
        unmap_range(call, new_mapped_end, old.mapped_end, Some(AreaKind::Heap));
    }
    call.process.brk.current = requested;
    call.process.brk.mapped_end = new_mapped_end;
    Ok(requested as i64)
}

/// `madvise`: advice is accepted and ignored (after Linux's argument
/// checks), since there is no swapping or page cache to act on.
pub fn madvise(_call: &mut Call, addr: u64, len: u64, _advice: u64) -> SysResult {
    if !is_page_aligned(addr) {
        return Err(Errno::EINVAL);
    }
    if len != 0 {
        checked_range(addr, len).map_err(|_| Errno::EINVAL)?;
    }
    Ok(0)
}

/// `mremap`: not supported (see the module docs).
pub fn mremap(_call: &mut Call, addr: u64) -> SysResult {
    if !is_page_aligned(addr) {
        return Err(Errno::EINVAL);
    }
    Err(Errno::ENOMEM)
}
