//! Memory quotas, Frames, address spaces and capability tables.

use super::{locked, lookup, Caller, Results};
use crate::object::{memory, space, Kernel, ObjRef, Object};
use crate::usercopy::{copy_from_user, copy_to_user, USlice};
use bulkhead_abi::{Error, ObjectType, Rights, PAGE_SIZE};

/// Most pages one FramesAlloc or MemorySplit may ask for (256 MiB; the
/// page list of a Frames object lives on the kernel heap).
const MAX_PAGES: u64 = 1 << 16;
/// Bytes of kernel memory charged per capability-table slot.
const SLOT_BYTES: u64 = 64;

fn pages_arg(caller: &Caller, i: usize) -> Result<u64, Error> {
    match caller.arg(i) {
        0 => Err(Error::InvalidArgument),
        n if n > MAX_PAGES => Err(Error::InvalidArgument),
        n => Ok(n),
    }
}

/// Puts a capability with every right to `object` (just created, no
/// references yet) in the caller's table; destroys the object if the
/// table is full.
pub(super) fn grant_new(k: &mut Kernel, caller: &Caller, object: ObjRef) -> Result<Results, Error> {
    let table = caller.context(k)?.table;
    match k.grant_root(table, object, Rights::ALL) {
        Ok(r) => Ok([r.0, 0, 0]),
        Err(e) => {
            k.add_ref(object);
            k.release(object);
            Err(e)
        }
    }
}

/// The memory quota named by capability argument `i` (needs WRITE).
pub(super) fn quota(k: &Kernel, caller: &Caller, i: usize) -> Result<ObjRef, Error> {
    Ok(lookup(
        k,
        caller,
        caller.cap_arg(i),
        ObjectType::Memory,
        Rights::WRITE,
    )?
    .0)
}

/// `MemorySplit(quota, pages)` → a new quota of `pages`.
pub fn split(caller: &mut Caller) -> Result<Results, Error> {
    let pages = pages_arg(caller, 1)?;
    locked(|k| {
        let parent = quota(k, caller, 0)?;
        let child = memory::split(k, parent, pages)?;
        grant_new(k, caller, child)
    })
}

/// `MemoryInfo(quota)` → pages in the quota, pages used.
pub fn info(caller: &mut Caller) -> Result<Results, Error> {
    locked(|k| {
        let (r, _, _) = lookup(
            k,
            caller,
            caller.cap_arg(0),
            ObjectType::Memory,
            Rights::READ,
        )?;
        match k.get(r) {
            Some(Object::Memory(m)) => Ok([m.limit, m.used, 0]),
            _ => Err(Error::WrongType),
        }
    })
}

/// `FramesAlloc(quota, pages)` → a Frames capability.
pub fn frames_alloc(caller: &mut Caller) -> Result<Results, Error> {
    let pages = pages_arg(caller, 1)?;
    locked(|k| {
        let q = quota(k, caller, 0)?;
        let object = memory::alloc_frames(k, q, pages)?;
        grant_new(k, caller, object)
    })
}

/// `SpaceCreate(quota)` → an empty address space.
pub fn space_create(caller: &mut Caller) -> Result<Results, Error> {
    locked(|k| {
        let q = quota(k, caller, 0)?;
        let object = space::create(k, Some(q))?;
        grant_new(k, caller, object)
    })
}

fn space_arg(k: &Kernel, caller: &Caller, rights: Rights) -> Result<ObjRef, Error> {
    Ok(lookup(
        k,
        caller,
        caller.cap_arg(0),
        ObjectType::AddressSpace,
        rights,
    )?
    .0)
}

/// `SpaceMap(space, frames, first page, count, address, rights)`.
pub fn space_map(caller: &mut Caller) -> Result<Results, Error> {
    let rights = caller.rights_arg(5)?;
    locked(|k| {
        let s = space_arg(k, caller, Rights::WRITE)?;
        let (f, frights, _) = lookup(
            k,
            caller,
            caller.cap_arg(1),
            ObjectType::Frames,
            Rights::empty(),
        )?;
        let (first, count, vaddr) = (caller.arg(2), caller.arg(3), caller.arg(4));
        space::map(k, s, f, frights, first, count, vaddr, rights)?;
        Ok([0; 3])
    })
}

