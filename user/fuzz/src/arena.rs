//! What the fuzzer may touch, and what it must never touch.
//!
//! **Protected capabilities.** After setup, every capability in the
//! fuzzer's own table (its table, space, thread, memory quota, console,
//! exit ports, heap and scratch Frames, the partner thread and its
//! endpoint, the quota the arenas come from) is recorded with a policy: the
//! uses it may be put to. [`sanitize`] is the choke point every capability
//! argument passes through: a handle naming a protected slot at its live
//! generation, for a use its policy does not allow, is turned into a stale
//! handle (same slot, another generation), so the kernel sees a
//! `StaleCap` instead of, say, `SpaceUnmap` on the fuzzer's own text. No
//! copy of a protected capability is ever made except of the partner's
//! endpoint, whose copies are harmless.
//!
//! **The arena.** Everything else the fuzzer works on it made itself, from
//! a sub-quota: sandbox address spaces holding a page of tiny machine-code
//! stubs, tables, endpoints, notifications, Frames and threads running the
//! stubs, plus whatever the fuzzed calls create from those. [`Arena`]
//! records the handles it learns of (with their object type when known),
//! the handles it deleted (stale ones to reuse), and handles naming slots
//! in other tables. Every epoch it revokes and deletes all of them, notes
//! how many pages stayed charged (objects kept alive by cycles of
//! capabilities), and starts afresh from a new sub-quota.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use bulkhead_rt::abi::{CapRef, Error, ObjectType, Rights, Syscall, PAGE_SIZE};
use bulkhead_rt::sys;

/// How a capability argument is about to be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// `CapInfo`, `MemoryInfo`, `ThreadInfo`: reads the object's state.
    Observe,
    /// The object of an IPC call, or the endpoint of a fault handler.
    Ipc,
    /// The source of `CapCopy` / `CapMint`, or MR7 of a message.
    CopySource,
    /// `CapRevoke`.
    Revoke,
    /// `ConsoleWrite` (with a pointer the kernel will refuse) / `ConsoleRead`.
    Console,
    /// `PortRead`, or `PortWrite` to a port outside the exit device.
    Port,
    /// `ThreadWait` (only the fuzzer's own thread: `BadState`, no wait).
    WaitSelf,
    /// `IpcCancel`.
    Cancel,
    /// `ThreadSuspend` / `ThreadResume`.
    Control,
    /// Anything else: delete, map, write, create from, configure.
    Other,
}

impl Use {
    fn bit(self) -> u8 {
        match self {
            Use::Observe => 0,
            Use::Ipc => 1 << 0,
            Use::CopySource => 1 << 1,
            Use::Revoke => 1 << 2,
            Use::Console => 1 << 3,
            Use::Port => 1 << 4,
            Use::WaitSelf => 1 << 5,
            Use::Cancel => 1 << 6,
            Use::Control => 1 << 7,
            Use::Other => 0,
        }
    }
}

/// Policies of the protected capabilities (a set of [`Use`] bits;
/// `Observe` is always allowed, `Other` never).
pub mod policy {
    /// Look, never touch.
    pub const OBSERVE: u8 = 0;
    /// The console.
    pub const CONSOLE: u8 = 1 << 3;
    /// The exit ports.
    pub const PORT: u8 = 1 << 4;
    /// The fuzzer's own thread.
    pub const SELF_THREAD: u8 = (1 << 5) | (1 << 6);
    /// The partner thread.
    pub const PARTNER_THREAD: u8 = (1 << 6) | (1 << 7);
    /// The partner's endpoint.
    pub const SERVED: u8 = 1 | (1 << 1) | (1 << 2);
}

/// Most protected capabilities.
const MAX_PROTECTED: usize = 64;

