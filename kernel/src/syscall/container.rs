//! Container calls: create a container, add a member thread, stop every
//! member, and count them.
//!
//! Each handler checks every capability and argument first and changes
//! nothing until all checks pass. A container is charged one page to the
//! quota it was made from (an in-kernel one also its arena, see
//! `bulkhead_abi::container::kernel_data_pages`); it holds its syscall
//! endpoint, and each member thread's object holds the container.

use super::{locked, lookup, Caller, Results};
use crate::object::container::Container;
use crate::object::{memory, Kernel, ObjRef, Object};
use crate::personality::Personality;
use crate::sched::thread::LinuxLink;
use crate::sched::{self, ThreadId};
use crate::usercopy::{copy_from_user, USlice};
use alloc::vec::Vec;
use bulkhead_abi::container::{kernel_data_pages, KernelSetup, Mode, ProcessImage, MAX_NAME};
use bulkhead_abi::{Error, ObjectType, Rights, PAGE_SIZE};

/// Pages charged for a container.
const CONTAINER_PAGES: u64 = 1;

fn container_mut(k: &mut Kernel, r: ObjRef) -> Result<&mut Container, Error> {
    match k.get_mut(r) {
        Some(Object::Container(c)) => Ok(c),
        _ => Err(Error::WrongType),
    }
}

/// Reads a `T` (plain data: every bit pattern valid) from user address
/// `addr`.
fn read_struct<T: Copy + Default>(addr: u64) -> Result<T, Error> {
    let mut value = T::default();
    let size = core::mem::size_of::<T>();
    // SAFETY: `value` is `size` bytes of plain data, viewed as bytes only
    // for this copy.
    let bytes = unsafe { core::slice::from_raw_parts_mut((&raw mut value).cast::<u8>(), size) };
    copy_from_user(bytes, USlice::new(addr, size as u64)?)?;
    Ok(value)
}

/// Where an in-kernel container's archive is read from.
enum Archive {
    None,
    /// Physically contiguous frames (a boot module): read in place through
    /// the window, no copy (and no large heap allocation).
    Window {
        phys: u64,
        len: usize,
    },
    /// Anything else: copied out page by page.
    Copied(Vec<u8>),
}

impl Archive {
    fn len(&self) -> usize {
        match self {
            Archive::None => 0,
            Archive::Window { len, .. } => *len,
            Archive::Copied(v) => v.len(),
        }
    }

    /// The bytes. Valid while the object lock is held (the Frames object
    /// they were found in cannot go meanwhile).
    fn bytes(&self) -> &[u8] {
        match self {
            Archive::None => &[],
            // SAFETY: contiguous frames of a live Frames object (checked
            // by `read_setup`), mapped through the window.
            Archive::Window { phys, len } => unsafe {
                core::slice::from_raw_parts(crate::mm::phys_to_virt(*phys), *len)
            },
            Archive::Copied(v) => v,
        }
    }
}

/// The name and archive of an in-kernel container's setup at user
/// address `addr`.
fn read_setup(
    k: &Kernel,
    caller: &Caller,
    addr: u64,
) -> Result<(alloc::string::String, Archive), Error> {
    let setup: KernelSetup = read_struct(addr)?;
    let name_len = usize::try_from(setup.name_len)
        .ok()
        .filter(|n| (1..=MAX_NAME).contains(n))
        .ok_or(Error::InvalidArgument)?;
    let name = core::str::from_utf8(&setup.name[..name_len]).map_err(|_| Error::InvalidArgument)?;
    let name = alloc::string::String::from(name);
    if setup.archive.is_null() {
        return Ok((name, Archive::None));
    }
    let (f, _, _) = lookup(k, caller, setup.archive, ObjectType::Frames, Rights::READ)?;
    let Some(Object::Frames(frames)) = k.get(f) else {
        return Err(Error::WrongType);
    };
    let len = setup.archive_len;
    if len > frames.count() * PAGE_SIZE {
        return Err(Error::InvalidArgument);
    }
    let pages = len.div_ceil(PAGE_SIZE);
    let first = frames.page(0).unwrap_or(0);
    let contiguous = (0..pages).all(|i| frames.page(i) == Some(first + i * PAGE_SIZE));
    if contiguous {
        return Ok((
            name,
            Archive::Window {
                phys: first,
                len: len as usize,
            },
        ));
    }
    let mut archive = Vec::new();
    archive
        .try_reserve_exact(len as usize)
        .map_err(|_| Error::OutOfMemory)?;
    for i in 0..pages {
        let phys = frames.page(i).ok_or(Error::InvalidArgument)?;
        let chunk = (len - i * PAGE_SIZE).min(PAGE_SIZE) as usize;
        // SAFETY: a frame of a live Frames object, read through the
        // window, within its page.
        let page = unsafe { core::slice::from_raw_parts(crate::mm::phys_to_virt(phys), chunk) };
        archive.extend_from_slice(page);
    }
    Ok((name, Archive::Copied(archive)))
}

