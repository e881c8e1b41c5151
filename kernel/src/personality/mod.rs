//! The Linux personality inside the kernel: `direct` and `sci` containers.
//!
//! The same `bulkhead-linux` crate the `ipc` syscall server links is
//! linked here, with a kernel backend ([`backend`]). An in-kernel
//! container keeps its personality state (file tree, process table, one
//! [`Member`] per app thread) in its own arena (`mm::arena`), charged to
//! its quota; the container object owns it through a [`Personality`].
//!
//! Who does what, in every mode:
//!
//! ```text
//!  launcher (the linux-server program, user mode): loads each program into
//!    a new address space (as in ipc mode) and adds the thread with a
//!    ProcessImage (ContainerAddThread) -> the kernel makes its Process
//!  app `syscall`  -> syscall_entry -> dispatch -> serve (serve.rs)
//!                    -> bulkhead_linux::handle on the kernel backend
//!                    -> result in rax, back to the app (no IPC)
//!  app exits      -> the kernel tells the launcher (EVENT_EXITED, a Call
//!                    from the app), which ends the app
//!  app faults     -> its fault report goes to the launcher, as in ipc mode
//! ```
//!
//! So the three placements share the loader and the supervisor; only where
//! the syscall code runs differs. State is reached without the kernel
//! lock: a member's link holds raw pointers to the state and arena, valid
//! because the container (which owns them) outlives every member thread,
//! the kernel runs one thread at a time, and nothing blocks inside the
//! personality (a sleep waits after it returns).

mod backend;
pub mod serve;
#[cfg(feature = "exploit-demos")]
mod test_calls;

use crate::mm::arena::{Arena, ArenaScope};
use crate::sched::ThreadId;
use crate::sci::{Isolation, MemberTables};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use bulkhead_abi::container::{ProcessImage, MAX_IMAGE_MAPPINGS};
use bulkhead_abi::Error;
use bulkhead_linux::host::{ConsoleLine, Random, DEFAULT_LAYOUT};
use bulkhead_linux::{Container, Fs, Process, Prot};
use core::ptr::NonNull;

/// One app thread of an in-kernel container.
pub struct Member {
    pub thread: ThreadId,
    pub serial: u64,
    pub process: Process,
    pub console: ConsoleLine,
}

/// Counters of one in-kernel container (read by `ContainerInfo` and the
/// benchmarks).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    /// Syscalls served.
    pub syscalls: u64,
}

/// The personality state of one in-kernel container (inside its arena).
pub struct InKernel {
    /// The container's name (the console prefix of its apps' lines).
    pub name: String,
    pub linux: Container,
    pub members: Vec<Option<Member>>,
    pub random: Random,
    pub stats: Stats,
}

/// The container object's handle on its in-kernel personality.
pub struct Personality {
    arena: NonNull<Arena>,
    state: NonNull<InKernel>,
    /// `sci` and `sci-sticky`: the restricted page tables and counters
    /// (on the shared heap: the isolated code never reaches them).
    isolation: Option<Box<Isolation>>,
}

impl core::fmt::Debug for Personality {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Personality")
            .field("arena", &self.arena)
            .field("isolated", &self.isolation.is_some())
            .finish()
    }
}

// SAFETY: the pointers are owned by this handle (the arena and the state
// inside it), and the kernel reaches them one thread at a time.
unsafe impl Send for Personality {}

/// What a member's link points at (copied into `sched::LinuxLink`).
#[derive(Clone, Copy, Debug)]
pub struct MemberLink {
    pub arena: *const Arena,
    pub state: *mut InKernel,
    pub slot: usize,
    /// Under SCI: the container's isolation and the member's tables.
    pub sci: Option<(*mut Isolation, MemberTables)>,
}

impl Personality {
    /// Makes the state of a container named `name` in a fresh arena of
    /// `pages` pages, its file tree filled from the cpio `archive`; with
    /// `isolated` (`sci`, `sticky` for `sci-sticky`), its restricted page
    /// tables too.
    pub fn create(
        name: &str,
        archive: &[u8],
        pages: usize,
        isolated: Option<bool>,
    ) -> Result<Self, Error> {
        let arena = Arena::create(pages).ok_or(Error::OutOfMemory)?;
        let built = {
            let _scope = ArenaScope::enter(arena.as_ptr());
            Self::build(name, archive, pages)
        };
        let state = match built {
            Ok(state) => state,
            Err(e) => {
                // SAFETY: nothing refers into the arena (the failed build
                // freed what it made).
                unsafe { Arena::destroy(arena) };
                return Err(e);
            }
        };
        let mut personality = Personality {
            arena,
            state,
            isolation: None,
        };
        #[cfg(feature = "exploit-demos")]
        test_calls::register(arena.as_ptr() as u64);
        if let Some(sticky) = isolated {
            let start = arena.as_ptr() as u64;
            let own = (start, start + pages as u64 * crate::mm::PAGE_SIZE);
            match Isolation::new(name, sticky, own) {
                Ok(i) => personality.isolation = Some(i),
                Err(e) => {
                    personality.destroy();
                    return Err(e);
                }
            }
        }
        Ok(personality)
    }

