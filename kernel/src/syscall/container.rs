//! Container calls: create a container, add a member thread, stop every
//! member, and count them.
//!
//! Each handler checks every capability and argument first and changes
//! nothing until all checks pass. A container is charged one page to the
//! quota it was made from; it holds its syscall endpoint, and each member
//! thread's object holds the container.

use super::{locked, lookup, Caller, Results};
use crate::object::container::Container;
use crate::object::{memory, Kernel, ObjRef, Object};
use crate::sched::thread::LinuxLink;
use crate::sched::{self, ThreadId};
use bulkhead_abi::container::Mode;
use bulkhead_abi::{Error, ObjectType, Rights};

/// Pages charged for a container.
const CONTAINER_PAGES: u64 = 1;

fn container_mut(k: &mut Kernel, r: ObjRef) -> Result<&mut Container, Error> {
    match k.get_mut(r) {
        Some(Object::Container(c)) => Ok(c),
        _ => Err(Error::WrongType),
    }
}

/// `ContainerCreate(quota, endpoint, mode)` → a container.
pub fn create(caller: &mut Caller) -> Result<Results, Error> {
    let mode = Mode::from_u64(caller.arg(2)).ok_or(Error::InvalidArgument)?;
    if mode != Mode::Ipc {
        // The in-kernel placements are not built yet.
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
        memory::charge(k, q, CONTAINER_PAGES)?;
        let r = k.insert(
            Object::Container(Container::new(mode, endpoint)),
            Some((q, CONTAINER_PAGES)),
        );
        k.add_ref(q);
        k.add_ref(endpoint);
        super::memory::grant_new(k, caller, r)
    })
}

/// `ContainerAddThread(container, thread, badge)`: the thread's syscalls
/// are forwarded from now on. A thread joins at most one container, once.
pub fn add_thread(caller: &mut Caller) -> Result<Results, Error> {
    let badge = caller.arg(2);
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
        let container = container_mut(k, c)?;
        container.prune();
        container.members.push((id, serial));
        let link = LinuxLink {
            endpoint: container.endpoint,
            badge,
            server_gone: false,
            calls: 0,
        };
        k.hold(thread_obj, c);
        sched::set_linux(id, Some(link));
        Ok([0; 3])
    })
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
