//! `Container`: the threads whose Linux syscalls one personality serves.
//!
//! A container records its mode (where its syscalls are served), the
//! syscall endpoint its members' calls go to in `ipc` mode (holding a
//! reference to it), and its members. A member is a thread plus its
//! serial, so a thread slot reused after a member died is never mistaken
//! for the member. Each member's thread object holds a reference to the
//! container, so the container (and its endpoint) outlives every member;
//! the forwarding state itself lives in the member's `sched::LinuxLink`.
//!
//! An in-kernel container (`direct`, `sci`) also owns its personality
//! state ([`Personality`]), freed with the container.

use super::ObjRef;
use crate::personality::Personality;
use crate::sched::{self, ThreadId};
use alloc::vec::Vec;
use bulkhead_abi::container::Mode;

/// A container object.
#[derive(Debug)]
pub struct Container {
    pub mode: Mode,
    pub endpoint: ObjRef,
    /// Threads that joined, with their serials (ended ones are dropped
    /// lazily, when members are next added or counted).
    pub members: Vec<(ThreadId, u64)>,
    /// The personality state of an in-kernel container.
    pub personality: Option<Personality>,
}

/// True if thread `id` is still the member with `serial`, alive.
fn alive(id: ThreadId, serial: u64) -> bool {
    sched::with_thread(id, |t| t.serial == serial && !t.has_ended()).unwrap_or(false)
}

impl Container {
    /// A container with no members.
    pub fn new(mode: Mode, endpoint: ObjRef, personality: Option<Personality>) -> Self {
        Container {
            mode,
            endpoint,
            members: Vec::new(),
            personality,
        }
    }

    /// Forgets members that ended or whose slot was reused (and, in the
    /// kernel's personality, their processes).
    pub fn prune(&mut self) {
        self.members.retain(|&(id, serial)| alive(id, serial));
        if let Some(p) = self.personality.as_mut() {
            p.forget_ended(|id, serial| !alive(id, serial));
        }
    }

    /// Live members and the syscalls they made so far (forwarded, or
    /// served in the kernel).
    pub fn census(&mut self) -> (u64, u64) {
        self.prune();
        let calls = match self.personality.as_mut() {
            Some(p) => p.with_state(|s| s.stats.syscalls),
            None => self
                .members
                .iter()
                .filter_map(|&(id, _)| sched::with_thread(id, |t| t.linux.map_or(0, |l| l.calls)))
                .sum(),
        };
        (self.members.len() as u64, calls)
    }

    /// Stops every live member; returns how many were stopped.
    pub fn stop_all(&mut self) -> u64 {
        let stopped = self
            .members
            .iter()
            .filter(|&&(id, serial)| sched::stop(id, serial))
            .count();
        self.members.clear();
        stopped as u64
    }
}
