//! The per-thread endpoint-capability cache: one remembered lookup for
//! sending (`WRITE`) and one for receiving (`READ`), so that a thread that
//! calls or serves the same endpoint again and again finds it with two
//! compares instead of walking table, slot, rights and object.
//!
//! A cache entry remembers what a full lookup of one handle in the
//! thread's own table gave (the endpoint's address and `ObjRef`, the
//! capability's rights and badge) and the capability space's removal
//! epoch ([`CapSpace::epoch`]) at that moment. It is used only while the
//! handle is the same and the epoch has not moved. That is exact, because
//! everything that could change the answer moves the epoch or empties the
//! entry:
//!
//! | what changes | who invalidates |
//! |---|---|
//! | the slot is emptied (delete, revoke, move away, table destroyed) | `CapSpace` bumps the epoch |
//! | the slot is refilled (with anything) | only after it was emptied: already bumped |
//! | rights or badge of the capability | never changed in place (copy and mint make new capabilities) |
//! | the endpoint object is destroyed | `Kernel::release` bumps the epoch |
//! | the object arena grows and moves every object | `Kernel::insert` bumps the epoch |
//! | the thread's capability table | `ThreadContexts::insert`/`remove` empty the thread's entries |
//!
//! Only successful lookups are remembered; a handle that fails is looked
//! up in full every time, which finds the error. The epoch is read and
//! the endpoint reached with the object layer locked.
//!
//! [`CapSpace::epoch`]: bulkhead_captable::CapSpace::epoch

use super::endpoint::Endpoint;
use super::{Kernel, ObjRef, Object};
use bulkhead_abi::{CapRef, Rights};
use bulkhead_captable::TableId;
use core::ptr::NonNull;

/// One remembered endpoint lookup (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub struct EndpointCache {
    /// The handle looked up (`CapRef`'s raw word).
    handle: u64,
    /// The capability space's epoch when it was looked up; [`Self::EMPTY`]
    /// has one no space ever reaches.
    epoch: u64,
    /// Where the endpoint is (inside the object arena). Never null, which
    /// the compiler then knows too: [`Self::EMPTY`] holds a dangling
    /// pointer, never used since its epoch never matches.
    endpoint: NonNull<Endpoint>,
    /// The endpoint's reference, for the slow path's operations.
    object: ObjRef,
    /// The capability's rights and badge.
    rights: Rights,
    badge: u64,
}

// SAFETY: the pointer is dereferenced only with the object layer locked
// and while the epoch proves it valid; the entry is plain data otherwise.
unsafe impl Send for EndpointCache {}

impl EndpointCache {
    /// What the entry remembers, as the slow path wants it.
    #[inline(always)]
    fn answer(&self) -> EndpointCap {
        EndpointCap {
            object: self.object,
            endpoint: self.endpoint.as_ptr(),
            rights: self.rights,
            badge: self.badge,
        }
    }

    /// An entry that matches nothing.
    pub const EMPTY: EndpointCache = EndpointCache {
        handle: 0,
        epoch: u64::MAX,
        endpoint: NonNull::dangling(),
        object: ObjRef {
            index: u32::MAX,
            generation: 0,
        },
        rights: Rights::empty(),
        badge: 0,
    };
}

/// The `handle` of an entry that remembers a container member's link
/// endpoint: an index no table has (tables have at most 65536 slots), so
/// no capability lookup is ever remembered under it.
const LINK_HANDLE: u64 = u64::MAX;

/// What a cached or full endpoint lookup gives the slow path: the
/// endpoint's reference and address (valid while the object layer stays
/// locked and no object is created or destroyed), the capability's
/// rights and its badge.
#[derive(Clone, Copy, Debug)]
pub struct EndpointCap {
    pub object: ObjRef,
    pub endpoint: *mut Endpoint,
    pub rights: Rights,
    pub badge: u64,
}