/// `SpaceUnmap(space, address, count)`.
pub fn space_unmap(caller: &mut Caller) -> Result<Results, Error> {
    locked(|k| {
        let s = space_arg(k, caller, Rights::WRITE)?;
        space::unmap(k, s, caller.arg(1), caller.arg(2))?;
        Ok([0; 3])
    })
}

/// `SpaceProtect(space, address, count, rights)`.
pub fn space_protect(caller: &mut Caller) -> Result<Results, Error> {
    let rights = caller.rights_arg(3)?;
    locked(|k| {
        let s = space_arg(k, caller, Rights::WRITE)?;
        space::protect(k, s, caller.arg(1), caller.arg(2), rights)?;
        Ok([0; 3])
    })
}

/// Copies between another space's memory (`target` at `vaddr`) and the
/// caller's buffer, a page at a time through a kernel bounce buffer.
/// Writing needs the target page to be mapped writable, as it would be
/// for the space's own threads: a syscall server storing a result through
/// an app's pointer must not patch the app's code (a loader maps pages
/// writable, fills them, then protects them).
fn transfer(caller: &mut Caller, write: bool) -> Result<Results, Error> {
    let (vaddr, buf, len) = (caller.arg(1), caller.arg(2), caller.arg(3));
    let user = USlice::<u8>::new(buf, len)?;
    let end = vaddr.checked_add(len).ok_or(Error::BadAddress)?;
    if len > 0 && (vaddr < bulkhead_abi::USER_START || end > bulkhead_abi::USER_END) {
        return Err(Error::BadAddress);
    }
    let needed = if write { Rights::WRITE } else { Rights::READ };
    let target = locked(|k| space_arg(k, caller, needed))?;
    let mut bounce = [0u8; PAGE_SIZE as usize];
    let mut done = 0;
    while done < len {
        let at = vaddr + done;
        let chunk = (PAGE_SIZE - at % PAGE_SIZE).min(len - done);
        let part = USlice::<u8>::new(user.addr() + done, chunk)?;
        let bytes = &mut bounce[..chunk as usize];
        if write {
            copy_from_user(bytes, part)?;
        }
        locked(|k| -> Result<(), Error> {
            let phys = space::translate_for(k, target, at, write)?;
            let window = crate::mm::phys_to_virt(phys);
            // SAFETY: `phys` is a mapped user frame of the target space,
            // reached through the window; `chunk` stays within its page.
            unsafe {
                if write {
                    core::ptr::copy_nonoverlapping(bytes.as_ptr(), window, bytes.len());
                } else {
                    core::ptr::copy_nonoverlapping(window, bytes.as_mut_ptr(), bytes.len());
                }
            }
            Ok(())
        })?;
        if !write {
            copy_to_user(part, bytes)?;
        }
        done += chunk;
    }
    Ok([len, 0, 0])
}

/// `SpaceRead(space, address, buffer, length)`.
pub fn space_read(caller: &mut Caller) -> Result<Results, Error> {
    transfer(caller, false)
}

/// `SpaceWrite(space, address, buffer, length)`.
pub fn space_write(caller: &mut Caller) -> Result<Results, Error> {
    transfer(caller, true)
}

/// `TableCreate(quota, slots)` → a new capability table.
pub fn table_create(caller: &mut Caller) -> Result<Results, Error> {
    let slots = u32::try_from(caller.arg(1)).map_err(|_| Error::InvalidArgument)?;
    locked(|k| {
        let q = quota(k, caller, 0)?;
        let pages = (u64::from(slots) * SLOT_BYTES).div_ceil(PAGE_SIZE).max(1);
        memory::charge(k, q, pages)?;
        let table = match k.caps.create_table(slots) {
            Ok(t) => t,
            Err(e) => {
                memory::uncharge(k, q, pages);
                return Err(crate::object::cap_error(e));
            }
        };
        let object = k.insert(Object::Table(table), Some((q, pages)));
        k.add_ref(q);
        grant_new(k, caller, object)
    })
}
