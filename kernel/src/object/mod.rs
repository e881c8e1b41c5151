//! Kernel objects and the capabilities that name them.
//!
//! All objects live in one arena; a capability's object field is an
//! [`ObjRef`] (arena index plus generation, so a recycled slot is never
//! mistaken for its previous occupant). Each arena entry counts its
//! references: one per capability naming it, plus one per internal link
//! (a thread's address space and capability table, a memory quota's charge
//! on its parent, a mapping's hold on its Frames). When the count reaches
//! zero the object is destroyed and whatever it held is released, which may
//! release more; this runs as a work list, never as recursion.
//!
//! Every object made on behalf of user code is charged to a memory quota
//! ([`memory::Memory`]) for the pages it occupies, and the charge returns to
//! the quota when the object goes. The whole layer sits behind one lock,
//! [`KERNEL`]; syscalls take it for short, non-blocking critical sections.

pub mod cap_cache;
pub mod container;
pub mod endpoint;
pub mod frames;
pub mod memory;
pub mod space;

use alloc::vec::Vec;
use bulkhead_abi::{Error, ObjectType};
use bulkhead_captable::{CapError, CapSpace, Capability, TableId};
use spin::mutex::SpinMutex;

/// A counted reference to an object in the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjRef {
    index: u32,
    generation: u32,
}

/// A kernel object.
pub enum Object {
    Memory(memory::Memory),
    Frames(frames::Frames),
    Space(space::SpaceObject),
    Table(TableId),
    Thread(crate::sched::ThreadId),
    Console,
    IoPort { first: u16, count: u16 },
    Endpoint(endpoint::Endpoint),
    Notification(endpoint::Notification),
    Container(container::Container),
}

impl Object {
    /// The ABI type of the object.
    pub fn kind(&self) -> ObjectType {
        match self {
            Object::Memory(_) => ObjectType::Memory,
            Object::Frames(_) => ObjectType::Frames,
            Object::Space(_) => ObjectType::AddressSpace,
            Object::Table(_) => ObjectType::CapTable,
            Object::Thread(_) => ObjectType::Thread,
            Object::Console => ObjectType::Console,
            Object::IoPort { .. } => ObjectType::IoPort,
            Object::Endpoint(_) => ObjectType::Endpoint,
            Object::Notification(_) => ObjectType::Notification,
            Object::Container(_) => ObjectType::Container,
        }
    }
}

struct Entry {
    generation: u32,
    object: Option<Object>,
    refs: u32,
    /// The quota this object's pages are charged to, and how many.
    charge: Option<(ObjRef, u64)>,
    /// Objects this one keeps alive (released when it is destroyed).
    holds: Vec<ObjRef>,
}

/// What the kernel needs to serve a user thread's syscalls.
#[derive(Clone, Copy, Debug)]
pub struct ThreadContext {
    /// The thread's capability table.
    pub table: TableId,
    /// Its address space.
    pub space: ObjRef,
    /// Where its faults are reported: an endpoint (holding a reference) and
    /// the badge of the capability that named it.
    pub fault_handler: Option<(ObjRef, u64)>,
}

/// The syscall context of each user thread, indexed by thread id (looked
/// up on every capability-using system call, so a direct index).
pub struct ThreadContexts(Vec<Option<ThreadContext>>);

impl ThreadContexts {
    /// The context of thread `id`.
    #[inline]
    pub fn get(&self, id: &crate::sched::ThreadId) -> Option<&ThreadContext> {
        self.0.get(*id as usize)?.as_ref()
    }

    /// Records the context of thread `id`, and copies its table into the
    /// scheduler's record (`Thread::cap_table`, for the IPC fast path).
    /// Takes the scheduler lock: the caller holds only the object layer's.
    pub fn insert(&mut self, id: crate::sched::ThreadId, context: ThreadContext) {
        let i = id as usize;
        if self.0.len() <= i {
            self.0.resize(i + 1, None);
        }
        self.0[i] = Some(context);
        crate::sched::with_thread(id, |t| t.set_cap_table(context.table));
    }

    /// Forgets thread `id`, returning what it had; its scheduler record (if
    /// still there) then names no table. Takes the scheduler lock.
    pub fn remove(&mut self, id: &crate::sched::ThreadId) -> Option<ThreadContext> {
        crate::sched::with_thread(*id, |t| t.set_cap_table(crate::sched::thread::NO_TABLE));
        self.0.get_mut(*id as usize)?.take()
    }