static PROTECTED: [AtomicU64; MAX_PROTECTED] = [const { AtomicU64::new(u64::MAX) }; MAX_PROTECTED];
static POLICY: [AtomicU8; MAX_PROTECTED] = [const { AtomicU8::new(0) }; MAX_PROTECTED];
static PROTECTED_COUNT: AtomicUsize = AtomicUsize::new(0);
/// Set once the protected set is complete; the partner waits for it.
static READY: AtomicBool = AtomicBool::new(false);

/// Slots scanned for protected capabilities.
const SCAN_SLOTS: u32 = 512;
/// Generations tried per slot while scanning (setup never deletes, so 0
/// is the only one expected).
const SCAN_GENERATIONS: u32 = 8;

/// Records every live capability of the fuzzer's table as protected, with
/// the policy `policy_of` gives its handle, and releases the partner.
/// Returns how many were found.
pub fn protect_table(policy_of: impl Fn(u64) -> u8) -> usize {
    let mut count = 0;
    for index in 0..SCAN_SLOTS {
        for generation in 0..SCAN_GENERATIONS {
            let handle = CapRef::new(index, generation);
            match sys::cap_info(handle) {
                Ok(_) if count < MAX_PROTECTED => {
                    PROTECTED[count].store(handle.0, Ordering::Relaxed);
                    POLICY[count].store(policy_of(handle.0), Ordering::Relaxed);
                    count += 1;
                    break;
                }
                Err(Error::StaleCap) => continue,
                _ => break,
            }
        }
    }
    PROTECTED_COUNT.store(count, Ordering::Relaxed);
    READY.store(true, Ordering::Release);
    count
}

/// True once [`protect_table`] ran.
pub fn ready() -> bool {
    READY.load(Ordering::Acquire)
}

/// The protected handles and their policies.
pub fn protected() -> impl Iterator<Item = (u64, u8)> {
    let n = PROTECTED_COUNT.load(Ordering::Acquire);
    (0..n).map(|i| {
        (
            PROTECTED[i].load(Ordering::Relaxed),
            POLICY[i].load(Ordering::Relaxed),
        )
    })
}

/// `handle` unless it names a protected capability that may not be put to
/// `use_`; then the same slot at another generation (a stale handle).
pub fn sanitize(handle: u64, use_: Use) -> u64 {
    let n = PROTECTED_COUNT.load(Ordering::Acquire);
    let cap = CapRef(handle);
    for i in 0..n {
        let live = CapRef(PROTECTED[i].load(Ordering::Relaxed));
        if live.index() != cap.index() || live.generation() != cap.generation() {
            continue;
        }
        let allowed = POLICY[i].load(Ordering::Relaxed);
        if use_ == Use::Observe || (use_ != Use::Other && allowed & use_.bit() != 0) {
            return handle;
        }
        let other = live.generation().wrapping_add(0x100 + (cap.index() & 7));
        return CapRef::new(cap.index(), other).0;
    }
    handle
}

/// True if `handle` names a protected capability at its live generation.
pub fn is_protected(handle: u64) -> bool {
    sanitize(handle, Use::Other) != handle
}

/// Where the sandbox pieces live in a sandbox space.
pub const CODE_ADDR: u64 = 0x0100_0000;
/// A read-write data page.
pub const DATA_ADDR: u64 = 0x0200_0000;
/// A read-write stack page.
pub const STACK_ADDR: u64 = 0x0300_0000;
/// A window of addresses the fuzzer maps into and unmaps from.
pub const MAP_WINDOW: u64 = 0x0400_0000;
/// Pages in [`MAP_WINDOW`].
pub const MAP_WINDOW_PAGES: u64 = 64;
/// The top of the sandbox stack, as a `call` would leave it.
pub const STACK_TOP: u64 = STACK_ADDR + PAGE_SIZE - 8;