/// `ContainerCreate(quota, endpoint, mode, setup)` → a container.
pub fn create(caller: &mut Caller) -> Result<Results, Error> {
    let mode = Mode::from_u64(caller.arg(2)).ok_or(Error::InvalidArgument)?;
    if mode.in_kernel() && caller.arg(3) == 0 {
        return Err(Error::InvalidArgument);
    }
    locked(|k| {
        let q = super::memory::quota(k, caller, 0)?;
        let (endpoint, _, _) = lookup(
            k,
            caller,
            caller.cap_arg(1),
            ObjectType::Endpoint,
            Rights::WRITE,
        )?;
        let setup = match mode.in_kernel() {
            true => Some(read_setup(k, caller, caller.arg(3))?),
            false => None,
        };
        let arena_pages = setup.as_ref().map_or(0, |(_, archive)| {
            kernel_data_pages(archive.len() as u64, Mode::Direct)
        });
        let table_pages = kernel_data_pages(0, mode) - kernel_data_pages(0, Mode::Direct);
        let pages = CONTAINER_PAGES + arena_pages + table_pages;
        memory::charge(k, q, pages)?;
        let personality = match setup {
            Some((name, archive)) => {
                let isolated = match mode {
                    Mode::Sci => Some(false),
                    Mode::SciSticky => Some(true),
                    _ => None,
                };
                match Personality::create(&name, archive.bytes(), arena_pages as usize, isolated) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        memory::uncharge(k, q, pages);
                        return Err(e);
                    }
                }
            }
            None => None,
        };
        let r = k.insert(
            Object::Container(Container::new(mode, endpoint, personality)),
            Some((q, pages)),
        );
        k.add_ref(q);
        k.add_ref(endpoint);
        super::memory::grant_new(k, caller, r)
    })
}

/// `ContainerAddThread(container, thread, badge, image)`: the thread's
/// syscalls are Linux calls from now on, forwarded (`ipc`) or served in
/// the kernel, whose personality makes its process from `image`. A thread
/// joins at most one container, once.
pub fn add_thread(caller: &mut Caller) -> Result<Results, Error> {
    let badge = caller.arg(2);
    let image: Option<ProcessImage> = match caller.arg(3) {
        0 => None,
        addr => Some(read_struct(addr)?),
    };
    locked(|k| {
        let (c, _, _) = lookup(
            k,
            caller,
            caller.cap_arg(0),
            ObjectType::Container,
            Rights::WRITE,
        )?;
        let (thread_obj, _, _) = lookup(
            k,
            caller,
            caller.cap_arg(1),
            ObjectType::Thread,
            Rights::WRITE,
        )?;
        let Some(Object::Thread(id)) = k.get(thread_obj) else {
            return Err(Error::WrongType);
        };
        let id: ThreadId = *id;
        let (member, serial) = sched::with_thread(id, |t| {
            (t.linux.is_some() || !t.user || t.has_ended(), t.serial)
        })
        .ok_or(Error::BadState)?;
        if member {
            return Err(Error::BadState);
        }
        let tables = member_tables(k, id)?;
        let container = container_mut(k, c)?;
        container.prune();
        let kernel = match (container.personality.as_mut(), image) {
            (Some(p), Some(image)) => Some(p.add_member(id, serial, &image, tables)?),
            (Some(_), None) => return Err(Error::InvalidArgument),
            (None, _) => None,
        };
        container.members.push((id, serial));
        let link = LinuxLink {
            endpoint: container.endpoint,
            badge,
            server_gone: false,
            calls: 0,
            kernel,
        };
        k.hold(thread_obj, c);
        sched::set_linux(id, Some(link));
        Ok([0; 3])
    })
}

/// The PML4 (physical address) of thread `id`'s address space and the
/// range of its kernel stack: what SCI needs to make its restricted tables.
fn member_tables(k: &Kernel, id: ThreadId) -> Result<(u64, (u64, u64)), Error> {
    let space = k.threads.get(&id).ok_or(Error::BadState)?.space;
    let Some(Object::Space(s)) = k.get(space) else {
        return Err(Error::BadState);
    };
    let pml4 = s.space.cr3() & !0xfff;
    let stack =
        sched::with_thread(id, |t| (t.kstack.bottom, t.kstack.top)).ok_or(Error::BadState)?;
    Ok((pml4, stack))
}

fn container_arg(k: &mut Kernel, caller: &Caller, rights: Rights) -> Result<ObjRef, Error> {
    Ok(lookup(k, caller, caller.cap_arg(0), ObjectType::Container, rights)?.0)
}

/// `ContainerStop(container)` → how many members were stopped.
pub fn stop(caller: &mut Caller) -> Result<Results, Error> {
    locked(|k| {
        let c = container_arg(k, caller, Rights::WRITE)?;
        Ok([container_mut(k, c)?.stop_all(), 0, 0])
    })
}

/// `ContainerInfo(container)` → mode, live members, syscalls forwarded.
pub fn info(caller: &mut Caller) -> Result<Results, Error> {
    locked(|k| {
        let c = container_arg(k, caller, Rights::empty())?;
        let container = container_mut(k, c)?;
        let (members, calls) = container.census();
        Ok([container.mode as u64, members, calls])
    })
}