    /// The context of thread `id`, mutably.
    pub fn get_mut(&mut self, id: &crate::sched::ThreadId) -> Option<&mut ThreadContext> {
        self.0.get_mut(*id as usize)?.as_mut()
    }
}

/// Everything the object layer owns.
pub struct Kernel {
    pub caps: CapSpace<ObjRef>,
    entries: Vec<Entry>,
    free: Vec<u32>,
    /// Syscall context of each user thread.
    pub threads: ThreadContexts,
}

/// The object layer.
pub static KERNEL: SpinMutex<Kernel> = SpinMutex::new(Kernel {
    caps: CapSpace::new(),
    entries: Vec::new(),
    free: Vec::new(),
    threads: ThreadContexts(Vec::new()),
});

/// The object layer, borrowed without taking its lock, for the IPC fast
/// path (`crate::ipc_fast`, which says why that is sound).
///
/// # Safety
/// As for `sched::borrow_unlocked`, with `KERNEL` free.
#[inline(always)]
pub unsafe fn borrow_unlocked() -> &'static mut Kernel {
    // SAFETY: one CPU with interrupts off and the lock free: nothing else
    // reaches the object layer while the caller's borrow lives.
    unsafe { &mut *KERNEL.as_mut_ptr() }
}

/// Maps capability-table errors to ABI errors.
pub fn cap_error(e: CapError) -> Error {
    match e {
        CapError::Stale => Error::StaleCap,
        CapError::InsufficientRights => Error::NoRights,
        CapError::TableFull | CapError::SlotOccupied => Error::TableFull,
        CapError::BadgeAlreadySet => Error::AlreadyBadged,
        CapError::InvalidBadge | CapError::BadCapacity => Error::InvalidArgument,
        CapError::OutOfMemory | CapError::TooManyTables => Error::OutOfMemory,
        CapError::InvalidTable | CapError::InvalidIndex | CapError::Empty => Error::InvalidCap,
    }
}

impl Kernel {
    /// Adds `object` to the arena with no references yet.
    pub fn insert(&mut self, object: Object, charge: Option<(ObjRef, u64)>) -> ObjRef {
        let entry = |generation| Entry {
            generation,
            object: Some(object),
            refs: 0,
            charge,
            holds: Vec::new(),
        };
        match self.free.pop() {
            Some(index) => {
                let slot = &mut self.entries[index as usize];
                let generation = slot.generation.wrapping_add(1);
                *slot = entry(generation);
                ObjRef { index, generation }
            }
            None => {
                if self.entries.len() == self.entries.capacity() {
                    // The arena moves: remembered endpoint addresses
                    // (`cap_cache`) must be looked up again.
                    self.caps.invalidate_lookups();
                }
                self.entries.push(entry(0));
                ObjRef {
                    index: (self.entries.len() - 1) as u32,
                    generation: 0,
                }
            }
        }
    }

    #[inline]
    fn entry(&self, r: ObjRef) -> Option<&Entry> {
        self.entries
            .get(r.index as usize)
            .filter(|e| e.generation == r.generation && e.object.is_some())
    }

    #[inline]
    fn entry_mut(&mut self, r: ObjRef) -> Option<&mut Entry> {
        self.entries
            .get_mut(r.index as usize)
            .filter(|e| e.generation == r.generation && e.object.is_some())
    }

    /// The object `r` names.
    #[inline]
    pub fn get(&self, r: ObjRef) -> Option<&Object> {
        self.entry(r)?.object.as_ref()
    }

    /// The object `r` names, mutably.
    #[inline]
    pub fn get_mut(&mut self, r: ObjRef) -> Option<&mut Object> {
        self.entry_mut(r)?.object.as_mut()
    }

    /// Takes one more reference on `r`.
    pub fn add_ref(&mut self, r: ObjRef) {
        if let Some(e) = self.entry_mut(r) {
            e.refs += 1;
        }
    }

    /// Makes `holder` keep `held` alive until `holder` is destroyed.
    pub fn hold(&mut self, holder: ObjRef, held: ObjRef) {
        self.add_ref(held);
        if let Some(e) = self.entry_mut(holder) {
            e.holds.push(held);
        }
    }