impl Kernel {
    /// The endpoint that `handle` names in `table` and the capability's
    /// badge, if the capability has every right in `rights`, through the
    /// remembered lookup `cache`, which must only ever be used with this
    /// `table` and `rights`. On a miss it looks up in full and, if that
    /// succeeds, remembers the result. `None` for any failure (the slow
    /// path then finds the error).
    #[inline(always)]
    pub fn cached_endpoint(
        &mut self,
        cache: &mut EndpointCache,
        table: TableId,
        handle: CapRef,
        rights: Rights,
    ) -> Option<(&mut Endpoint, u64)> {
        if cache.handle == handle.0 && cache.epoch == self.caps.epoch() {
            // SAFETY: the entry was filled from a successful lookup in
            // this epoch, and nothing that moves or destroys the endpoint
            // or the capability happened since (it would have moved the
            // epoch, see the module documentation); the object layer is
            // locked by the caller's `&mut self`, so this is the only
            // reference into the arena.
            return Some((unsafe { cache.endpoint.as_mut() }, cache.badge));
        }
        let found = self.remember_endpoint(cache, table, handle, rights)?;
        match self.get_mut(found.object)? {
            Object::Endpoint(ep) => Some((ep, found.badge)),
            _ => None,
        }
    }

    /// [`Kernel::cached_endpoint`] for the slow path, which needs the
    /// endpoint's reference and the capability's rights and badge.
    #[inline(always)]
    pub fn cached_endpoint_cap(
        &mut self,
        cache: &mut EndpointCache,
        table: TableId,
        handle: CapRef,
        rights: Rights,
    ) -> Option<EndpointCap> {
        if cache.handle == handle.0 && cache.epoch == self.caps.epoch() {
            return Some(cache.answer());
        }
        self.remember_endpoint(cache, table, handle, rights)
    }

    /// The endpoint `object` (a container member's syscall endpoint, held
    /// by its container, not named by a capability of the thread), through
    /// `cache`, which remembers it under [`LINK_HANDLE`]. Only a member's
    /// send entry is used this way, always with its link's endpoint:
    /// `sched::set_linux`, the only place a link is set or changed,
    /// empties both entries, so a remembered link endpoint is the current
    /// link's, and no native lookup ever sees such an entry.
    #[inline(always)]
    pub fn cached_link_endpoint(
        &mut self,
        cache: &mut EndpointCache,
        object: ObjRef,
    ) -> Option<&mut Endpoint> {
        // A send entry with the link marker was filled from the link, and
        // the link has not changed since (that would have emptied it).
        if cache.handle == LINK_HANDLE && cache.epoch == self.caps.epoch() {
            // SAFETY: as in `cached_endpoint`: remembered in this epoch,
            // so the endpoint has neither moved nor gone.
            return Some(unsafe { cache.endpoint.as_mut() });
        }
        let epoch = self.caps.epoch();
        let Object::Endpoint(ep) = self.get_mut(object)? else {
            return None;
        };
        *cache = EndpointCache {
            handle: LINK_HANDLE,
            epoch,
            endpoint: NonNull::from(ep),
            object,
            rights: Rights::empty(),
            badge: 0,
        };
        // SAFETY: just stored from a live `&mut Endpoint` borrowed from
        // `self`, which this result borrows again.
        Some(unsafe { cache.endpoint.as_mut() })
    }

    /// The full lookup of a cache miss: fills `cache` if `handle` names an
    /// endpoint in `table` with every right in `rights`.
    #[inline(never)]
    fn remember_endpoint(
        &mut self,
        cache: &mut EndpointCache,
        table: TableId,
        handle: CapRef,
        rights: Rights,
    ) -> Option<EndpointCap> {
        let epoch = self.caps.epoch();
        let cap = self.caps.get(table, handle)?;
        if !cap.rights.contains(rights) {
            return None;
        }
        let Object::Endpoint(ep) = self.get_mut(cap.object)? else {
            return None;
        };
        *cache = EndpointCache {
            handle: handle.0,
            epoch,
            endpoint: NonNull::from(ep),
            object: cap.object,
            rights: cap.rights,
            badge: cap.badge,
        };
        Some(cache.answer())
    }
}