/// The stubs in the sandbox code page (offsets from [`CODE_ADDR`]).
pub mod stub {
    /// `ThreadExit(0)`.
    pub const EXIT: u64 = 0;
    /// `loop { Sleep(50 ms) }`.
    pub const SLEEP_LOOP: u64 = 32;
    /// `Sleep(rdi); ThreadExit(1)`.
    pub const SLEEP_ARG: u64 = 64;
    /// `mov al, [rdi]; ThreadExit(0)`: a load from the entry argument.
    pub const LOAD: u64 = 96;
    /// `mov byte [rdi], 1; ThreadExit(0)`: a store to the entry argument.
    pub const STORE: u64 = 128;
    /// `rax = rdi; syscall; ThreadExit(0)`: the entry argument as a call
    /// number (and as the first argument).
    pub const SYSCALL_RDI: u64 = 160;
    /// All of them.
    pub const ALL: [u64; 6] = [EXIT, SLEEP_LOOP, SLEEP_ARG, LOAD, STORE, SYSCALL_RDI];
}

/// `mov eax, ThreadExit; mov edi, code; syscall; ud2`.
fn exit_bytes(code: u32) -> [u8; 14] {
    let mut b = [0u8; 14];
    b[0] = 0xb8;
    b[1..5].copy_from_slice(&(Syscall::ThreadExit as u32).to_le_bytes());
    b[5] = 0xbf;
    b[6..10].copy_from_slice(&code.to_le_bytes());
    b[10..14].copy_from_slice(&[0x0f, 0x05, 0x0f, 0x0b]);
    b
}

