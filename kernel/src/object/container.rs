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
//!
//! Syscall counts: an in-kernel container's personality counts every
//! syscall it serves. An `ipc` container's calls are counted per member
//! thread (`LinuxLink::calls`), and a thread's record goes when its last
//! capability does, so the container banks them: each census remembers
//! the count of every live member, and [`Container::prune`] adds a
//! departing member's last count to [`Container::retired_calls`] (its
//! record's count if the record is still there, else the count last
//! seen). The syscall server takes a census just before it deletes an
//! ended app's thread, so nothing is lost; the census reports live and
//! retired calls together.

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
    /// Forwarded syscalls of members that have left (`ipc` mode).
    pub retired_calls: u64,
    /// Each member's forwarded syscalls at the last census (`ipc` mode),
    /// in the order of `members`, for members whose record is gone before
    /// they are pruned.
    seen_calls: Vec<(ThreadId, u64, u64)>,
}

/// True if thread `id` is still the member with `serial`, alive.
fn alive(id: ThreadId, serial: u64) -> bool {
    sched::with_thread(id, |t| t.serial == serial && !t.has_ended()).unwrap_or(false)
}

/// The syscalls member `(id, serial)` forwarded so far, if its thread
/// record is still there (alive or ended).
fn forwarded(id: ThreadId, serial: u64) -> Option<u64> {
    sched::with_thread(id, |t| {
        (t.serial == serial).then(|| t.linux.map_or(0, |l| l.calls))
    })
    .flatten()
}

impl Container {
    /// A container with no members.
    pub fn new(mode: Mode, endpoint: ObjRef, personality: Option<Personality>) -> Self {
        Container {
            mode,
            endpoint,
            members: Vec::new(),
            personality,
            retired_calls: 0,
            seen_calls: Vec::new(),
        }
    }

    /// The count last seen for member `(id, serial)` (0 if never seen).
    fn last_seen(&self, id: ThreadId, serial: u64) -> u64 {
        self.seen_calls
            .iter()
            .find(|&&(i, s, _)| i == id && s == serial)
            .map_or(0, |&(_, _, calls)| calls)
    }

    /// A departing member's forwarded calls go to `retired_calls` (`ipc`
    /// mode; an in-kernel personality counts its own).
    fn retire(&mut self, id: ThreadId, serial: u64) {
        if self.personality.is_none() {
            let calls = forwarded(id, serial).unwrap_or_else(|| self.last_seen(id, serial));
            self.retired_calls = self.retired_calls.saturating_add(calls);
        }
    }

    /// Forgets members that ended or whose slot was reused (and, in the
    /// kernel's personality, their processes), banking their forwarded
    /// syscalls in `retired_calls` first.
    pub fn prune(&mut self) {
        let gone: Vec<(ThreadId, u64)> = self
            .members
            .iter()
            .copied()
            .filter(|&(id, serial)| !alive(id, serial))
            .collect();
        for &(id, serial) in &gone {
            self.retire(id, serial);
        }
        self.members.retain(|member| !gone.contains(member));
        let members = &self.members;
        self.seen_calls
            .retain(|&(id, serial, _)| members.contains(&(id, serial)));
        if let Some(p) = self.personality.as_mut() {
            p.forget_ended(|id, serial| !alive(id, serial));
        }
    }

    /// Live members and the syscalls made so far: served in the kernel,
    /// or forwarded by live and departed members (remembering each live
    /// member's count, see the module documentation).
    pub fn census(&mut self) -> (u64, u64) {
        self.prune();
        let calls = match self.personality.as_mut() {
            Some(p) => p.with_state(|s| s.stats.syscalls),
            None => {
                self.seen_calls = self
                    .members
                    .iter()
                    .map(|&(id, serial)| (id, serial, forwarded(id, serial).unwrap_or(0)))
                    .collect();
                let live: u64 = self.seen_calls.iter().map(|&(_, _, calls)| calls).sum();
                live.saturating_add(self.retired_calls)
            }
        };
        (self.members.len() as u64, calls)
    }

    /// Stops every live member; returns how many were stopped. Their
    /// forwarded syscalls stay counted.
    pub fn stop_all(&mut self) -> u64 {
        let members = core::mem::take(&mut self.members);
        for &(id, serial) in &members {
            self.retire(id, serial);
        }
        self.members = members;
        self.seen_calls.clear();
        let stopped = self
            .members
            .iter()
            .filter(|&&(id, serial)| sched::stop(id, serial))
            .count();
        self.members.clear();
        stopped as u64
    }
}