    /// The state itself, built inside the entered arena.
    fn build(name: &str, archive: &[u8], pages: usize) -> Result<NonNull<InKernel>, Error> {
        let mut fs = if archive.is_empty() {
            Fs::new()
        } else {
            Fs::from_cpio(archive).map_err(|_| Error::InvalidArgument)?
        };
        // Files may grow by a quarter of what the arena has left (a
        // growing file's buffer is copied when it doubles).
        let left = (pages as u64 * crate::mm::PAGE_SIZE).saturating_sub(fs.used_bytes() * 2);
        fs.set_limit(fs.used_bytes().saturating_add(left / 4));
        let state = Box::new(InKernel {
            name: String::from(name),
            linux: Container::new(name, fs),
            members: Vec::new(),
            random: Random::new(crate::time::uptime_nanos()),
            stats: Stats::default(),
        });
        Ok(NonNull::from(Box::leak(state)))
    }

    /// Runs `f` on the state inside its arena.
    pub fn with_state<R>(&mut self, f: impl FnOnce(&mut InKernel) -> R) -> R {
        let _scope = ArenaScope::enter(self.arena.as_ptr());
        // SAFETY: the state lives until `destroy`; `&mut self` and the one
        // kernel thread at a time make this access exclusive.
        f(unsafe { self.state.as_mut() })
    }

    /// Makes the process of a new member `thread` from the launcher's
    /// description of what it loaded; returns the member's link. Under SCI
    /// `tables` (its app's PML4 and its kernel stack) get it restricted
    /// tables.
    pub fn add_member(
        &mut self,
        thread: ThreadId,
        serial: u64,
        image: &ProcessImage,
        tables: (u64, (u64, u64)),
    ) -> Result<MemberLink, Error> {
        let count = usize::try_from(image.count).map_err(|_| Error::InvalidArgument)?;
        if count > MAX_IMAGE_MAPPINGS {
            return Err(Error::InvalidArgument);
        }
        let mappings = &image.mappings[..count];
        let prots: Option<Vec<Prot>> = mappings.iter().map(|m| Prot::from_linux(m.prot)).collect();
        let prots = prots.ok_or(Error::InvalidArgument)?;
        let (app_pml4, stack) = tables;
        let sci = match self.isolation.as_deref_mut() {
            Some(iso) => {
                let member = iso.add_member(app_pml4, stack)?;
                Some((iso as *mut Isolation, member))
            }
            None => None,
        };
        let (arena, state) = (self.arena.as_ptr(), self.state.as_ptr());
        let slot = self.with_state(|s| {
            let mut process = s.linux.new_process(None, DEFAULT_LAYOUT);
            for (m, prot) in mappings.iter().zip(prots) {
                process.note_mapping(m.addr, m.len, prot);
            }
            process.set_brk_start(image.brk_start);
            let member = Member {
                thread,
                serial,
                process,
                console: ConsoleLine::default(),
            };
            match s.members.iter().position(Option::is_none) {
                Some(slot) => {
                    s.members[slot] = Some(member);
                    slot
                }
                None => {
                    s.members.push(Some(member));
                    s.members.len() - 1
                }
            }
        });
        Ok(MemberLink {
            arena,
            state,
            slot,
            sci,
        })
    }

    /// Forgets the members for which `ended(thread, serial)` is true: their
    /// files are closed and their processes leave the table.
    pub fn forget_ended(&mut self, ended: impl Fn(ThreadId, u64) -> bool) {
        self.with_state(|s| {
            for slot in 0..s.members.len() {
                if let Some(m) = &s.members[slot] {
                    if ended(m.thread, m.serial) {
                        end_member(s, slot);
                    }
                }
            }
        });
    }

    /// Frees the state, the arena and any restricted tables.
    pub fn destroy(self) {
        #[cfg(feature = "exploit-demos")]
        test_calls::unregister(self.arena.as_ptr() as u64);
        if let Some(iso) = self.isolation {
            log::info!("{}", iso.summary());
            iso.destroy();
        }
        {
            let _scope = ArenaScope::enter(self.arena.as_ptr());
            // SAFETY: made by `Box::leak` in `build`, inside this arena,
            // which is entered so every free finds its heap.
            drop(unsafe { Box::from_raw(self.state.as_ptr()) });
        }
        // SAFETY: the state is gone and no member thread is left (each
        // held the container), so nothing refers into the arena.
        unsafe { Arena::destroy(self.arena) };
    }
}

/// Ends the member in `slot`: prints its last partial line, closes its
/// files, removes its process. (Its SCI tables go when its thread ends:
/// [`thread_ended`].)
pub fn end_member(s: &mut InKernel, slot: usize) {
    let Some(mut m) = s.members.get_mut(slot).and_then(Option::take) else {
        return;
    };
    let name = &s.name;
    m.console.flush(|line| backend::print_line(name, line));
    m.process.close_all_files(&mut s.linux.fs);
    s.linux.process_exited(m.process.pid());
}

/// Called by the scheduler when thread `t` ends (it never runs isolated
/// code again): a member of an SCI container loses its restricted PML4
/// and its kernel stack leaves the container's tables at once, before the
/// stack's frames can go to another thread. Its thread object still holds
/// the container, so the isolation is alive.
pub fn thread_ended(t: &mut crate::sched::thread::Thread) {
    let stack = (t.kstack.bottom, t.kstack.top);
    let Some(member) = t.linux.as_mut().and_then(|l| l.kernel.as_mut()) else {
        return;
    };
    if let Some((iso, tables)) = member.sci.take() {
        // SAFETY: see above; one kernel thread at a time.
        unsafe { (*iso).remove_member(tables, stack) };
    }
}