    /// Drops one reference on `r`; destroys whatever reaches zero.
    pub fn release(&mut self, r: ObjRef) {
        let mut work = alloc::vec![r];
        while let Some(r) = work.pop() {
            let Some(e) = self.entry_mut(r) else { continue };
            e.refs = e.refs.saturating_sub(1);
            if e.refs > 0 {
                continue;
            }
            let object = e.object.take();
            let charge = e.charge.take();
            work.append(&mut core::mem::take(&mut e.holds));
            // An object is gone: no remembered lookup may reach it.
            self.caps.invalidate_lookups();
            self.free.push(r.index);
            if let Some((quota, pages)) = charge {
                memory::uncharge(self, quota, pages);
                work.push(quota);
            }
            if let Some(object) = object {
                self.destroy(object, &mut work);
            }
        }
    }

    /// Releases what a dead object owned.
    fn destroy(&mut self, object: Object, work: &mut Vec<ObjRef>) {
        match object {
            Object::Frames(f) => f.free(),
            Object::Space(s) => space::destroy(self, s),
            Object::Table(t) => {
                let mut removed = Vec::new();
                let _ = self.caps.destroy_table(t, |cap| removed.push(cap.object));
                work.extend(removed);
            }
            Object::Thread(id) => {
                if let Some((handler, _)) = self.threads.remove(&id).and_then(|c| c.fault_handler) {
                    work.push(handler);
                }
                crate::sched::kill(id);
            }
            Object::Endpoint(e) => e.wake_all(),
            Object::Notification(n) => n.wake_all(),
            Object::Container(c) => {
                work.push(c.endpoint);
                if let Some(p) = c.personality {
                    p.destroy();
                }
            }
            Object::Memory(_) | Object::Console | Object::IoPort { .. } => {}
        }
    }

    /// Checks the object layer's invariants: the capability space's own
    /// (derivation tree links, generations, rights only shrinking), and that
    /// every capability in every table names a live object holding at least
    /// as many references as capabilities name it. Prints each problem and
    /// returns how many there were.
    pub fn self_check(&self) -> u64 {
        let mut problems = 0;
        if let Err(e) = self.caps.check_invariants() {
            crate::println!("self-check: capability space: {e}");
            problems += 1;
        }
        let mut named = alloc::vec![0u32; self.entries.len()];
        for entry in &self.entries {
            let Some(Object::Table(t)) = &entry.object else {
                continue;
            };
            let Ok(caps) = self.caps.iter_table(*t) else {
                crate::println!("self-check: a table object names a missing table");
                problems += 1;
                continue;
            };
            for (_, cap) in caps {
                match self.entry(cap.object) {
                    Some(_) => named[cap.object.index as usize] += 1,
                    None => {
                        crate::println!(
                            "self-check: a capability names a dead object {:?}",
                            cap.object
                        );
                        problems += 1;
                    }
                }
            }
        }
        for (index, entry) in self.entries.iter().enumerate() {
            if entry.object.is_some() && entry.refs < named[index] {
                crate::println!(
                    "self-check: object {index} has {} references for {} capabilities",
                    entry.refs,
                    named[index]
                );
                problems += 1;
            }
        }
        problems
    }

    /// Live objects in the arena.
    pub fn live_objects(&self) -> u64 {
        self.entries.iter().filter(|e| e.object.is_some()).count() as u64
    }

    /// Frames owned by Frames objects: user memory (boot modules, which
    /// only borrow the loader's memory, are not counted).
    pub fn user_frames(&self) -> u64 {
        let owned = |e: &Entry| match &e.object {
            Some(Object::Frames(f)) => f.owned_count(),
            _ => 0,
        };
        self.entries.iter().map(owned).sum()
    }

    /// Puts a new capability to `object` in `table`, taking a reference.
    pub fn grant_root(
        &mut self,
        table: TableId,
        object: ObjRef,
        rights: bulkhead_abi::Rights,
    ) -> Result<bulkhead_abi::CapRef, Error> {
        let r = self
            .caps
            .insert_root(table, Capability::new(object, rights))
            .map_err(cap_error)?;
        self.add_ref(object);
        Ok(r)
    }

    /// As [`Kernel::grant_root`], at slot `index`.
    pub fn grant_root_at(
        &mut self,
        table: TableId,
        index: u32,
        object: ObjRef,
        rights: bulkhead_abi::Rights,
    ) -> Result<bulkhead_abi::CapRef, Error> {
        let r = self
            .caps
            .insert_root_at(table, index, Capability::new(object, rights))
            .map_err(cap_error)?;
        self.add_ref(object);
        Ok(r)
    }
}