/// The sandbox code page's first bytes: the stubs, `int3` in between.
/// No stub can spin without making a system call, whatever offset a
/// thread enters at: the only backward jump is the sleep loop's.
pub fn stub_code() -> [u8; 192] {
    let mut code = [0xcc; 192];
    let put = |code: &mut [u8; 192], at: u64, bytes: &[u8]| {
        code[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
    };
    put(&mut code, stub::EXIT, &exit_bytes(0));
    let sleep = (Syscall::Sleep as u32).to_le_bytes();
    let nanos = 50_000_000u32.to_le_bytes();
    let mut sleep_loop = [0u8; 14];
    sleep_loop[0] = 0xb8;
    sleep_loop[1..5].copy_from_slice(&sleep);
    sleep_loop[5] = 0xbf;
    sleep_loop[6..10].copy_from_slice(&nanos);
    sleep_loop[10..14].copy_from_slice(&[0x0f, 0x05, 0xeb, 0xf2]); // syscall; jmp -14
    put(&mut code, stub::SLEEP_LOOP, &sleep_loop);
    let mut sleep_arg = [0u8; 7];
    sleep_arg[0] = 0xb8;
    sleep_arg[1..5].copy_from_slice(&sleep);
    sleep_arg[5..7].copy_from_slice(&[0x0f, 0x05]);
    put(&mut code, stub::SLEEP_ARG, &sleep_arg);
    put(&mut code, stub::SLEEP_ARG + 7, &exit_bytes(1));
    put(&mut code, stub::LOAD, &[0x8a, 0x07]); // mov al, [rdi]
    put(&mut code, stub::LOAD + 2, &exit_bytes(0));
    put(&mut code, stub::STORE, &[0xc6, 0x07, 0x01]); // mov byte [rdi], 1
    put(&mut code, stub::STORE + 3, &exit_bytes(0));
    put(
        &mut code,
        stub::SYSCALL_RDI,
        &[0x48, 0x89, 0xf8, 0x0f, 0x05],
    ); // mov rax, rdi; syscall
    put(&mut code, stub::SYSCALL_RDI + 5, &exit_bytes(0));
    code
}

/// A capability the arena knows of.
#[derive(Clone, Copy, Debug, Default)]
pub struct Known {
    pub handle: u64,
    /// `ObjectType` code, 0 if unknown.
    pub kind: u8,
}

/// A fixed-size list of handles; when full, the oldest entry is pushed
/// out (and returned).
pub struct Ring<const N: usize> {
    items: [Known; N],
    len: usize,
    next: usize,
}

impl<const N: usize> Ring<N> {
    /// An empty list.
    pub const fn new() -> Self {
        Ring {
            items: [Known { handle: 0, kind: 0 }; N],
            len: 0,
            next: 0,
        }
    }

    /// Adds an entry; returns the one it pushed out, if the list was full.
    pub fn push(&mut self, known: Known) -> Option<Known> {
        let evicted = (self.len == N).then(|| self.items[self.next]);
        self.items[self.next] = known;
        self.next = (self.next + 1) % N;
        self.len = (self.len + 1).min(N);
        evicted
    }

    /// The entries.
    pub fn items(&self) -> &[Known] {
        &self.items[..self.len]
    }

    /// Removes the entry with `handle`, if any.
    pub fn remove(&mut self, handle: u64) -> Option<Known> {
        let at = self.items[..self.len]
            .iter()
            .position(|k| k.handle == handle)?;
        let found = self.items[at];
        // Keep it simple: move the last entry into the hole.
        self.items[at] = self.items[self.len - 1];
        self.len -= 1;
        self.next = self.len % N;
        Some(found)
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.len = 0;
        self.next = 0;
    }

    /// A random entry, if there is one.
    pub fn random(&self, rng: &mut crate::rng::Rng) -> Option<Known> {
        (self.len > 0).then(|| self.items[rng.below(self.len as u64) as usize])
    }

    /// A random entry of type `kind`, if there is one (tries a few).
    pub fn random_of(&self, rng: &mut crate::rng::Rng, kind: ObjectType) -> Option<Known> {
        if self.len == 0 {
            return None;
        }
        let start = rng.below(self.len as u64) as usize;
        (0..self.len)
            .map(|i| self.items[(start + i) % self.len])
            .find(|k| k.kind == kind as u8)
    }
}

/// Handles received by the partner thread (it cannot touch the arena).
const RECEIVED_LEN: usize = 64;
static RECEIVED: [AtomicU64; RECEIVED_LEN] = [const { AtomicU64::new(u64::MAX) }; RECEIVED_LEN];
static RECEIVED_NEXT: AtomicUsize = AtomicUsize::new(0);

/// Records a capability the partner received into the shared table.
pub fn note_received(handle: u64) {
    let at = RECEIVED_NEXT.fetch_add(1, Ordering::Relaxed) % RECEIVED_LEN;
    RECEIVED[at].store(handle, Ordering::Relaxed);
}

/// Pages of one arena.
pub const ARENA_PAGES: u64 = 512;

/// The objects the fuzzer made for itself, and the handles it knows.
pub struct Arena {
    /// The quota arenas are split from (protected).
    parent: CapRef,
    /// The current arena's quota.
    pub quota: CapRef,
    /// Handles in the fuzzer's table, with types where known.
    pub known: Ring<192>,
    /// Handles deleted (or pushed out of `known`): mostly stale.
    pub graveyard: Ring<128>,
    /// Handles naming slots in other tables.
    pub foreign: Ring<64>,
    /// Sandbox spaces of this epoch (code at [`CODE_ADDR`]).
    pub sandboxes: [CapRef; 2],
    /// Epochs started.
    pub epochs: u64,
    /// Pages still charged to abandoned arenas after their cleanup.
    pub leaked_pages: u64,
    /// Set-up calls that failed (the arena then has fewer objects).
    pub setup_failures: u64,
    /// Resets that kept the old quota because the parent had no room.
    pub split_failures: u64,
}

impl Arena {
    /// An arena that will be split from `parent` by [`Arena::start`].
    pub fn empty(parent: CapRef) -> Arena {
        Arena {
            parent,
            quota: CapRef::NULL,
            known: Ring::new(),
            graveyard: Ring::new(),
            foreign: Ring::new(),
            sandboxes: [CapRef::NULL; 2],
            epochs: 0,
            leaked_pages: 0,
            setup_failures: 0,
            split_failures: 0,
        }
    }

    /// Splits the first arena's quota and populates it.
    pub fn start(&mut self) -> Result<(), Error> {
        self.quota = sys::memory_split(self.parent, ARENA_PAGES)?;
        self.populate();
        Ok(())
    }

    /// Pages of the parent quota still charged (arenas alive, the current
    /// one included).
    pub fn parent_used(&self) -> u64 {
        sys::memory_info(self.parent).map_or(0, |info| info.used)
    }

    /// Records a handle in the fuzzer's table.
    pub fn learn(&mut self, handle: u64, kind: u8) {
        if is_protected(handle) {
            return;
        }
        if let Some(old) = self.known.push(Known { handle, kind }) {
            self.bury(old);
        }
    }

    /// Moves a handle to the graveyard. The graveyard is bounded: a handle
    /// it pushes out that still names a capability is deleted now, so no
    /// capability of the arena is ever lost track of (it would keep its
    /// objects, and so the arena's quota, alive for good).
    fn bury(&mut self, known: Known) {
        if let Some(out) = self.graveyard.push(known) {
            if !is_protected(out.handle) && sys::cap_info(CapRef(out.handle)).is_ok() {
                let _ = sys::cap_revoke(CapRef(out.handle));
                let _ = sys::cap_delete(CapRef(out.handle));
            }
        }
    }

    /// Records that `handle` was deleted.
    pub fn forget(&mut self, handle: u64) {
        let known = self
            .known
            .remove(handle)
            .unwrap_or(Known { handle, kind: 0 });
        self.bury(known);
    }

    /// Checks every known handle with `CapInfo`: dead ones move to the
    /// graveyard, live ones get their type. Keeps the handles the fuzzer
    /// picks mostly valid (a handle dies when a copy's source is revoked or
    /// a table holding it goes, which the fuzzer does not track). These
    /// calls are bookkeeping and not counted.
    pub fn prune(&mut self) {
        let mut live = Ring::<192>::new();
        let mut dead = Ring::<192>::new();
        for known in self.known.items() {
            match sys::cap_info(CapRef(known.handle)) {
                Ok(info) => {
                    let kind = info.object_type.map_or(known.kind, |t| t as u8);
                    live.push(Known {
                        handle: known.handle,
                        kind,
                    });
                }
                Err(_) => {
                    dead.push(*known);
                }
            }
        }
        self.known = live;
        for known in dead.items() {
            self.bury(*known);
        }
        for sandbox in &mut self.sandboxes {
            if sys::cap_info(*sandbox).is_err() {
                *sandbox = CapRef::NULL;
            }
        }
    }

    /// The type of a known handle (0 if unknown).
    pub fn kind_of(&self, handle: u64) -> u8 {
        self.known
            .items()
            .iter()
            .find(|k| k.handle == handle)
            .map_or(0, |k| k.kind)
    }

    fn keep<T>(&mut self, result: Result<T, Error>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(_) => {
                self.setup_failures += 1;
                None
            }
        }
    }

    fn create(&mut self, result: Result<CapRef, Error>, kind: ObjectType) -> Option<CapRef> {
        let cap = self.keep(result)?;
        self.learn(cap.0, kind as u8);
        Some(cap)
    }

    /// Creates this epoch's objects: two sandbox spaces with stubs, an
    /// empty space, tables, endpoints, notifications, Frames, a sub-quota
    /// and four threads (one sleeping in a loop, one exiting, two not
    /// started). Failures only make the arena smaller.
    pub fn populate(&mut self) {
        self.epochs += 1;
        let q = self.quota;
        self.learn(q.0, ObjectType::Memory as u8);
        for i in 0..2 {
            self.sandboxes[i] = self.sandbox().unwrap_or(CapRef::NULL);
        }
        self.create(sys::space_create(q), ObjectType::AddressSpace);
        let tables = [
            self.create(sys::table_create(q, 8), ObjectType::CapTable),
            self.create(sys::table_create(q, 16), ObjectType::CapTable),
        ];
        for _ in 0..2 {
            self.create(sys::ipc::endpoint_create(q), ObjectType::Endpoint);
            self.create(sys::ipc::notification_create(q), ObjectType::Notification);
        }
        self.create(sys::frames_alloc(q, 4), ObjectType::Frames);
        self.create(sys::memory_split(q, 64), ObjectType::Memory);
        let plan = [
            (0, 0, 8, Some(stub::SLEEP_LOOP)),
            (1, 1, 4, Some(stub::EXIT)),
            (0, 1, 2, None),
            (1, 0, 6, None),
        ];
        for (space, table, priority, entry) in plan {
            let (space, Some(table)) = (self.sandboxes[space], tables[table]) else {
                continue;
            };
            let Some(thread) = self.create(
                sys::thread_create(q, space, table, priority),
                ObjectType::Thread,
            ) else {
                continue;
            };
            if let Some(offset) = entry {
                let started = sys::thread_set_entry(thread, CODE_ADDR + offset, STACK_TOP, 0)
                    .and_then(|()| sys::thread_start(thread));
                self.keep(started);
            }
        }
    }

    /// A space with the stub page (R+X), a data page (R+W) holding an exit
    /// stub, and a stack page (R+W).
    fn sandbox(&mut self) -> Option<CapRef> {
        let q = self.quota;
        let space = self.create(sys::space_create(q), ObjectType::AddressSpace)?;
        let frames = self.create(sys::frames_alloc(q, 3), ObjectType::Frames)?;
        let rw = Rights::READ | Rights::WRITE;
        let code = sys::space_map(space, frames, 0, 1, CODE_ADDR, rw)
            .and_then(|()| sys::space_write(space, CODE_ADDR, &stub_code()))
            .and_then(|()| sys::space_protect(space, CODE_ADDR, 1, Rights::READ | Rights::EXECUTE));
        self.keep(code)?;
        let data = sys::space_map(space, frames, 1, 1, DATA_ADDR, rw)
            .and_then(|()| sys::space_write(space, DATA_ADDR, &exit_bytes(7)));
        self.keep(data)?;
        self.keep(sys::space_map(space, frames, 2, 1, STACK_ADDR, rw))?;
        Some(space)
    }

    /// Ends the epoch: revokes and deletes every handle the arena knows (so
    /// copies anywhere go too), counts what stayed charged, and moves to a
    /// fresh quota when the parent has room. `extra` are handles to revoke
    /// but keep (the partner's endpoint).
    pub fn reset(&mut self, extra: &[u64]) {
        let mut all = [0u64; 192 + 128 + RECEIVED_LEN];
        let mut n = 0;
        for k in self.known.items().iter().chain(self.graveyard.items()) {
            all[n] = k.handle;
            n += 1;
        }
        for slot in &RECEIVED {
            let handle = slot.swap(u64::MAX, Ordering::Relaxed);
            if handle != u64::MAX {
                all[n] = handle;
                n += 1;
            }
        }
        // Never touch a protected capability, whatever the lists hold.
        let all = &all[..n];
        for &handle in all.iter().chain(extra) {
            let _ = sys::cap_revoke(CapRef(sanitize(handle, Use::Revoke)));
        }
        for &handle in all {
            if handle != self.quota.0 && !is_protected(handle) {
                let _ = sys::cap_delete(CapRef(handle));
            }
        }
        self.known.clear();
        self.graveyard.clear();
        self.foreign.clear();
        let left = sys::memory_info(self.quota).map_or(0, |info| info.used);
        match sys::memory_split(self.parent, ARENA_PAGES) {
            Ok(fresh) => {
                self.leaked_pages += left;
                let _ = sys::cap_delete(self.quota);
                self.quota = fresh;
            }
            Err(_) => self.split_failures += 1,
        }
        self.populate();
    }
}
